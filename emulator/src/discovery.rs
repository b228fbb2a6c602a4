//! The embedded Google discovery documents: method table and schemas per API.

use crate::api::Api;
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
enum Part {
    Literal(String),
    /// `{name}` matches within one segment; `{+name}` may span segments.
    Var {
        name: String,
        spans: bool,
    },
}

/// A compiled path template. Matched by hand rather than with `regex`: compiling some 2,400 patterns of the
/// Compute document took seconds in debug builds, on the first request of every test process.
#[derive(Debug)]
struct Template {
    parts: Vec<Part>,
    literal: usize,
}

impl Template {
    fn compile(template: &str) -> Template {
        let mut parts = Vec::new();
        let mut literal = 0;
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
                literal += start;
            }
            let var = &rest[start + 1..start + len];
            let (name, spans) = match var.strip_prefix('+') {
                Some(v) => (v, true),
                None => (var, false),
            };
            parts.push(Part::Var {
                name: name.to_string(),
                spans,
            });
            rest = &rest[start + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
            literal += rest.len();
        }
        Template { parts, literal }
    }

    fn is_match(&self, path: &str) -> bool {
        matches(&self.parts, path, &mut Vec::new())
    }

    fn capture(&self, path: &str, into: &mut BTreeMap<String, String>) -> bool {
        let mut found = Vec::new();
        if !matches(&self.parts, path, &mut found) {
            return false;
        }
        into.extend(found);
        true
    }
}

/// Backtracking match: a spanning variable tries the longest value first, a segment variable the shortest
/// (the same choices as the regexes `(.+)` and `([^/]+?)` used by `gcp-conformance`).
fn matches(parts: &[Part], path: &str, out: &mut Vec<(String, String)>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return path.is_empty();
    };
    match first {
        Part::Literal(text) => path
            .strip_prefix(text.as_str())
            .is_some_and(|tail| matches(rest, tail, out)),
        Part::Var { name, spans } => {
            // A segment variable ends within the first segment: looking further made every request cost time
            // quadratic in its path's length, against every template (seconds for a 20 KB path).
            let scope = if *spans {
                path
            } else {
                &path[..path.find('/').unwrap_or(path.len())]
            };
            // Only where the next literal starts can the value end (or at the end, with nothing after it).
            let ends: Vec<usize> = match rest.first() {
                None => vec![scope.len()]
                    .into_iter()
                    .filter(|&e| e > 0 && e == path.len())
                    .collect(),
                Some(Part::Literal(next)) => (1..=scope.len())
                    .filter(|&i| path.is_char_boundary(i) && path[i..].starts_with(next.as_str()))
                    .collect(),
                Some(Part::Var { .. }) => scope
                    .char_indices()
                    .map(|(i, c)| i + c.len_utf8())
                    .collect(),
            };
            let candidates: Box<dyn Iterator<Item = &usize>> = if *spans {
                Box::new(ends.iter().rev())
            } else {
                Box::new(ends.iter())
            };
            for &end in candidates {
                let value = &path[..end];
                let before = out.len();
                if matches(rest, &path[end..], out) {
                    out.insert(before, (name.clone(), value.to_string()));
                    return true;
                }
                out.truncate(before);
            }
            false
        }
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
            .filter(|m| m.http_method == http_method && m.flat.is_match(rel_path))
            .max_by_key(|m| m.flat.literal)?;
        let mut params = BTreeMap::new();
        best.flat.capture(rel_path, &mut params);
        best.path.capture(rel_path, &mut params);
        Some((best, params))
    }

    /// Whether any method has this path (used to tell 404 from 405-like mismatches).
    pub fn knows_path(&self, rel_path: &str) -> bool {
        self.methods.iter().any(|m| m.flat.is_match(rel_path))
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

/// Parses every document now (on a blocking thread) so the first request does not pay for it.
pub fn prewarm() {
    for api in Api::ALL {
        document(api);
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
    fn segment_variables_do_not_cross_slashes_and_spanning_ones_do() {
        let t = Template::compile("v1/{+name}:wait");
        let mut got = BTreeMap::new();
        assert!(t.capture("v1/projects/p/operations/o:wait", &mut got));
        assert_eq!(got["name"], "projects/p/operations/o");
        let t = Template::compile("projects/{project}/zones");
        assert!(!t.is_match("projects/a/b/zones"));
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
