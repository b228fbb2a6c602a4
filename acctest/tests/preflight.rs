//! A create that cannot succeed because a name it needs belongs to someone else, or the shared wildcard record
//! points elsewhere, fails in the pre-flight checks: it names the part, the cause and the fix, and writes nothing.

use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::{SeedBuilder, DOMAIN, PROJECT, REGION};
use csmrun_acctest::stack::Stack;
use serde_json::json;

/// Terraform wraps long lines: the output as one line.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Applies, which must fail without one write; returns the output as one line.
fn apply_fails_writing_nothing(stack: &Stack) -> String {
    stack.emu.clear_requests().unwrap();
    let out = stack.apply();
    let text = flat(&out.combined());
    assert!(!out.success(), "apply should fail:\n{text}");
    assert_eq!(
        requests::writes(&stack.requests()),
        Vec::<String>::new(),
        "a pre-flight refusal writes nothing:\n{text}"
    );
    assert!(
        text.contains(
            "Left: nothing: the pre-flight checks step failed before this apply created anything"
        ),
        "the diagnostic says what was left:\n{text}"
    );
    assert!(
        !text.contains("rolled back"),
        "nothing was made, so nothing was rolled back:\n{text}"
    );
    text
}

#[test]
fn a_neg_name_taken_by_another_service_fails_before_creating_anything() {
    let stack = Stack::new(&SeedBuilder::new().build());
    // Someone else's NEG, for their own Cloud Run service, under the name this service would take by default.
    stack
        .emu
        .api(
            "POST",
            &format!("/compute/v1/projects/{PROJECT}/regions/{REGION}/networkEndpointGroups"),
            Some(
                &json!({"name": "orders-neg", "networkEndpointType": "SERVERLESS",
                         "cloudRun": {"service": "legacy-orders"}}),
            ),
        )
        .unwrap();
    stack.config(&ServiceHcl::new("svc", "orders").render());
    let text = apply_fails_writing_nothing(&stack);
    assert!(
        text.contains(
            "Serverless NEG orders-neg: name taken by Cloud Run service \"legacy-orders\""
        ),
        "the summary names the part and the cause:\n{text}"
    );
    assert!(
        text.contains("choose another `neg_name`"),
        "the fix names the setting:\n{text}"
    );
    assert_eq!(
        text.matches("Fix now:").count(),
        1,
        "one diagnostic shape, one fix:\n{text}"
    );
}

#[test]
fn a_backend_service_name_of_someone_else_fails_before_creating_anything() {
    let stack = Stack::new(&SeedBuilder::new().build());
    stack
        .emu
        .api(
            "POST",
            &format!("/compute/v1/projects/{PROJECT}/global/backendServices"),
            Some(
                &json!({"name": "orders-backend", "loadBalancingScheme": "INTERNAL_SELF_MANAGED",
                         "protocol": "HTTP"}),
            ),
        )
        .unwrap();
    stack.config(&ServiceHcl::new("svc", "orders").render());
    let text = apply_fails_writing_nothing(&stack);
    assert!(
        text.contains("Backend service orders-backend: exists and is not managed by csmrun"),
        "{text}"
    );
    assert!(
        text.contains("choose another `backend_service_name`") && text.contains("terraform import"),
        "both ways out:\n{text}"
    );
}

#[test]
fn a_wildcard_record_with_other_addresses_fails_before_creating_anything() {
    let stack = Stack::new(&SeedBuilder::new().build());
    let zone = format!("csmrun-{}", DOMAIN.replace('.', "-"));
    stack
        .emu
        .api(
            "POST",
            &format!("/dns/v1/projects/{PROJECT}/managedZones"),
            Some(&json!({"name": zone, "dnsName": format!("{DOMAIN}."), "description": "made by hand",
                         "visibility": "private"})),
        )
        .unwrap();
    stack
        .emu
        .api(
            "POST",
            &format!("/dns/v1/projects/{PROJECT}/managedZones/{zone}/rrsets"),
            Some(
                &json!({"name": format!("*.{DOMAIN}."), "type": "A", "ttl": 300,
                         "rrdatas": ["10.9.9.9"]}),
            ),
        )
        .unwrap();
    stack.config(
        &ServiceHcl::new("svc", "orders")
            .string("dns_address", "10.0.0.1")
            .render(),
    );
    let text = apply_fails_writing_nothing(&stack);
    assert!(
        text.contains(&format!(
            "Wildcard DNS record *.{DOMAIN}: has other addresses"
        )),
        "{text}"
    );
    assert!(
        text.contains("set `dns_address` to \"10.9.9.9\""),
        "the fix:\n{text}"
    );
}
