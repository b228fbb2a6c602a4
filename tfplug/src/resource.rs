//! Managed resources: the typed [`Resource`] trait that provider authors implement, and its
//! object-safe twin [`AnyResource`] that the framework keeps in its registry.
//!
//! The framework does the protocol work around each hook: it decodes and encodes values,
//! builds the proposed plan and applies the plan helpers before [`Resource::plan`], and checks
//! Terraform's lifecycle rules on every result (a wholly known state after apply, planned
//! values kept, null after delete), turning violations into error diagnostics that name the
//! attribute.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::Context;
use crate::diag::{Diagnostic, Diagnostics};
use crate::schema::Schema;
use crate::value::{self, AttributePath, Type, Value, ValueError};

/// A managed resource type with serde-typed state and private state.
///
/// `State` is the resource's object (field names are attribute names; see the serde mapping in
/// [`crate::value`]). It must hold every attribute, so optional and computed attributes are
/// `Option`s or [`crate::value::Val`]s. `Private` is stored by Terraform as JSON bytes next to
/// the state and never shown to users.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    type Private: Serialize + DeserializeOwned + Default + Send + Sync + 'static;
    /// The provider's configured data (`Provider::Data`).
    type ProviderData: Send + Sync + 'static;

    /// The full type name, e.g. `csmrun_service`.
    fn type_name(&self) -> String;

    /// The schema; its version is the state version Terraform records.
    fn schema(&self) -> Schema;

    /// Checks a configuration (which may contain unknowns). Runs after the framework's own
    /// checks (computed-only attributes set, required attributes explicitly null).
    async fn validate(&self, _ctx: &Context<Self::ProviderData>, _config: &Config) -> Diagnostics {
        Diagnostics::new()
    }

    /// Adjusts a plan after the framework's helpers ran. May change computed values, add
    /// requires-replace paths and diagnostics, and set the planned private state.
    async fn plan(&self, _ctx: &Context<Self::ProviderData>, _plan: &mut Plan<Self::Private>) {}

    /// Checks a planned destroy (the resource left the configuration, or `terraform plan
    /// -destroy`). Error diagnostics fail the plan; the planned state stays null whatever this
    /// returns. Terraform >= 1.3 asks because tfplug advertises protocol 6.3's `plan_destroy`
    /// capability; older Terraform plans destroys without the provider, so [`Resource::delete`]
    /// must still refuse at apply whatever this refuses at plan.
    async fn plan_destroy(
        &self,
        _ctx: &Context<Self::ProviderData>,
        _req: DeleteRequest<Self::State, Self::Private>,
    ) -> Diagnostics {
        Diagnostics::new()
    }

    /// Creates the object. Returning error diagnostics together with a state makes Terraform
    /// save that (partial) state, so the next apply can finish or clean up.
    async fn create(
        &self,
        ctx: &Context<Self::ProviderData>,
        req: CreateRequest<Self::Private>,
    ) -> ApplyResult<Self::State, Self::Private>;

    /// Reads the object; a `None` state means it is gone (Terraform plans to create it again).
    async fn read(
        &self,
        ctx: &Context<Self::ProviderData>,
        req: ReadRequest<Self::State, Self::Private>,
    ) -> ApplyResult<Self::State, Self::Private>;

    /// Updates the object in place.
    async fn update(
        &self,
        ctx: &Context<Self::ProviderData>,
        req: UpdateRequest<Self::State, Self::Private>,
    ) -> ApplyResult<Self::State, Self::Private>;

    /// Deletes the object. On failure, return the state that remains (with errors) or `None`.
    async fn delete(
        &self,
        ctx: &Context<Self::ProviderData>,
        req: DeleteRequest<Self::State, Self::Private>,
    ) -> ApplyResult<Self::State, Self::Private>;

    /// Turns an import id into states; Terraform calls [`Resource::read`] on each afterwards.
    async fn import(
        &self,
        _ctx: &Context<Self::ProviderData>,
        _id: &str,
    ) -> ImportResult<Self::State, Self::Private> {
        ImportResult {
            imported: Vec::new(),
            diagnostics: Diagnostic::error(
                "Import not supported",
                format!("The resource type {} cannot be imported.", self.type_name()),
            )
            .into(),
        }
    }

    /// Turns another resource type's state into this one's, for a `moved` block whose `from`
    /// is another type, possibly of another provider (protocol 6.5, Terraform >= 1.8; tfplug
    /// advertises the `move_resource_state` capability, so Terraform asks instead of refusing
    /// the block itself). Terraform calls it before ConfigureProvider, so `ctx` has no provider
    /// data; it then refreshes the returned state with [`Resource::read`] (configured) and plans
    /// from that, unless `-refresh=false`. The default refuses.
    async fn move_state(
        &self,
        _ctx: &Context<Self::ProviderData>,
        req: MoveRequest,
    ) -> MoveResult<Self::State, Self::Private> {
        MoveResult::failed(Diagnostic::error(
            "Move not supported",
            format!(
                "Moving state into {} is not supported (the `moved` block is from {} of {}).                  Remove the `moved` block and import the object instead.",
                self.type_name(),
                req.source_type_name,
                req.source_provider_address
            ),
        ))
    }

    /// Upgrades state JSON written with schema version `from_version` to `from_version + 1`.
    /// The framework chains calls up to the current version, then decodes with the current
    /// schema. The default refuses, which is right while the schema version is 0.
    fn upgrade_state(
        &self,
        from_version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::error(
            "Unable to upgrade resource state",
            format!(
                "The resource type {} has no state upgrader from schema version {from_version}. \
                 This is a bug in the provider.",
                self.type_name()
            ),
        )
        .into())
    }
}

