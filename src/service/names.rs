//! Naming rules of the parts and the defaults derived from a service's name and domain (PRODUCT §2).

/// Label every owned part carries where the API has labels.
pub const MANAGED_BY_KEY: &str = "managed-by";
/// Value of [`MANAGED_BY_KEY`].
pub const MANAGED_BY_VALUE: &str = "csmrun";

/// The ownership marker written into `description`: `csmrun:<project>/<region>/<name>`.
pub fn owner_marker(project: &str, region: &str, name: &str) -> String {
    format!("csmrun:{project}/{region}/{name}")
}

/// Prefix of the word in a NEG's description that lists the project roles its create was about to grant.
const GRANTS_PREFIX: &str = "iam-grants=";

/// Prefix of the word naming the account those roles are for.
const ACCOUNT_PREFIX: &str = "iam-account=";

/// A description: the marker, then (when any) the project roles the create that wrote it was about to grant and
/// the account it grants them to.
pub fn description_with_grants(marker: &str, grants: &[String], account: &str) -> String {
    if grants.is_empty() {
        marker.to_string()
    } else {
        format!(
            "{marker} {GRANTS_PREFIX}{} {ACCOUNT_PREFIX}{account}",
            grants.join(",")
        )
    }
}

/// The account [`description_with_grants`] wrote (none in descriptions of earlier versions).
pub fn grants_account(description: &str) -> Option<&str> {
    description
        .split_whitespace()
        .find_map(|w| w.strip_prefix(ACCOUNT_PREFIX))
}

/// True when one word of `description` is exactly `marker` (`csmrun:p/r/a` is not the marker of `a-2`).
pub fn has_marker(description: &str, marker: &str) -> bool {
    description.split_whitespace().any(|w| w == marker)
}

/// The roles [`description_with_grants`] wrote.
pub fn grants_in(description: &str) -> Vec<String> {
    description
        .split_whitespace()
        .filter_map(|w| w.strip_prefix(GRANTS_PREFIX))
        .flat_map(|list| list.split(','))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}

/// Default NEG name: `<name>-neg`.
pub fn default_neg_name(name: &str) -> String {
    format!("{name}-neg")
}

/// Default backend service name: `<name>-backend`.
pub fn default_backend_service_name(name: &str) -> String {
    format!("{name}-backend")
}

/// Default HTTPRoute name: `<name>-route`.
pub fn default_route_name(name: &str) -> String {
    format!("{name}-route")
}

/// Default DNS zone name: `csmrun-` + the domain with dots as dashes.
pub fn default_dns_zone_name(domain: &str) -> String {
    format!("csmrun-{}", domain.trim_end_matches('.').replace('.', "-"))
}

/// Default hostname: `<name>.<domain>`.
pub fn default_hostname(name: &str, domain: &str) -> String {
    format!("{name}.{}", domain.trim_end_matches('.'))
}

/// Cloud Run service id: lowercase letters, digits and hyphens, a letter first, no hyphen last, fewer than 50 chars.
pub fn check_service_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() >= 50 {
        return Err(format!(
            "is {} characters; Cloud Run service names must be fewer than 50",
            s.len()
        ));
    }
    rfc1035_label(s)
}

/// A project ID or region as one request path segment: 1–100 characters of lowercase letters, digits, `-`, `.`
/// and `:` (domain-scoped projects are `example.com:project`), a letter or digit first. Looser than the formats
/// configuration is held to (`validate_formats`), because provider-level values are not checked there; strict
/// enough that the value can never climb out of its place in a path or start a query.
pub fn check_id_segment(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 100 {
        return Err(format!("must be 1 to 100 characters long (is {})", s.len()));
    }
    if !s.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("must start with a letter or digit".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':')))
    {
        return Err(format!(
            "contains {c:?}; only lowercase letters, digits, `-`, `.` and `:` are allowed"
        ));
    }
    Ok(())
}

/// Compute resource names (NEG, backend service), Network Services ids and DNS zone names:
/// 1–63 chars `[a-z]([-a-z0-9]*[a-z0-9])?`.
pub fn check_part_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err(format!("must be 1 to 63 characters long (is {})", s.len()));
    }
    rfc1035_label(s)
}

fn rfc1035_label(s: &str) -> Result<(), String> {
    let bytes = s.as_bytes();
    if !bytes[0].is_ascii_lowercase() {
        return Err("must start with a lowercase letter".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains {c:?}; only lowercase letters, digits and hyphens are allowed"
        ));
    }
    if s.ends_with('-') {
        return Err("must not end with a hyphen".into());
    }
    Ok(())
}

/// One DNS label of a hostname or domain: 1–63 chars of `[a-z0-9-]`, no hyphen at either end (RFC 1123).
fn check_dns_label(l: &str) -> Result<(), String> {
    if l.is_empty() {
        return Err("has an empty label (two dots in a row, or a leading dot)".into());
    }
    if l.len() > 63 {
        return Err(format!(
            "has a label of {} characters; at most 63 are allowed",
            l.len()
        ));
    }
    if let Some(c) = l
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains {c:?}; use lowercase letters, digits, hyphens and dots"
        ));
    }
    if l.starts_with('-') || l.ends_with('-') {
        return Err(format!("label {l:?} starts or ends with a hyphen"));
    }
    Ok(())
}

/// A DNS name without trailing dot: lowercase RFC 1123 labels, at most 253 characters.
pub fn check_dns_name(s: &str) -> Result<(), String> {
    if s.ends_with('.') {
        return Err(
            "must not end with a dot (write \"meshapps.internal\", not \"meshapps.internal.\")"
                .into(),
        );
    }
    if s.len() > 253 {
        return Err(format!(
            "is {} characters; at most 253 are allowed",
            s.len()
        ));
    }
    if s.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("is an IP address; a DNS name is required".into());
    }
    s.split('.').try_for_each(check_dns_label)
}

