//! One poller, both operation shapes: google.longrunning (Cloud Run, Network Services) and Compute.

mod support;

use serde_json::json;
use support::*;

const OP: &str = "projects/p/locations/us-central1/operations/op-1";

#[tokio::test]
async fn run_create_polls_the_operation_and_returns_the_service() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"name": OP, "metadata": {"@type": "type.googleapis.com/google.cloud.run.v2.Service"}})))
        .push(Reply::json(200, json!({"name": OP, "done": false})))
        .push(Reply::json(
            200,
            json!({"name": OP, "done": true, "response": {
                "@type": "type.googleapis.com/google.cloud.run.v2.Service",
                "name": "projects/p/locations/us-central1/services/svc",
                "generation": "1",
                "reconciling": false,
                "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED"},
                "futureField": {"kept": true}
            }}),
        ));
    let c = clients(&mock);
    let svc = gcp::run::Service {
        template: Some(gcp::run::RevisionTemplate {
            containers: vec![gcp::run::Container {
                image: "us-docker.pkg.dev/cloudrun/container/hello".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let out = c
        .run()
        .create_service("projects/p/locations/us-central1", "svc", &svc)
        .await
        .unwrap();
    assert_eq!(
        out.name.as_deref(),
        Some("projects/p/locations/us-central1/services/svc")
    );
    assert_eq!(out.generation, Some(1));
    assert!(out.is_ready());
    assert_eq!(out.extra.get("futureField"), Some(&json!({"kept": true})));
    let seen = mock.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].path,
        "/run/v2/projects/p/locations/us-central1/services"
    );
    assert_eq!(seen[0].query_value("serviceId").as_deref(), Some("svc"));
    assert_eq!(
        seen[0].json()["template"]["containers"][0]["image"],
        "us-docker.pkg.dev/cloudrun/container/hello"
    );
    for s in &seen[1..] {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, format!("/run/v2/{OP}:wait"));
        assert_eq!(s.json(), json!({"timeout": "60s"}));
    }
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn a_failed_run_operation_carries_its_code_and_message() {
    let mock = Mock::start().await;
    let msg = "Revision 'svc-00001-abc' is not ready and cannot serve traffic. The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout.";
    mock.push(Reply::json(200, json!({"name": OP})))
        .push(Reply::json(
            200,
            json!({"name": OP, "done": true, "error": {"code": 9, "message": msg}}),
        ));
    let c = clients(&mock);
    let err = c
        .run()
        .create_service(
            "projects/p/locations/us-central1",
            "svc",
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_operation_failure(), "{err:?}");
    assert_eq!(err.status(), Some("FAILED_PRECONDITION"));
    assert_eq!(err.operation_code(), Some(9));
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.message(), msg);
    assert!(
        !err.is_conflict(),
        "a failed deploy is not an etag conflict"
    );
    assert!(!err.is_retryable());
    assert_eq!(err.api(), Some(gcp::Api::Run));
    assert_eq!(
        err.resource(),
        Some("projects/p/locations/us-central1/services/svc")
    );
    assert!(err.to_string().starts_with(
        "Cloud Run: services.create projects/p/locations/us-central1/services/svc: operation failed: 400 FAILED_PRECONDITION: Revision"
    ), "{err}");
}

#[tokio::test]
async fn run_patch_sends_allow_missing_and_update_mask() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"name": OP, "done": true, "response": {"name": "projects/p/locations/r/services/s"}})));
    let c = clients(&mock);
    let opts = gcp::run::PatchOptions {
        allow_missing: true,
        update_mask: Some("template,labels".into()),
        force_new_revision: false,
    };
    c.run()
        .patch_service(
            "projects/p/locations/r/services/s",
            &Default::default(),
            &opts,
        )
        .await
        .unwrap();
    let s = &mock.seen()[0];
    assert_eq!(s.method, "PATCH");
    assert_eq!(s.query_value("allowMissing").as_deref(), Some("true"));
    assert_eq!(
        s.query_value("updateMask").as_deref(),
        Some("template,labels")
    );
    assert_eq!(s.query_value("forceNewRevision"), None);
}

