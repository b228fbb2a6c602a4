//! Secrets: with an access token and service-account key material configured, the `TF_LOG=TRACE` output of a
//! full apply, plan and destroy, Terraform's state, and the diagnostics of a failed credentials exchange
//! contain neither; the provider schema marks both sensitive. (AutoMTLS, the other half of the plugin's
//! security, is covered by tfplug/tests/mtls.rs and tfplug/example's handshake tests.)

use csmrun_acctest::hcl::{quote, ServiceHcl};
use csmrun_acctest::seed::SeedBuilder;
use csmrun_acctest::stack::Stack;

const TOKEN: &str = "ya29.a0csmrunCampaignSecretToken7f3c1e";
const KEY_BODY: &str =
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDcsmrunCampaignKeyMaterial";
const KEY_ID: &str = "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e";

/// A service-account key file's JSON with the key material above.
fn key_json() -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "acc-project",
        "private_key_id": KEY_ID,
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n"),
        "client_email": "deployer@acc-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "http://127.0.0.1:9/token"
    })
    .to_string()
}

fn endpoints(base: &str) -> Vec<String> {
    [
        "run/v2",
        "compute/v1",
        "networkservices/v1",
        "dns/v1",
        "cloudresourcemanager/v1",
    ]
    .iter()
    .zip([
        "run",
        "compute",
        "network_services",
        "dns",
        "resource_manager",
    ])
    .map(|(path, api)| format!("{api}_custom_endpoint = \"{base}/{path}/\""))
    .collect()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [TOKEN, KEY_BODY, KEY_ID, "BEGIN PRIVATE KEY"] {
        assert!(
            !text.contains(secret),
            "{what} contains secret material {secret:?}"
        );
    }
}

#[test]
fn trace_logs_state_and_diagnostics_of_a_full_run_hold_no_token_or_key_material() {
    let mut stack = Stack::new(&SeedBuilder::new().build());
    // Real endpoints and a real token path, not the emulator shortcut with its fixed dummy token.
    stack.wd.remove_env("CSMRUN_EMULATOR_HOST");
    stack.wd.set_env("TF_LOG", "TRACE");
    let mut extra = endpoints(&stack.emu.base_url());
    extra.push(format!("access_token = {}", quote(TOKEN)));
    extra.push(format!("credentials  = {}", quote(&key_json())));
    stack.provider.extra = extra;
    stack.config(
        &ServiceHcl::new("secret", "secret")
            .attr("env", "{ LOG_LEVEL = \"info\" }")
            .render(),
    );

    let apply = stack.apply_ok();
    assert!(
        apply.stderr.contains("[TRACE]"),
        "TF_LOG=TRACE produced no trace output"
    );
    // The provider's own logs down to its HTTP client's are in the output, so the check below covers them.
    let provider_http_logs = apply
        .stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-csmrun:") && l.contains("reqwest"))
        .count();
    assert!(
        provider_http_logs > 0,
        "the trace output does not include the provider's HTTP client logs"
    );
    assert_no_secret("TF_LOG=TRACE output of apply", &apply.combined());
    let plan = stack.plan();
    assert_eq!(plan.code, Some(0), "{}", plan.combined());
    assert_no_secret("TF_LOG=TRACE output of plan", &plan.combined());
    let state = std::fs::read_to_string(stack.wd.path().join("terraform.tfstate"))
        .expect("terraform.tfstate");
    assert_no_secret("terraform.tfstate", &state);
    let schema = stack.tf(&["providers", "schema", "-json"]);
    assert!(schema.success(), "{}", schema.combined());
    let schema: serde_json::Value = serde_json::from_str(
        schema
            .stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .expect("schema JSON line"),
    )
    .expect("schema JSON");
    let provider = schema["provider_schemas"]
        .as_object()
        .and_then(|m| m.values().next())
        .expect("the csmrun provider schema");
    for attr in ["access_token", "credentials"] {
        assert_eq!(
            provider["provider"]["block"]["attributes"][attr]["sensitive"],
            serde_json::json!(true),
            "{attr} is not sensitive"
        );
    }
    let destroy = stack.destroy_ok();
    assert_no_secret("TF_LOG=TRACE output of destroy", &destroy.combined());
    stack.assert_consistent();

    // Without the token the key is used: its exchange fails, and the diagnostic must not quote the key.
    stack
        .provider
        .extra
        .retain(|l| !l.starts_with("access_token"));
    stack.config(&ServiceHcl::new("secret", "secret").render());
    let failed = stack.apply();
    assert!(
        !failed.success(),
        "an apply with an unusable key succeeded:\n{}",
        failed.combined()
    );
    assert!(
        failed.combined().contains("Error: "),
        "{}",
        failed.combined()
    );
    assert_no_secret(
        "TF_LOG=TRACE output of a failed credentials exchange",
        &failed.combined(),
    );
}

