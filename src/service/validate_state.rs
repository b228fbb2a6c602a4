//! The names a state (or a plan built on it) puts into request paths, checked as strictly as configuration: a
//! state edited by hand or corrupted must not make csmrun read, change or delete a resource it never made.

use super::{names, FieldPath, Problem, ServiceModel, Val};

/// Every problem with the identifiers of `m` (empty when they are all well-formed). Attributes that name no
/// resource (image, labels, ...) are left to the API: a state refreshed from the cloud may hold any value Google
/// accepts there.
pub fn check_state(m: &ServiceModel) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut check = |path: FieldPath, v: &Val<String>, f: &dyn Fn(&str) -> Result<(), String>| {
        if let Val::Known(s) = v {
            if let Err(e) = f(s) {
                out.push(invalid(path, s, &e));
            }
        }
    };
    let a = FieldPath::attr;
    check(a("name"), &m.name, &names::check_service_name);
    // Project and region may come from the provider block, which is not held to the resource's formats; what
    // matters here is that each stays one path segment.
    check(a("project"), &m.project, &names::check_id_segment);
    check(a("region"), &m.region, &names::check_id_segment);
    for (name, v) in [
        ("neg_name", &m.neg_name),
        ("backend_service_name", &m.backend_service_name),
        ("route_name", &m.route_name),
        ("dns_zone_name", &m.dns_zone_name),
    ] {
        check(a(name), v, &names::check_part_name);
    }
    // An imported service without a mesh or VPC access says "" until the next update sets them.
    let reference = |collection: &'static str, scopes: &'static [&'static str]| {
        move |s: &str| {
            if s.is_empty() {
                Ok(())
            } else {
                names::parse_ref(s, collection, scopes).map(|_| ())
            }
        }
    };
    check(
        a("mesh"),
        &m.mesh,
        &reference("meshes", &["locations/global"]),
    );
    check(
        a("network"),
        &m.network,
        &reference("networks", &["global"]),
    );
    check(
        a("subnetwork"),
        &m.subnetwork,
        &reference("subnetworks", &["regions/*"]),
    );
    check(a("domain"), &m.domain, &names::check_dns_name);
    for (i, r) in m.route.iter().enumerate() {
        let route = a("route").index(i);
        let backend = reference("backendServices", &["global", "locations/global"]);
        for (j, d) in r.destination.iter().enumerate() {
            check(
                route.at("destination").index(j).at("backend_service"),
                &d.backend_service,
                &backend,
            );
        }
        for (j, rule) in r.rule.iter().enumerate() {
            for (k, d) in rule.destination.iter().enumerate() {
                check(
                    route
                        .at("rule")
                        .index(j)
                        .at("destination")
                        .index(k)
                        .at("backend_service"),
                    &d.backend_service,
                    &backend,
                );
            }
        }
    }
    out
}

/// The names of parts kept in private state (`leftovers`), checked like the attributes.
pub fn check_part_names<'a>(names_in_private: impl IntoIterator<Item = &'a str>) -> Vec<Problem> {
    names_in_private
        .into_iter()
        .filter_map(|n| {
            names::check_part_name(n).err().map(|e| {
                invalid(
                    FieldPath::attr("id"),
                    n,
                    &format!("(a part named in private state) {e}"),
                )
            })
        })
        .collect()
}

fn invalid(path: FieldPath, value: &str, e: &str) -> Problem {
    // Quoted shortened: a corrupted state can hold anything, of any length.
    let mut shown: String = value.chars().take(80).collect();
    if shown.len() < value.len() {
        shown.push_str("...");
    }
    Problem {
        summary: "Invalid state".into(),
        detail: format!(
            "The state of this csmrun_service has `{path}` = {shown:?}, which {e}. The state was edited or is \
             corrupted, and csmrun sends no request for a name it would not accept in a configuration. To recover, \
             remove the resource from the state without touching the cloud (`terraform state rm <address>`), then \
             import it again (`terraform import <address> projects/PROJECT/locations/REGION/services/NAME`), which \
             reads its parts from the cloud."
        ),
        path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::validate_table;

    #[test]
    fn a_valid_state_has_no_problem() {
        let (planned, _) = validate_table::planned(&validate_table::valid());
        assert_eq!(check_state(&planned), vec![]);
    }

    #[test]
    fn every_name_that_reaches_a_request_path_is_checked_in_state() {
        let (planned, _) = validate_table::planned(&validate_table::valid());
        let bad = Val::Known("../../../global/backendServices/foreign-backend".to_string());
        type Set = fn(&mut ServiceModel, Val<String>);
        let cases: Vec<(&str, Set)> = vec![
            ("name", |m, v| m.name = v),
            ("project", |m, v| m.project = v),
            ("region", |m, v| m.region = v),
            ("neg_name", |m, v| m.neg_name = v),
            ("backend_service_name", |m, v| m.backend_service_name = v),
            ("route_name", |m, v| m.route_name = v),
            ("dns_zone_name", |m, v| m.dns_zone_name = v),
            ("mesh", |m, v| m.mesh = v),
            ("network", |m, v| m.network = v),
            ("subnetwork", |m, v| m.subnetwork = v),
            ("domain", |m, v| m.domain = v),
        ];
        for (attr, set) in cases {
            let mut m = planned.clone();
            set(&mut m, bad.clone());
            let problems = check_state(&m);
            assert_eq!(problems.len(), 1, "{attr}: {problems:?}");
            assert_eq!(problems[0].path, FieldPath::attr(attr));
            assert_eq!(problems[0].summary, "Invalid state");
            assert!(problems[0].detail.contains("terraform state rm"), "{attr}");
        }
        assert_eq!(check_part_names(["old-neg", "x?alt=json"]).len(), 1);
    }
}
