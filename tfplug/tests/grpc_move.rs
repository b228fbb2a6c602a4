//! MoveResourceState (6.5): a `moved` block from another type or provider.

mod common;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplug::data_source::AnyDataSource;
use tfplug::plugin::testing::in_memory;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::provider::{ConfigureRequest, Configured, Provider};
use tfplug::resource::{
    AnyResource, ApplyResult, CreateRequest, DeleteRequest, ReadRequest, Resource, UpdateRequest,
};
use tfplug::schema::{Attribute, Block, Schema};
use tfplug::value::{Type, Value};
use tfplug::Context;

use common::*;

fn request(
    provider: &str,
    type_name: &str,
    version: i64,
    json: &str,
) -> pb::move_resource_state::Request {
    pb::move_resource_state::Request {
        source_provider_address: provider.into(),
        source_type_name: type_name.into(),
        source_schema_version: version,
        source_state: Some(pb::RawState {
            json: json.as_bytes().to_vec(),
            flatmap: Default::default(),
        }),
        target_type_name: "test_widget".into(),
        source_private: b"opaque".to_vec(),
    }
}

const OLD: &str = "registry.terraform.io/example/old";

#[tokio::test]
async fn an_accepted_source_becomes_the_targets_state_and_private_state() {
    let mut c = configured().await;
    let resp = c
        .provider
        .move_resource_state(request(
            OLD,
            "example_gadget",
            0,
            r#"{"label":"g1","extra":true}"#,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = undv(resp.target_state.as_ref(), &widget_ty());
    assert_eq!(state.get_attr("id"), Some(&s("w-g1")));
    assert_eq!(state.get_attr("name"), Some(&s("g1")));
    assert_eq!(
        state.get_attr("note"),
        Some(&s("moved via ep")),
        "the hook runs with the configured provider's data"
    );
    assert_eq!(state.get_attr("item"), Some(&Value::List(Vec::new())));
    assert_eq!(resp.target_private, b"{\"generation\":6}");
}

#[tokio::test]
async fn a_source_the_resource_refuses_returns_its_error_and_no_state() {
    let mut c = configured().await;
    for req in [
        request(OLD, "example_other", 0, r#"{"label":"g1"}"#),
        request(OLD, "example_gadget", 3, r#"{"label":"g1"}"#),
        request(
            "registry.terraform.io/example/new",
            "example_gadget",
            0,
            r#"{"label":"g1"}"#,
        ),
    ] {
        let resp = c
            .provider
            .move_resource_state(req)
            .await
            .unwrap()
            .into_inner();
        assert!(resp.target_state.is_none());
        assert!(resp.target_private.is_empty());
        assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
        assert!(is_error(&resp.diagnostics[0]));
        assert_eq!(resp.diagnostics[0].summary, "Unsupported move source");
    }
}

#[tokio::test]
async fn state_that_is_not_json_or_missing_is_an_error_naming_the_source() {
    let mut c = configured().await;
    let mut missing = request(OLD, "example_gadget", 0, "");
    missing.source_state = None;
    let mut flatmap = request(OLD, "example_gadget", 0, "");
    if let Some(raw) = flatmap.source_state.as_mut() {
        raw.flatmap.insert("label".into(), "g1".into());
    }
    for (req, needle) in [
        (
            request(OLD, "example_gadget", 0, "{not json"),
            "is not JSON",
        ),
        (missing, "sent no state of example_gadget"),
        (flatmap, "flatmap"),
    ] {
        let resp = c
            .provider
            .move_resource_state(req)
            .await
            .unwrap()
            .into_inner();
        assert!(resp.target_state.is_none());
        assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
        assert!(is_error(&resp.diagnostics[0]));
        assert!(
            resp.diagnostics[0].detail.contains(needle),
            "{needle:?} in {:?}",
            resp.diagnostics[0].detail
        );
    }
}

#[tokio::test]
async fn a_move_into_an_unknown_type_is_an_error() {
    let mut c = configured().await;
    let mut req = request(OLD, "example_gadget", 0, r#"{"label":"g1"}"#);
    req.target_type_name = "test_nothing".into();
    let resp = c
        .provider
        .move_resource_state(req)
        .await
        .unwrap()
        .into_inner();
    assert!(resp.target_state.is_none());
    assert_eq!(resp.diagnostics[0].summary, "Unknown resource type");
}

/// A resource that keeps the default `move_state`.
struct Plain;

#[derive(Serialize, Deserialize)]
struct PlainState {
    id: String,
}

#[async_trait]
impl Resource for Plain {
    type State = PlainState;
    type Private = ();
    type ProviderData = ();

    fn type_name(&self) -> String {
        "test_plain".into()
    }

    fn schema(&self) -> Schema {
        Schema::new(Block::new().attribute(Attribute::required("id", Type::String)))
    }

    async fn create(&self, _: &Context<()>, req: CreateRequest<()>) -> ApplyResult<PlainState, ()> {
        match req.decode_planned() {
            Ok(s) => ApplyResult::ok(s),
            Err(d) => ApplyResult::failed(d),
        }
    }

    async fn read(
        &self,
        _: &Context<()>,
        req: ReadRequest<PlainState, ()>,
    ) -> ApplyResult<PlainState, ()> {
        ApplyResult::ok(req.state)
    }

    async fn update(
        &self,
        _: &Context<()>,
        req: UpdateRequest<PlainState, ()>,
    ) -> ApplyResult<PlainState, ()> {
        match req.decode_planned() {
            Ok(s) => ApplyResult::ok(s),
            Err(d) => ApplyResult::failed(d),
        }
    }

    async fn delete(
        &self,
        _: &Context<()>,
        _: DeleteRequest<PlainState, ()>,
    ) -> ApplyResult<PlainState, ()> {
        ApplyResult::none()
    }
}

struct PlainProvider;

#[async_trait]
impl Provider for PlainProvider {
    type Data = ();

    fn schema(&self) -> Schema {
        Schema::new(Block::new())
    }

    async fn configure(&self, _: &Context<()>, _: ConfigureRequest) -> Configured<()> {
        Configured::ok(())
    }

    fn resources(&self) -> Vec<Box<dyn AnyResource<()>>> {
        vec![Box::new(Plain)]
    }

    fn data_sources(&self) -> Vec<Box<dyn AnyDataSource<()>>> {
        Vec::new()
    }
}

#[tokio::test]
async fn a_resource_without_a_move_hook_refuses_and_names_import_as_the_fix() {
    let mut c = in_memory(PlainProvider)
        .await
        .expect("in-memory connection");
    let mut req = request(OLD, "example_gadget", 0, r#"{"id":"p"}"#);
    req.target_type_name = "test_plain".into();
    let resp = c
        .provider
        .move_resource_state(req)
        .await
        .unwrap()
        .into_inner();
    assert!(resp.target_state.is_none());
    assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
    let d = &resp.diagnostics[0];
    assert!(is_error(d));
    assert_eq!(d.summary, "Move not supported");
    assert!(
        d.detail
            .contains("Moving state into test_plain is not supported"),
        "{}",
        d.detail
    );
    assert!(
        d.detail
            .contains("example_gadget of registry.terraform.io/example/old"),
        "{}",
        d.detail
    );
    assert!(d.detail.contains("import"), "{}", d.detail);
}
