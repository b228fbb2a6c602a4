//! The call budget of creates and destroys (issue 13): 20 services of one `for_each` on a shared mesh, domain and
//! account are created in at most 20 API calls per service and destroyed in at most 14, operation polls included.
//! The destroy runs with `-refresh=false`, so its refresh (bounded by `refresh_calls.rs`) is not counted.

use csmrun_acctest::hcl::{image, quote, ServiceHcl};
use csmrun_acctest::requests::{grouped, listing};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

const SERVICES: usize = 20;
const CREATE_CALLS_PER_SERVICE: usize = 20;
const DESTROY_CALLS_PER_SERVICE: usize = 14;

fn config() -> String {
    let names: Vec<String> = (0..SERVICES)
        .map(|i| quote(&format!("svc-{i:02}")))
        .collect();
    ServiceHcl::new("svc", "unused")
        .attr("name", "each.key")
        .attr("image", &quote(&image("${each.key}", "1.0.0")))
        .block(&format!("for_each = toset([{}])", names.join(", ")))
        .render()
}

#[test]
fn twenty_services_are_created_in_at_most_20_calls_each_and_destroyed_in_at_most_14() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack.config(&config());

    let from = stack.requests().len();
    stack.apply_ok();
    let create = stack.api_calls_since(from);
    assert!(
        create.len() <= SERVICES * CREATE_CALLS_PER_SERVICE,
        "the create of {SERVICES} services cost {} calls ({:.2} per service, budget {CREATE_CALLS_PER_SERVICE}):\n{}",
        create.len(),
        create.len() as f64 / SERVICES as f64,
        listing(&create)
    );
    stack.assert_consistent();

    let from = stack.requests().len();
    stack
        .tf(&["destroy", "-auto-approve", "-refresh=false"])
        .assert_success("destroy -refresh=false");
    let destroy = stack.api_calls_since(from);
    assert!(
        destroy.len() <= SERVICES * DESTROY_CALLS_PER_SERVICE,
        "the destroy of {SERVICES} services cost {} calls ({:.2} per service, budget {DESTROY_CALLS_PER_SERVICE}):\n{}",
        destroy.len(),
        destroy.len() as f64 / SERVICES as f64,
        listing(&destroy)
    );
    stack.assert_consistent();
    eprintln!(
        "create: {} calls ({:.2}/svc)\n{}\n\ndestroy: {} calls ({:.2}/svc)\n{}",
        create.len(),
        create.len() as f64 / SERVICES as f64,
        grouped(&create),
        destroy.len(),
        destroy.len() as f64 / SERVICES as f64,
        grouped(&destroy)
    );
}
