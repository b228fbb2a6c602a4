//! A test provider whose behaviour is chosen by the `name` attribute, and helpers to play
//! Terraform's part over the in-memory plugin connection.
#![allow(dead_code)]

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplug::data_source::{AnyDataSource, DataResult, DataSource};
use tfplug::plugin::testing::{in_memory, InMemory};
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::provider::{ConfigureRequest, Configured, Provider};
use tfplug::resource::{
    AnyResource, ApplyResult, Config, CreateRequest, DeleteRequest, ImportResult, MoveRequest,
    MoveResult, Plan, ReadRequest, Resource, UpdateRequest,
};
use tfplug::schema::{Attribute, Block, NestedBlock, Schema};
use tfplug::value::{msgpack, Type, Val, Value};
use tfplug::{AttributePath, Context, Diagnostic, Diagnostics};

pub struct TestProvider;

/// What ConfigureProvider produced; resources echo it into `note` to prove they see it.
pub struct Endpoint(pub String);

#[async_trait]
impl Provider for TestProvider {
    type Data = Endpoint;

    fn schema(&self) -> Schema {
        Schema::new(Block::new().attribute(Attribute::optional("endpoint", Type::String)))
    }

    async fn validate(&self, _ctx: &Context<Endpoint>, config: &Config) -> Diagnostics {
        let mut d = Diagnostics::new();
        let p = AttributePath::root().attr("endpoint");
        if config.get(&p) == Some(&Value::string("bad")) {
            d.attribute_error(p, "Bad endpoint", "endpoint must not be \"bad\"");
        }
        d
    }

    async fn configure(
        &self,
        _ctx: &Context<Endpoint>,
        req: ConfigureRequest,
    ) -> Configured<Endpoint> {
        #[derive(Deserialize)]
        struct C {
            endpoint: Option<String>,
        }
        match req.config.decode::<C>() {
            Ok(c) => Configured::ok(Endpoint(c.endpoint.unwrap_or_else(|| "default".into()))),
            Err(d) => Configured::failed(d),
        }
    }

    fn resources(&self) -> Vec<Box<dyn AnyResource<Endpoint>>> {
        vec![Box::new(Widget)]
    }

    fn data_sources(&self) -> Vec<Box<dyn AnyDataSource<Endpoint>>> {
        vec![Box::new(Echo)]
    }
}

pub struct Widget;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WidgetState {
    pub id: Val<String>,
    pub name: String,
    pub size: Option<i64>,
    pub note: Option<String>,
    pub secret: Option<String>,
    #[serde(default)]
    pub item: Vec<Item>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WidgetPrivate {
    pub generation: u32,
}

pub fn widget_schema() -> Schema {
    Schema::new(
        Block::new()
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::required("name", Type::String).requires_replace())
            .attribute(Attribute::optional("size", Type::Number))
            .attribute(Attribute::optional_computed("note", Type::String))
            .attribute(Attribute::optional("secret", Type::String).sensitive())
            .block(NestedBlock::list(
                "item",
                Block::new()
                    .attribute(Attribute::required("key", Type::String))
                    .attribute(Attribute::optional_computed("value", Type::String)),
            )),
    )
    .version(2)
}

#[async_trait]
impl Resource for Widget {
    type State = WidgetState;
    type Private = WidgetPrivate;
    type ProviderData = Endpoint;

    fn type_name(&self) -> String {
        "test_widget".into()
    }

    fn schema(&self) -> Schema {
        widget_schema()
    }

    async fn validate(&self, _ctx: &Context<Endpoint>, config: &Config) -> Diagnostics {
        let mut d = Diagnostics::new();
        let p = AttributePath::root().attr("size");
        if let Some(Value::Number(n)) = config.get(&p) {
            if n.to_f64() < 0.0 {
                d.attribute_error(p, "Invalid size", "size must not be negative");
            }
        }
        d
    }

    async fn plan(&self, _ctx: &Context<Endpoint>, plan: &mut Plan<WidgetPrivate>) {
        let name = plan
            .config
            .get_attr("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match name.as_str() {
            "force" => plan.require_replace(AttributePath::root().attr("size")),
            "badplan" => {
                let _ = plan.set(
                    &AttributePath::root().attr("size"),
                    Value::Number(999.into()),
                );
            }
            _ => {}
        }
        plan.private.generation += 1;
    }