#[tokio::test]
async fn network_services_route_create_and_delete_wait_for_their_operations() {
    let mock = Mock::start().await;
    let route_op = "projects/p/locations/global/operations/operation-1";
    mock.push(Reply::json(200, json!({"name": route_op, "done": false})))
        .push(Reply::json(200, json!({"name": route_op, "done": true, "response": {
            "@type": "type.googleapis.com/google.cloud.networkservices.v1.HttpRoute",
            "name": "projects/p/locations/global/httpRoutes/r", "hostnames": ["svc.mesh.internal"],
            "rules": [{"action": {"destinations": [{"serviceName": "projects/p/locations/global/backendServices/b", "weight": 100}]}}]
        }})))
        .push(Reply::json(200, json!({"name": route_op, "done": true, "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}})));
    let c = clients(&mock);
    let ns = c.network_services();
    let route = gcp::network_services::HttpRoute {
        hostnames: vec!["svc.mesh.internal".into()],
        meshes: vec![gcp::network_services::mesh_name("p", "m")],
        ..Default::default()
    };
    let out = ns
        .create_http_route(&gcp::network_services::global_parent("p"), "r", &route)
        .await
        .unwrap();
    assert_eq!(
        out.rules[0].action.as_ref().unwrap().destinations[0].weight,
        Some(100)
    );
    ns.delete_http_route("projects/p/locations/global/httpRoutes/r")
        .await
        .unwrap();
    let seen = mock.seen();
    assert_eq!(
        seen[0].path,
        "/networkservices/v1/projects/p/locations/global/httpRoutes"
    );
    assert_eq!(seen[0].query_value("httpRouteId").as_deref(), Some("r"));
    assert!(seen[0]
        .query_value("requestId")
        .is_some_and(|id| uuid::Uuid::parse_str(&id).is_ok()));
    assert_eq!(seen[1].path, format!("/networkservices/v1/{route_op}"));
    assert_eq!(seen[2].method, "DELETE");
}

#[tokio::test]
async fn a_regional_compute_operation_is_polled_on_the_configured_endpoint() {
    let mock = Mock::start().await;
    let running = json!({
        "kind": "compute#operation", "name": "operation-123", "status": "RUNNING",
        "operationType": "compute.regionNetworkEndpointGroups.insert",
        "region": "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1",
        "selfLink": "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/operations/operation-123",
        "targetLink": "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/networkEndpointGroups/neg"
    });
    let mut done = running.clone();
    done["status"] = json!("DONE");
    mock.push(Reply::json(200, running.clone()))
        .push(Reply::json(200, running))
        .push(Reply::json(200, done));
    let c = clients(&mock);
    let op = c
        .compute()
        .insert_network_endpoint_group(
            "p",
            "us-central1",
            &gcp::compute::NetworkEndpointGroup {
                name: "neg".into(),
                network_endpoint_type: Some("SERVERLESS".into()),
                cloud_run: Some(gcp::compute::CloudRunTarget {
                    service: Some("svc".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(op.status, "DONE");
    let seen = mock.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].path,
        "/compute/v1/projects/p/regions/us-central1/networkEndpointGroups"
    );
    assert_eq!(seen[0].json()["cloudRun"]["service"], "svc");
    for s in &seen[1..] {
        assert_eq!(
            s.path,
            "/compute/v1/projects/p/regions/us-central1/operations/operation-123/wait"
        );
        assert_eq!(s.method, "POST");
    }
}

#[tokio::test]
async fn a_global_compute_operation_is_polled_at_the_global_path() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"name": "operation-9", "status": "PENDING",
        "selfLink": "https://www.googleapis.com/compute/v1/projects/p/global/operations/operation-9"})))
        .push(Reply::json(200, json!({"name": "operation-9", "status": "DONE"})));
    let c = clients(&mock);
    c.compute().delete_backend_service("p", "bs").await.unwrap();
    let seen = mock.seen();
    assert_eq!(seen[0].method, "DELETE");
    assert_eq!(
        seen[0].path,
        "/compute/v1/projects/p/global/backendServices/bs"
    );
    assert_eq!(
        seen[1].path,
        "/compute/v1/projects/p/global/operations/operation-9/wait"
    );
}

#[tokio::test]
async fn a_failed_compute_operation_reports_in_use() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"name": "operation-5", "status": "RUNNING",
        "region": "https://www.googleapis.com/compute/v1/projects/p/regions/r"})))
        .push(Reply::json(200, json!({"name": "operation-5", "status": "DONE",
            "region": "https://www.googleapis.com/compute/v1/projects/p/regions/r",
            "httpErrorStatusCode": 400, "httpErrorMessage": "BAD REQUEST",
            "error": {"errors": [{"code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                "message": "The network_endpoint_group resource 'projects/p/regions/r/networkEndpointGroups/neg' is already being used by 'projects/p/global/backendServices/bs'"}]}})));
    let c = clients(&mock);
    let err = c
        .compute()
        .delete_network_endpoint_group("p", "r", "neg")
        .await
        .unwrap_err();
    assert!(err.is_in_use(), "{err:?}");
    assert!(err.is_operation_failure());
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.reason(), Some("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"));
    assert!(err.message().contains("already being used"));
    assert_eq!(
        err.resource(),
        Some("projects/p/regions/r/networkEndpointGroups/neg")
    );
}

#[tokio::test]
async fn a_dns_zone_patch_waits_for_the_dns_operation() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"id": "7", "status": "pending", "type": "UPDATE"}),
    ))
    .push(Reply::json(
        200,
        json!({"id": "7", "status": "done", "type": "UPDATE"}),
    ));
    let c = clients(&mock);
    let op = c
        .dns()
        .patch_managed_zone("p", "csmrun-mesh-internal", &Default::default())
        .await
        .unwrap();
    assert_eq!(op.status, "done");
    assert_eq!(
        mock.seen()[1].path,
        "/dns/v1/projects/p/managedZones/csmrun-mesh-internal/operations/7"
    );
}

