//! Migration from the google provider by `moved` (MoveResourceState, Terraform >= 1.8): a mesh service whose parts a
//! google provider configuration holds moves to one `csmrun_service` with one `moved` block and `removed { lifecycle
//! { destroy = false } }` for the other parts, and nothing in the cloud changes. The google provider is the test-only
//! stand-in (`src/bin/google-standin.rs`, real google-beta attribute structure, never calls a cloud), installed from a
//! filesystem mirror as `registry.terraform.io/hashicorp/google` so the state records it as the google provider.
//! Skips, saying so, only when no Terraform >= 1.8 is on PATH (`stack::modern_terraform`).

use base64::Engine as _;
use csmrun_acctest::hcl::ServiceHcl;
use csmrun_acctest::requests;
use csmrun_acctest::seed::{SeedBuilder, DOMAIN, PROJECT, REGION};
use csmrun_acctest::stack::{modern_terraform, provider_dir, Stack};
use serde_json::Value;

/// The version both providers have in the mirror (any will do: the configuration pins none).
const MIRROR_VERSION: &str = "6.0.0";

/// Terraform's name for this machine's platform, as the mirror's directory layout wants it.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// Puts the stand-in into a filesystem mirror inside the work dir as hashicorp/google, beside the built csmrun (a
/// dev_override would make `terraform init` ask the registry for csmrun); [`init`] then installs both from it.
fn install_google_standin(stack: &Stack) {
    let bin_dir = provider_dir()
        .and_then(|d| Ok(d.canonicalize()?))
        .expect("the provider binaries");
    let mirror = stack.wd.path().join("mirror");
    let mut sources = Vec::new();
    for (source, bin, name) in [
        ("hashicorp/google", "google-standin", "google"),
        ("csmrun/csmrun", "terraform-provider-csmrun", "csmrun"),
    ] {
        let binary = bin_dir.join(bin);
        assert!(
            binary.is_file(),
            "{} is missing: cargo build --workspace --bins",
            binary.display()
        );
        let package = mirror
            .join("registry.terraform.io")
            .join(source)
            .join(MIRROR_VERSION)
            .join(platform());
        std::fs::create_dir_all(&package).expect("creating the mirror");
        std::os::unix::fs::symlink(
            &binary,
            package.join(format!("terraform-provider-{name}_v{MIRROR_VERSION}")),
        )
        .expect("linking the provider into the mirror");
        sources.push(format!("\"registry.terraform.io/{source}\""));
    }
    let sources = sources.join(", ");
    let config = format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [{sources}]\n  }}\n  \
         direct {{\n    exclude = [{sources}]\n  }}\n}}\n",
        mirror.display().to_string()
    );
    stack
        .wd
        .write(".terraformrc", &config)
        .expect("writing the CLI config");
}

/// `terraform init`: after the configuration names the providers, so the lock file selects both.
fn init(stack: &Stack) {
    stack
        .tf(&["init"])
        .assert_success("terraform init (google and csmrun from the mirror)");
}

