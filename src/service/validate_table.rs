//! Table test: each invalid configuration is rejected on the right attribute path; valid ones are accepted.

use std::collections::BTreeMap;

use super::model::*;
use super::val::Val;
use super::validate::validate;

fn s(v: &str) -> Val<String> {
    Val::Known(v.to_string())
}

/// `m` planned with project `p` and region `r`, and its spec (for tests of what is built from a plan).
pub(super) fn planned(m: &ServiceModel) -> (ServiceModel, super::spec::Spec) {
    let d = super::plan::PlanDefaults {
        project: Some("p".into()),
        region: Some("r".into()),
        ..Default::default()
    };
    let planned = super::plan::plan(m, None, &d);
    let spec = super::spec::Spec::from_model(&planned, &BTreeMap::new()).expect("a valid plan");
    (planned, spec)
}

/// A complete, valid configuration: the example of PRODUCT §6.
pub(super) fn valid() -> ServiceModel {
    ServiceModel {
        name: s("target"),
        image: s("asia-northeast1-docker.pkg.dev/p/apps/target:1.2.0"),
        mesh: s("meshapps"),
        domain: s("meshapps.internal"),
        network: s("mesh-vpc"),
        subnetwork: s("mesh-subnet"),
        service_account: s("meshapps-target@p.iam.gserviceaccount.com"),
        hostname: s("target.meshapps.internal"),
        port: Val::Known(8080),
        env: Val::Known(BTreeMap::from([("LOG_LEVEL".to_string(), s("info"))])),
        cpu: s("1"),
        memory: s("512Mi"),
        min_instances: Val::Known(0),
        max_instances: Val::Known(10),
        ingress: s("internal"),
        invokers: Val::Known(vec![s(
            "serviceAccount:meshapps-proxy@p.iam.gserviceaccount.com",
        )]),
        trace: Val::Known(true),
        labels: Val::Known(BTreeMap::from([("app".to_string(), s("target"))])),
        dns_address: s("10.0.0.1"),
        deletion_policy: s("DELETE"),
        route: vec![RouteBlock {
            timeout: s("10s"),
            weight: Val::Known(99),
            retry: vec![RetryBlock {
                attempts: Val::Known(3),
                per_try_timeout: s("2s"),
                conditions: Val::Known(vec![s("5xx"), s("connect-failure")]),
            }],
            fault_injection: vec![FaultInjectionBlock {
                delay: s("1s"),
                delay_percent: Val::Known(5),
                abort_status: Val::Known(503),
                abort_percent: Val::Known(1),
            }],
            destination: vec![DestinationBlock {
                backend_service: s("projects/p/global/backendServices/target-green-backend"),
                weight: Val::Known(1),
            }],
            rule: vec![RuleBlock {
                path_prefix: s("/api/v2"),
                header: vec![HeaderBlock {
                    name: s("end-user"),
                    exact: s("jason"),
                    ..Default::default()
                }],
                destination: vec![DestinationBlock {
                    backend_service: s("projects/p/global/backendServices/target-green-backend"),
                    weight: Val::Known(100),
                }],
            }],
        }],
        circuit_breaker: vec![CircuitBreakerBlock {
            max_requests: Val::Known(1000),
            max_pending_requests: Val::Known(100),
            max_connections: Val::Known(100),
            max_retries: Val::Known(3),
        }],
        outlier_detection: vec![OutlierDetectionBlock {
            consecutive_errors: Val::Known(5),
            interval: s("1s"),
            base_ejection_time: s("30s"),
            max_ejection_percent: Val::Known(50),
        }],
        timeouts: Some(TimeoutsBlock {
            create: s("20m"),
            update: s("20m"),
            delete: s("20m"),
        }),
        ..Default::default()
    }
}

fn route(m: &mut ServiceModel) -> &mut RouteBlock {
    &mut m.route[0]
}

type Mutation = fn(&mut ServiceModel);

