//! Checks query parameters and JSON bodies against a discovery method, answering as Google's front end does.

use crate::discovery::{Document, Method};
use crate::error::ApiError;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Checks the query: unknown parameters, bad enum values, wrong scalar types, missing required ones.
pub fn query(
    doc: &Document,
    method: &Method,
    query: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let params = method.def["parameters"].as_object();
    for (key, value) in query {
        let spec = params.and_then(|p| p.get(key));
        // Structured query parameters such as `options.requestedPolicyVersion` are declared by their full name.
        // Google's front end also takes system parameters with a `$` prefix (`$alt=json;enum-encoding=int`).
        let system = key.strip_prefix('$').unwrap_or(key);
        let standard = doc.standard_params.iter().any(|p| p == key || p == system);
        if spec.is_none() && !standard {
            let message = format!(
                "Invalid JSON payload received. Unknown name \"{key}\": Cannot bind query parameter. \
                 Field '{key}' could not be found in request message."
            );
            return Err(bad_request(message, None));
        }
        let Some(spec) = spec else { continue };
        if spec["location"] != "query" {
            continue;
        }
        if let Some(allowed) = spec["enum"].as_array() {
            if !allowed.iter().any(|a| a == value.as_str()) {
                return Err(bad_request(
                    format!(
                        "Invalid value at '{}' ({}), \"{value}\"",
                        snake(key),
                        "TYPE_ENUM"
                    ),
                    Some(key),
                ));
            }
        }
        let ok = match spec["type"].as_str() {
            Some("boolean") => value == "true" || value == "false",
            Some("integer") => value.parse::<i64>().is_ok(),
            _ => true,
        };
        if !ok {
            return Err(bad_request(
                format!(
                    "Invalid value at '{}' ({}), \"{value}\"",
                    snake(key),
                    scalar_type(spec)
                ),
                Some(key),
            ));
        }
    }
    if let Some(params) = params {
        for (name, spec) in params {
            if spec["location"] == "query" && spec["required"] == true && !query.contains_key(name)
            {
                return Err(ApiError::invalid_argument(format!(
                    "Required parameter '{name}' is missing."
                ))
                .from_front_end());
            }
        }
    }
    Ok(())
}

/// Checks a JSON body against the method's request schema. A method without a request schema accepts only
/// an empty body.
pub fn body(doc: &Document, method: &Method, body: &Value) -> Result<(), ApiError> {
    let Some(schema_ref) = method.def["request"]["$ref"].as_str() else {
        return match body {
            Value::Null => Ok(()),
            Value::Object(m) if m.is_empty() => Ok(()),
            _ => Err(bad_request(
                "Invalid JSON payload received. Unknown name \"\": Root element must be a message."
                    .into(),
                None,
            )),
        };
    };
    if body.is_null() {
        return Ok(());
    }
    let mut path = Vec::new();
    check(doc, &json!({"$ref": schema_ref}), body, &mut path)
}

/// Checks that every field the schema documents as "Required." is present in each object the body does
/// contain (`root` names the body in messages, e.g. `service`). Used where a request carries a whole resource.
pub fn required(doc: &Document, method: &Method, body: &Value, root: &str) -> Result<(), ApiError> {
    let Some(schema) = method.def["request"]["$ref"].as_str() else {
        return Ok(());
    };
    if body.is_null() {
        return Ok(());
    }
    required_in(doc, schema, body, root)
}

fn required_in(doc: &Document, schema: &str, value: &Value, at: &str) -> Result<(), ApiError> {
    let Some(props) = doc.schema(schema).and_then(|s| s["properties"].as_object()) else {
        return Ok(());
    };
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    for (key, spec) in props {
        let field = format!("{at}.{}", snake(key));
        let description = spec["description"].as_str().unwrap_or_default();
        if description.starts_with("Required.") && !object.contains_key(key) {
            let message = format!("Violation in {field}: missing required field");
            return Err(ApiError::invalid_argument(message).with_detail(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": "missing required field"}]
            })));
        }
        let Some(present) = object.get(key) else {
            continue;
        };
        if let Some(r) = spec["$ref"].as_str() {
            required_in(doc, r, present, &field)?;
        } else if let (Some(r), Some(items)) = (spec["items"]["$ref"].as_str(), present.as_array())
        {
            for (i, item) in items.iter().enumerate() {
                required_in(doc, r, item, &format!("{field}[{i}]"))?;
            }
        }
    }
    Ok(())
}

fn check(
    doc: &Document,
    schema: &Value,
    value: &Value,
    path: &mut Vec<String>,
) -> Result<(), ApiError> {
    if let Some(name) = schema["$ref"].as_str() {
        let Some(target) = doc.schema(name) else {
            return Ok(());
        };
        return check_named(doc, name, target, value, path);
    }
    check_named(doc, "", schema, value, path)
}

