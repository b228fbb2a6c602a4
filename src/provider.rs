//! The `csmrun` provider: its schema (PRODUCT §5), configure, its one resource and its one data source.

use async_trait::async_trait;
use tfplug::data_source::AnyDataSource;
use tfplug::provider::{ConfigureRequest, Configured, Provider};
use tfplug::resource::AnyResource;
use tfplug::schema::{Attribute, Block, Schema};
use tfplug::{Context, Type};

use crate::config::{self, ProviderConfig, ProviderData};
use crate::mesh::MeshDataSource;
use crate::service::resource::ServiceResource;

/// The provider's registry address.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/csmrun/csmrun";

/// The csmrun provider.
pub struct CsmrunProvider;

fn opt(name: &str, d: &str) -> Attribute {
    Attribute::optional(name, Type::String).description(d)
}

/// The provider block's schema.
pub fn provider_schema() -> Schema {
    let endpoint = |api: &str, example: &str| {
        opt(
            &format!("{api}_custom_endpoint"),
            &format!("Base URL of the API including the version path, e.g. `{example}`. Wins over `CSMRUN_EMULATOR_HOST`."),
        )
    };
    Schema::new(
        Block::new()
            .description("Cloud Run services inside Cloud Service Mesh.")
            .attribute(opt("project", "Default project; else `GOOGLE_PROJECT`, `GOOGLE_CLOUD_PROJECT`, `CLOUDSDK_CORE_PROJECT`."))
            .attribute(opt("region", "Default region; else `GOOGLE_REGION`, `CLOUDSDK_COMPUTE_REGION`."))
            .attribute(
                opt("credentials", "Service account key file path or JSON content (also external-account JSON); else `GOOGLE_CREDENTIALS`, then Application Default Credentials.")
                    .sensitive(),
            )
            .attribute(opt("access_token", "An OAuth2 access token; else `GOOGLE_OAUTH_ACCESS_TOKEN`; wins over `credentials`.").sensitive())
            .attribute(opt("impersonate_service_account", "Service account to impersonate."))
            .attribute(endpoint("run", "https://run.googleapis.com/v2/"))
            .attribute(endpoint("compute", "https://compute.googleapis.com/compute/v1/"))
            .attribute(endpoint("network_services", "https://networkservices.googleapis.com/v1/"))
            .attribute(endpoint("dns", "https://dns.googleapis.com/dns/v1/"))
            .attribute(endpoint("resource_manager", "https://cloudresourcemanager.googleapis.com/v1/"))
            .attribute(opt("iam_propagation_wait", "Wait after a new `roles/trafficdirector.client` grant before deploying; default `90s`. An apply that waited says so in a warning."))
            .attribute(opt("mesh_settle_time", "Minimum age of the mesh before a service joins it; default `60s`. An apply that waited says so in a warning."))
            .attribute(opt("request_timeout", "Deadline of each API request; default `60s`."))
            .attribute(
                Attribute::optional("default_labels", Type::Map(Box::new(Type::String)))
                    .description("Labels added to every labelled part."),
            )
            .attribute(opt("billing_project", "Project billed for quota, sent as `x-goog-user-project` when `user_project_override` is true; else `GOOGLE_BILLING_PROJECT`."))
            .attribute(
                Attribute::optional("user_project_override", Type::Bool).description(
                    "Send `billing_project`, or without it each request's own project, as `x-goog-user-project`; else `USER_PROJECT_OVERRIDE`; default `false` (the credentials' `quota_project_id` is sent when they have one).",
                ),
            ),
    )
}

#[async_trait]
impl Provider for CsmrunProvider {
    type Data = ProviderData;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    /// The durations are bounded at validation, so a unit slip fails `terraform validate` and plan before the
    /// provider is configured or any resource is planned.
    async fn validate(
        &self,
        _ctx: &Context<ProviderData>,
        config: &tfplug::resource::Config,
    ) -> tfplug::Diagnostics {
        match config.decode::<ProviderConfig>() {
            Ok(c) => config::check_durations(&c),
            Err(d) => d,
        }
    }

    async fn configure(
        &self,
        ctx: &Context<ProviderData>,
        req: ConfigureRequest,
    ) -> Configured<ProviderData> {
        let c: ProviderConfig = match req.config.decode() {
            Ok(c) => c,
            Err(d) => return Configured::failed(d),
        };
        let resolved = match config::resolve(&c, &config::process_env) {
            Ok(r) => r,
            Err(d) => return Configured::failed(d),
        };
        match config::build_off_thread(resolved, ctx.cancellation_token().clone()).await {
            Ok(data) => Configured::ok(data),
            Err(d) => Configured::failed(d),
        }
    }

    fn resources(&self) -> Vec<Box<dyn AnyResource<ProviderData>>> {
        vec![Box::new(ServiceResource)]
    }

    fn data_sources(&self) -> Vec<Box<dyn AnyDataSource<ProviderData>>> {
        vec![Box::new(MeshDataSource)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_schema_passes_terraform_rules() {
        assert_eq!(provider_schema().check(), vec![]);
    }

    #[test]
    fn secrets_are_sensitive() {
        let s = provider_schema();
        for name in ["credentials", "access_token"] {
            assert!(s.block.get_attribute(name).unwrap().sensitive, "{name}");
        }
    }
}
