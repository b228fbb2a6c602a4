//! The [`Provider`] trait: provider schema, configuration, and the resource and data source
//! types it serves.

use async_trait::async_trait;

use crate::context::Context;
use crate::data_source::AnyDataSource;
use crate::diag::Diagnostics;
use crate::resource::{AnyResource, Config};
use crate::schema::Schema;

/// A provider. `Data` is what [`Provider::configure`] produces (API clients, settings); every
/// resource and data source hook sees it through [`Context::provider_data`].
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Data: Send + Sync + 'static;

    /// The `provider` block's schema.
    fn schema(&self) -> Schema;

    /// Checks the provider configuration (which may contain unknowns).
    async fn validate(&self, _ctx: &Context<Self::Data>, _config: &Config) -> Diagnostics {
        Diagnostics::new()
    }

    /// Configures the provider. Terraform calls this once per provider process before any
    /// read, plan or apply; the configuration may still contain unknowns.
    async fn configure(
        &self,
        ctx: &Context<Self::Data>,
        req: ConfigureRequest,
    ) -> Configured<Self::Data>;

    /// The managed resource types, e.g. `vec![Box::new(ThingResource)]`.
    fn resources(&self) -> Vec<Box<dyn AnyResource<Self::Data>>>;

    /// The data source types.
    fn data_sources(&self) -> Vec<Box<dyn AnyDataSource<Self::Data>>> {
        Vec::new()
    }
}

/// Input of [`Provider::configure`].
#[derive(Debug, Clone)]
pub struct ConfigureRequest {
    pub config: Config,
    /// The Terraform CLI version, e.g. `1.0.3`.
    pub terraform_version: String,
}

/// What [`Provider::configure`] returns.
#[derive(Debug)]
pub struct Configured<D> {
    /// `None` when configuration failed (then `diagnostics` has errors).
    pub data: Option<D>,
    pub diagnostics: Diagnostics,
}

impl<D> Configured<D> {
    /// Success.
    pub fn ok(data: D) -> Self {
        Configured {
            data: Some(data),
            diagnostics: Diagnostics::new(),
        }
    }

    /// Failure.
    pub fn failed(diagnostics: impl Into<Diagnostics>) -> Self {
        Configured {
            data: None,
            diagnostics: diagnostics.into(),
        }
    }
}
