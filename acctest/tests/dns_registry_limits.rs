//! The shared DNS zone against Cloud DNS's asynchronous changes and per-record-set limit, with real Terraform:
//! the last destroy of a domain waits for its change to be done before deleting the zone, and a domain holds more
//! services than one record set allows (the users registry is sharded).

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;
use serde_json::Value;

/// The users registry record sets of every zone (head and shards), with their rrdatas.
fn registry_sets(state: &Value) -> Vec<(String, Vec<String>)> {
    state["resources"]["dns.rrsets"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.contains("/rrsets/_csmrun-users"))
        .map(|(k, r)| {
            let datas = r["rrdatas"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect();
            (k.clone(), datas)
        })
        .collect()
}

#[test]
fn destroying_the_last_service_of_a_domain_waits_for_the_dns_change_and_deletes_the_zone() {
    // Each change stays pending 4 s of real time (200 s nominal at the acceptance time scale): a zone delete sent
    // before the change that removes the registry and the record is done is refused (containerNotEmpty).
    let mut seed = SeedBuilder::new().build();
    seed["dnsChangePendingTime"] = serde_json::json!("200s");
    let stack = Stack::new(&seed);
    let svc = ServiceHcl::new("alpha", "alpha");
    stack.config(&svc.render());
    stack.apply_ok();
    stack.assert_consistent();
    let zone = stack.values("alpha")["dns_zone"]
        .as_str()
        .expect("dns_zone")
        .to_string();
    stack.destroy_ok();
    stack.assert_consistent();
    let state = stack.state();
    assert!(
        state["resources"]["dns.managedZones"].get(&zone).is_none(),
        "the zone outlived its last user"
    );
    assert!(
        registry_sets(&state).is_empty(),
        "{:?}",
        registry_sets(&state)
    );
    let requests = stack.requests();
    let polled = requests.iter().any(|r| {
        r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.contains("/changes/"))
    });
    assert!(polled, "the provider polled changes.get until done");
    let zone_deletes: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["method"] == "DELETE"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(zone.rsplit('/').next().unwrap_or("")))
        })
        .collect();
    assert_eq!(zone_deletes.len(), 1, "{zone_deletes:?}");
    assert_eq!(zone_deletes[0]["status"], 200, "{zone_deletes:?}");
}

#[test]
fn a_domain_holds_more_services_than_one_record_set_allows() {
    // Two records per record set (Google's limit is 100): five services of one domain need three registry shards.
    let mut seed = SeedBuilder::new().build();
    seed["dnsRecordsPerRrset"] = serde_json::json!(2);
    let stack = Stack::new(&seed);
    let services: Vec<String> = (0..5)
        .map(|i| ServiceHcl::new(&format!("s{i}"), &format!("svc-{i}")).render())
        .collect();
    stack.config(&services.join("\n"));
    stack.apply_ok();
    stack.assert_consistent();
    stack.assert_empty_plan("after creating five services of one domain");
    let sets = registry_sets(&stack.state());
    assert!(sets.len() >= 3, "{sets:?}");
    assert!(sets.iter().all(|(_, d)| d.len() <= 2), "{sets:?}");
    let markers = sets
        .iter()
        .flat_map(|(_, d)| d)
        .filter(|d| d.contains("csmrun:"))
        .count();
    assert_eq!(markers, 5, "{sets:?}");

    // Three go (their shards shrink or go), two stay; then the last two go with the zone.
    stack.config(&services[3..].join("\n"));
    stack.apply_ok();
    stack.assert_consistent();
    let sets = registry_sets(&stack.state());
    let markers = sets
        .iter()
        .flat_map(|(_, d)| d)
        .filter(|d| d.contains("csmrun:"))
        .count();
    assert_eq!(markers, 2, "{sets:?}");
    stack.destroy_ok();
    stack.assert_consistent();
    let state = stack.state();
    assert!(
        registry_sets(&state).is_empty(),
        "{:?}",
        registry_sets(&state)
    );
    assert!(
        state["resources"]["dns.managedZones"]
            .as_object()
            .is_none_or(|z| z.is_empty()),
        "the zone outlived its last user"
    );
}