#[tokio::test]
async fn without_a_server_side_wait_the_poller_falls_back_to_get() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"name": OP})))
        .push(Reply::status(
            501,
            "UNIMPLEMENTED",
            "Method not implemented.",
        ))
        .push(Reply::json(200, json!({"name": OP, "done": false})))
        .push(Reply::json(
            200,
            json!({"name": OP, "done": true, "response": {}}),
        ));
    let c = clients(&mock);
    c.run()
        .delete_service("projects/p/locations/us-central1/services/svc")
        .await
        .unwrap();
    let seen: Vec<(String, String)> = mock
        .seen()
        .into_iter()
        .map(|s| (s.method, s.path))
        .collect();
    let op = format!("/run/v2/{OP}");
    assert_eq!(
        seen[1..],
        [
            ("POST".to_string(), format!("{op}:wait")),
            ("GET".to_string(), op.clone()),
            ("GET".to_string(), op.clone()),
        ]
    );
}

#[tokio::test]
async fn a_wait_that_answers_early_without_finishing_is_backed_off() {
    let mock = Mock::start().await;
    let running = json!({"name": "operation-3", "status": "RUNNING"});
    mock.push(Reply::json(200, running.clone()))
        .push(Reply::json(200, running.clone()))
        .push(Reply::json(200, running))
        .push(Reply::json(
            200,
            json!({"name": "operation-3", "status": "DONE"}),
        ));
    let rec = RecordingSleep::default();
    let opts = fast_options(rec.sleep());
    let poll = opts.poll.clone();
    let c = gcp::Clients::from_transport(transport(&mock, opts));
    c.compute().delete_backend_service("p", "bs").await.unwrap();
    let delays = rec.delays();
    assert_eq!(
        delays.len(),
        2,
        "two early answers, two back-offs: {delays:?}"
    );
    assert!(delays
        .iter()
        .enumerate()
        .all(|(i, d)| *d <= poll.ceiling(i as u32)));
    assert_eq!(mock.seen().len(), 4);
}