    async fn plan_destroy(
        &self,
        _ctx: &Context<Endpoint>,
        req: DeleteRequest<WidgetState, WidgetPrivate>,
    ) -> Diagnostics {
        let mut d = Diagnostics::new();
        if req.state.name == "keep" {
            d.error(
                "Destroy prevented",
                format!(
                    "widget keep (generation {}) refuses",
                    req.private.generation
                ),
            );
        }
        d
    }

    async fn create(
        &self,
        ctx: &Context<Endpoint>,
        req: CreateRequest<WidgetPrivate>,
    ) -> ApplyResult<WidgetState, WidgetPrivate> {
        let mut state: WidgetState = match req.decode_config() {
            Ok(s) => s,
            Err(d) => return ApplyResult::failed(d),
        };
        let endpoint = match ctx.configured() {
            Ok(e) => e.0.clone(),
            Err(d) => return ApplyResult::failed(d),
        };
        state.id = Val::Known(format!("w-{}", state.name));
        state.note.get_or_insert(endpoint);
        for item in &mut state.item {
            item.value.get_or_insert_with(|| item.key.to_uppercase());
        }
        let private = WidgetPrivate {
            generation: req.private.generation + 100,
        };
        match state.name.as_str() {
            "unknown-result" => state.id = Val::Unknown,
            "drift" => state.size = Some(12345),
            "partial" => {
                return ApplyResult::partial(
                    state,
                    Diagnostic::error("Created, then failed", "second part failed"),
                )
                .with_private(private)
            }
            "slow" => {
                ctx.cancelled().await;
                return ApplyResult::failed(Diagnostic::error(
                    "Interrupted",
                    "stopped by Terraform",
                ));
            }
            "nothing" => return ApplyResult::none(),
            _ => {}
        }
        ApplyResult::ok(state).with_private(private)
    }

    async fn read(
        &self,
        _ctx: &Context<Endpoint>,
        req: ReadRequest<WidgetState, WidgetPrivate>,
    ) -> ApplyResult<WidgetState, WidgetPrivate> {
        if req.state.name == "gone" {
            return ApplyResult::none();
        }
        let mut s = req.state;
        s.note = Some("refreshed".into());
        ApplyResult::ok(s)
    }

    async fn update(
        &self,
        _ctx: &Context<Endpoint>,
        req: UpdateRequest<WidgetState, WidgetPrivate>,
    ) -> ApplyResult<WidgetState, WidgetPrivate> {
        let mut state: WidgetState = match req.decode_config() {
            Ok(s) => s,
            Err(d) => return ApplyResult::partial(req.prior, d),
        };
        state.id = req.prior.id.clone();
        state.note.get_or_insert_with(|| "updated".into());
        for item in &mut state.item {
            item.value.get_or_insert_with(|| item.key.to_uppercase());
        }
        ApplyResult::ok(state)
    }

    async fn delete(
        &self,
        _ctx: &Context<Endpoint>,
        req: DeleteRequest<WidgetState, WidgetPrivate>,
    ) -> ApplyResult<WidgetState, WidgetPrivate> {
        if req.state.name == "stuck" {
            return ApplyResult::partial(
                req.state,
                Diagnostic::error("Delete failed", "still there"),
            );
        }
        ApplyResult::none()
    }

    async fn import(
        &self,
        _ctx: &Context<Endpoint>,
        id: &str,
    ) -> ImportResult<WidgetState, WidgetPrivate> {
        match id.strip_prefix("w-") {
            Some(name) => ImportResult::one(WidgetState {
                id: Val::Known(id.to_string()),
                name: name.to_string(),
                size: None,
                note: None,
                secret: None,
                item: Vec::new(),
            }),
            None => ImportResult::failed(Diagnostic::error("Bad id", "ids start with w-")),
        }
    }

    /// Accepts `example_gadget` of `registry.terraform.io/example/old` at schema version 0,
    /// whose `label` is the widget's name; `note` says which endpoint the move was configured
    /// with and the private state keeps the source's private bytes' length.
    async fn move_state(
        &self,
        ctx: &Context<Endpoint>,
        req: MoveRequest,
    ) -> MoveResult<WidgetState, WidgetPrivate> {
        if req.source_provider_address != "registry.terraform.io/example/old"
            || req.source_type_name != "example_gadget"
            || req.source_schema_version != 0
        {
            return MoveResult::failed(Diagnostic::error(
                "Unsupported move source",
                format!(
                    "test_widget accepts only example_gadget v0, not {} v{}",
                    req.source_type_name, req.source_schema_version
                ),
            ));
        }
        let Some(label) = req.source_state.get("label").and_then(|l| l.as_str()) else {
            return MoveResult::failed(Diagnostic::error("No label", "the gadget has no label"));
        };
        let endpoint = ctx.provider_data().map(|e| e.0.clone()).unwrap_or_default();
        MoveResult::ok(
            WidgetState {
                id: Val::Known(format!("w-{label}")),
                name: label.to_string(),
                size: None,
                note: Some(format!("moved via {endpoint}")),
                secret: None,
                item: Vec::new(),
            },
            WidgetPrivate {
                generation: u32::try_from(req.source_private.len()).unwrap_or(u32::MAX),
            },
        )
    }

