//! Object-safe twins of the typed traits: values and private bytes in, values and private
//! bytes out. A blanket impl bridges every typed `Resource`/`DataSource` by serde.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::Context;
use crate::data_source::DataSource;
use crate::diag::{Diagnostic, Diagnostics};
use crate::resource::{
    decode_value, value_error_diagnostic, ApplyResult, Config, CreateRequest, DeleteRequest,
    MoveRequest, Plan, ReadRequest, Resource, UpdateRequest,
};
use crate::schema::Schema;
use crate::value::{self, Type, Value};

/// The outcome of an erased create/read/update/delete: a value (null for none), private bytes.
#[derive(Debug, Clone)]
pub struct RawResult {
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// A resource with its types erased; implemented for every [`Resource`]. Provider authors
/// only name this trait in `Provider::resources`.
#[async_trait]
pub trait AnyResource<D>: Send + Sync {
    fn type_name(&self) -> String;
    fn schema(&self) -> Schema;
    async fn validate(&self, ctx: &Context<D>, config: &Config) -> Diagnostics;
    async fn plan(&self, ctx: &Context<D>, plan: Plan<Vec<u8>>) -> Plan<Vec<u8>>;
    async fn plan_destroy(
        &self,
        ctx: &Context<D>,
        prior: Value,
        private: &[u8],
        ty: &Type,
    ) -> Diagnostics;
    async fn create(
        &self,
        ctx: &Context<D>,
        planned: Value,
        config: Value,
        private: &[u8],
        ty: &Type,
    ) -> RawResult;
    async fn update(
        &self,
        ctx: &Context<D>,
        prior: Value,
        planned: Value,
        config: Value,
        private: &[u8],
        ty: &Type,
    ) -> RawResult;
    async fn read(&self, ctx: &Context<D>, state: Value, private: &[u8], ty: &Type) -> RawResult;
    async fn delete(&self, ctx: &Context<D>, prior: Value, private: &[u8], ty: &Type) -> RawResult;
    async fn import(
        &self,
        ctx: &Context<D>,
        id: &str,
        ty: &Type,
    ) -> (Vec<(Value, Vec<u8>)>, Diagnostics);
    /// The moved object (value, private bytes), or `None` with errors.
    async fn move_state(
        &self,
        ctx: &Context<D>,
        req: MoveRequest,
        ty: &Type,
    ) -> (Option<(Value, Vec<u8>)>, Diagnostics);
    fn upgrade_state(
        &self,
        from_version: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics>;
}

/// Decodes private state bytes: empty means the default.
pub(crate) fn decode_private<P: DeserializeOwned + Default>(bytes: &[u8]) -> Result<P, Diagnostic> {
    if bytes.is_empty() {
        return Ok(P::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Diagnostic::error(
            "Invalid private state",
            format!("The resource's private state could not be decoded: {e}. This is a bug in the provider."),
        )
    })
}

/// Encodes private state as JSON bytes; a JSON `null` is stored as no bytes.
pub(crate) fn encode_private<P: Serialize>(private: &P) -> Result<Vec<u8>, Diagnostic> {
    let bytes = serde_json::to_vec(private).map_err(|e| {
        Diagnostic::error(
            "Invalid private state",
            format!("The private state could not be encoded: {e}."),
        )
    })?;
    Ok(if bytes == b"null" { Vec::new() } else { bytes })
}

fn finish<S: Serialize, P: Serialize>(
    result: ApplyResult<S, P>,
    incoming_private: &[u8],
    ty: &Type,
) -> RawResult {
    let mut diagnostics = result.diagnostics;
    let state = match result.state {
        None => Value::Null,
        Some(s) => match value::to_value(&s, ty) {
            Ok(v) => v,
            Err(e) => {
                diagnostics.push(value_error_diagnostic("Invalid resource state", &e));
                Value::Null
            }
        },
    };
    let private = match result.private {
        None => incoming_private.to_vec(),
        Some(p) => encode_private(&p).unwrap_or_else(|d| {
            diagnostics.push(d);
            incoming_private.to_vec()
        }),
    };
    RawResult {
        state,
        private,
        diagnostics,
    }
}

/// What update, read and delete start from: the private state, then the current state, as the
/// resource's types. The private state is decoded first so that its error is the one reported
/// when both are broken.
fn decode_typed<S: DeserializeOwned, P: DeserializeOwned + Default>(
    state: &Value,
    private: &[u8],
    ty: &Type,
) -> Result<(S, P), Diagnostics> {
    let private = decode_private(private)?;
    let state = decode_value(state, ty)?;
    Ok((state, private))
}

fn failed(diagnostics: Diagnostics, incoming_private: &[u8], state: Value) -> RawResult {
    RawResult {
        state,
        private: incoming_private.to_vec(),
        diagnostics,
    }
}

#[async_trait]
impl<R: Resource> AnyResource<R::ProviderData> for R {
    fn type_name(&self) -> String {
        Resource::type_name(self)
    }

