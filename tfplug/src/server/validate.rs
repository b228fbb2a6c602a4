//! ValidateResourceConfig / ValidateDataResourceConfig and the configuration rules Terraform
//! core leaves to providers: computed-only attributes must not be set, and required
//! attributes must not be explicitly null.

use crate::diag::Diagnostics;
use crate::provider::Provider;
use crate::resource::Config;
use crate::schema::{Attribute, Block};
use crate::server::walk::walk;
use crate::server::Server;
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

impl<P: Provider> Server<P> {
    pub(crate) async fn validate_resource_config(
        &self,
        type_name: &str,
        config: Value,
    ) -> Diagnostics {
        let entry = match self.resource(type_name) {
            Ok(e) => e,
            Err(d) => return d,
        };
        let mut diags = check_config(&entry.schema.block, &config);
        let config = Config::new(config, entry.ty.clone());
        diags.extend(entry.resource.validate(&self.context(), &config).await);
        diags
    }

    pub(crate) async fn validate_data_source_config(
        &self,
        type_name: &str,
        config: Value,
    ) -> Diagnostics {
        let entry = match self.data_source(type_name) {
            Ok(e) => e,
            Err(d) => return d,
        };
        let mut diags = check_config(&entry.schema.block, &config);
        let config = Config::new(config, entry.ty.clone());
        diags.extend(entry.data_source.validate(&self.context(), &config).await);
        diags
    }
}