/// (what is wrong, the path the error must name, the change that makes `valid()` invalid)
fn invalid_cases() -> Vec<(&'static str, &'static str, Mutation)> {
    vec![
        ("name missing", "name", |m| m.name = Val::Null),
        ("name with uppercase", "name", |m| m.name = s("Target")),
        ("name starting with a digit", "name", |m| {
            m.name = s("1target")
        }),
        ("name ending with a hyphen", "name", |m| {
            m.name = s("target-")
        }),
        ("name of 50 characters", "name", |m| {
            m.name = s(&"a".repeat(50))
        }),
        ("name with underscore", "name", |m| m.name = s("my_target")),
        ("project malformed", "project", |m| m.project = s("P")),
        ("region malformed", "region", |m| m.region = s("Tokyo")),
        ("image with uppercase path", "image", |m| {
            m.image = s("gcr.io/P/App:1")
        }),
        ("image with spaces", "image", |m| {
            m.image = s("gcr.io/p/app 1")
        }),
        ("image empty", "image", |m| m.image = s("")),
        ("mesh in a non-global location", "mesh", |m| {
            m.mesh = s("projects/p/locations/us-central1/meshes/m")
        }),
        ("mesh malformed name", "mesh", |m| m.mesh = s("Mesh_Apps")),
        ("domain with trailing dot", "domain", |m| {
            m.domain = s("meshapps.internal.")
        }),
        ("domain with uppercase", "domain", |m| {
            m.domain = s("MeshApps.internal")
        }),
        ("domain is an IP", "domain", |m| m.domain = s("10.0.0.1")),
        ("domain with empty label", "domain", |m| {
            m.domain = s("meshapps..internal")
        }),
        ("network in wrong collection", "network", |m| {
            m.network = s("projects/p/global/subnetworks/x")
        }),
        ("subnetwork with global scope", "subnetwork", |m| {
            m.subnetwork = s("projects/p/global/subnetworks/s")
        }),
        ("subnetwork in another region", "subnetwork", |m| {
            m.region = s("asia-northeast1");
            m.subnetwork = s("projects/p/regions/us-central1/subnetworks/s");
        }),
        (
            "service account with member prefix",
            "service_account",
            |m| m.service_account = s("serviceAccount:a@p.iam.gserviceaccount.com"),
        ),
        ("service account not an email", "service_account", |m| {
            m.service_account = s("meshapps-target")
        }),
        ("hostname outside the domain", "hostname", |m| {
            m.hostname = s("target.other.internal")
        }),
        ("hostname wildcard", "hostname", |m| {
            m.hostname = s("*.meshapps.internal")
        }),
        ("hostname with trailing dot", "hostname", |m| {
            m.hostname = s("target.meshapps.internal.")
        }),
        ("port zero", "port", |m| m.port = Val::Known(0)),
        ("port reserved by sidecar", "port", |m| {
            m.port = Val::Known(15020)
        }),
        ("env name reserved", "env[\"PORT\"]", |m| {
            m.env = Val::Known(BTreeMap::from([("PORT".to_string(), s("9000"))]))
        }),
        (
            "more environment variables than Cloud Run allows",
            "env",
            |m| m.env = Val::Known((0..1001).map(|i| (format!("V{i}"), s("x"))).collect()),
        ),
        ("env name with equals", "env[\"A=B\"]", |m| {
            m.env = Val::Known(BTreeMap::from([("A=B".to_string(), s("x"))]))
        }),
        ("cpu malformed", "cpu", |m| m.cpu = s("one")),
        ("cpu too large", "cpu", |m| m.cpu = s("16")),
        ("memory without unit", "memory", |m| m.memory = s("512")),
        ("memory too small", "memory", |m| m.memory = s("64Mi")),
        ("4 cpus with 512Mi", "memory", |m| m.cpu = s("4")),
        ("8 cpus with the default memory", "cpu", |m| {
            m.cpu = s("8");
            m.memory = Val::Null
        }),
        ("8Gi with the default cpu", "memory", |m| {
            m.cpu = Val::Null;
            m.memory = s("8Gi")
        }),
        ("3 cpus, not a size Cloud Run offers", "cpu", |m| {
            m.cpu = s("3")
        }),
        ("7 cpus", "cpu", |m| m.cpu = s("7")),
        ("cpu below 0.08", "cpu", |m| m.cpu = s("0.05")),
        ("cpu with four decimals", "cpu", |m| m.cpu = s("0.0805")),
        ("8 cpus with 2Gi", "memory", |m| {
            m.cpu = s("8");
            m.memory = s("2Gi")
        }),
        ("6 cpus with 2Gi", "memory", |m| {
            m.cpu = s("6");
            m.memory = s("2Gi")
        }),
        ("1 cpu with 8Gi", "memory", |m| m.memory = s("8Gi")),
        ("2 cpus with 16Gi", "memory", |m| {
            m.cpu = s("2");
            m.memory = s("16Gi")
        }),
        ("0.4 cpu with 1Gi", "memory", |m| {
            m.cpu = s("0.4");
            m.memory = s("1Gi")
        }),
        ("0.5 cpu with 2Gi", "memory", |m| {
            m.cpu = s("500m");
            m.memory = s("2Gi")
        }),
        ("min above max instances", "min_instances", |m| {
            m.min_instances = Val::Known(20)
        }),
        ("negative min instances", "min_instances", |m| {
            m.min_instances = Val::Known(-1)
        }),
        ("max instances zero", "max_instances", |m| {
            m.max_instances = Val::Known(0)
        }),
        ("ingress unknown enum", "ingress", |m| {
            m.ingress = s("INGRESS_TRAFFIC_ALL")
        }),
        ("invoker without type", "invokers[0]", |m| {
            m.invokers = Val::Known(vec![s("a@p.iam.gserviceaccount.com")])
        }),
        ("invoker wrong-case type", "invokers[1]", |m| {
            m.invokers = Val::Known(vec![
                s("user:a@example.com"),
                s("serviceaccount:a@p.iam.gserviceaccount.com"),
            ])
        }),
        ("invoker unknown type", "invokers[0]", |m| {
            m.invokers = Val::Known(vec![s("team:x")])
        }),
        ("label key uppercase", "labels[\"App\"]", |m| {
            m.labels = Val::Known(BTreeMap::from([("App".to_string(), s("x"))]))
        }),
        ("label value with dot", "labels[\"app\"]", |m| {
            m.labels = Val::Known(BTreeMap::from([("app".to_string(), s("v1.2"))]))
        }),
        ("label managed-by reserved", "labels[\"managed-by\"]", |m| {
            m.labels = Val::Known(BTreeMap::from([("managed-by".to_string(), s("me"))]))
        }),
        ("dns address not IPv4", "dns_address", |m| {
            m.dns_address = s("fd00::1")
        }),
        ("dns address unspecified", "dns_address", |m| {
            m.dns_address = s("0.0.0.0")
        }),
        ("deletion policy lowercase", "deletion_policy", |m| {
            m.deletion_policy = s("delete")
        }),
        ("neg name too long", "neg_name", |m| {
            m.neg_name = s(&"n".repeat(64))
        }),
        (
            "backend service name uppercase",
            "backend_service_name",
            |m| m.backend_service_name = s("Backend"),
        ),
        ("route name ending with hyphen", "route_name", |m| {
            m.route_name = s("route-")
        }),
        ("dns zone name with dot", "dns_zone_name", |m| {
            m.dns_zone_name = s("meshapps.internal")
        }),
        ("default zone name too long", "domain", |m| {
            m.domain = s(&format!("{}.internal", "d".repeat(60)));
            m.hostname = Val::Null;
        }),
        ("route timeout malformed", "route[0].timeout", |m| {
            route(m).timeout = s("10")
        }),
        ("route timeout zero", "route[0].timeout", |m| {
            route(m).timeout = s("0s")
        }),
        ("route weight over 100", "route[0].weight", |m| {
            route(m).weight = Val::Known(101)
        }),
        (
            "route weight zero without destinations",
            "route[0].weight",
            |m| {
                route(m).weight = Val::Known(0);
                route(m).destination.clear();
            },
        ),
        ("route weights all zero", "route[0].weight", |m| {
            route(m).weight = Val::Known(0);
            route(m).destination[0].weight = Val::Known(0);
        }),
        ("retry attempts zero", "route[0].retry[0].attempts", |m| {
            route(m).retry[0].attempts = Val::Known(0)
        }),
        (
            "retry condition unknown",
            "route[0].retry[0].conditions[1]",
            |m| route(m).retry[0].conditions = Val::Known(vec![s("5xx"), s("server-error")]),
        ),
        (
            "per-try timeout above route timeout",
            "route[0].retry[0].per_try_timeout",
            |m| route(m).retry[0].per_try_timeout = s("30s"),
        ),
        (
            "fault delay percent over 100",
            "route[0].fault_injection[0].delay_percent",
            |m| route(m).fault_injection[0].delay_percent = Val::Known(101),
        ),
        (
            "fault abort status 700",
            "route[0].fault_injection[0].abort_status",
            |m| route(m).fault_injection[0].abort_status = Val::Known(700),
        ),
        (
            "fault abort percent without status",
            "route[0].fault_injection[0].abort_status",
            |m| route(m).fault_injection[0].abort_status = Val::Null,
        ),
        (
            "fault delay malformed",
            "route[0].fault_injection[0].delay",
            |m| route(m).fault_injection[0].delay = s("1 sec"),
        ),
        (
            "destination weight negative",
            "route[0].destination[0].weight",
            |m| route(m).destination[0].weight = Val::Known(-1),
        ),
        (
            "destination without weight",
            "route[0].destination[0].weight",
            |m| route(m).destination[0].weight = Val::Null,
        ),
        (
            "destination backend malformed",
            "route[0].destination[0].backend_service",
            |m| route(m).destination[0].backend_service = s("projects/p/global/urlMaps/x"),
        ),
        (
            "rule path prefix without slash",
            "route[0].rule[0].path_prefix",
            |m| route(m).rule[0].path_prefix = s("api"),
        ),
        ("rule without match", "route[0].rule[0]", |m| {
            route(m).rule[0].path_prefix = Val::Null;
            route(m).rule[0].header.clear();
        }),
        (
            "header with two match kinds",
            "route[0].rule[0].header[0]",
            |m| route(m).rule[0].header[0].prefix = s("ja"),
        ),
        (
            "header with no match kind",
            "route[0].rule[0].header[0]",
            |m| route(m).rule[0].header[0].exact = Val::Null,
        ),
        (
            "header regex invalid",
            "route[0].rule[0].header[0].regex",
            |m| {
                let h = &mut route(m).rule[0].header[0];
                h.exact = Val::Null;
                h.regex = s("(unclosed");
            },
        ),
        (
            "header name with space",
            "route[0].rule[0].header[0].name",
            |m| route(m).rule[0].header[0].name = s("end user"),
        ),
        (
            "rule destination weight over 100",
            "route[0].rule[0].destination[0].weight",
            |m| route(m).rule[0].destination[0].weight = Val::Known(200),
        ),
        (
            "circuit breaker zero",
            "circuit_breaker[0].max_requests",
            |m| m.circuit_breaker[0].max_requests = Val::Known(0),
        ),
        (
            "outlier ejection percent over 100",
            "outlier_detection[0].max_ejection_percent",
            |m| m.outlier_detection[0].max_ejection_percent = Val::Known(150),
        ),
        (
            "outlier interval malformed",
            "outlier_detection[0].interval",
            |m| m.outlier_detection[0].interval = s("1x"),
        ),
        ("timeouts create malformed", "timeouts.create", |m| {
            m.timeouts = Some(TimeoutsBlock {
                create: s("twenty minutes"),
                ..Default::default()
            })
        }),
        ("read-only uri set", "uri", |m| {
            m.uri = s("https://x.run.app")
        }),
    ]
}

