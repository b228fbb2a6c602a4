//! The tfplugin6 `Provider` gRPC service: decode each request, call the framework server,
//! encode the response. No framework semantics live here.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::diag::Diagnostics;
use crate::protocol::convert::{decode, diagnostics_to_wire, encode, path_to_wire, schema_to_wire};
use crate::protocol::generated::tfplugin6 as pb;
use crate::provider::Provider;
use crate::server::moves::RawMove;
use crate::server::validate::ValidateHook;
use crate::server::{Entry, Server};
use crate::value::Value;

/// Serves one provider over tfplugin6.
pub struct ProviderService<P: Provider> {
    server: Arc<Server<P>>,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(server: Arc<Server<P>>) -> Self {
        ProviderService { server }
    }

    /// plan_destroy (6.3): Terraform >= 1.3 plans destroys through PlanResourceChange, so a
    /// resource can refuse one at plan time. get_provider_schema_optional (6.4): Terraform >= 1.6
    /// fetches the schema once per command instead of once per provider process.
    /// move_resource_state (6.5): Terraform >= 1.8 asks the target resource about a `moved`
    /// block across types instead of refusing it.
    fn capabilities(&self) -> pb::ServerCapabilities {
        let c = self.server.capabilities();
        pb::ServerCapabilities {
            plan_destroy: c.plan_destroy,
            get_provider_schema_optional: c.get_provider_schema_optional,
            move_resource_state: c.move_resource_state,
        }
    }

    /// The body of ValidateResourceConfig and ValidateDataResourceConfig: an unknown type name
    /// is the answer; a config that does not decode is not validated further.
    async fn validate_config<H: ValidateHook<P::Data> + ?Sized>(
        &self,
        entry: Result<&Entry<H>, Diagnostics>,
        config: Option<&pb::DynamicValue>,
    ) -> Diagnostics {
        let entry = match entry {
            Ok(entry) => entry,
            Err(d) => return d,
        };
        let mut diags = Diagnostics::new();
        let config = decode(config, &entry.ty, &mut diags);
        if !diags.has_errors() {
            diags.extend(self.server.validate_config(entry, config).await);
        }
        diags
    }
}