fn last(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// The google provider layout of the service's parts, each imported by its ID (Terraform >= 1.5 import blocks).
fn google_config(service: &str, values: &Value, record: &str) -> String {
    let s = |k: &str| values[k].as_str().unwrap_or_default().to_string();
    let (neg, backend, route, zone) = (
        last(&s("neg")).to_string(),
        last(&s("backend_service")).to_string(),
        last(&s("http_route")).to_string(),
        last(&s("dns_zone")).to_string(),
    );
    let sa = s("service_account");
    let image = s("image");
    let hostname = s("hostname");
    format!(
        r#"
provider "google" {{
  project = "{PROJECT}"
  region  = "{REGION}"
}}

import {{
  to = google_cloud_run_v2_service.x
  id = "projects/{PROJECT}/locations/{REGION}/services/{service}"
}}
resource "google_cloud_run_v2_service" "x" {{
  name     = "{service}"
  location = "{REGION}"
  project  = "{PROJECT}"
  template {{
    service_account = "{sa}"
    containers {{
      image = "{image}"
    }}
  }}
}}

import {{
  to = google_compute_region_network_endpoint_group.x
  id = "projects/{PROJECT}/regions/{REGION}/networkEndpointGroups/{neg}"
}}
resource "google_compute_region_network_endpoint_group" "x" {{
  name                  = "{neg}"
  region                = "{REGION}"
  network_endpoint_type = "SERVERLESS"
  cloud_run {{
    service = "{service}"
  }}
}}

import {{
  to = google_compute_backend_service.x
  id = "projects/{PROJECT}/global/backendServices/{backend}"
}}
resource "google_compute_backend_service" "x" {{
  name                  = "{backend}"
  load_balancing_scheme = "INTERNAL_SELF_MANAGED"
  backend {{
    group = google_compute_region_network_endpoint_group.x.id
  }}
}}

import {{
  to = google_network_services_http_route.x
  id = "projects/{PROJECT}/locations/global/httpRoutes/{route}"
}}
resource "google_network_services_http_route" "x" {{
  name      = "{route}"
  hostnames = ["{hostname}"]
  rules {{
    action {{
      destinations {{
        service_name = google_compute_backend_service.x.id
      }}
    }}
  }}
}}

import {{
  to = google_dns_managed_zone.x
  id = "projects/{PROJECT}/managedZones/{zone}"
}}
resource "google_dns_managed_zone" "x" {{
  name       = "{zone}"
  dns_name   = "{DOMAIN}."
  visibility = "private"
}}

import {{
  to = google_dns_record_set.x
  id = "projects/{PROJECT}/managedZones/{zone}/rrsets/{record}/A"
}}
resource "google_dns_record_set" "x" {{
  name         = "{record}"
  managed_zone = google_dns_managed_zone.x.name
  type         = "A"
}}

import {{
  to = google_project_iam_member.x
  id = "{PROJECT} roles/trafficdirector.client serviceAccount:{sa}"
}}
resource "google_project_iam_member" "x" {{
  project = "{PROJECT}"
  role    = "roles/trafficdirector.client"
  member  = "serviceAccount:{sa}"
}}

import {{
  to = google_cloud_run_v2_service_iam_member.x
  id = "projects/{PROJECT}/locations/{REGION}/services/{service} roles/run.invoker serviceAccount:{sa}"
}}
resource "google_cloud_run_v2_service_iam_member" "x" {{
  name   = google_cloud_run_v2_service.x.name
  role   = "roles/run.invoker"
  member = "serviceAccount:{sa}"
}}
"#
    )
}

/// The other parts leave the google configuration without being destroyed.
fn removed_blocks() -> String {
    [
        "google_compute_region_network_endpoint_group.x",
        "google_compute_backend_service.x",
        "google_network_services_http_route.x",
        "google_dns_managed_zone.x",
        "google_dns_record_set.x",
        "google_project_iam_member.x",
        "google_cloud_run_v2_service_iam_member.x",
    ]
    .iter()
    .map(|from| {
        format!("removed {{\n  from = {from}\n  lifecycle {{\n    destroy = false\n  }}\n}}\n")
    })
    .collect()
}

const MOVED: &str =
    "moved {\n  from = google_cloud_run_v2_service.x\n  to   = csmrun_service.x\n}\n";

/// Builds the service with csmrun, then forgets it in Terraform, so its parts exist as a google provider user's
/// would; then holds them in the google layout (the "before" configuration). Returns the csmrun configuration and
/// the state csmrun had.
fn before(stack: &Stack) -> (ServiceHcl, Value) {
    let service = ServiceHcl::new("x", "web");
    stack.config(&service.render());
    stack.apply_ok();
    let values = stack.values("x");
    stack
        .tf(&["state", "rm", "csmrun_service.x"])
        .assert_success("state rm");
    install_google_standin(stack);
    let record = format!("*.{DOMAIN}.");
    stack.config(&google_config("web", &values, &record));
    init(stack);
    stack.apply_ok();
    (service, values)
}

fn state_json(stack: &Stack) -> Value {
    let out = stack.tf(&["state", "pull"]);
    out.assert_success("state pull");
    serde_json::from_str(&out.stdout).expect("state JSON")
}

#[test]
fn migrating_from_the_google_provider_by_moved_changes_nothing_in_the_cloud() {
    let test = "migrating_from_the_google_provider_by_moved_changes_nothing_in_the_cloud";
    let Some(tf) = modern_terraform(test) else {
        return;
    };
    let stack = Stack::with_terraform(&SeedBuilder::new().build(), tf);
    let (service, created) = before(&stack);
    let held = state_json(&stack);
    let google: Vec<&Value> = held["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["provider"]
                .as_str()
                .unwrap_or("")
                .contains("registry.terraform.io/hashicorp/google")
        })
        .collect();
    assert_eq!(
        google.len(),
        8,
        "the google layout holds the 8 parts: {held}"
    );
    let before_cloud = stack.state();
    stack
        .emu
        .clear_requests()
        .expect("clearing the request log");

    stack.config(&format!("{}{MOVED}{}", service.render(), removed_blocks()));
    // Without the refresh csmrun has not discovered the parts: the plan fails rather than plan from the bare identity.
    let unrefreshed = stack.tf(&["plan", "-refresh=false"]);
    let text = unrefreshed
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(unrefreshed.code, Some(1), "{text}");
    assert!(text.contains("Plan without -refresh=false"), "{text}");
    // Nor is a destroy planned from it: the state names none of the parts yet (the writes counted below include it).
    let destroy = stack.tf(&["plan", "-destroy", "-refresh=false"]);
    let text = destroy
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(destroy.code, Some(1), "{text}");
    assert!(text.contains("Plan without -refresh=false"), "{text}");
    let plan = stack.tf(&["plan"]);
    plan.assert_success("the migration plan");
    let text = plan.combined();
    assert!(
        text.contains("google_cloud_run_v2_service.x has moved to csmrun_service.x"),
        "{text}"
    );
    assert!(
        text.contains("0 to add, 0 to change, 0 to destroy"),
        "{text}"
    );
    stack.apply_ok();

    let writes = requests::writes(&stack.requests());
    assert!(
        writes.is_empty(),
        "the migration wrote to the cloud: {writes:?}"
    );
    assert_eq!(
        stack.state()["resources"],
        before_cloud["resources"],
        "the cloud changed"
    );
    let after = state_json(&stack);
    let resources = after["resources"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        resources.len(),
        1,
        "only csmrun_service.x is left in the state: {after}"
    );
    assert_eq!(resources[0]["type"], "csmrun_service");
    let private = resources[0]["instances"][0]["private"]
        .as_str()
        .unwrap_or_default();
    let private = base64::engine::general_purpose::STANDARD
        .decode(private)
        .expect("private state is base64");
    let private: Value = serde_json::from_slice(&private).expect("private state is JSON");
    assert!(
        private.get("moved_from").is_none() && private["service_uid"].is_string(),
        "the refresh replaced the moved private state by the import's: {private}"
    );
    assert!(resources[0]["provider"]
        .as_str()
        .unwrap_or("")
        .contains("csmrun/csmrun"));
    // Import spells some values its own way (the mesh as a full name, no invokers as []), which plans as no change.
    let moved = stack.values("x");
    for key in [
        "id",
        "neg",
        "backend_service",
        "http_route",
        "dns_zone",
        "hostname",
        "image",
        "service_account",
        "uri",
        "latest_ready_revision",
        "effective_labels",
    ] {
        assert_eq!(
            moved[key], created[key],
            "{key}: the moved state names the parts csmrun created"
        );
    }
    stack.assert_empty_plan("after the migration");
    stack.assert_consistent();
}