    fn schema(&self) -> Schema {
        Resource::schema(self)
    }

    async fn validate(&self, ctx: &Context<R::ProviderData>, config: &Config) -> Diagnostics {
        Resource::validate(self, ctx, config).await
    }

    async fn plan(&self, ctx: &Context<R::ProviderData>, plan: Plan<Vec<u8>>) -> Plan<Vec<u8>> {
        let private: R::Private = match decode_private(&plan.private) {
            Ok(p) => p,
            Err(d) => {
                let mut plan = plan;
                plan.diagnostics.push(d);
                return plan;
            }
        };
        let prior_bytes = plan.private.clone();
        let mut typed = Plan {
            prior: plan.prior,
            config: plan.config,
            planned: plan.planned,
            private,
            requires_replace: plan.requires_replace,
            diagnostics: plan.diagnostics,
            ty: plan.ty,
        };
        Resource::plan(self, ctx, &mut typed).await;
        let mut diagnostics = typed.diagnostics;
        let private = encode_private(&typed.private).unwrap_or_else(|d| {
            diagnostics.push(d);
            prior_bytes
        });
        Plan {
            prior: typed.prior,
            config: typed.config,
            planned: typed.planned,
            private,
            requires_replace: typed.requires_replace,
            diagnostics,
            ty: typed.ty,
        }
    }

    async fn plan_destroy(
        &self,
        ctx: &Context<R::ProviderData>,
        prior: Value,
        private: &[u8],
        ty: &Type,
    ) -> Diagnostics {
        match decode_typed(&prior, private, ty) {
            Ok((state, private)) => {
                Resource::plan_destroy(self, ctx, DeleteRequest { state, private }).await
            }
            Err(d) => d,
        }
    }

    async fn create(
        &self,
        ctx: &Context<R::ProviderData>,
        planned: Value,
        config: Value,
        private: &[u8],
        ty: &Type,
    ) -> RawResult {
        let typed_private = match decode_private(private) {
            Ok(p) => p,
            Err(d) => return failed(d.into(), private, Value::Null),
        };
        let req = CreateRequest {
            planned,
            config,
            private: typed_private,
            ty: ty.clone(),
        };
        finish(Resource::create(self, ctx, req).await, private, ty)
    }

    async fn update(
        &self,
        ctx: &Context<R::ProviderData>,
        prior: Value,
        planned: Value,
        config: Value,
        private: &[u8],
        ty: &Type,
    ) -> RawResult {
        let (prior_state, typed_private) = match decode_typed(&prior, private, ty) {
            Ok(typed) => typed,
            Err(d) => return failed(d, private, prior),
        };
        let req = UpdateRequest {
            prior: prior_state,
            planned,
            config,
            private: typed_private,
            ty: ty.clone(),
        };
        finish(Resource::update(self, ctx, req).await, private, ty)
    }

