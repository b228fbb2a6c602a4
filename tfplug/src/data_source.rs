//! Data sources: the typed [`DataSource`] trait and its object-safe twin [`AnyDataSource`].

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::Context;
use crate::diag::Diagnostics;
use crate::resource::Config;
use crate::schema::Schema;

/// A data source type. `State` is read from the configuration (computed attributes are
/// null there, so they are `Option`s) and returned wholly known.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    type ProviderData: Send + Sync + 'static;

    /// The full type name, e.g. `csmrun_project`.
    fn type_name(&self) -> String;

    fn schema(&self) -> Schema;

    /// Checks a configuration (which may contain unknowns).
    async fn validate(&self, _ctx: &Context<Self::ProviderData>, _config: &Config) -> Diagnostics {
        Diagnostics::new()
    }

    /// Reads the data. The configuration is wholly known here.
    async fn read(
        &self,
        ctx: &Context<Self::ProviderData>,
        config: Self::State,
    ) -> DataResult<Self::State>;
}

/// What [`DataSource::read`] returns.
#[derive(Debug, Clone)]
pub struct DataResult<S> {
    pub state: Option<S>,
    pub diagnostics: Diagnostics,
}

impl<S> DataResult<S> {
    /// Success.
    pub fn ok(state: S) -> Self {
        DataResult {
            state: Some(state),
            diagnostics: Diagnostics::new(),
        }
    }

    /// Failure.
    pub fn failed(diagnostics: impl Into<Diagnostics>) -> Self {
        DataResult {
            state: None,
            diagnostics: diagnostics.into(),
        }
    }
}

pub use crate::server::erased::AnyDataSource;
