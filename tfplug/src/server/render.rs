//! Short human renderings of values for diagnostics (sensitive values are never rendered).

use crate::schema::Attribute;
use crate::value::Value;

/// `value` in HCL-like form, or `(sensitive value)` for sensitive attributes.
pub(crate) fn for_attribute(attr: &Attribute, value: Option<&Value>) -> String {
    if attr.sensitive {
        return "(sensitive value)".to_string();
    }
    match value {
        None => "(absent)".to_string(),
        Some(v) => render(v),
    }
}

/// `value` in HCL-like form.
pub(crate) fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Unknown => "(known after apply)".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(items) | Value::Object(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{k} = {}", render(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Dynamic(_, inner) => render(inner),
    }
}