#[test]
fn the_valid_example_has_no_problems() {
    assert_eq!(validate(&valid()), vec![]);
}

#[test]
fn minimal_configuration_is_valid() {
    let m = ServiceModel {
        name: s("a"),
        image: s("nginx"),
        mesh: s("projects/p/locations/global/meshes/m"),
        domain: s("internal"),
        network: s("https://www.googleapis.com/compute/v1/projects/p/global/networks/vpc"),
        subnetwork: s("projects/p/regions/asia-northeast1/subnetworks/s"),
        service_account: s("123456789012-compute@developer.gserviceaccount.com"),
        ..Default::default()
    };
    assert_eq!(validate(&m), vec![]);
}

#[test]
fn every_invalid_configuration_is_rejected_on_its_attribute() {
    let cases = invalid_cases();
    assert!(
        cases.len() >= 40,
        "the table must hold at least 40 invalid configurations"
    );
    let mut failures = Vec::new();
    for (what, path, mutate) in cases {
        let mut m = valid();
        mutate(&mut m);
        let problems = validate(&m);
        let paths: Vec<String> = problems.iter().map(|p| p.path.to_string()).collect();
        if !paths.iter().any(|p| p == path) {
            failures.push(format!(
                "{what}: expected an error at {path}, got {paths:?}"
            ));
        }
        for p in &problems {
            assert!(
                p.detail.len() > 10,
                "{what}: the detail must say how to fix it: {p:?}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_cpu_and_memory_pair_cloud_run_documents_is_valid() {
    for (cpu, memory) in [
        ("0.08", "128Mi"),
        ("0.4", "512Mi"),
        ("500m", "1Gi"),
        ("1", "4Gi"),
        ("2", "8Gi"),
        ("4", "2Gi"),
        ("4", "16Gi"),
        ("6", "4Gi"),
        ("6", "24Gi"),
        ("8", "4Gi"),
        ("8", "32Gi"),
    ] {
        let mut m = valid();
        m.cpu = s(cpu);
        m.memory = s(memory);
        assert_eq!(validate(&m), vec![], "cpu {cpu}, memory {memory}");
    }
}

#[test]
fn a_memory_outside_the_cpus_range_names_the_range() {
    let mut m = valid();
    m.cpu = s("8");
    m.memory = s("2Gi");
    let p = validate(&m);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].path.to_string(), "memory");
    assert!(p[0].detail.contains("from 4Gi to 32Gi"), "{p:?}");
    m.cpu = s("3");
    let p = validate(&m);
    assert_eq!(p[0].path.to_string(), "cpu");
    assert!(p[0].detail.contains("1, 2, 4, 6 or 8"), "{p:?}");
}

#[test]
fn unknown_values_are_skipped_not_guessed() {
    let mut m = valid();
    m.name = Val::Unknown;
    m.domain = Val::Unknown;
    m.image = Val::Unknown;
    m.min_instances = Val::Unknown;
    m.route[0].destination[0].backend_service = Val::Unknown;
    m.route[0].weight = Val::Unknown;
    m.route[0].destination[0].weight = Val::Known(0);
    m.invokers = Val::Unknown;
    assert_eq!(validate(&m), vec![]);
}
