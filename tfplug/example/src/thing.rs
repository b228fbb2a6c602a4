//! `tfplugexample_thing`: required, optional, computed and force-new attributes, a list
//! block with a nested optional+computed attribute, and `slow_ms` to test Ctrl-C.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplug::resource::{
    ApplyResult, Config, CreateRequest, DeleteRequest, ImportResult, ReadRequest, Resource,
    UpdateRequest,
};
use tfplug::schema::{Attribute, Block, NestedBlock, Schema};
use tfplug::{AttributePath, Context, Diagnostic, Diagnostics, Type, Value};

use crate::store::Store;

pub struct ThingResource;

/// The state of a thing (also what is stored on disk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hash)]
pub struct Thing {
    pub id: Option<String>,
    pub name: String,
    pub size: Option<i64>,
    pub tags: Option<BTreeMap<String, String>>,
    pub fingerprint: Option<String>,
    pub slow_ms: Option<i64>,
    pub fail_after_create: Option<bool>,
    #[serde(default)]
    pub rule: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hash)]
pub struct Rule {
    pub port: i64,
    pub protocol: Option<String>,
}

impl Thing {
    /// Fills the provider-decided values: rule protocols default to tcp; the fingerprint
    /// hashes the configured content.
    fn settle(mut self) -> Thing {
        for rule in &mut self.rule {
            rule.protocol.get_or_insert_with(|| "tcp".to_string());
        }
        let mut h = DefaultHasher::new();
        (&self.name, &self.size, &self.tags, &self.rule).hash(&mut h);
        self.fingerprint = Some(format!("{:016x}", h.finish()));
        self
    }
}

#[async_trait]
impl Resource for ThingResource {
    type State = Thing;
    type Private = ();
    type ProviderData = Store;

    fn type_name(&self) -> String {
        "tfplugexample_thing".into()
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("A thing stored as a JSON file.")
                .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
                .attribute(
                    Attribute::required("name", Type::String)
                        .requires_replace()
                        .description("Changing it replaces the thing."),
                )
                .attribute(
                    Attribute::optional("size", Type::Number).description("Must not be negative."),
                )
                .attribute(Attribute::optional("tags", Type::map(Type::String)))
                .attribute(
                    Attribute::computed("fingerprint", Type::String)
                        .description("Changes on every update."),
                )
                .attribute(
                    Attribute::optional("slow_ms", Type::Number)
                        .description("Create and update take this long (Ctrl-C cancels)."),
                )
                .attribute(
                    Attribute::optional("fail_after_create", Type::Bool).description(
                        "Create writes the thing, then reports an error (a partial create).",
                    ),
                )
                .block(
                    NestedBlock::list(
                        "rule",
                        Block::new()
                            .attribute(Attribute::required("port", Type::Number))
                            .attribute(
                                Attribute::optional_computed("protocol", Type::String)
                                    .use_state_for_unknown(),
                            ),
                    )
                    .max_items(8),
                ),
        )
    }

    async fn validate(&self, _ctx: &Context<Store>, config: &Config) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let path = AttributePath::root().attr("size");
        if let Some(Value::Number(n)) = config.get(&path) {
            if n.to_f64() < 0.0 {
                diags.attribute_error(
                    path,
                    "Invalid size",
                    format!("size must not be negative, got {n}."),
                );
            }
        }
        diags
    }

    async fn create(&self, ctx: &Context<Store>, req: CreateRequest<()>) -> ApplyResult<Thing, ()> {
        let store = match ctx.configured() {
            Ok(s) => s,
            Err(d) => return ApplyResult::failed(d),
        };
        let config: Thing = match req.decode_config() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(d),
        };
        if let Err(d) = pause(ctx, config.slow_ms).await {
            return ApplyResult::failed(d);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let id = format!("{}-{nanos:x}", config.name);
        let thing = Thing {
            id: Some(id.clone()),
            ..config
        }
        .settle();
        match store.save(&id, &thing) {
            Ok(()) if thing.fail_after_create == Some(true) => ApplyResult::partial(
                thing,
                Diagnostic::error(
                    "Failed after creating",
                    "The thing was written, then a later step failed.",
                ),
            ),
            Ok(()) => ApplyResult::ok(thing),
            Err(d) => ApplyResult::failed(d),
        }
    }

    async fn read(
        &self,
        ctx: &Context<Store>,
        req: ReadRequest<Thing, ()>,
    ) -> ApplyResult<Thing, ()> {
        let store = match ctx.configured() {
            Ok(s) => s,
            Err(d) => return ApplyResult::partial(req.state, d),
        };
        let Some(id) = req.state.id.clone() else {
            return ApplyResult::none();
        };
        match store.load(&id) {
            Ok(Some(thing)) => ApplyResult::ok(thing),
            Ok(None) => ApplyResult::none(),
            Err(d) => ApplyResult::partial(req.state, d),
        }
    }

    async fn update(
        &self,
        ctx: &Context<Store>,
        req: UpdateRequest<Thing, ()>,
    ) -> ApplyResult<Thing, ()> {
        let store = match ctx.configured() {
            Ok(s) => s,
            Err(d) => return ApplyResult::partial(req.prior, d),
        };
        let config: Thing = match req.decode_config() {
            Ok(c) => c,
            Err(d) => return ApplyResult::partial(req.prior, d),
        };
        if let Err(d) = pause(ctx, config.slow_ms).await {
            return ApplyResult::partial(req.prior, d);
        }
        let thing = Thing {
            id: req.prior.id.clone(),
            ..config
        }
        .settle();
        let id = thing.id.clone().unwrap_or_default();
        match store.save(&id, &thing) {
            Ok(()) => ApplyResult::ok(thing),
            Err(d) => ApplyResult::partial(req.prior, d),
        }
    }

    async fn delete(
        &self,
        ctx: &Context<Store>,
        req: DeleteRequest<Thing, ()>,
    ) -> ApplyResult<Thing, ()> {
        let store = match ctx.configured() {
            Ok(s) => s,
            Err(d) => return ApplyResult::partial(req.state, d),
        };
        let id = req.state.id.clone().unwrap_or_default();
        match store.remove(&id) {
            Ok(()) => ApplyResult::none(),
            Err(d) => ApplyResult::partial(req.state, d),
        }
    }

    async fn import(&self, ctx: &Context<Store>, id: &str) -> ImportResult<Thing, ()> {
        let store = match ctx.configured() {
            Ok(s) => s,
            Err(d) => return ImportResult::failed(d),
        };
        match store.load(id) {
            Ok(Some(thing)) => ImportResult::one(thing),
            Ok(None) => ImportResult::failed(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("There is no thing with id {id:?}."),
            )),
            Err(d) => ImportResult::failed(d),
        }
    }
}

/// Waits `slow_ms` unless Terraform asks the provider to stop first.
async fn pause(ctx: &Context<Store>, slow_ms: Option<i64>) -> Result<(), Diagnostic> {
    let Some(ms) = slow_ms.filter(|ms| *ms > 0) else {
        return Ok(());
    };
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms as u64)) => Ok(()),
        _ = ctx.cancelled() => Err(Diagnostic::error(
            "Interrupted",
            "Terraform asked the provider to stop; the thing was not written.",
        )),
    }
}