/// A reference given as a bare name, a relative resource name or a self link, reduced to its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// Project from the reference, if it named one.
    pub project: Option<String>,
    /// Region or location from the reference, if it named one.
    pub location: Option<String>,
    /// The resource's own name.
    pub name: String,
}

/// Parses `NAME`, `projects/P/<scope>/<collection>/NAME` or a self link ending in that form.
///
/// `scope` is the path between the project and the collection: `global`, `locations/global`, `regions/*`.
pub fn parse_ref(s: &str, collection: &str, scopes: &[&str]) -> Result<ResourceRef, String> {
    let rel = strip_self_link(s);
    if !rel.contains('/') {
        check_part_name(rel)?;
        return Ok(ResourceRef {
            project: None,
            location: None,
            name: rel.to_string(),
        });
    }
    let parts: Vec<&str> = rel.split('/').collect();
    let shape_err = || {
        let forms: Vec<String> = scopes
            .iter()
            .map(|sc| format!("projects/PROJECT/{sc}/{collection}/NAME"))
            .collect();
        format!(
            "must be a name or one of {}, or a self link",
            forms.join(", ")
        )
    };
    if parts.len() < 5 || parts[0] != "projects" || parts[parts.len() - 2] != collection {
        return Err(shape_err());
    }
    let scope = parts[2..parts.len() - 2].join("/");
    let (matched, location) = scopes
        .iter()
        .find_map(|sc| match sc.split_once("/*") {
            Some((prefix, _)) => scope
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('/'))
                .filter(|r| !r.is_empty() && !r.contains('/'))
                .map(|r| (true, Some(r.to_string()))),
            None if scope == *sc => Some((true, sc.rsplit('/').next().map(str::to_string))),
            None => None,
        })
        .unwrap_or((false, None));
    if !matched || parts[1].is_empty() {
        return Err(shape_err());
    }
    check_id_segment(parts[1]).map_err(|e| format!("names a project that {e}"))?;
    if let Some(loc) = &location {
        check_id_segment(loc).map_err(|e| format!("names a location that {e}"))?;
    }
    let name = parts[parts.len() - 1];
    check_part_name(name)?;
    Ok(ResourceRef {
        project: Some(parts[1].to_string()),
        location,
        name: name.to_string(),
    })
}

/// Drops `https://<host>/<api>/<version>/` from a self link, leaving `projects/...`.
fn strip_self_link(s: &str) -> &str {
    if s.starts_with("https://") || s.starts_with("http://") {
        if let Some(i) = s.find("/projects/") {
            return &s[i + 1..];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neg_description_names_the_roles_being_granted_and_their_account() {
        let roles = vec![
            "roles/trafficdirector.client".to_string(),
            "roles/cloudtrace.agent".to_string(),
        ];
        let d = description_with_grants("csmrun:p/r/a", &roles, "app@p.iam.gserviceaccount.com");
        assert!(has_marker(&d, "csmrun:p/r/a"));
        assert_eq!(grants_in(&d), roles);
        assert_eq!(grants_account(&d), Some("app@p.iam.gserviceaccount.com"));
        // Nothing to grant: the marker alone. Descriptions of earlier versions name no account.
        assert_eq!(
            description_with_grants("csmrun:p/r/a", &[], "x"),
            "csmrun:p/r/a"
        );
        assert_eq!(grants_account("csmrun:p/r/a iam-grants=roles/x"), None);
    }

    #[test]
    fn defaults_follow_product_section_two() {
        assert_eq!(default_neg_name("target"), "target-neg");
        assert_eq!(default_backend_service_name("target"), "target-backend");
        assert_eq!(default_route_name("target"), "target-route");
        assert_eq!(
            default_dns_zone_name("meshapps.internal"),
            "csmrun-meshapps-internal"
        );
        assert_eq!(
            default_hostname("target", "meshapps.internal"),
            "target.meshapps.internal"
        );
        assert_eq!(owner_marker("p", "r", "n"), "csmrun:p/r/n");
    }

    #[test]
    fn service_names_follow_cloud_run_rules() {
        assert!(check_service_name("target-1").is_ok());
        for bad in ["", "1abc", "Abc", "a_b", "abc-", &"a".repeat(50)] {
            assert!(check_service_name(bad).is_err(), "{bad}");
        }
        assert!(check_service_name(&"a".repeat(49)).is_ok());
    }

    #[test]
    fn references_accept_name_relative_name_and_self_link() {
        let scopes = ["global"];
        assert_eq!(
            parse_ref("vpc", "networks", &scopes).map(|r| r.name),
            Ok("vpc".into())
        );
        let r = parse_ref("projects/p/global/networks/vpc", "networks", &scopes).unwrap();
        assert_eq!((r.project.as_deref(), r.name.as_str()), (Some("p"), "vpc"));
        let r = parse_ref(
            "https://www.googleapis.com/compute/v1/projects/p/global/networks/vpc",
            "networks",
            &scopes,
        )
        .unwrap();
        assert_eq!(r.name, "vpc");
        let r = parse_ref(
            "projects/p/regions/r1/subnetworks/s",
            "subnetworks",
            &["regions/*"],
        )
        .unwrap();
        assert_eq!(r.location.as_deref(), Some("r1"));
        assert!(parse_ref(
            "projects/p/regions/r1/networks/s",
            "subnetworks",
            &["regions/*"]
        )
        .is_err());
        assert!(parse_ref(
            "projects/p/locations/us/meshes/m",
            "meshes",
            &["locations/global"]
        )
        .is_err());
        assert!(parse_ref("projects//global/networks/vpc", "networks", &scopes).is_err());
    }
}
