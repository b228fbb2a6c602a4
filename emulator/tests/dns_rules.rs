//! Cloud DNS v1 rules over HTTP: zones (public and private), record sets and changes; one test per rule.

mod common;

use common::*;
use serde_json::{json, Value};

fn zones() -> String {
    format!("/dns/v1/projects/{P}/managedZones")
}

fn private_zone(name: &str) -> Value {
    json!({
        "name": name, "dnsName": "mesh.example.", "description": "", "visibility": "private",
        "privateVisibilityConfig": {"networks": [{
            "networkUrl": format!("https://www.googleapis.com/compute/v1/projects/{P}/global/networks/mesh-vpc")}]}
    })
}

fn a_record(name: &str) -> Value {
    json!({"name": name, "type": "A", "ttl": 3600, "rrdatas": ["10.0.0.1"]})
}

/// A path below the private zone `mesh` (`""` for the zone itself).
fn mesh_zone(rest: &str) -> String {
    format!("{}/mesh{rest}", zones())
}

/// The private zone `mesh` holding the record set `*.mesh.example.` A.
async fn create_mesh_zone_with_a_record(env: &Env) {
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    env.ok(
        "POST",
        &mesh_zone("/rrsets"),
        Some(a_record("*.mesh.example.")),
    )
    .await;
}

#[tokio::test]
async fn zone_create_answers_the_zone_synchronously_with_ns_and_soa_records() {
    let env = Env::start().await;
    let zone = env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    assert_eq!(zone["kind"], "dns#managedZone");
    assert_eq!(zone["visibility"], "private");
    assert!(zone["id"].is_string() && zone["creationTime"].is_string());
    assert_eq!(
        zone["privateVisibilityConfig"]["networks"][0]["kind"],
        "dns#managedZonePrivateVisibilityConfigNetwork"
    );
    let records = env.ok("GET", &mesh_zone("/rrsets"), None).await;
    let types: Vec<&str> = records["rrsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["NS", "SOA"]);
}

#[tokio::test]
async fn private_zone_on_an_unknown_network_is_400() {
    let env = Env::start().await;
    let mut zone = private_zone("mesh");
    zone["privateVisibilityConfig"]["networks"][0]["networkUrl"] = json!(format!(
        "https://www.googleapis.com/compute/v1/projects/{P}/global/networks/nope"
    ));
    let (status, body) = env.call("POST", &zones(), Some(zone)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["errors"][0]["reason"], "invalid");
}

#[tokio::test]
async fn duplicate_zone_name_is_409_already_exists() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let (status, body) = env.call("POST", &zones(), Some(private_zone("mesh"))).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["errors"][0]["reason"], "alreadyExists");
    assert!(body["error"].get("status").is_none());
}

#[tokio::test]
async fn missing_zone_is_404_with_cloud_dns_wording() {
    let env = Env::start().await;
    let (status, body) = env.call("GET", &format!("{}/nope", zones()), None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["message"],
        "The 'parameters.managedZone' resource named 'nope' does not exist."
    );
    assert_eq!(body["error"]["errors"][0]["reason"], "notFound");
}

#[tokio::test]
async fn zone_with_records_other_than_ns_and_soa_cannot_be_deleted() {
    let env = Env::start().await;
    create_mesh_zone_with_a_record(&env).await;
    let (status, body) = env.call("DELETE", &mesh_zone(""), None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["errors"][0]["reason"], "containerNotEmpty");
    env.ok("DELETE", &mesh_zone("/rrsets/*.mesh.example./A"), None)
        .await;
    env.ok("DELETE", &mesh_zone(""), None).await;
}

#[tokio::test]
async fn duplicate_record_set_is_409_already_exists() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let rrsets = mesh_zone("/rrsets");
    env.ok("POST", &rrsets, Some(a_record("*.mesh.example.")))
        .await;
    let (status, body) = env
        .call("POST", &rrsets, Some(a_record("*.mesh.example.")))
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["message"],
        "The resource 'entity.rrset' named '*.mesh.example. (A)' already exists"
    );
}

