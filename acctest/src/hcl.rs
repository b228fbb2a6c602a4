//! Terraform configuration text for acceptance tests: the provider block and `csmrun_service` blocks.

use crate::seed::{self, DOMAIN, MESH, NETWORK, PROJECT, REGION, SUBNET};

/// Provider settings that keep the workaround waits short and above the emulator's scaled delays
/// (IAM propagation 1.8 s, mesh settle 1.2 s at `seed::TIME_SCALE`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub iam_propagation_wait: String,
    pub mesh_settle_time: String,
    /// Extra attribute lines, verbatim.
    pub extra: Vec<String>,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            iam_propagation_wait: "2s".into(),
            mesh_settle_time: "2s".into(),
            extra: Vec::new(),
        }
    }
}

impl ProviderSettings {
    /// The `terraform` and `provider "csmrun"` blocks.
    pub fn render(&self) -> String {
        let mut s = format!(
            "terraform {{\n  required_providers {{\n    csmrun = {{ source = \"csmrun/csmrun\" }}\n  }}\n}}\n\n\
             provider \"csmrun\" {{\n  project              = \"{PROJECT}\"\n  region               = \"{REGION}\"\n  \
             iam_propagation_wait = \"{}\"\n  mesh_settle_time     = \"{}\"\n",
            self.iam_propagation_wait, self.mesh_settle_time
        );
        for line in &self.extra {
            s.push_str(&format!("  {line}\n"));
        }
        s.push_str("}\n");
        s
    }
}

/// One `csmrun_service` block: the required attributes with acceptance defaults, plus extra lines.
#[derive(Debug, Clone)]
pub struct ServiceHcl {
    pub label: String,
    attrs: Vec<(String, String)>,
    extra: Vec<String>,
}

/// An image reference in the acceptance project's registry.
pub fn image(app: &str, tag: &str) -> String {
    format!("{REGION}-docker.pkg.dev/{PROJECT}/apps/{app}:{tag}")
}

impl ServiceHcl {
    /// `resource "csmrun_service" "<label>"` named `name`, running as `app-a`, on the standard
    /// mesh, domain, network and subnet.
    pub fn new(label: &str, name: &str) -> ServiceHcl {
        ServiceHcl {
            label: label.into(),
            attrs: vec![
                ("name".into(), quote(name)),
                ("image".into(), quote(&image(name, "1.0.0"))),
                ("mesh".into(), quote(MESH)),
                ("domain".into(), quote(DOMAIN)),
                ("network".into(), quote(NETWORK)),
                ("subnetwork".into(), quote(SUBNET)),
                ("service_account".into(), quote(&seed::sa("app-a"))),
            ],
            extra: Vec::new(),
        }
    }

    /// Sets attribute `key` to the HCL expression `value` (replacing a default).
    pub fn attr(mut self, key: &str, value: &str) -> ServiceHcl {
        match self.attrs.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.into(),
            None => self.attrs.push((key.into(), value.into())),
        }
        self
    }

    /// Sets attribute `key` to the string `value`.
    pub fn string(self, key: &str, value: &str) -> ServiceHcl {
        self.attr(key, &quote(value))
    }

    /// Removes attribute `key`.
    pub fn without(mut self, key: &str) -> ServiceHcl {
        self.attrs.retain(|(k, _)| k != key);
        self
    }

    /// Adds a block or any line verbatim.
    pub fn block(mut self, text: &str) -> ServiceHcl {
        self.extra.push(text.into());
        self
    }

    pub fn render(&self) -> String {
        let mut s = format!("resource \"csmrun_service\" \"{}\" {{\n", self.label);
        for (k, v) in &self.attrs {
            s.push_str(&format!("  {k} = {v}\n"));
        }
        for e in &self.extra {
            for line in e.lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
        s.push_str("}\n");
        s
    }
}

/// An HCL string literal.
pub fn quote(s: &str) -> String {
    serde_json::Value::String(s.into()).to_string()
}
