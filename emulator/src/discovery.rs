//! The embedded Google discovery documents: method table and schemas per API.

use crate::api::Api;
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One discovery method with its compiled path templates.
#[derive(Debug)]
pub struct Method {
    pub id: String,
    pub http_method: String,
    /// The method's JSON from the discovery document (parameters, request, response).
    pub def: Value,
    flat: Template,
    path: Template,
}

#[derive(Debug)]
struct Template {
    regex: Regex,
    names: Vec<String>,
    literal: usize,
}

impl Template {
    /// Compiles `v2/{+name}` / `projects/{project}/x/{y}`: `{+v}` spans segments, `{v}` does not.
    fn compile(template: &str) -> Template {
        let mut regex = String::from("^");
        let mut names = Vec::new();
        let mut literal = 0;
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let text = &rest[..start];
            regex.push_str(&regex::escape(text));
            literal += text.len();
            let var = &rest[start + 1..start + len];
            if let Some(var) = var.strip_prefix('+') {
                regex.push_str("(.+)");
                names.push(var.to_string());
            } else {
                regex.push_str("([^/]+?)");
                names.push(var.to_string());
            }
            rest = &rest[start + len + 1..];
        }
        regex.push_str(&regex::escape(rest));
        literal += rest.len();
        regex.push('$');
        // The pattern is built from escaped literals and two fixed groups, so it always compiles.
        let regex = Regex::new(&regex).unwrap_or_else(|_| Regex::new("^$").expect("static regex"));
        Template {
            regex,
            names,
            literal,
        }
    }

    fn capture(&self, path: &str, into: &mut BTreeMap<String, String>) -> bool {
        let Some(caps) = self.regex.captures(path) else {
            return false;
        };
        for (i, name) in self.names.iter().enumerate() {
            if let Some(m) = caps.get(i + 1) {
                into.insert(name.clone(), m.as_str().to_string());
            }
        }
        true
    }
}

/// A parsed discovery document.
#[derive(Debug)]
pub struct Document {
    pub api: Api,
    pub schemas: serde_json::Map<String, Value>,
    pub standard_params: Vec<String>,
    pub methods: Vec<Method>,
}

impl Document {
    fn parse(api: Api, text: &str) -> Document {
        let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let schemas = doc["schemas"].as_object().cloned().unwrap_or_default();
        let standard_params = doc["parameters"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let mut methods = Vec::new();
        walk(&doc["resources"], &mut methods);
        Document {
            api,
            schemas,
            standard_params,
            methods,
        }
    }

    /// The method for an HTTP verb and a path relative to the document root; the template with the most
    /// literal text wins (so `.../services/{s}:getIamPolicy` beats `.../services/{s}`).
    /// Returns the method and its path parameters, from both `flatPath` and `path` templates.
    pub fn find(
        &self,
        http_method: &str,
        rel_path: &str,
    ) -> Option<(&Method, BTreeMap<String, String>)> {
        let best = self
            .methods
            .iter()
            .filter(|m| m.http_method == http_method && m.flat.regex.is_match(rel_path))
            .max_by_key(|m| m.flat.literal)?;
        let mut params = BTreeMap::new();
        best.flat.capture(rel_path, &mut params);
        best.path.capture(rel_path, &mut params);
        Some((best, params))
    }

    /// Whether any method has this path (used to tell 404 from 405-like mismatches).
    pub fn knows_path(&self, rel_path: &str) -> bool {
        self.methods.iter().any(|m| m.flat.regex.is_match(rel_path))
    }

    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.schemas.get(name)
    }
}

fn walk(resources: &Value, out: &mut Vec<Method>) {
    let Some(resources) = resources.as_object() else {
        return;
    };
    for resource in resources.values() {
        if let Some(methods) = resource["methods"].as_object() {
            for def in methods.values() {
                let path = def["path"].as_str().unwrap_or_default();
                let flat = def["flatPath"].as_str().unwrap_or(path);
                out.push(Method {
                    id: def["id"].as_str().unwrap_or_default().to_string(),
                    http_method: def["httpMethod"].as_str().unwrap_or_default().to_string(),
                    def: def.clone(),
                    flat: Template::compile(flat),
                    path: Template::compile(path),
                });
            }
        }
        walk(&resource["resources"], out);
    }
}

fn text(api: Api) -> &'static str {
    match api {
        Api::Run => include_str!("../discovery/run.v2.json"),
        Api::Compute => include_str!("../discovery/compute.v1.json"),
        Api::NetworkServices => include_str!("../discovery/networkservices.v1.json"),
        Api::Dns => include_str!("../discovery/dns.v1.json"),
        Api::ResourceManager => include_str!("../discovery/cloudresourcemanager.v1.json"),
    }
}

/// The parsed document for `api`, parsed once on first use.
pub fn document(api: Api) -> &'static Document {
    static DOCS: [OnceLock<Document>; 5] = [const { OnceLock::new() }; 5];
    let index = Api::ALL.iter().position(|a| *a == api).unwrap_or(0);
    DOCS[index].get_or_init(|| Document::parse(api, text(api)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_method_beats_plain_get() {
        let doc = document(Api::Run);
        let (m, params) = doc
            .find("GET", "v2/projects/p/locations/r/services/s:getIamPolicy")
            .unwrap();
        assert_eq!(m.id, "run.projects.locations.services.getIamPolicy");
        assert_eq!(params["resource"], "projects/p/locations/r/services/s");
    }

    #[test]
    fn compute_paths_capture_named_parameters() {
        let doc = document(Api::Compute);
        let (m, params) = doc
            .find("GET", "projects/p/global/backendServices/bs")
            .unwrap();
        assert_eq!(m.id, "compute.backendServices.get");
        assert_eq!(params["backendService"], "bs");
    }
}
