//! Framework semantics behind the protocol: the registry of resource and data source types,
//! provider configuration, cancellation, and one module per family of RPCs.
//!
//! Everything here works on framework types ([`Value`], [`Schema`], [`Diagnostics`]); the
//! `protocol` module converts to and from the wire.

pub(crate) mod apply;
pub mod erased;
pub(crate) mod moves;
pub(crate) mod plan;
pub(crate) mod read;
pub(crate) mod render;
pub(crate) mod tree;
pub(crate) mod upgrade;
pub(crate) mod validate;
pub(crate) mod walk;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::data_source::AnyDataSource;
use crate::diag::{Diagnostic, Diagnostics};
use crate::provider::{ConfigureRequest, Provider};
use crate::resource::{AnyResource, Config};
use crate::schema::Schema;
use crate::value::{Type, Value};

/// A registered resource or data source type with its schema computed once.
pub(crate) struct Entry<H: ?Sized> {
    /// The provider author's implementation.
    pub hooks: Box<H>,
    pub schema: Schema,
    pub ty: Type,
}

pub(crate) type ResourceEntry<D> = Entry<dyn AnyResource<D>>;
pub(crate) type DataSourceEntry<D> = Entry<dyn AnyDataSource<D>>;

/// The protocol features beyond 6.0 that this server offers (GetProviderSchema and GetMetadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// 6.3: destroys are planned through the resource (`Resource::plan_destroy`).
    pub plan_destroy: bool,
    /// 6.4: Terraform (>= 1.6) may keep the schema of the first provider process of a command and
    /// not ask the later ones. True for every tfplug provider: the schemas are fixed when the
    /// server is built and no RPC needs GetProviderSchema to have run first.
    pub get_provider_schema_optional: bool,
    /// 6.5: Terraform (>= 1.8) sends a `moved` block from another type or provider to the
    /// target resource (`Resource::move_state`) instead of refusing it. True for every tfplug
    /// provider: a resource that accepts no source refuses with an error naming the fix.
    pub move_resource_state: bool,
}

/// Set to `1` to withhold `get_provider_schema_optional`, so that Terraform fetches the schema in
/// every provider process as before protocol 6.4. Only for measuring what the caching saves
/// (`csmrun-bench schema-cache`); nothing else changes.
pub const NO_SCHEMA_CACHE_ENV: &str = "TFPLUG_NO_SCHEMA_CACHE";

/// Whether a `TFPLUG_NO_SCHEMA_CACHE` value lets Terraform cache the schema.
pub(crate) fn schema_caching_allowed(no_cache: Option<&str>) -> bool {
    !matches!(no_cache.map(str::trim), Some("1" | "true"))
}

/// All schemas, as GetProviderSchema reports them.
pub(crate) struct ProviderSchemas {
    pub provider: Schema,
    pub resources: BTreeMap<String, Schema>,
    pub data_sources: BTreeMap<String, Schema>,
    pub diagnostics: Diagnostics,
}

/// The framework server for one provider process.
pub struct Server<P: Provider> {
    provider: P,
    provider_schema: Schema,
    provider_ty: Type,
    pub(crate) resources: BTreeMap<String, ResourceEntry<P::Data>>,
    pub(crate) data_sources: BTreeMap<String, DataSourceEntry<P::Data>>,
    /// Schema self-check findings, reported on every GetProviderSchema.
    schema_problems: Diagnostics,
    data: RwLock<Option<Arc<P::Data>>>,
    stop: Mutex<CancellationToken>,
    capabilities: Capabilities,
}