    async fn read(
        &self,
        ctx: &Context<R::ProviderData>,
        state: Value,
        private: &[u8],
        ty: &Type,
    ) -> RawResult {
        let (typed_state, typed_private) = match decode_typed(&state, private, ty) {
            Ok(typed) => typed,
            Err(d) => return failed(d, private, state),
        };
        let req = ReadRequest {
            state: typed_state,
            private: typed_private,
        };
        finish(Resource::read(self, ctx, req).await, private, ty)
    }

    async fn delete(
        &self,
        ctx: &Context<R::ProviderData>,
        prior: Value,
        private: &[u8],
        ty: &Type,
    ) -> RawResult {
        let (typed_state, typed_private) = match decode_typed(&prior, private, ty) {
            Ok(typed) => typed,
            Err(d) => return failed(d, private, prior),
        };
        let req = DeleteRequest {
            state: typed_state,
            private: typed_private,
        };
        finish(Resource::delete(self, ctx, req).await, private, ty)
    }

    async fn import(
        &self,
        ctx: &Context<R::ProviderData>,
        id: &str,
        ty: &Type,
    ) -> (Vec<(Value, Vec<u8>)>, Diagnostics) {
        let result = Resource::import(self, ctx, id).await;
        let mut diagnostics = result.diagnostics;
        let mut out = Vec::new();
        for imported in result.imported {
            let state = match value::to_value(&imported.state, ty) {
                Ok(v) => v,
                Err(e) => {
                    diagnostics.push(value_error_diagnostic("Invalid imported state", &e));
                    continue;
                }
            };
            match encode_private(&imported.private) {
                Ok(p) => out.push((state, p)),
                Err(d) => diagnostics.push(d),
            }
        }
        (out, diagnostics)
    }

    async fn move_state(
        &self,
        ctx: &Context<R::ProviderData>,
        req: MoveRequest,
        ty: &Type,
    ) -> (Option<(Value, Vec<u8>)>, Diagnostics) {
        let result = Resource::move_state(self, ctx, req).await;
        let mut diagnostics = result.diagnostics;
        let Some(moved) = result.moved else {
            return (None, diagnostics);
        };
        let state = match value::to_value(&moved.state, ty) {
            Ok(v) => v,
            Err(e) => {
                diagnostics.push(value_error_diagnostic("Invalid moved state", &e));
                return (None, diagnostics);
            }
        };
        match encode_private(&moved.private) {
            Ok(p) => (Some((state, p)), diagnostics),
            Err(d) => {
                diagnostics.push(d);
                (None, diagnostics)
            }
        }
    }

    fn upgrade_state(
        &self,
        from_version: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Resource::upgrade_state(self, from_version, state)
    }
}

/// A data source with its types erased; implemented for every [`DataSource`].
#[async_trait]
pub trait AnyDataSource<D>: Send + Sync {
    fn type_name(&self) -> String;
    fn schema(&self) -> Schema;
    async fn validate(&self, ctx: &Context<D>, config: &Config) -> Diagnostics;
    async fn read(&self, ctx: &Context<D>, config: Value, ty: &Type) -> (Value, Diagnostics);
}

#[async_trait]
impl<T: DataSource> AnyDataSource<T::ProviderData> for T {
    fn type_name(&self) -> String {
        DataSource::type_name(self)
    }

    fn schema(&self) -> Schema {
        DataSource::schema(self)
    }

    async fn validate(&self, ctx: &Context<T::ProviderData>, config: &Config) -> Diagnostics {
        DataSource::validate(self, ctx, config).await
    }

    async fn read(
        &self,
        ctx: &Context<T::ProviderData>,
        config: Value,
        ty: &Type,
    ) -> (Value, Diagnostics) {
        let typed = match decode_value(&config, ty) {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let result = DataSource::read(self, ctx, typed).await;
        let mut diagnostics = result.diagnostics;
        let state = match result.state {
            None => Value::Null,
            Some(s) => value::to_value(&s, ty).unwrap_or_else(|e| {
                diagnostics.push(value_error_diagnostic("Invalid data source state", &e));
                Value::Null
            }),
        };
        (state, diagnostics)
    }
}