#[test]
fn a_moved_block_from_an_unsupported_type_fails_naming_what_is_accepted() {
    let test = "a_moved_block_from_an_unsupported_type_fails_naming_what_is_accepted";
    let Some(tf) = modern_terraform(test) else {
        return;
    };
    let stack = Stack::with_terraform(&SeedBuilder::new().build(), tf);
    install_google_standin(&stack);
    stack.config(&format!(
        "provider \"google\" {{}}\n\nimport {{\n  to = google_dns_managed_zone.z\n  id = \"projects/{PROJECT}/managedZones/mesh\"\n}}\n\
         resource \"google_dns_managed_zone\" \"z\" {{\n  name = \"mesh\"\n}}\n"
    ));
    init(&stack);
    stack.apply_ok();
    stack
        .emu
        .clear_requests()
        .expect("clearing the request log");
    stack.config(&format!(
        "{}moved {{\n  from = google_dns_managed_zone.z\n  to   = csmrun_service.x\n}}\n",
        ServiceHcl::new("x", "web").render()
    ));
    let out = stack.tf(&["plan"]);
    // Terraform wraps diagnostics at 78 columns.
    let text = out
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(out.code, Some(1), "{text}");
    assert!(
        text.contains("Cannot move this resource into csmrun_service"),
        "{text}"
    );
    assert!(
        text.contains(
            "The source is a google_dns_managed_zone of registry.terraform.io/hashicorp/google."
        ),
        "{text}"
    );
    assert!(
        text.contains("only from google_cloud_run_v2_service"),
        "{text}"
    );
    assert!(text.contains("import the service instead"), "{text}");
    assert!(requests::writes(&stack.requests()).is_empty());
}
