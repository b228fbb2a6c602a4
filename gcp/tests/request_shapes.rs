//! Each client sends the method, path, query and body the discovery documents prescribe.

mod support;

use gcp::iam::Policy;
use serde_json::json;
use support::*;

#[tokio::test]
async fn run_iam_policy_is_read_with_get_and_version_3() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"version": 1, "etag": "BwX1", "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]})))
        .push(Reply::json(200, json!({"etag": "BwX2"})));
    let c = clients(&mock);
    let svc = "projects/p/locations/r/services/s";
    let mut policy = c.run().get_iam_policy(svc).await.unwrap();
    assert!(policy.add_member(
        "roles/run.invoker",
        "serviceAccount:a@p.iam.gserviceaccount.com"
    ));
    let written = c.run().set_iam_policy(svc, &policy).await.unwrap();
    assert_eq!(written.etag.as_deref(), Some("BwX2"));
    let seen = mock.seen();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, format!("/run/v2/{svc}:getIamPolicy"));
    assert_eq!(
        seen[0]
            .query_value("options.requestedPolicyVersion")
            .as_deref(),
        Some("3")
    );
    assert_eq!(seen[1].method, "POST");
    assert_eq!(seen[1].path, format!("/run/v2/{svc}:setIamPolicy"));
    let body = seen[1].json();
    assert_eq!(body["policy"]["etag"], "BwX1");
    assert_eq!(
        body["policy"]["bindings"][0]["members"],
        json!(["allUsers", "serviceAccount:a@p.iam.gserviceaccount.com"])
    );
}

#[tokio::test]
async fn project_iam_policy_is_read_with_post_and_options_body() {
    let mock = Mock::start().await;
    let conditional = json!({"role": "roles/viewer", "members": ["user:x@example.com"],
        "condition": {"title": "t", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}});
    mock.push(Reply::json(200, json!({"version": 3, "etag": "e1", "bindings": [conditional],
            "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ"}]}]})))
        .push(Reply::json(200, json!({"etag": "e2"})));
    let c = clients(&mock);
    let rm = c.resource_manager();
    let mut policy = rm.get_iam_policy("p").await.unwrap();
    policy.add_member(
        "roles/trafficdirector.client",
        "serviceAccount:sa@p.iam.gserviceaccount.com",
    );
    rm.set_iam_policy("p", &policy).await.unwrap();
    let seen = mock.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].path,
        "/cloudresourcemanager/v1/projects/p:getIamPolicy"
    );
    assert_eq!(
        seen[0].json(),
        json!({"options": {"requestedPolicyVersion": 3}})
    );
    assert_eq!(
        seen[1].path,
        "/cloudresourcemanager/v1/projects/p:setIamPolicy"
    );
    let sent = &seen[1].json()["policy"];
    assert_eq!(sent["version"], 3);
    assert_eq!(sent["etag"], "e1");
    assert_eq!(
        sent["bindings"][0], conditional,
        "the conditional binding goes back untouched"
    );
    assert_eq!(sent["bindings"][1]["role"], "roles/trafficdirector.client");
    assert_eq!(sent["auditConfigs"][0]["service"], "allServices");
}

#[tokio::test]
async fn run_list_of_one_region_follows_page_tokens() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"services": [{"name": "a"}], "nextPageToken": "t2"}),
    ))
    .push(Reply::json(
        200,
        json!({"services": [{"name": "b"}, {"name": "c"}]}),
    ));
    let c = clients(&mock);
    let all = c
        .run()
        .list_services("projects/p/locations/us-central1")
        .await
        .unwrap();
    let names: Vec<_> = all.iter().map(|s| s.name.clone().unwrap()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let seen = mock.seen();
    assert_eq!(
        seen[0].path,
        "/run/v2/projects/p/locations/us-central1/services"
    );
    assert_eq!(seen[0].query_value("pageToken"), None);
    assert_eq!(seen[1].query_value("pageToken").as_deref(), Some("t2"));
}