    fn upgrade_state(
        &self,
        from_version: i64,
        mut state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        match from_version {
            // Version 0 called the name "title".
            0 => {
                if let Some(obj) = state.as_object_mut() {
                    if let Some(title) = obj.remove("title") {
                        obj.insert("name".into(), title);
                    }
                }
                Ok(state)
            }
            1 => Ok(state),
            v => Err(Diagnostic::error("No upgrader", format!("from {v}")).into()),
        }
    }
}

pub struct Echo;

#[derive(Serialize, Deserialize)]
pub struct EchoState {
    pub input: String,
    pub output: Option<String>,
}

#[async_trait]
impl DataSource for Echo {
    type State = EchoState;
    type ProviderData = Endpoint;

    fn type_name(&self) -> String {
        "test_echo".into()
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .attribute(Attribute::required("input", Type::String))
                .attribute(Attribute::computed("output", Type::String)),
        )
    }

    async fn read(&self, _ctx: &Context<Endpoint>, config: EchoState) -> DataResult<EchoState> {
        if config.input == "fail" {
            return DataResult::failed(
                Diagnostic::error("Echo failed", "asked to fail")
                    .at(AttributePath::root().attr("input")),
            );
        }
        let output = Some(format!("{}!", config.input));
        DataResult::ok(EchoState {
            input: config.input,
            output,
        })
    }
}

pub async fn connect() -> InMemory {
    in_memory(TestProvider).await.expect("in-memory connection")
}

/// Connects and configures with `endpoint = "ep"`.
pub async fn configured() -> InMemory {
    let c = connect().await;
    configure(&c).await;
    c
}

/// Sends ConfigureProvider (the first call of each Terraform walk) with a valid configuration.
pub async fn configure(c: &InMemory) {
    let mut c = c.provider.clone();
    let ty = TestProvider.schema().ty();
    let config = Value::object([("endpoint", Value::string("ep"))]);
    let resp = c
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.0.3".into(),
            config: Some(dv(&config, &ty)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
}

pub fn widget_ty() -> Type {
    widget_schema().ty()
}

pub fn dv(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: msgpack::encode(v, ty).expect("encode"),
        json: Vec::new(),
    }
}

pub fn undv(d: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    let d = d.expect("a dynamic value");
    msgpack::decode(&d.msgpack, ty).expect("decode")
}

/// A widget object with every attribute; `overrides` replace the defaults (all null, no items).
pub fn widget(overrides: &[(&str, Value)]) -> Value {
    let mut attrs: BTreeMap<String, Value> = ["id", "name", "size", "note", "secret"]
        .iter()
        .map(|k| (k.to_string(), Value::Null))
        .collect();
    attrs.insert("item".into(), Value::List(Vec::new()));
    for (k, v) in overrides {
        attrs.insert(k.to_string(), v.clone());
    }
    Value::Object(attrs)
}

pub fn item(key: &str, value: Value) -> Value {
    Value::object([("key", Value::string(key)), ("value", value)])
}

pub fn num(n: i64) -> Value {
    Value::Number(n.into())
}

pub fn s(v: &str) -> Value {
    Value::string(v)
}

/// The attribute path of a wire diagnostic, rendered like `item[0].key`.
pub fn diag_path(d: &pb::Diagnostic) -> String {
    use pb::attribute_path::step::Selector;
    let Some(p) = &d.attribute else {
        return String::new();
    };
    let mut out = String::new();
    for step in &p.steps {
        match step.selector.as_ref().unwrap() {
            Selector::AttributeName(n) if out.is_empty() => out.push_str(n),
            Selector::AttributeName(n) => out.push_str(&format!(".{n}")),
            Selector::ElementKeyString(k) => out.push_str(&format!("[{k:?}]")),
            Selector::ElementKeyInt(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

pub fn is_error(d: &pb::Diagnostic) -> bool {
    d.severity == pb::diagnostic::Severity::Error as i32
}
