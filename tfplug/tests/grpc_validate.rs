//! ValidateProviderConfig, ValidateResourceConfig and ValidateDataResourceConfig.

mod common;

use common::*;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::value::{Type, Value};

async fn validate_widget(config: Value) -> Vec<pb::Diagnostic> {
    let mut c = connect().await;
    c.provider
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_widget".into(),
            config: Some(dv(&config, &widget_ty())),
        })
        .await
        .unwrap()
        .into_inner()
        .diagnostics
}

#[tokio::test]
async fn valid_config_with_unknowns_has_no_diagnostics() {
    let diags = validate_widget(widget(&[
        ("name", Value::Unknown),
        ("size", Value::Unknown),
    ]))
    .await;
    assert!(diags.is_empty(), "{diags:?}");
}

#[tokio::test]
async fn configured_computed_only_attribute_is_an_error_on_its_path() {
    let diags = validate_widget(widget(&[("name", s("a")), ("id", s("x"))])).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(is_error(&diags[0]));
    assert_eq!(diag_path(&diags[0]), "id");
    assert_eq!(
        diags[0].summary,
        "Invalid Configuration for Read-Only Attribute"
    );
}

#[tokio::test]
async fn explicit_null_on_required_attribute_is_an_error_on_its_path() {
    let diags = validate_widget(widget(&[("name", Value::Null)])).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diag_path(&diags[0]), "name");
    assert_eq!(
        diags[0].summary,
        "Missing Configuration for Required Attribute"
    );
}

#[tokio::test]
async fn required_attribute_inside_list_block_is_checked_with_index() {
    let diags = validate_widget(widget(&[
        ("name", s("a")),
        (
            "item",
            Value::List(vec![
                item("k", Value::Null),
                Value::object([("key", Value::Null), ("value", Value::Null)]),
            ]),
        ),
    ]))
    .await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diag_path(&diags[0]), "item[1].key");
}

#[tokio::test]
async fn resource_validate_hook_reports_on_attribute() {
    let diags = validate_widget(widget(&[("name", s("a")), ("size", num(-1))])).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].summary, "Invalid size");
    assert_eq!(diag_path(&diags[0]), "size");
}

#[tokio::test]
async fn unknown_resource_type_is_an_error() {
    let mut c = connect().await;
    let resp = c
        .provider
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_nope".into(),
            config: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    assert!(resp.diagnostics[0].detail.contains("test_nope"));
}

#[tokio::test]
async fn provider_config_validation_runs_the_provider_hook() {
    let mut c = connect().await;
    let ty = Type::object([("endpoint", Type::String)]);
    let ok = c
        .provider
        .validate_provider_config(pb::validate_provider_config::Request {
            config: Some(dv(&Value::object([("endpoint", s("fine"))]), &ty)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ok.diagnostics.is_empty());
    let bad = c
        .provider
        .validate_provider_config(pb::validate_provider_config::Request {
            config: Some(dv(&Value::object([("endpoint", s("bad"))]), &ty)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bad.diagnostics.len(), 1);
    assert_eq!(diag_path(&bad.diagnostics[0]), "endpoint");
}

#[tokio::test]
async fn data_source_config_rejects_configured_computed_attribute() {
    let mut c = connect().await;
    let ty = Type::object([("input", Type::String), ("output", Type::String)]);
    let config = Value::object([("input", s("a")), ("output", s("b"))]);
    let resp = c
        .provider
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: "test_echo".into(),
            config: Some(dv(&config, &ty)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    assert_eq!(diag_path(&resp.diagnostics[0]), "output");
}

#[tokio::test]
async fn undecodable_config_is_an_error_not_a_crash() {
    let mut c = connect().await;
    let resp = c
        .provider
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_widget".into(),
            config: Some(pb::DynamicValue {
                msgpack: vec![0xc1],
                json: Vec::new(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    assert!(is_error(&resp.diagnostics[0]));
}
