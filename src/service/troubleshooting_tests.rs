//! The troubleshooting guide's table (`templates/guides/troubleshooting.md`, rendered to
//! `docs/guides/troubleshooting.md`) is checked against the diagnostics csmrun really returns: each failure a
//! user can meet is built here by the code that reports it, its summary written with placeholders for the names,
//! and that text must be a row's "csmrun says" cell; every such cell must be one of them (no row for a message
//! csmrun no longer gives).

use std::time::Duration;

use super::diagnose::{self, Cause, Checks, Failure, Grant};
use super::parts::dns;
use super::parts::iam;
use super::parts::neg;
use super::parts::{backend_service, cloud_run, route};
use super::spec::{Spec, TRAFFIC_DIRECTOR_CLIENT};
use super::steps::{not_ours, preflight, StepError};
use super::testenv::{planned, spec};

const GUIDE: &str = include_str!("../../templates/guides/troubleshooting.md");

/// The summary with the spec's names replaced by the placeholders the table uses.
fn template(summary: &str, s: &Spec) -> String {
    let mut t = summary.to_string();
    for (value, placeholder) in [
        (s.dns_zone_name.as_str(), "ZONE"),
        (s.neg_name.as_str(), "NEG"),
        (s.backend_service_name.as_str(), "BACKEND"),
        (s.route_name.as_str(), "ROUTE"),
        (s.hostname.as_str(), "HOSTNAME"),
        (s.subnetwork.as_str(), "SUBNET"),
        (s.network.as_str(), "NETWORK"),
        (s.mesh.as_str(), "MESH"),
        (s.domain.as_str(), "DOMAIN"),
        (s.service_account.as_str(), "ACCOUNT"),
        (s.project.as_str(), "PROJECT"),
    ] {
        t = t.replace(value, placeholder);
    }
    // The service's own name last: it is a prefix of the default part names.
    t.replace(&s.name, "NAME")
}

fn sidecar(cause: Cause, s: &Spec) -> String {
    let mut c = Checks {
        project: s.project.clone(),
        region: s.region.clone(),
        service: s.name.clone(),
        mesh: s.mesh.clone(),
        has_mesh: true,
        mesh_age: Some(Duration::from_secs(3600)),
        mesh_settle_time: Duration::from_secs(60),
        subnet_pga: Some(true),
        subnet: s.subnetwork.clone(),
        egress_all_traffic: true,
        grant: Grant::Existing,
        service_account: s.service_account.clone(),
        redeploys: 0,
    };
    match cause {
        Cause::IamPropagation => {
            c.grant = Grant::New {
                age: Duration::from_secs(30),
            }
        }
        Cause::PrivateGoogleAccess => c.subnet_pga = Some(false),
        Cause::MeshTooYoung => c.mesh_age = Some(Duration::from_secs(20)),
        Cause::SidecarUnknown => {}
        Cause::NotMesh => c.has_mesh = false,
    }
    let failure = Failure {
        message: "Revision 'x-00001' is not ready and cannot serve traffic. The user-provided container failed \
                  to start and listen on the port defined provided by the PORT=8080 environment variable"
            .into(),
        code: Some(9),
        ..Failure::default()
    };
    let d = diagnose::diagnose(failure, &c);
    assert_eq!(d.cause, cause, "the sample provokes {cause:?}");
    d.summary()
}

/// Every failure of the table, as the code builds it.
fn summaries(s: &Spec) -> Vec<String> {
    let from = |e: StepError| e.summary();
    let zone = gcp::dns::ManagedZone {
        name: s.dns_zone_name.clone(),
        dns_name: "other.example.".into(),
        ..Default::default()
    };
    let want = crate::service::parts::dns::wildcard_record(s);
    let mut other = want.clone();
    other.rrdatas = vec!["10.9.9.9".into()];
    let member = format!("serviceAccount:{}", s.service_account);
    let foreign_neg = gcp::compute::NetworkEndpointGroup {
        name: s.neg_name.clone(),
        cloud_run: Some(gcp::compute::CloudRunTarget {
            service: Some("OTHER".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let foreign_backend = gcp::compute::BackendService {
        name: s.backend_service_name.clone(),
        ..Default::default()
    };
    let foreign_route = gcp::network_services::HttpRoute {
        name: s.route_path(),
        ..Default::default()
    };
    vec![
        sidecar(Cause::IamPropagation, s),
        sidecar(Cause::PrivateGoogleAccess, s),
        sidecar(Cause::MeshTooYoung, s),
        sidecar(Cause::SidecarUnknown, s),
        sidecar(Cause::NotMesh, s),
        from(preflight::no_private_google_access(s)),
        from(preflight::mesh_not_found(s)),
        from(preflight::network_not_found(s)),
        from(preflight::subnet_not_found(s)),
        from(preflight::hostname_taken(s, "other-route")),
        from(neg::taken(&s.neg_name, "OTHER", &s.name)),
        from(not_ours("serverless NEG", &s.neg_name, "neg_name", s)),
        from(not_ours(
            "backend service",
            &s.backend_service_name,
            "backend_service_name",
            s,
        )),
        from(not_ours("HTTPRoute", &s.route_name, "route_name", s)),
        from(not_ours("Cloud Run service", &s.name, "name", s)),
        from(dns::check_zone_domain(&zone, s).expect_err("another domain")),
        from(cloud_run::not_this_services(s, Some("uid"))),
        from(cloud_run::not_this_services(s, None)),
        from(neg::not_this_services(&foreign_neg, "neg_name", s)),
        from(backend_service::not_this_services(
            &foreign_backend,
            "backend_service_name",
            s,
        )),
        from(route::not_this_services(&foreign_route, "route_name", s)),
        from(dns::zone_not_this_services(s)),
        from(dns::check_record(s, &want, &other).expect_err("other addresses")),
        from(iam::permission_denied(
            &s.project,
            TRAFFIC_DIRECTOR_CLIENT,
            TRAFFIC_DIRECTOR_CLIENT,
            &member,
            "",
            "Policy update access denied.",
        )),
    ]
}

/// The backticked texts of the table's "csmrun says" column (its first).
fn says_cells() -> Vec<String> {
    let section = GUIDE
        .split("\n## What csmrun says\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the guide has a \"What csmrun says\" section");
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_failure_csmrun_explains_has_a_row_in_the_troubleshooting_guide() {
    let s = spec(&planned("orders", |_| {}));
    let cells = says_cells();
    let missing: Vec<String> = summaries(&s)
        .iter()
        .map(|summary| template(summary, &s))
        .filter(|t| !cells.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "the troubleshooting guide has no row saying: {missing:#?}\nrows say: {cells:#?}"
    );
}

#[test]
fn every_row_of_the_troubleshooting_guide_is_a_message_csmrun_gives() {
    let s = spec(&planned("orders", |_| {}));
    let given: Vec<String> = summaries(&s).iter().map(|x| template(x, &s)).collect();
    let stale: Vec<String> = says_cells()
        .into_iter()
        .filter(|c| !given.contains(c))
        .collect();
    assert!(
        stale.is_empty(),
        "rows of the troubleshooting guide say what csmrun no longer says: {stale:#?}"
    );
}
