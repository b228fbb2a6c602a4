//! Two services of one account in two regions share the project grant: destroying one keeps it for the other,
//! destroying the other removes it. Cloud Run v2 cannot list services across regions (`locations/-` is refused),
//! so the leaver finds the other region from the project's serverless NEGs.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::{sa, SeedBuilder, PROJECT, REGION};
use csmrun_acctest::stack::Stack;
use serde_json::{json, Value};

const FAR_REGION: &str = "us-central1";
const FAR_SUBNET: &str = "far-subnet";

fn has_binding(state: &Value, role: &str, member: &str) -> bool {
    state["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["id"] == PROJECT)
        .flat_map(|p| {
            p["iamPolicy"]["bindings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .any(|b| {
            b["role"] == role
                && b["members"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|x| x == member))
        })
}

#[test]
fn a_grant_shared_by_services_in_two_regions_stays_with_the_first_destroy_and_goes_with_the_last() {
    let mut seed = SeedBuilder::new().build();
    seed["projects"][0]["networks"][0]["subnetworks"]
        .as_array_mut()
        .expect("the standard seed has subnetworks")
        .push(
            json!({"name": FAR_SUBNET, "region": FAR_REGION, "ipCidrRange": "10.30.0.0/24",
                     "privateIpGoogleAccess": true}),
        );
    let stack = Stack::new(&seed);
    let near = ServiceHcl::new("near", "near").string("service_account", &sa("shared"));
    let far = ServiceHcl::new("far", "far")
        .string("service_account", &sa("shared"))
        .string("region", FAR_REGION)
        .string("subnetwork", FAR_SUBNET);
    stack.config(&format!("{}\n{}", near.render(), far.render()));
    stack.apply_ok();
    stack.assert_consistent();
    let member = format!("serviceAccount:{}", sa("shared"));
    let role = "roles/trafficdirector.client";
    assert!(has_binding(&stack.state(), role, &member));

    // The service of the provider's region goes: the other, in another region, still needs the grant.
    stack.emu.clear_requests().unwrap();
    stack.config(&far.render());
    stack.apply_ok();
    stack.assert_consistent();
    assert!(
        has_binding(&stack.state(), role, &member),
        "the grant went while a service in {FAR_REGION} still runs as the account"
    );
    let log = stack.requests();
    let paths: Vec<String> = log.iter().map(requests::describe).collect();
    assert!(
        !paths.iter().any(|p| p.contains("locations/-")),
        "Cloud Run was asked to list every region: {paths:#?}"
    );
    assert!(
        !requests::matching(&log, "GET", "/aggregated/networkEndpointGroups").is_empty(),
        "the regions were not found from the NEGs: {paths:#?}"
    );
    assert!(
        !requests::matching(&log, "GET", &format!("/locations/{FAR_REGION}/services")).is_empty(),
        "the other region's services were not listed: {paths:#?}"
    );
    assert!(
        !requests::matching(&log, "GET", &format!("/locations/{REGION}/services")).is_empty(),
        "the leaver's own region was not listed: {paths:#?}"
    );
    stack.assert_empty_plan("after destroying the first");

    // The last user goes: the grant goes with it.
    stack.destroy_ok();
    stack.assert_consistent();
    assert!(
        !has_binding(&stack.state(), role, &member),
        "the grant outlived its last user"
    );
}
