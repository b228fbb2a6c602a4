//! Bad input from the network: every API answers with truncated JSON, wrong types, a 24 MiB body, an HTML
//! error page, HTML with 200, an empty body, non-UTF-8 bytes, or a dropped connection. Refresh, delete and
//! create must each fail with a Terraform error diagnostic (never a panic, a plugin crash or a hang), and
//! leave Terraform's state intact: pointed back at the real (emulated) APIs, the plan is empty.
//! A delete answered with a malformed 200 fails at once with the decode problem, never "Timed out"; 502 pages
//! and dropped connections are transient, so they are retried until the resource timeout.

use csmrun_acctest::campaign::hostile::{Answer, HostileServer, ALL};
use csmrun_acctest::campaign::soak::{first_error, unclear};
use csmrun_acctest::hcl::{ProviderSettings, ServiceHcl};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::{provider_dir, Stack, GUARD};
use csmrun_acctest::terraform::{Output, Terraform};

const TOKEN: &str = "campaign-hostile-token";

/// Provider lines that send every API to `base` with a fixed access token.
fn endpoints(base: &str) -> Vec<String> {
    vec![
        format!("run_custom_endpoint              = \"{base}/run/v2/\""),
        format!("compute_custom_endpoint          = \"{base}/compute/v1/\""),
        format!("network_services_custom_endpoint = \"{base}/networkservices/v1/\""),
        format!("dns_custom_endpoint              = \"{base}/dns/v1/\""),
        format!("resource_manager_custom_endpoint = \"{base}/cloudresourcemanager/v1/\""),
        format!("access_token                     = \"{TOKEN}\""),
        "request_timeout                  = \"5s\"".to_string(),
    ]
}

fn service(label: &str) -> String {
    ServiceHcl::new(label, label)
        .block("timeouts {\n  create = \"10s\"\n  update = \"10s\"\n  delete = \"10s\"\n}")
        .render()
}

/// What the error of a call answered with this malformed 200 must say; `None` for the transient answers.
fn decode_problem(answer: Answer) -> Option<&'static str> {
    match answer {
        Answer::TruncatedJson => Some("answered 200 with truncated JSON"),
        Answer::WrongTypes => Some("answered 200 with JSON of the wrong shape"),
        Answer::HugeBody => Some("answered 200 with a body larger than the 16 MiB cap"),
        Answer::HtmlOk => Some("answered 200 with an HTML page instead of JSON"),
        Answer::Empty => Some("answered 200 with an empty body"),
        Answer::Garbage => Some("answered 200 with a body that is not UTF-8 text"),
        Answer::HtmlBadGateway | Answer::Dropped => None,
    }
}

/// Terraform's output with the diagnostic frames removed and its wrapping undone, so phrases can be found.
fn unwrapped(out: &Output) -> String {
    out.combined()
        .replace(['│', '╷', '╵'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A delete answered with a malformed 200 fails at once with the decode problem instead of timing out.
fn assert_decode_error(answer: Answer, out: &Output, report: &mut Vec<String>) {
    let Some(problem) = decode_problem(answer) else {
        return;
    };
    let first = first_error(out);
    assert!(
        !first.contains("Timed out"),
        "{answer:?} delete: a malformed 200 must fail at once, not time out:\n{}",
        out.combined()
    );
    let text = unwrapped(out);
    let at = text.find(problem).unwrap_or_else(|| {
        panic!(
            "{answer:?} delete: the error does not say {problem:?}:\n{}",
            out.combined()
        )
    });
    let start = text[..at].rfind("Error: ").unwrap_or(at);
    let end = (at + problem.len() + 40).min(text.len());
    let end = (end..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    report.push(format!(
        "{answer:?} delete (detail): {}…",
        &text[start..end]
    ));
}

fn assert_clear(what: &str, out: &Output, report: &mut Vec<String>) {
    assert!(
        !out.success(),
        "{what} succeeded against a hostile API:\n{}",
        out.combined()
    );
    if let Some(why) = unclear(out) {
        panic!("{what}: not a clear error ({why}):\n{}", out.combined());
    }
    report.push(format!("{what}: {}", first_error(out)));
}

#[test]
fn malformed_and_hostile_api_responses_fail_refresh_delete_and_create_with_clear_errors() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    stack.wd.remove_env("CSMRUN_EMULATOR_HOST");
    let emulator = stack.emu.base_url();
    stack.provider.extra = endpoints(&emulator);
    stack.config(&service("held"));
    stack.apply_ok();

    let hostile = HostileServer::start().expect("hostile server");
    let mut fresh = Terraform::find()
        .expect("terraform")
        .workdir()
        .expect("work dir");
    fresh
        .dev_override("csmrun/csmrun", &provider_dir().expect("provider dir"))
        .expect("dev_overrides");
    let hostile_provider = ProviderSettings {
        extra: endpoints(&hostile.base_url()),
        ..ProviderSettings::default()
    };
    fresh
        .write(
            "main.tf",
            &format!("{}\n{}", hostile_provider.render(), service("fresh")),
        )
        .expect("main.tf");

    let mut report = Vec::new();
    for &answer in ALL {
        let before = hostile.hits();
        stack.provider.extra = endpoints(&hostile.base_url());
        stack.config(&service("held"));
        hostile.set(answer);
        assert_clear(&format!("{answer:?} refresh"), &stack.plan(), &mut report);
        let delete = stack.tf(&["destroy", "-auto-approve", "-refresh=false"]);
        assert_clear(&format!("{answer:?} delete"), &delete, &mut report);
        assert_decode_error(answer, &delete, &mut report);
        let create = fresh
            .spawn(&["apply", "-auto-approve", "-no-color"])
            .expect("terraform")
            .wait(GUARD)
            .expect("apply");
        assert_clear(&format!("{answer:?} create"), &create, &mut report);
        assert!(
            hostile.hits() > before,
            "{answer:?}: the provider never called the hostile API"
        );
    }
    eprintln!("{}", report.join("\n"));

    stack.provider.extra = endpoints(&emulator);
    stack.config(&service("held"));
    stack.assert_empty_plan("after the hostile runs, against the real APIs again");
    stack.assert_consistent();
    stack.destroy_ok();
    stack.assert_consistent();
}