#[tokio::test]
async fn neg_aggregated_list_flattens_scopes_skips_warnings_and_follows_page_tokens() {
    let mock = Mock::start().await;
    let warning = json!({"warning": {"code": "NO_RESULTS_ON_PAGE",
        "message": "There are no results for scope 'regions/europe-west1' on this page.",
        "data": [{"key": "scope", "value": "regions/europe-west1"}]}});
    mock.push(Reply::json(
        200,
        json!({"kind": "compute#networkEndpointGroupAggregatedList",
               "items": {"regions/us-central1": {"networkEndpointGroups": [{"name": "a"}]},
                         "regions/europe-west1": warning},
               "nextPageToken": "t2"}),
    ))
    .push(Reply::json(
        200,
        json!({"items": {"regions/asia-northeast1": {"networkEndpointGroups": [{"name": "b"}]}}}),
    ));
    let c = clients(&mock);
    let all = c
        .compute()
        .aggregated_list_network_endpoint_groups("p")
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|(s, n)| (s.as_str(), n.name.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("regions/us-central1", "a"),
            ("regions/asia-northeast1", "b")
        ]
    );
    let seen = mock.seen();
    assert_eq!(
        seen[0].path,
        "/compute/v1/projects/p/aggregated/networkEndpointGroups"
    );
    assert_eq!(seen[1].query_value("pageToken").as_deref(), Some("t2"));
}

#[tokio::test]
async fn a_neg_aggregated_list_with_unreachable_scopes_is_an_error() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"items": {}, "unreachables": ["regions/us-east1"]}),
    ));
    let c = clients(&mock);
    let err = c
        .compute()
        .aggregated_list_network_endpoint_groups("p")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("regions/us-east1"), "{err}");
}