type Rpc<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Rpc<pb::get_provider_schema::Response> {
        tracing::debug!("GetProviderSchema");
        let schemas = self.server.schemas();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema_to_wire(&schemas.provider)),
            resource_schemas: schemas
                .resources
                .iter()
                .map(|(k, s)| (k.clone(), schema_to_wire(s)))
                .collect(),
            data_source_schemas: schemas
                .data_sources
                .iter()
                .map(|(k, s)| (k.clone(), schema_to_wire(s)))
                .collect(),
            diagnostics: diagnostics_to_wire(schemas.diagnostics),
            provider_meta: Some(schema_to_wire(&crate::schema::Schema::new(
                crate::schema::Block::new(),
            ))),
            server_capabilities: Some(self.capabilities()),
        }))
    }

    async fn get_metadata(
        &self,
        _req: Request<pb::get_metadata::Request>,
    ) -> Rpc<pb::get_metadata::Response> {
        tracing::debug!("GetMetadata");
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(self.capabilities()),
            diagnostics: diagnostics_to_wire(self.server.schema_problems().clone()),
            data_sources: self
                .server
                .data_sources
                .keys()
                .map(|type_name| pb::get_metadata::DataSourceMetadata {
                    type_name: type_name.clone(),
                })
                .collect(),
            resources: self
                .server
                .resources
                .keys()
                .map(|type_name| pb::get_metadata::ResourceMetadata {
                    type_name: type_name.clone(),
                })
                .collect(),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Rpc<pb::validate_provider_config::Response> {
        tracing::debug!("ValidateProviderConfig");
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let config = decode(req.config.as_ref(), self.server.provider_ty(), &mut diags);
        if !diags.has_errors() {
            diags.extend(self.server.validate_provider_config(config).await);
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, "ValidateResourceConfig");
        let diags = self
            .validate_config(self.server.resource(&req.type_name), req.config.as_ref())
            .await;
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Rpc<pb::validate_data_resource_config::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, "ValidateDataResourceConfig");
        let diags = self
            .validate_config(self.server.data_source(&req.type_name), req.config.as_ref())
            .await;
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Rpc<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, version = req.version, "UpgradeResourceState");
        let raw = req.raw_state.unwrap_or_default();
        let (state, mut diags) = self.server.upgrade_resource_state(
            &req.type_name,
            req.version,
            &raw.json,
            !raw.flatmap.is_empty(),
        );
        let upgraded_state = match self.server.resource(&req.type_name) {
            Ok(entry) if !diags.has_errors() => encode(&state, &entry.ty, &mut diags),
            _ => None,
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Rpc<pb::configure_provider::Response> {
        let req = req.into_inner();
        tracing::debug!(terraform_version = %req.terraform_version, "ConfigureProvider");
        let mut diags = Diagnostics::new();
        let config = decode(req.config.as_ref(), self.server.provider_ty(), &mut diags);
        if !diags.has_errors() {
            diags.extend(self.server.configure(req.terraform_version, config).await);
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Rpc<pb::read_resource::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, "ReadResource");
        let entry = match self.server.resource(&req.type_name) {
            Ok(e) => e,
            Err(d) => {
                return Ok(Response::new(pb::read_resource::Response {
                    new_state: req.current_state,
                    diagnostics: diagnostics_to_wire(d),
                    private: req.private,
                }))
            }
        };
        let mut diags = Diagnostics::new();
        let state = decode(req.current_state.as_ref(), &entry.ty, &mut diags);
        if diags.has_errors() {
            return Ok(Response::new(pb::read_resource::Response {
                new_state: req.current_state,
                diagnostics: diagnostics_to_wire(diags),
                private: req.private,
            }));
        }
        let result = self
            .server
            .read_resource(&req.type_name, state, req.private)
            .await;
        diags.extend(result.diagnostics);
        let new_state = encode(&result.state, &entry.ty, &mut diags);
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diagnostics_to_wire(diags),
            private: result.private,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, "PlanResourceChange");
        let entry = match self.server.resource(&req.type_name) {
            Ok(e) => e,
            Err(d) => {
                return Ok(Response::new(pb::plan_resource_change::Response {
                    diagnostics: diagnostics_to_wire(d),
                    ..Default::default()
                }))
            }
        };
        let mut diags = Diagnostics::new();
        let prior = decode(req.prior_state.as_ref(), &entry.ty, &mut diags);
        let proposed = decode(req.proposed_new_state.as_ref(), &entry.ty, &mut diags);
        let config = decode(req.config.as_ref(), &entry.ty, &mut diags);
        if diags.has_errors() {
            return Ok(Response::new(pb::plan_resource_change::Response {
                planned_state: req.proposed_new_state,
                planned_private: req.prior_private,
                diagnostics: diagnostics_to_wire(diags),
                ..Default::default()
            }));
        }
        let plan = self
            .server
            .plan_resource_change(&req.type_name, prior, proposed, config, req.prior_private)
            .await;
        diags.extend(plan.diagnostics);
        let planned_state = encode(&plan.planned, &entry.ty, &mut diags);
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: plan.requires_replace.iter().map(path_to_wire).collect(),
            planned_private: plan.private,
            diagnostics: diagnostics_to_wire(diags),
            legacy_type_system: false,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, "ApplyResourceChange");
        let entry = match self.server.resource(&req.type_name) {
            Ok(e) => e,
            Err(d) => {
                return Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: req.prior_state,
                    private: req.planned_private,
                    diagnostics: diagnostics_to_wire(d),
                    legacy_type_system: false,
                }))
            }
        };
        let mut diags = Diagnostics::new();
        let prior = decode(req.prior_state.as_ref(), &entry.ty, &mut diags);
        let planned = decode(req.planned_state.as_ref(), &entry.ty, &mut diags);
        let config = decode(req.config.as_ref(), &entry.ty, &mut diags);
        if diags.has_errors() {
            return Ok(Response::new(pb::apply_resource_change::Response {
                new_state: req.prior_state,
                private: req.planned_private,
                diagnostics: diagnostics_to_wire(diags),
                legacy_type_system: false,
            }));
        }
        let result = self
            .server
            .apply_resource_change(&req.type_name, prior, planned, config, req.planned_private)
            .await;
        diags.extend(result.diagnostics);
        let new_state = encode(&result.state, &entry.ty, &mut diags);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: result.private,
            diagnostics: diagnostics_to_wire(diags),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, id = %req.id, "ImportResourceState");
        let (objects, mut diags) = self
            .server
            .import_resource_state(&req.type_name, &req.id)
            .await;
        let mut imported_resources = Vec::new();
        if let Ok(entry) = self.server.resource(&req.type_name) {
            for object in objects {
                if let Some(state) = encode(&object.state, &entry.ty, &mut diags) {
                    imported_resources.push(pb::import_resource_state::ImportedResource {
                        type_name: object.type_name,
                        state: Some(state),
                        private: object.private,
                    });
                }
            }
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Rpc<pb::read_data_source::Response> {
        let req = req.into_inner();
        tracing::debug!(type_name = %req.type_name, "ReadDataSource");
        let entry = match self.server.data_source(&req.type_name) {
            Ok(e) => e,
            Err(d) => {
                return Ok(Response::new(pb::read_data_source::Response {
                    state: None,
                    diagnostics: diagnostics_to_wire(d),
                }))
            }
        };
        let mut diags = Diagnostics::new();
        let config = decode(req.config.as_ref(), &entry.ty, &mut diags);
        let mut state = Value::Null;
        if !diags.has_errors() {
            let (s, d) = self.server.read_data_source(&req.type_name, config).await;
            state = s;
            diags.extend(d);
        }
        let state = encode(&state, &entry.ty, &mut diags);
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diagnostics_to_wire(diags),
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Rpc<pb::move_resource_state::Response> {
        let req = req.into_inner();
        tracing::debug!(
            source_provider = %req.source_provider_address,
            source_type_name = %req.source_type_name,
            source_schema_version = req.source_schema_version,
            target_type_name = %req.target_type_name,
            "MoveResourceState"
        );
        let raw = req.source_state.unwrap_or_default();
        let (state, target_private, mut diags) = self
            .server
            .move_resource_state(
                &req.target_type_name,
                RawMove {
                    source_provider_address: req.source_provider_address,
                    source_type_name: req.source_type_name,
                    source_schema_version: req.source_schema_version,
                    source_json: raw.json,
                    has_flatmap: !raw.flatmap.is_empty(),
                    source_private: req.source_private,
                },
            )
            .await;
        let target_state = match self.server.resource(&req.target_type_name) {
            Ok(entry) if !diags.has_errors() => encode(&state, &entry.ty, &mut diags),
            _ => None,
        };
        Ok(Response::new(pb::move_resource_state::Response {
            target_state,
            diagnostics: diagnostics_to_wire(diags),
            target_private,
        }))
    }

    async fn stop_provider(
        &self,
        _req: Request<pb::stop_provider::Request>,
    ) -> Rpc<pb::stop_provider::Response> {
        tracing::info!("StopProvider: cancelling in-flight operations");
        self.server.stop();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}
