use csmrun_acctest::campaign::crash::Moment;
use csmrun_acctest::campaign::soak;
use csmrun_acctest::campaign::sweep::{sweep, Phase};
use csmrun_acctest::stack::Stack;

#[test]
fn scratch() {
    let stack = Stack::new(&soak::seed());
    let steps: Vec<String> = vec!["dns.resourceRecordSets.create".into(); 6];
    let tally = sweep(&stack, Phase::Create, &steps, &[Moment::Applied], true);
    if !tally.violations().is_empty() {
        eprintln!(
            "STATE {}",
            serde_json::to_string_pretty(&stack.state()["resources"]["dns.managedZones"]).unwrap()
        );
        for r in stack.requests() {
            eprintln!(
                "REQ {} {} {} {}",
                r["method"], r["path"], r["status"], r["body"]
            );
        }
    }
    assert!(tally.violations().is_empty(), "{tally}");
}