#[tokio::test]
async fn an_empty_list_answer_is_an_empty_list() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"kind": "compute#backendServiceList", "id": "x"}),
    ));
    let c = clients(&mock);
    assert!(c
        .compute()
        .list_backend_services("p")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn dns_record_paths_carry_the_wildcard_name_and_type() {
    let mock = Mock::start().await;
    let rr = json!({"name": "*.mesh.internal.", "type": "A", "ttl": 300, "rrdatas": ["10.0.0.1"], "kind": "dns#resourceRecordSet"});
    mock.push(Reply::json(200, rr.clone()))
        .push(Reply::json(200, rr.clone()))
        .push(Reply::json(200, json!({"rrsets": [rr]})))
        .push(Reply::json(200, json!({})))
        .push(Reply::raw(204, "", "application/json"));
    let c = clients(&mock);
    let dns = c.dns();
    let set = gcp::dns::ResourceRecordSet {
        name: "*.mesh.internal.".into(),
        kind: "A".into(),
        ttl: Some(300),
        rrdatas: vec!["10.0.0.1".into()],
        ..Default::default()
    };
    dns.create_rrset("p", "z", &set).await.unwrap();
    let got = dns
        .get_rrset("p", "z", "*.mesh.internal.", "A")
        .await
        .unwrap();
    assert_eq!(got.rrdatas, ["10.0.0.1"]);
    assert_eq!(got.extra.get("kind"), Some(&json!("dns#resourceRecordSet")));
    let listed = dns
        .list_rrsets("p", "z", Some("*.mesh.internal."), Some("A"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    dns.delete_rrset("p", "z", "*.mesh.internal.", "A")
        .await
        .unwrap();
    dns.delete_managed_zone("p", "z").await.unwrap();
    let seen = mock.seen();
    assert_eq!(seen[0].path, "/dns/v1/projects/p/managedZones/z/rrsets");
    assert_eq!(
        seen[1].path,
        "/dns/v1/projects/p/managedZones/z/rrsets/*.mesh.internal./A"
    );
    assert_eq!(
        seen[2].query_value("name").as_deref(),
        Some("*.mesh.internal.")
    );
    assert_eq!(seen[3].method, "DELETE");
    assert_eq!(seen[4].path, "/dns/v1/projects/p/managedZones/z");
}

#[tokio::test]
async fn a_dns_change_posts_additions_and_deletions_to_the_zones_changes() {
    let mock = Mock::start().await;
    mock.push(Reply::json(
        200,
        json!({"kind": "dns#change", "id": "7", "status": "pending", "startTime": "2026-11-21T00:00:00Z",
               "additions": [{"name": "_u.mesh.internal.", "type": "TXT", "ttl": 300, "rrdatas": ["\"a\"", "\"b\""]}],
               "deletions": [{"name": "_u.mesh.internal.", "type": "TXT", "ttl": 300, "rrdatas": ["\"a\""]}]}),
    ));
    let c = clients(&mock);
    let txt = |data: &[&str]| gcp::dns::ResourceRecordSet {
        name: "_u.mesh.internal.".into(),
        kind: "TXT".into(),
        ttl: Some(300),
        rrdatas: data.iter().map(|d| d.to_string()).collect(),
        ..Default::default()
    };
    let change = gcp::dns::Change {
        additions: vec![txt(&["\"a\"", "\"b\""])],
        deletions: vec![txt(&["\"a\""])],
        ..Default::default()
    };
    let answer = c.dns().create_change("p", "z", &change).await.unwrap();
    assert_eq!(answer.id.as_deref(), Some("7"));
    assert_eq!(answer.status.as_deref(), Some("pending"));
    assert_eq!(answer.additions, change.additions);
    let seen = mock.seen();
    assert_eq!(seen.len(), 1, "a pending change is not polled");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/dns/v1/projects/p/managedZones/z/changes");
    assert_eq!(
        seen[0].json(),
        json!({"additions": [{"name": "_u.mesh.internal.", "type": "TXT", "ttl": 300, "rrdatas": ["\"a\"", "\"b\""]}],
               "deletions": [{"name": "_u.mesh.internal.", "type": "TXT", "ttl": 300, "rrdatas": ["\"a\""]}]})
    );
}

#[tokio::test]
async fn backend_service_update_sends_back_unknown_fields_and_the_fingerprint() {
    let mock = Mock::start().await;
    let read = json!({"name": "bs", "fingerprint": "fp==", "loadBalancingScheme": "INTERNAL_SELF_MANAGED",
        "securitySettings": {"clientTlsPolicy": "projects/1/locations/global/clientTlsPolicies/x"},
        "backends": [{"group": "https://www.googleapis.com/compute/v1/projects/p/regions/r/networkEndpointGroups/n", "balancingMode": "UTILIZATION"}]});
    mock.push(Reply::json(200, read.clone()))
        .push(Reply::json(200, json!({"name": "op", "status": "DONE"})));
    let c = clients(&mock);
    let mut bs = c.compute().get_backend_service("p", "bs").await.unwrap();
    bs.timeout_sec = Some(30);
    c.compute()
        .update_backend_service("p", "bs", &bs)
        .await
        .unwrap();
    let sent = mock.seen()[1].json();
    assert_eq!(mock.seen()[1].method, "PUT");
    assert_eq!(sent["fingerprint"], "fp==");
    assert_eq!(sent["securitySettings"], read["securitySettings"]);
    assert_eq!(sent["backends"][0]["balancingMode"], "UTILIZATION");
    assert_eq!(sent["timeoutSec"], 30);
}

#[tokio::test]
async fn compute_links_are_followed_on_the_configured_endpoint() {
    let mock = Mock::start().await;
    let c = clients(&mock);
    let url = c
        .compute()
        .link_url(
            "https://www.googleapis.com/compute/v1/projects/p/regions/r/networkEndpointGroups/n",
        )
        .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "http://{}/compute/v1/projects/p/regions/r/networkEndpointGroups/n",
            mock.host()
        )
    );
    assert!(c.compute().link_url("https://example.com/other").is_err());
}

#[tokio::test]
async fn subnetwork_and_mesh_reads_decode_the_fields_preflight_needs() {
    let mock = Mock::start().await;
    mock.push(Reply::json(200, json!({"name": "s", "id": 123, "privateIpGoogleAccess": true,
            "network": "https://www.googleapis.com/compute/v1/projects/p/global/networks/v"})))
        .push(Reply::json(200, json!({"name": "projects/p/locations/global/meshes/m", "createTime": "2026-01-01T00:00:00Z"})));
    let c = clients(&mock);
    let s = c.compute().get_subnetwork("p", "r", "s").await.unwrap();
    assert_eq!(s.private_ip_google_access, Some(true));
    assert_eq!(s.id.as_deref(), Some("123"));
    let m = c
        .network_services()
        .get_mesh(&gcp::network_services::mesh_name("p", "m"))
        .await
        .unwrap();
    assert_eq!(m.create_time.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(
        mock.seen()[0].path,
        "/compute/v1/projects/p/regions/r/subnetworks/s"
    );
    assert_eq!(
        mock.seen()[1].path,
        "/networkservices/v1/projects/p/locations/global/meshes/m"
    );
}

#[test]
fn policy_round_trip_keeps_unknown_fields() {
    let raw = json!({"version": 3, "etag": "e", "bindings": [{"role": "r", "members": ["m"], "futureBindingField": 1}],
        "auditConfigs": [{"service": "s"}], "futurePolicyField": "x"});
    let p: Policy = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(serde_json::to_value(&p).unwrap(), raw);
}