impl<P: Provider> Server<P> {
    /// Builds the registry and self-checks every schema.
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let mut problems = Diagnostics::new();
        report_problems("provider", provider_schema.check(), &mut problems);
        let mut resources = BTreeMap::new();
        for resource in provider.resources() {
            let schema = resource.schema();
            let name = resource.type_name();
            report_problems(
                &format!("resource {name}"),
                schema.check_resource(),
                &mut problems,
            );
            let ty = schema.ty();
            if resources
                .insert(
                    name.clone(),
                    ResourceEntry {
                        hooks: resource,
                        schema,
                        ty,
                    },
                )
                .is_some()
            {
                problems.error(
                    "Invalid provider schema",
                    format!("The resource type {name} is registered twice."),
                );
            }
        }
        let mut data_sources = BTreeMap::new();
        for data_source in provider.data_sources() {
            let schema = data_source.schema();
            let name = data_source.type_name();
            report_problems(
                &format!("data source {name}"),
                schema.check(),
                &mut problems,
            );
            let ty = schema.ty();
            if data_sources
                .insert(
                    name.clone(),
                    DataSourceEntry {
                        hooks: data_source,
                        schema,
                        ty,
                    },
                )
                .is_some()
            {
                problems.error(
                    "Invalid provider schema",
                    format!("The data source type {name} is registered twice."),
                );
            }
        }
        for d in problems.iter() {
            tracing::error!(summary = %d.summary, detail = %d.detail, "provider schema self-check failed");
        }
        let provider_ty = provider_schema.ty();
        Server {
            provider,
            provider_schema,
            provider_ty,
            resources,
            data_sources,
            schema_problems: problems,
            data: RwLock::new(None),
            stop: Mutex::new(CancellationToken::new()),
            capabilities: Capabilities {
                plan_destroy: true,
                get_provider_schema_optional: schema_caching_allowed(
                    std::env::var(NO_SCHEMA_CACHE_ENV).ok().as_deref(),
                ),
                move_resource_state: true,
            },
        }
    }

    pub(crate) fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Findings of the schema self-check (empty when every schema is valid).
    pub fn schema_problems(&self) -> &Diagnostics {
        &self.schema_problems
    }

    /// A context for one call: the current stop token and the configured data.
    pub(crate) fn context(&self) -> Context<P::Data> {
        let cancel = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let data = self
            .data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Context::new(cancel, data)
    }

    /// StopProvider: cancels the calls in flight and every later call of the same walk, until the next
    /// ConfigureProvider ([`Server::configure`]).
    ///
    /// Why later calls too: Terraform sends StopProvider on Ctrl-C while its walk may already be sending a call
    /// (it printed "Creating..." and then asks the provider), so the stop can reach the provider just before that
    /// call; a token renewed at once would let that call run its whole course. Why not for good: in debug
    /// (reattach) mode one provider process serves many Terraform commands, and each walk of each command starts
    /// with ConfigureProvider, which renews the token.
    pub(crate) fn stop(&self) {
        self.stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancel();
    }

    /// A new walk: calls from here on get a fresh token if the last one was stopped.
    fn renew_stop(&self) {
        let mut guard = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_cancelled() {
            *guard = CancellationToken::new();
        }
    }

    pub(crate) fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            provider: self.provider_schema.clone(),
            resources: self
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), e.schema.clone()))
                .collect(),
            data_sources: self
                .data_sources
                .iter()
                .map(|(k, e)| (k.clone(), e.schema.clone()))
                .collect(),
            diagnostics: self.schema_problems.clone(),
        }
    }

    pub(crate) fn provider_ty(&self) -> &Type {
        &self.provider_ty
    }

    pub(crate) fn resource(&self, type_name: &str) -> Result<&ResourceEntry<P::Data>, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type named {type_name:?}."),
            )
            .into()
        })
    }

    pub(crate) fn data_source(
        &self,
        type_name: &str,
    ) -> Result<&DataSourceEntry<P::Data>, Diagnostics> {
        self.data_sources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown data source type",
                format!("This provider has no data source type named {type_name:?}."),
            )
            .into()
        })
    }

    pub(crate) async fn validate_provider_config(&self, config: Value) -> Diagnostics {
        let mut diags = validate::check_config(&self.provider_schema.block, &config);
        let config = Config::new(config, self.provider_ty.clone());
        diags.extend(self.provider.validate(&self.context(), &config).await);
        diags
    }

    pub(crate) async fn configure(&self, terraform_version: String, config: Value) -> Diagnostics {
        self.renew_stop();
        let req = ConfigureRequest {
            config: Config::new(config, self.provider_ty.clone()),
            terraform_version,
        };
        let configured = self.provider.configure(&self.context(), req).await;
        let mut diags = configured.diagnostics;
        match configured.data {
            Some(data) => *self.data.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(data)),
            None if !diags.has_errors() => diags.error(
                "Provider configuration failed",
                "The provider returned no configuration data and no error. This is a bug in the provider.",
            ),
            None => {}
        }
        diags
    }
}

fn report_problems(what: &str, problems: Vec<crate::schema::SchemaProblem>, out: &mut Diagnostics) {
    for p in problems {
        out.error(
            "Invalid provider schema",
            format!(
                "The schema of {what} breaks a Terraform rule: {p}. This is a bug in the provider."
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::schema_caching_allowed;

    #[test]
    fn only_an_explicit_no_schema_cache_withholds_caching() {
        assert!(schema_caching_allowed(None));
        assert!(schema_caching_allowed(Some("")));
        assert!(schema_caching_allowed(Some("0")));
        assert!(!schema_caching_allowed(Some("1")));
        assert!(!schema_caching_allowed(Some("true")));
    }
}