/// A configuration to validate, with its schema type for typed decoding.
#[derive(Debug, Clone)]
pub struct Config {
    pub value: Value,
    ty: Type,
}

impl Config {
    pub(crate) fn new(value: Value, ty: Type) -> Self {
        Config { value, ty }
    }

    /// The value at `path`, if the path exists.
    pub fn get(&self, path: &AttributePath) -> Option<&Value> {
        self.value.at_path(path)
    }

    /// Decodes the configuration into `T` (use [`crate::value::Val`] fields where unknowns can appear).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.value, &self.ty)
    }
}

/// The plan being built, handed to [`Resource::plan`] after the framework's helpers.
#[derive(Debug, Clone)]
pub struct Plan<P> {
    /// The prior state; `None` when the resource is being created.
    pub prior: Option<Value>,
    pub config: Value,
    /// The planned new state: config values, prior values for unset computed attributes, and
    /// unknown for computed attributes that will change.
    pub planned: Value,
    /// The private state to carry into apply (the prior one, or the default on create).
    pub private: P,
    /// Paths whose change forces replacement (the framework adds flagged attributes first).
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
    pub(crate) ty: Type,
}

impl<P> Plan<P> {
    /// True when there is no prior state.
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }

    /// The planned value at `path`.
    pub fn get(&self, path: &AttributePath) -> Option<&Value> {
        self.planned.at_path(path)
    }

    /// The prior value at `path` (None on create or when absent).
    pub fn prior_at(&self, path: &AttributePath) -> Option<&Value> {
        self.prior.as_ref().and_then(|p| p.at_path(path))
    }

    /// The configured value at `path`.
    pub fn config_at(&self, path: &AttributePath) -> Option<&Value> {
        self.config.at_path(path)
    }

    /// Sets the planned value at `path`; errors when the path does not exist in the plan.
    pub fn set(&mut self, path: &AttributePath, value: Value) -> Result<(), Diagnostic> {
        match crate::server::tree::at_path_mut(&mut self.planned, path) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(Diagnostic::error(
                "Invalid plan path",
                format!("The provider tried to plan a value at {path}, which does not exist. This is a bug in the provider."),
            )),
        }
    }

    /// Marks `path` as forcing replacement when its value changes.
    pub fn require_replace(&mut self, path: AttributePath) {
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
    }

    /// Decodes the planned state into `T` (computed values may be unknown: use `Val` fields).
    pub fn decode_planned<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.planned, &self.ty)
    }

    /// Decodes the configuration into `T`.
    pub fn decode_config<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.config, &self.ty)
    }
}

/// Input of [`Resource::create`].
#[derive(Debug, Clone)]
pub struct CreateRequest<P> {
    /// The final plan: computed attributes that were unknown are still unknown.
    pub planned: Value,
    pub config: Value,
    pub private: P,
    pub(crate) ty: Type,
}

impl<P> CreateRequest<P> {
    /// Decodes the plan into `T` (use `Val` or `Option` for values still unknown).
    pub fn decode_planned<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.planned, &self.ty)
    }

    /// Decodes the configuration into `T`.
    pub fn decode_config<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.config, &self.ty)
    }
}

/// Input of [`Resource::update`].
#[derive(Debug, Clone)]
pub struct UpdateRequest<S, P> {
    pub prior: S,
    pub planned: Value,
    pub config: Value,
    pub private: P,
    pub(crate) ty: Type,
}

impl<S, P> UpdateRequest<S, P> {
    /// Decodes the plan into `T`.
    pub fn decode_planned<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.planned, &self.ty)
    }

    /// Decodes the configuration into `T`.
    pub fn decode_config<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        decode_value(&self.config, &self.ty)
    }
}