/// One way of giving a credential: what, provider lines, environment, what the error must say.
type Case = (
    &'static str,
    Vec<String>,
    Vec<(&'static str, String)>,
    &'static str,
);

/// Every way a credential reaches the provider, each with the error it can provoke: the diagnostics and the
/// `TF_LOG=TRACE` output hold none of the key material, nor the value as given (base64 of the key, a token in the
/// wrong place).
#[test]
fn a_credential_given_any_way_and_failing_any_way_is_never_quoted_in_diagnostics_or_trace_logs() {
    use base64::Engine;
    let mut stack = Stack::new(&SeedBuilder::new().build());
    stack.wd.remove_env("CSMRUN_EMULATOR_HOST");
    stack.wd.set_env("TF_LOG", "TRACE");
    let key = key_json();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&key);
    let key_file = stack.wd.path().join("key.json");
    std::fs::write(&key_file, &key).unwrap();
    let b64_file = stack.wd.path().join("key.b64");
    std::fs::write(&b64_file, &b64).unwrap();
    let key_path = key_file.to_str().unwrap().to_string();
    let b64_path = b64_file.to_str().unwrap().to_string();
    let bom = format!("\u{feff}{key}");
    // (what, provider lines, environment, what the error must say)
    let cases: Vec<Case> = vec![
        (
            "credentials = base64 of the key",
            vec![format!("credentials = {}", quote(&b64))],
            vec![],
            "looks like base64",
        ),
        (
            "credentials = a token by mistake",
            vec![format!("credentials = {}", quote(TOKEN))],
            vec![],
            "access_token",
        ),
        (
            "credentials = JSON with a BOM, exchange fails",
            vec![format!("credentials = {}", quote(&bom))],
            vec![],
            "Error: ",
        ),
        (
            "credentials = key file path, exchange fails",
            vec![format!("credentials = {}", quote(&key_path))],
            vec![],
            "Error: ",
        ),
        (
            "credentials = file of base64",
            vec![format!("credentials = {}", quote(&b64_path))],
            vec![],
            "looks like base64",
        ),
        (
            "GOOGLE_CREDENTIALS = base64",
            vec![],
            vec![("GOOGLE_CREDENTIALS", b64.clone())],
            "GOOGLE_CREDENTIALS",
        ),
        (
            "GOOGLE_CREDENTIALS = JSON, exchange fails",
            vec![],
            vec![("GOOGLE_CREDENTIALS", key.clone())],
            "Error: ",
        ),
        (
            "GOOGLE_APPLICATION_CREDENTIALS = key file, exchange fails",
            vec![],
            vec![("GOOGLE_APPLICATION_CREDENTIALS", key_path.clone())],
            "Error: ",
        ),
        (
            "GOOGLE_APPLICATION_CREDENTIALS = JSON",
            vec![],
            vec![("GOOGLE_APPLICATION_CREDENTIALS", key.clone())],
            "GOOGLE_APPLICATION_CREDENTIALS",
        ),
        (
            "impersonation with the key, exchange fails",
            vec![
                format!("credentials = {}", quote(&key)),
                "impersonate_service_account = \"target@acc-project.iam.gserviceaccount.com\""
                    .into(),
            ],
            vec![],
            "Error: ",
        ),
    ];
    for (what, lines, env, expect) in cases {
        let mut extra = endpoints(&stack.emu.base_url());
        extra.extend(lines);
        stack.provider.extra = extra;
        for (k, v) in &env {
            stack.wd.set_env(k, v);
        }
        stack.config(&ServiceHcl::new("secret", "secret").render());
        let out = stack.apply();
        for (k, _) in &env {
            stack.wd.remove_env(k);
        }
        let text = out.combined();
        assert!(!out.success(), "{what}: succeeded:\n{text}");
        // Terraform wraps the detail at its width; the words are checked with the line breaks undone.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(expect), "{what}: no {expect:?} in\n{text}");
        assert_no_secret(what, &text);
        assert!(
            !text.contains(&b64[..40]),
            "{what}: the base64 value is quoted"
        );
        assert!(!text.contains("panicked"), "{what}: {text}");
    }
    stack.assert_consistent();
}
