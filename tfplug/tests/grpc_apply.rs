//! ApplyResourceChange: create, update, delete and the result checks.

mod common;

use common::*;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::value::Value;

async fn apply(
    prior: Value,
    planned: Value,
    config: Value,
    planned_private: Vec<u8>,
) -> (Value, pb::apply_resource_change::Response) {
    let mut c = configured().await;
    let ty = widget_ty();
    let resp = c
        .provider
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(dv(&prior, &ty)),
            planned_state: Some(dv(&planned, &ty)),
            config: Some(dv(&config, &ty)),
            planned_private,
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    let state = undv(resp.new_state.as_ref(), &ty);
    (state, resp)
}

fn create_plan(name: &str) -> (Value, Value) {
    let config = widget(&[
        ("name", s(name)),
        ("item", Value::List(vec![item("k", Value::Null)])),
    ]);
    let planned = widget(&[
        ("id", Value::Unknown),
        ("name", s(name)),
        ("note", Value::Unknown),
        ("item", Value::List(vec![item("k", Value::Unknown)])),
    ]);
    (config, planned)
}

#[tokio::test]
async fn create_returns_a_wholly_known_state_private_state_and_sees_provider_data() {
    let (config, planned) = create_plan("a");
    let (state, resp) = apply(
        Value::Null,
        planned,
        config,
        br#"{"generation":1}"#.to_vec(),
    )
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert!(state.is_wholly_known());
    assert_eq!(state.get_attr("id"), Some(&s("w-a")));
    assert_eq!(
        state.get_attr("note"),
        Some(&s("ep")),
        "configured provider data reached the resource"
    );
    let private: serde_json::Value = serde_json::from_slice(&resp.private).unwrap();
    assert_eq!(private["generation"], 101);
}

#[tokio::test]
async fn unknown_left_in_result_is_an_error_naming_the_attribute_and_saved_as_null() {
    let (config, planned) = create_plan("unknown-result");
    let (state, resp) = apply(Value::Null, planned, config, Vec::new()).await;
    assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
    assert_eq!(diag_path(&resp.diagnostics[0]), "id");
    assert_eq!(state.get_attr("id"), Some(&Value::Null));
}

#[tokio::test]
async fn changing_a_known_planned_value_is_an_error_naming_the_attribute() {
    let config = widget(&[("name", s("drift")), ("size", num(3))]);
    let planned = widget(&[
        ("id", Value::Unknown),
        ("name", s("drift")),
        ("size", num(3)),
        ("note", Value::Unknown),
    ]);
    let (_, resp) = apply(Value::Null, planned, config, Vec::new()).await;
    assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
    assert_eq!(
        resp.diagnostics[0].summary,
        "Provider produced inconsistent result after apply"
    );
    assert_eq!(diag_path(&resp.diagnostics[0]), "size");
    assert!(resp.diagnostics[0].detail.contains("12345"));
}

#[tokio::test]
async fn partial_create_returns_the_state_with_the_error() {
    let (config, planned) = create_plan("partial");
    let (state, resp) = apply(Value::Null, planned, config, Vec::new()).await;
    assert_eq!(resp.diagnostics.len(), 1);
    assert_eq!(resp.diagnostics[0].summary, "Created, then failed");
    assert_eq!(
        state.get_attr("id"),
        Some(&s("w-partial")),
        "Terraform saves a partial state"
    );
}

#[tokio::test]
async fn create_returning_nothing_without_error_is_reported() {
    let (config, planned) = create_plan("nothing");
    let (state, resp) = apply(Value::Null, planned, config, Vec::new()).await;
    assert!(state.is_null());
    assert_eq!(resp.diagnostics.len(), 1);
    assert_eq!(resp.diagnostics[0].summary, "Provider returned no object");
}

#[tokio::test]
async fn update_keeps_id_and_fills_unknowns() {
    let prior = widget(&[
        ("id", s("w-a")),
        ("name", s("a")),
        ("size", num(1)),
        ("note", s("ep")),
    ]);
    let config = widget(&[("name", s("a")), ("size", num(2))]);
    let planned = widget(&[
        ("id", s("w-a")),
        ("name", s("a")),
        ("size", num(2)),
        ("note", Value::Unknown),
    ]);
    let (state, resp) = apply(prior, planned, config, Vec::new()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(state.get_attr("id"), Some(&s("w-a")));
    assert_eq!(state.get_attr("size"), Some(&num(2)));
    assert_eq!(state.get_attr("note"), Some(&s("updated")));
}

#[tokio::test]
async fn delete_returns_null() {
    let prior = widget(&[("id", s("w-a")), ("name", s("a"))]);
    let (state, resp) = apply(prior, Value::Null, Value::Null, Vec::new()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert!(state.is_null());
}

#[tokio::test]
async fn failed_delete_returns_the_remaining_state() {
    let prior = widget(&[("id", s("w-stuck")), ("name", s("stuck"))]);
    let (state, resp) = apply(prior.clone(), Value::Null, Value::Null, Vec::new()).await;
    assert_eq!(resp.diagnostics.len(), 1);
    assert_eq!(state, prior);
}