fn check_named(
    doc: &Document,
    name: &str,
    schema: &Value,
    value: &Value,
    path: &mut Vec<String>,
) -> Result<(), ApiError> {
    if value.is_null() {
        return Ok(());
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return Err(invalid_value(
                    path,
                    &format!("type.googleapis.com/{}", type_name(name)),
                    value,
                ));
            };
            let props = schema["properties"].as_object();
            let extra = schema.get("additionalProperties");
            for (key, sub) in object {
                if let Some(spec) = props.and_then(|p| p.get(key)) {
                    path.push(key.clone());
                    check(doc, spec, sub, path)?;
                    path.pop();
                } else if let Some(extra) = extra {
                    path.push(format!("[{key}]"));
                    check(doc, extra, sub, path)?;
                    path.pop();
                } else if props.is_some() {
                    let at = if path.is_empty() {
                        String::new()
                    } else {
                        format!(" at '{}'", dotted(path))
                    };
                    let message = format!("Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field.");
                    return Err(bad_request(message, Some(&dotted(path))));
                }
            }
            Ok(())
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return Err(invalid_value(path, "list", value));
            };
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                check(doc, &schema["items"], item, path)?;
                path.pop();
            }
            Ok(())
        }
        Some("string") => {
            let ok = match schema["format"].as_str() {
                Some("int64") | Some("uint64") => {
                    value.as_str().is_some_and(|s| s.parse::<i128>().is_ok())
                        || value.is_i64()
                        || value.is_u64()
                }
                _ => value.is_string(),
            };
            if !ok {
                return Err(invalid_value(path, &scalar_type(schema), value));
            }
            if let (Some(allowed), Some(s)) = (schema["enum"].as_array(), value.as_str()) {
                if !allowed.iter().any(|a| a == s) {
                    return Err(invalid_value(path, "TYPE_ENUM", value));
                }
            }
            Ok(())
        }
        Some("integer") => {
            let ok = value.is_i64()
                || value.is_u64()
                || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok());
            if ok {
                Ok(())
            } else {
                Err(invalid_value(path, &scalar_type(schema), value))
            }
        }
        Some("number") => {
            let ok = value.is_number() || value.as_str().is_some_and(|s| s.parse::<f64>().is_ok());
            if ok {
                Ok(())
            } else {
                Err(invalid_value(path, "TYPE_DOUBLE", value))
            }
        }
        Some("boolean") => {
            if value.is_boolean() {
                Ok(())
            } else {
                Err(invalid_value(path, "TYPE_BOOL", value))
            }
        }
        _ => Ok(()),
    }
}

fn scalar_type(spec: &Value) -> String {
    match (spec["type"].as_str(), spec["format"].as_str()) {
        (_, Some("int64")) => "TYPE_INT64",
        (_, Some("uint64")) => "TYPE_UINT64",
        (_, Some("int32")) => "TYPE_INT32",
        (_, Some("uint32")) => "TYPE_UINT32",
        (Some("boolean"), _) => "TYPE_BOOL",
        (Some("integer"), _) => "TYPE_INT32",
        _ => "TYPE_STRING",
    }
    .to_string()
}

/// `GoogleCloudRunV2RevisionTemplate` → `google.cloud.run.v2.RevisionTemplate`-like display name.
fn type_name(schema: &str) -> String {
    schema.to_string()
}

fn invalid_value(path: &[String], ty: &str, value: &Value) -> ApiError {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let field = dotted(path);
    bad_request(
        format!("Invalid value at '{field}' ({ty}), \"{shown}\""),
        Some(&field),
    )
}

/// `["template", "containers", "[0]", "maxInstanceCount"]` → `template.containers[0].max_instance_count`.
fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for part in path {
        if part.starts_with('[') {
            out.push_str(part);
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&snake(part));
        }
    }
    out
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn bad_request(message: String, field: Option<&str>) -> ApiError {
    let mut violation = serde_json::Map::new();
    if let Some(f) = field.filter(|f| !f.is_empty()) {
        violation.insert("field".into(), json!(f));
    }
    violation.insert("description".into(), json!(message));
    ApiError::invalid_argument(message)
        .with_detail(json!({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}))
        .from_front_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;
    use crate::discovery::document;

    fn run_create() -> (&'static Document, &'static Method) {
        let doc = document(Api::Run);
        let (m, _) = doc
            .find("POST", "v2/projects/p/locations/r/services")
            .unwrap();
        (doc, m)
    }

    #[test]
    fn unknown_body_field_is_rejected_with_its_location() {
        let (doc, m) = run_create();
        let err = body(doc, m, &json!({"template": {"bogus": 1}})).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message.contains("Unknown name \"bogus\" at 'template'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_required_nested_field_is_rejected() {
        let (doc, m) = run_create();
        let body = json!({"template": {"containers": [{"image": "i", "env": [{"value": "v"}]}]}});
        let err = required(doc, m, &body, "service").unwrap_err();
        assert_eq!(
            err.message,
            "Violation in service.template.containers[0].env[0].name: missing required field"
        );
        let ok = json!({"template": {"containers": [{"image": "i", "env": [{"name": "N", "value": "v"}]}]}});
        assert!(required(doc, m, &ok, "service").is_ok());
    }

    #[test]
    fn wrong_type_is_rejected() {
        let (doc, m) = run_create();
        let err = body(
            doc,
            m,
            &json!({"template": {"scaling": {"maxInstanceCount": "many"}}}),
        )
        .unwrap_err();
        assert!(
            err.message.contains("template.scaling.max_instance_count"),
            "{}",
            err.message
        );
    }

    #[test]
    fn dollar_prefixed_system_parameters_are_accepted() {
        let (doc, m) = run_create();
        let q = BTreeMap::from([("$alt".to_string(), "json;enum-encoding=int".to_string())]);
        assert!(query(doc, m, &q).is_ok());
    }

    #[test]
    fn unknown_query_parameter_is_rejected() {
        let (doc, m) = run_create();
        let q = BTreeMap::from([("nope".to_string(), "1".to_string())]);
        assert_eq!(query(doc, m, &q).unwrap_err().code, 400);
    }
}
