//! Ctrl-C during a create: the provider stops waiting at once and still rolls back, so nothing is
//! left that Terraform does not know about.

use std::time::{Duration, Instant};

use csmrun_acctest::consistency::services_in_state;
use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests::matching;
use csmrun_acctest::seed::{SeedBuilder, PROJECT};
use csmrun_acctest::stack::{Stack, GUARD};

#[test]
fn interrupt_during_the_iam_propagation_wait_rolls_back_the_create() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    // Without the interrupt this create would wait an hour for IAM propagation.
    stack.provider.iam_propagation_wait = "1h".into();
    stack.config(&ServiceHcl::new("svc", "interrupted").render());
    let running = stack.spawn(&["apply", "-auto-approve"]);
    let start = Instant::now();
    loop {
        let log = stack.requests();
        let granted = matching(&log, "POST", &format!("/projects/{PROJECT}:setIamPolicy"))
            .iter()
            .any(|e| e["status"] == 200);
        if granted {
            break;
        }
        assert!(
            start.elapsed() < GUARD,
            "the grant never happened:\n{}",
            running.output_so_far()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the parallel branches (DNS, NEG, backend service) get going too.
    std::thread::sleep(Duration::from_secs(1));
    running.interrupt().unwrap();
    let out = running.wait(GUARD).unwrap();
    let text = out.combined();
    assert!(!out.success(), "an interrupted create must fail:\n{text}");
    assert!(
        services_in_state(&stack.show()).is_empty(),
        "nothing may be saved to state:\n{text}"
    );
    stack.assert_consistent();
    assert!(
        stack
            .resource(
                "dns.managedZones",
                &format!("projects/{PROJECT}/managedZones/csmrun-meshapps-internal")
            )
            .is_none(),
        "the zone this run created must be rolled back"
    );
    let log = stack.requests();
    let created = matching(&log, "POST", &format!("/projects/{PROJECT}/managedZones"))
        .iter()
        .any(|e| e["status"] == 200);
    let deleted = matching(&log, "DELETE", "/managedZones/csmrun-meshapps-internal")
        .iter()
        .any(|e| e["status"] == 200);
    assert!(
        created && deleted,
        "the zone was created before the interrupt and deleted by the rollback"
    );
}