#[tokio::test]
async fn record_set_outside_the_zone_is_400() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let (status, _) = env
        .call(
            "POST",
            &mesh_zone("/rrsets"),
            Some(a_record("x.other.example.")),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn record_set_patch_replaces_its_data() {
    let env = Env::start().await;
    create_mesh_zone_with_a_record(&env).await;
    let one = mesh_zone("/rrsets/*.mesh.example./A");
    let patched = env
        .ok(
            "PATCH",
            &one,
            Some(json!({"rrdatas": ["10.0.0.2"], "ttl": 300})),
        )
        .await;
    assert_eq!(patched["rrdatas"][0], "10.0.0.2");
    assert_eq!(env.ok("GET", &one, None).await["ttl"], 300);
}

#[tokio::test]
async fn change_is_pending_then_done_and_reads_show_it_only_when_done() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let change = env
        .ok(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({"additions": [a_record("*.mesh.example.")]})),
        )
        .await;
    assert_eq!(change["status"], "pending");
    assert_eq!(change["kind"], "dns#change");
    let id = change["id"].as_str().unwrap();
    let one = mesh_zone("/rrsets/*.mesh.example./A");
    let listed = mesh_zone("/rrsets?name=*.mesh.example.&type=A");
    // Pending: neither get nor list shows the record set yet.
    assert_eq!(env.call("GET", &one, None).await.0, 404);
    assert!(env.ok("GET", &listed, None).await["rrsets"]
        .as_array()
        .unwrap()
        .is_empty());
    env.advance("2s").await;
    let still = env
        .ok("GET", &format!("{}/mesh/changes/{id}", zones()), None)
        .await;
    assert_eq!(still["status"], "pending");
    env.advance("4s").await;
    let done = env
        .ok("GET", &format!("{}/mesh/changes/{id}", zones()), None)
        .await;
    assert_eq!(done["status"], "done");
    assert_eq!(env.ok("GET", &one, None).await["rrdatas"][0], "10.0.0.1");
    assert_eq!(
        env.ok("GET", &listed, None).await["rrsets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_change_is_checked_against_every_accepted_change_even_pending_ones() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let record = a_record("*.mesh.example.");
    env.ok(
        "POST",
        &mesh_zone("/changes"),
        Some(json!({"additions": [record.clone()]})),
    )
    .await;
    // Adding it again while the first change is pending conflicts; deleting it as added is accepted.
    let (status, body) = env
        .call(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({"additions": [record.clone()]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    env.ok(
        "POST",
        &mesh_zone("/changes"),
        Some(json!({"deletions": [record]})),
    )
    .await;
}

#[tokio::test]
async fn a_zone_whose_records_a_pending_change_deletes_cannot_be_deleted_until_it_is_done() {
    let env = Env::start().await;
    create_mesh_zone_with_a_record(&env).await;
    env.ok(
        "POST",
        &mesh_zone("/changes"),
        Some(json!({"deletions": [a_record("*.mesh.example.")]})),
    )
    .await;
    let (status, body) = env.call("DELETE", &mesh_zone(""), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["errors"][0]["reason"], "containerNotEmpty");
    env.advance("6s").await;
    let (status, body) = env.call("DELETE", &mesh_zone(""), None).await;
    assert!(status == 200 || status == 204, "{status} {body}");
}

#[tokio::test]
async fn the_change_pending_time_is_a_setting() {
    let env = Env::start().await;
    let (status, text) = env
        .control(
            "POST",
            "settings",
            Some(json!({"dnsChangePendingTime": "60s"})),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let change = env
        .ok(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({"additions": [a_record("*.mesh.example.")]})),
        )
        .await;
    let at = format!(
        "{}/mesh/changes/{}",
        zones(),
        change["id"].as_str().unwrap()
    );
    env.advance("30s").await;
    assert_eq!(env.ok("GET", &at, None).await["status"], "pending");
    env.advance("31s").await;
    assert_eq!(env.ok("GET", &at, None).await["status"], "done");
}

fn txt_with(n: usize) -> Value {
    let rrdatas: Vec<String> = (0..n).map(|i| format!("\"user-{i}\"")).collect();
    json!({"name": "_users.mesh.example.", "type": "TXT", "ttl": 300, "rrdatas": rrdatas})
}

#[tokio::test]
async fn a_record_set_of_101_records_is_refused_with_quota_exceeded() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let (status, body) = env
        .call(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({"additions": [txt_with(101)]})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["errors"][0]["reason"], "quotaExceeded");
    assert_eq!(
        body["error"]["message"],
        "The change would exceed quota for resource records per rrset."
    );
    let (status, _) = env
        .call("POST", &mesh_zone("/rrsets"), Some(txt_with(101)))
        .await;
    assert_eq!(status, 403);
    env.ok(
        "POST",
        &mesh_zone("/changes"),
        Some(json!({"additions": [txt_with(100)]})),
    )
    .await;
}

#[tokio::test]
async fn a_change_over_the_total_rrdata_size_is_refused_with_quota_exceeded() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let long = format!("\"{}\"", "x".repeat(250));
    let additions: Vec<Value> = (0..5)
        .map(|i| {
            json!({"name": format!("_t{i}.mesh.example."), "type": "TXT", "ttl": 300,
                   "rrdatas": vec![long.clone(); 100]})
        })
        .collect();
    let (status, body) = env
        .call(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({ "additions": additions })),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        "The change would exceed quota for total rrdata size per change."
    );
}

#[tokio::test]
async fn dns_project_get_answers_the_quota_with_the_records_per_rrset_setting() {
    let env = Env::start().await;
    let project = env.ok("GET", &format!("/dns/v1/projects/{P}"), None).await;
    assert_eq!(project["kind"], "dns#project");
    assert_eq!(project["quota"]["kind"], "dns#quota");
    assert_eq!(project["quota"]["resourceRecordsPerRrset"], 100);
    assert_eq!(project["quota"]["totalRrdataSizePerChange"], 100_000);
    let (status, text) = env
        .control("POST", "settings", Some(json!({"dnsRecordsPerRrset": 3})))
        .await;
    assert_eq!(status, 200, "{text}");
    let project = env.ok("GET", &format!("/dns/v1/projects/{P}"), None).await;
    assert_eq!(project["quota"]["resourceRecordsPerRrset"], 3);
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let (status, _) = env
        .call(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({"additions": [txt_with(4)]})),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn change_deletion_must_match_the_current_record_exactly() {
    let env = Env::start().await;
    create_mesh_zone_with_a_record(&env).await;
    let mut stale = a_record("*.mesh.example.");
    stale["rrdatas"] = json!(["10.9.9.9"]);
    let (status, _) = env
        .call(
            "POST",
            &mesh_zone("/changes"),
            Some(json!({"deletions": [stale]})),
        )
        .await;
    assert_eq!(status, 412);
}

#[tokio::test]
async fn zone_patch_answers_a_done_dns_operation() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let op = env
        .ok("PATCH", &mesh_zone(""), Some(json!({"description": "new"})))
        .await;
    assert_eq!(op["kind"], "dns#operation");
    assert_eq!(op["status"], "done");
    assert_eq!(
        env.ok("GET", &mesh_zone(""), None).await["description"],
        "new"
    );
}

#[tokio::test]
async fn zones_list_filters_by_dns_name() {
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let hit = env
        .ok("GET", &format!("{}?dnsName=mesh.example.", zones()), None)
        .await;
    assert_eq!(hit["managedZones"].as_array().unwrap().len(), 1);
    let miss = env
        .ok("GET", &format!("{}?dnsName=other.example.", zones()), None)
        .await;
    assert_eq!(miss["managedZones"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn changes_list_refuses_a_sort_by_outside_its_enum() {
    // dns.v1.json changes.list `sortBy`: "The only supported value is change sequence." (enum changeSequence).
    let env = Env::start().await;
    create_mesh_zone_with_a_record(&env).await;
    let (status, body) = env
        .call("GET", &mesh_zone("/changes?sortBy=startTime"), None)
        .await;
    assert_eq!(status, 400, "{body}");
    env.ok("GET", &mesh_zone("/changes?sortBy=changeSequence"), None)
        .await;
}

#[tokio::test]
async fn record_sets_list_filters_by_name_and_type_and_pages_by_max_results() {
    // dns.v1.json resourceRecordSets.list: name "Specify a fully qualified domain name to view only those
    // records.", type "Specify a record type to view only those records.", maxResults "Maximum number of
    // results to be returned."
    let env = Env::start().await;
    create_mesh_zone_with_a_record(&env).await;
    let only = env
        .ok(
            "GET",
            &mesh_zone("/rrsets?name=*.mesh.example.&type=A"),
            None,
        )
        .await;
    // ResourceRecordSetsListResponse.kind: "Output only.", filled by the server.
    assert_eq!(only["kind"], "dns#resourceRecordSetsListResponse");
    let names: Vec<&Value> = only["rrsets"].as_array().unwrap().iter().collect();
    assert_eq!(names.len(), 1, "{only}");
    assert_eq!(names[0]["type"], "A");
    // type: "You must also specify the `name` parameter."
    let (status, err) = env.call("GET", &mesh_zone("/rrsets?type=A"), None).await;
    assert_eq!(status, 400, "{err}");
    let page = env
        .ok("GET", &mesh_zone("/rrsets?maxResults=2"), None)
        .await;
    assert_eq!(page["rrsets"].as_array().map(Vec::len), Some(2), "{page}");
    assert!(page["nextPageToken"].as_str().is_some(), "{page}");
}

#[tokio::test]
async fn zone_names_must_be_rfc1035_labels_and_descriptions_at_most_1024_characters() {
    // dns.v1.json ManagedZone.name: "The name must be 1-63 characters long, must begin with a letter, end with a
    // letter or digit, and only contain lowercase letters, digits or dashes."; description: "at most 1024
    // characters".
    let env = Env::start().await;
    for bad in ["1zone", "zone-", "Zone", &"z".repeat(64)] {
        let mut body = private_zone(bad);
        body["name"] = json!(bad);
        let (status, err) = env.call("POST", &zones(), Some(body)).await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    let mut long = private_zone("long");
    long["description"] = json!("d".repeat(1025));
    let (status, err) = env.call("POST", &zones(), Some(long)).await;
    assert_eq!(status, 400, "{err}");
    let mut fits = private_zone("fits");
    fits["description"] = json!("d".repeat(1024));
    env.ok("POST", &zones(), Some(fits)).await;
}

#[tokio::test]
async fn zone_operations_carry_the_output_only_fields_google_documents() {
    // dns.v1.json Operation id, startTime, type, user, zoneContext: "(output only)", filled by the server.
    let env = Env::start().await;
    env.ok("POST", &zones(), Some(private_zone("mesh"))).await;
    let op = env
        .ok("PATCH", &mesh_zone(""), Some(json!({"description": "new"})))
        .await;
    for field in ["id", "startTime", "type", "user", "zoneContext"] {
        assert!(op.get(field).is_some(), "missing {field}: {op}");
    }
    assert_eq!(op["zoneContext"]["newValue"]["description"], "new");
    let id = op["id"].as_str().expect("operation id");
    let got = env
        .ok("GET", &format!("{}/operations/{id}", mesh_zone("")), None)
        .await;
    assert_eq!(got["id"], op["id"]);
}
