//! ReadResource, ImportResourceState, UpgradeResourceState and ReadDataSource.

mod common;

use common::*;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::value::{Type, Value};

async fn read(state: Value) -> (Value, pb::read_resource::Response) {
    let mut c = configured().await;
    let ty = widget_ty();
    let resp = c
        .provider
        .read_resource(pb::read_resource::Request {
            type_name: "test_widget".into(),
            current_state: Some(dv(&state, &ty)),
            private: b"{\"generation\":7}".to_vec(),
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    (undv(resp.new_state.as_ref(), &ty), resp)
}

#[tokio::test]
async fn read_returns_refreshed_state_and_keeps_private() {
    let (state, resp) = read(widget(&[
        ("id", s("w-a")),
        ("name", s("a")),
        ("note", s("old")),
    ]))
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(state.get_attr("note"), Some(&s("refreshed")));
    assert_eq!(resp.private, b"{\"generation\":7}");
}

#[tokio::test]
async fn read_of_a_gone_object_returns_null() {
    let (state, resp) = read(widget(&[("id", s("w-gone")), ("name", s("gone"))])).await;
    assert!(resp.diagnostics.is_empty());
    assert!(state.is_null());
}

#[tokio::test]
async fn import_returns_the_object_for_a_known_id() {
    let mut c = configured().await;
    let resp = c
        .provider
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "test_widget".into(),
            id: "w-x".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(resp.imported_resources.len(), 1);
    let imported = &resp.imported_resources[0];
    assert_eq!(imported.type_name, "test_widget");
    let state = undv(imported.state.as_ref(), &widget_ty());
    assert_eq!(state.get_attr("name"), Some(&s("x")));
    assert_eq!(
        state.get_attr("item"),
        Some(&Value::List(Vec::new())),
        "blocks are empty lists, never null"
    );
}

#[tokio::test]
async fn import_of_a_bad_id_is_an_error() {
    let mut c = configured().await;
    let resp = c
        .provider
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "test_widget".into(),
            id: "nope".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.imported_resources.is_empty());
    assert_eq!(resp.diagnostics[0].summary, "Bad id");
}

async fn upgrade(version: i64, json: &str) -> pb::upgrade_resource_state::Response {
    let mut c = connect().await;
    c.provider
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version,
            raw_state: Some(pb::RawState {
                json: json.as_bytes().to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn same_version_upgrade_re_decodes_json_and_tolerates_added_attributes() {
    // `secret` is missing, as if added to the schema after the state was written.
    let resp = upgrade(
        2,
        r#"{"id":"w-a","name":"a","size":1.5,"note":null,"item":[{"key":"k","value":"K"}]}"#,
    )
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = undv(resp.upgraded_state.as_ref(), &widget_ty());
    assert_eq!(state.get_attr("name"), Some(&s("a")));
    assert_eq!(state.get_attr("secret"), Some(&Value::Null));
    assert_eq!(
        state
            .get_attr("size")
            .map(|v| v.as_number().unwrap().to_string()),
        Some("1.5".to_string())
    );
}

#[tokio::test]
async fn older_versions_go_through_each_upgrader_in_turn() {
    let resp = upgrade(0, r#"{"id":"w-a","title":"a","item":[]}"#).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = undv(resp.upgraded_state.as_ref(), &widget_ty());
    assert_eq!(state.get_attr("name"), Some(&s("a")));
}

#[tokio::test]
async fn state_from_a_newer_schema_version_is_refused() {
    let resp = upgrade(3, r#"{"id":"w-a","name":"a"}"#).await;
    assert!(resp.upgraded_state.is_none());
    assert!(resp.diagnostics[0].detail.contains("newer provider"));
}

async fn read_echo(input: &str) -> (Value, pb::read_data_source::Response) {
    let mut c = configured().await;
    let ty = Type::object([("input", Type::String), ("output", Type::String)]);
    let config = Value::object([("input", s(input)), ("output", Value::Null)]);
    let resp = c
        .provider
        .read_data_source(pb::read_data_source::Request {
            type_name: "test_echo".into(),
            config: Some(dv(&config, &ty)),
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    (undv(resp.state.as_ref(), &ty), resp)
}

#[tokio::test]
async fn data_source_read_fills_computed_attributes() {
    let (state, resp) = read_echo("hi").await;
    assert!(resp.diagnostics.is_empty());
    assert_eq!(state.get_attr("output"), Some(&s("hi!")));
}

#[tokio::test]
async fn data_source_errors_carry_their_attribute_path() {
    let (state, resp) = read_echo("fail").await;
    assert!(state.is_null());
    assert_eq!(diag_path(&resp.diagnostics[0]), "input");
}