/// Input of [`Resource::read`].
#[derive(Debug, Clone)]
pub struct ReadRequest<S, P> {
    pub state: S,
    pub private: P,
}

/// Input of [`Resource::delete`] and [`Resource::plan_destroy`]: the object in state.
#[derive(Debug, Clone)]
pub struct DeleteRequest<S, P> {
    pub state: S,
    pub private: P,
}

/// What create, read, update and delete return: a state and diagnostics together.
#[derive(Debug, Clone)]
pub struct ApplyResult<S, P> {
    /// The object as it now exists; `None` when it does not (gone, deleted, never created).
    pub state: Option<S>,
    /// The new private state; `None` keeps the one Terraform passed in.
    pub private: Option<P>,
    pub diagnostics: Diagnostics,
}

impl<S, P> ApplyResult<S, P> {
    /// Success with a state.
    pub fn ok(state: S) -> Self {
        ApplyResult {
            state: Some(state),
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }

    /// No object (after delete, or a read that found nothing).
    pub fn none() -> Self {
        ApplyResult {
            state: None,
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }

    /// Failure with nothing to save.
    pub fn failed(diagnostics: impl Into<Diagnostics>) -> Self {
        ApplyResult {
            state: None,
            private: None,
            diagnostics: diagnostics.into(),
        }
    }

    /// Failure after part of the work: Terraform saves `state` and reports the errors.
    pub fn partial(state: S, diagnostics: impl Into<Diagnostics>) -> Self {
        ApplyResult {
            state: Some(state),
            private: None,
            diagnostics: diagnostics.into(),
        }
    }

    /// Sets the private state.
    pub fn with_private(mut self, private: P) -> Self {
        self.private = Some(private);
        self
    }

    /// Adds diagnostics (for warnings next to a state).
    pub fn with_diagnostics(mut self, diagnostics: Diagnostics) -> Self {
        self.diagnostics.extend(diagnostics);
        self
    }
}

/// What [`Resource::import`] returns.
#[derive(Debug, Clone)]
pub struct ImportResult<S, P> {
    pub imported: Vec<Imported<S, P>>,
    pub diagnostics: Diagnostics,
}

impl<S, P: Default> ImportResult<S, P> {
    /// One imported object with a default private state.
    pub fn one(state: S) -> Self {
        ImportResult {
            imported: vec![Imported {
                state,
                private: P::default(),
            }],
            diagnostics: Diagnostics::new(),
        }
    }

    /// Failure.
    pub fn failed(diagnostics: impl Into<Diagnostics>) -> Self {
        ImportResult {
            imported: Vec::new(),
            diagnostics: diagnostics.into(),
        }
    }
}

/// One imported object.
#[derive(Debug, Clone)]
pub struct Imported<S, P> {
    pub state: S,
    pub private: P,
}

/// What Terraform sends with MoveResourceState: the source as its own provider stored it.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    /// The source provider's full address, e.g. `registry.terraform.io/hashicorp/google`.
    pub source_provider_address: String,
    pub source_type_name: String,
    /// The schema version the source provider recorded with the state.
    pub source_schema_version: i64,
    /// The source state JSON, in the source schema's shape (not this resource's).
    pub source_state: serde_json::Value,
    /// The source provider's private state bytes (opaque to this provider).
    pub source_private: Vec<u8>,
}

/// What [`Resource::move_state`] returns: the moved object, or errors.
#[derive(Debug, Clone)]
pub struct MoveResult<S, P> {
    pub moved: Option<Imported<S, P>>,
    pub diagnostics: Diagnostics,
}

impl<S, P> MoveResult<S, P> {
    /// The moved object with its private state.
    pub fn ok(state: S, private: P) -> Self {
        MoveResult {
            moved: Some(Imported { state, private }),
            diagnostics: Diagnostics::new(),
        }
    }

    /// Failure.
    pub fn failed(diagnostics: impl Into<Diagnostics>) -> Self {
        MoveResult {
            moved: None,
            diagnostics: diagnostics.into(),
        }
    }
}

/// Decodes `v` (of type `ty`) into `T`, reporting a failure as an attribute diagnostic.
pub fn decode_value<T: DeserializeOwned>(v: &Value, ty: &Type) -> Result<T, Diagnostics> {
    value::from_value(v, ty)
        .map_err(|e| value_error_diagnostic("Value Conversion Error", &e).into())
}

/// A diagnostic for a value error, on the error's path.
pub(crate) fn value_error_diagnostic(summary: &str, e: &ValueError) -> Diagnostic {
    let d = Diagnostic::error(
        summary,
        format!("{e}. This is a bug in the provider's schema or state types; please report it."),
    );
    if e.path().is_root() {
        d
    } else {
        d.at(e.path().clone())
    }
}

pub use crate::server::erased::AnyResource;
