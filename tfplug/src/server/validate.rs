//! ValidateResourceConfig / ValidateDataResourceConfig and the configuration rules Terraform
//! core leaves to providers: computed-only attributes must not be set, and required
//! attributes must not be explicitly null.

use async_trait::async_trait;

use crate::context::Context;
use crate::data_source::AnyDataSource;
use crate::diag::Diagnostics;
use crate::provider::Provider;
use crate::resource::{AnyResource, Config};
use crate::schema::{Attribute, Block};
use crate::server::walk::walk;
use crate::server::{Entry, Server};
use crate::value::{AttributePath, Value};

/// The framework's configuration checks, with diagnostics on the offending attributes.
pub(crate) fn check_config(block: &Block, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut target = config.clone();
    walk(
        block,
        None,
        None,
        &mut target,
        &AttributePath::root(),
        &mut |attr: &Attribute, _, _, v: &mut Value, path: &AttributePath| {
            let read_only = attr.computed && !attr.optional && !attr.required;
            if read_only && !v.is_null() {
                diags.attribute_error(
                    path.clone(),
                    "Invalid Configuration for Read-Only Attribute",
                    format!(
                        "Cannot set a value for {path}: the provider computes this attribute. \
                     Remove the line that sets it."
                    ),
                );
            }
            if attr.required && v.is_null() {
                diags.attribute_error(
                    path.clone(),
                    "Missing Configuration for Required Attribute",
                    format!("{path} is required and cannot be null. Set a value for it."),
                );
            }
        },
    );
    diags
}

/// The author's validation hook, resource or data source alike.
#[async_trait]
pub(crate) trait ValidateHook<D>: Sync {
    async fn validate_hook(&self, ctx: &Context<D>, config: &Config) -> Diagnostics;
}

#[async_trait]
impl<D: Send + Sync + 'static> ValidateHook<D> for dyn AnyResource<D> {
    async fn validate_hook(&self, ctx: &Context<D>, config: &Config) -> Diagnostics {
        self.validate(ctx, config).await
    }
}

#[async_trait]
impl<D: Send + Sync + 'static> ValidateHook<D> for dyn AnyDataSource<D> {
    async fn validate_hook(&self, ctx: &Context<D>, config: &Config) -> Diagnostics {
        self.validate(ctx, config).await
    }
}

impl<P: Provider> Server<P> {
    /// ValidateResourceConfig and ValidateDataResourceConfig: the framework's checks, then the
    /// author's hook, on a config already decoded with the entry's type.
    pub(crate) async fn validate_config<H: ValidateHook<P::Data> + ?Sized>(
        &self,
        entry: &Entry<H>,
        config: Value,
    ) -> Diagnostics {
        let mut diags = check_config(&entry.schema.block, &config);
        let config = Config::new(config, entry.ty.clone());
        diags.extend(entry.hooks.validate_hook(&self.context(), &config).await);
        diags
    }
}
