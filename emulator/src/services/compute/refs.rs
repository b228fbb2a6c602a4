//! Compute resource references: Google's canonical URLs and the partial forms clients send.

/// The prefix Google uses in every Compute `selfLink`, whatever endpoint the client called.
pub const CANONICAL_PREFIX: &str = "https://www.googleapis.com/compute/v1/";

/// Where a Compute resource lives: one region, or global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Region(String),
}

/// A parsed reference to a Compute resource (`projects/P/regions/R/networkEndpointGroups/N`,
/// `projects/P/global/backendServices/B`, with or without scheme and host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    pub project: String,
    pub scope: Scope,
    pub collection: String,
    pub name: String,
}

impl ResourceRef {
    /// The relative path Google uses in error messages: `projects/P/global/backendServices/B`.
    pub fn path(&self) -> String {
        match &self.scope {
            Scope::Global => format!(
                "projects/{}/global/{}/{}",
                self.project, self.collection, self.name
            ),
            Scope::Region(r) => format!(
                "projects/{}/regions/{}/{}/{}",
                self.project, r, self.collection, self.name
            ),
        }
    }

    /// The canonical `https://www.googleapis.com/compute/v1/...` URL.
    pub fn url(&self) -> String {
        format!("{CANONICAL_PREFIX}{}", self.path())
    }
}

/// Parses a reference as clients write it: a full URL on any host (Google's or the emulator's),
/// a path starting at `projects/`, or a project-relative path (`regions/R/...`, `global/...`) that
/// takes `default_project`. Network Services style `projects/P/locations/global/backendServices/B`
/// is accepted too, because HTTPRoute destinations are written that way.
pub fn parse(reference: &str, default_project: &str) -> Option<ResourceRef> {
    let trimmed = reference.trim();
    let rest = match trimmed.find("projects/") {
        Some(i) => &trimmed[i..],
        None if trimmed.starts_with("regions/") || trimmed.starts_with("global/") => trimmed,
        None => return None,
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let (project, tail) = if segments[0] == "projects" {
        (segments.get(1)?.to_string(), &segments[2..])
    } else {
        (default_project.to_string(), &segments[..])
    };
    match tail {
        ["regions", region, collection, name] => Some(ResourceRef {
            project,
            scope: Scope::Region(region.to_string()),
            collection: collection.to_string(),
            name: name.to_string(),
        }),
        ["global", collection, name] | ["locations", "global", collection, name] => {
            Some(ResourceRef {
                project,
                scope: Scope::Global,
                collection: collection.to_string(),
                name: name.to_string(),
            })
        }
        _ => None,
    }
}

/// `https://www.googleapis.com/compute/v1/projects/P/regions/R`.
pub fn region_url(project: &str, region: &str) -> String {
    format!("{CANONICAL_PREFIX}projects/{project}/regions/{region}")
}

/// `https://www.googleapis.com/compute/v1/projects/P/global/networks/N`.
pub fn network_url(project: &str, network: &str) -> String {
    format!("{CANONICAL_PREFIX}projects/{project}/global/networks/{network}")
}

/// Canonical URL of a regional resource.
pub fn regional_url(project: &str, region: &str, collection: &str, name: &str) -> String {
    format!("{CANONICAL_PREFIX}projects/{project}/regions/{region}/{collection}/{name}")
}

/// Canonical URL of a global resource.
pub fn global_url(project: &str, collection: &str, name: &str) -> String {
    format!("{CANONICAL_PREFIX}projects/{project}/global/{collection}/{name}")
}

/// Compute resource names: 1-63 characters, `[a-z]([-a-z0-9]*[a-z0-9])?`.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 63 || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let last = bytes[bytes.len() - 1];
    if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
        return false;
    }
    bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// The regex Google quotes when it rejects a name.
pub const NAME_REGEX: &str = "[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_urls_on_any_host_and_partial_paths_parse_to_the_same_reference() {
        let want = ResourceRef {
            project: "p".into(),
            scope: Scope::Region("asia-northeast1".into()),
            collection: "networkEndpointGroups".into(),
            name: "neg".into(),
        };
        for s in [
            "https://www.googleapis.com/compute/v1/projects/p/regions/asia-northeast1/networkEndpointGroups/neg",
            "https://compute.googleapis.com/compute/v1/projects/p/regions/asia-northeast1/networkEndpointGroups/neg",
            "http://127.0.0.1:4000/compute/v1/projects/p/regions/asia-northeast1/networkEndpointGroups/neg",
            "projects/p/regions/asia-northeast1/networkEndpointGroups/neg",
            "regions/asia-northeast1/networkEndpointGroups/neg",
        ] {
            assert_eq!(parse(s, "p"), Some(want.clone()), "{s}");
        }
    }

    #[test]
    fn network_services_style_backend_service_paths_parse_as_global() {
        let r = parse("projects/p/locations/global/backendServices/bs", "x").unwrap();
        assert_eq!(r.scope, Scope::Global);
        assert_eq!(r.path(), "projects/p/global/backendServices/bs");
    }

    #[test]
    fn malformed_references_are_rejected() {
        for s in [
            "",
            "neg",
            "projects/p",
            "projects//global/backendServices/b",
            "projects/p/zones/z/x/y/z",
        ] {
            assert_eq!(parse(s, "p"), None, "{s}");
        }
    }

    #[test]
    fn names_follow_the_compute_pattern() {
        assert!(is_valid_name("a"));
        assert!(is_valid_name("my-neg-1"));
        assert!(!is_valid_name("1abc"));
        assert!(!is_valid_name("abc-"));
        assert!(!is_valid_name("Abc"));
        assert!(!is_valid_name(&"a".repeat(64)));
    }
}
