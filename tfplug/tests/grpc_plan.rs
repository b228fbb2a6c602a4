//! PlanResourceChange: the framework's plan helpers, the resource hook, and plan checks.

mod common;

use common::*;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::value::Value;

async fn plan(
    prior: Value,
    config: Value,
    proposed: Value,
    prior_private: Vec<u8>,
) -> (Value, pb::plan_resource_change::Response) {
    let mut c = configured().await;
    let ty = widget_ty();
    let resp = c
        .provider
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(dv(&prior, &ty)),
            proposed_new_state: Some(dv(&proposed, &ty)),
            config: Some(dv(&config, &ty)),
            prior_private,
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    let planned = resp
        .planned_state
        .as_ref()
        .map(|d| undv(Some(d), &ty))
        .unwrap_or(Value::Null);
    (planned, resp)
}

fn prior_state() -> Value {
    widget(&[
        ("id", s("w-a")),
        ("name", s("a")),
        ("size", num(1)),
        ("note", s("ep")),
        ("item", Value::List(vec![item("k", s("K"))])),
    ])
}

#[tokio::test]
async fn create_marks_unset_computed_attributes_unknown() {
    let config = widget(&[
        ("name", s("a")),
        ("item", Value::List(vec![item("k", Value::Null)])),
    ]);
    let (planned, resp) = plan(Value::Null, config.clone(), config, Vec::new()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(planned.get_attr("id"), Some(&Value::Unknown));
    assert_eq!(planned.get_attr("note"), Some(&Value::Unknown));
    assert_eq!(planned.get_attr("name"), Some(&s("a")));
    assert_eq!(
        planned.get_attr("size"),
        Some(&Value::Null),
        "optional non-computed stays null"
    );
    let Some(Value::List(items)) = planned.get_attr("item") else {
        panic!("item list")
    };
    assert_eq!(items[0].get_attr("value"), Some(&Value::Unknown));
    assert!(resp.requires_replace.is_empty(), "no replacement on create");
}

#[tokio::test]
async fn unchanged_resource_plans_exactly_the_prior_state() {
    let prior = prior_state();
    let config = widget(&[
        ("name", s("a")),
        ("size", num(1)),
        ("item", Value::List(vec![item("k", Value::Null)])),
    ]);
    let (planned, resp) = plan(prior.clone(), config, prior.clone(), Vec::new()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(planned, prior);
    assert!(resp.requires_replace.is_empty());
}

#[tokio::test]
async fn update_keeps_use_state_for_unknown_values_and_marks_other_computed_unknown() {
    let prior = prior_state();
    let config = widget(&[
        ("name", s("a")),
        ("size", num(2)),
        ("item", Value::List(vec![item("k", Value::Null)])),
    ]);
    let proposed = widget(&[
        ("id", s("w-a")),
        ("name", s("a")),
        ("size", num(2)),
        ("note", s("ep")),
        ("item", Value::List(vec![item("k", s("K"))])),
    ]);
    let (planned, resp) = plan(prior, config, proposed, Vec::new()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(
        planned.get_attr("id"),
        Some(&s("w-a")),
        "use_state_for_unknown keeps the id"
    );
    assert_eq!(planned.get_attr("note"), Some(&Value::Unknown));
    assert_eq!(planned.get_attr("size"), Some(&num(2)));
    assert!(resp.requires_replace.is_empty());
}

#[tokio::test]
async fn changing_a_requires_replace_attribute_returns_its_path() {
    let prior = prior_state();
    let config = widget(&[
        ("name", s("b")),
        ("size", num(1)),
        ("item", Value::List(vec![item("k", Value::Null)])),
    ]);
    let proposed = widget(&[
        ("id", s("w-a")),
        ("name", s("b")),
        ("size", num(1)),
        ("note", s("ep")),
        ("item", Value::List(vec![item("k", s("K"))])),
    ]);
    let (_, resp) = plan(prior, config, proposed, Vec::new()).await;
    let paths: Vec<String> = resp
        .requires_replace
        .iter()
        .map(|p| {
            diag_path(&pb::Diagnostic {
                attribute: Some(p.clone()),
                ..Default::default()
            })
        })
        .collect();
    assert_eq!(paths, vec!["name"]);
}

#[tokio::test]
async fn plan_hook_can_add_requires_replace_and_update_private_state() {
    let prior = widget(&[
        ("id", s("w-force")),
        ("name", s("force")),
        ("size", num(1)),
        ("note", s("ep")),
    ]);
    let config = widget(&[("name", s("force")), ("size", num(2))]);
    let proposed = widget(&[
        ("id", s("w-force")),
        ("name", s("force")),
        ("size", num(2)),
        ("note", s("ep")),
    ]);
    let (_, resp) = plan(prior, config, proposed, br#"{"generation":4}"#.to_vec()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(resp.requires_replace.len(), 1);
    let private: serde_json::Value = serde_json::from_slice(&resp.planned_private).unwrap();
    assert_eq!(private["generation"], 5);
}

#[tokio::test]
async fn plan_hook_breaking_terraform_rules_gets_an_error_naming_the_attribute() {
    let config = widget(&[("name", s("badplan")), ("size", num(1))]);
    let (_, resp) = plan(Value::Null, config.clone(), config, Vec::new()).await;
    assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
    assert_eq!(
        resp.diagnostics[0].summary,
        "Provider produced invalid plan"
    );
    assert_eq!(diag_path(&resp.diagnostics[0]), "size");
    assert!(resp.diagnostics[0].detail.contains("999"));
}

#[tokio::test]
async fn destroy_plan_is_null_and_keeps_the_private_state() {
    let private = br#"{"generation":7}"#.to_vec();
    let (planned, resp) = plan(prior_state(), Value::Null, Value::Null, private.clone()).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(planned, Value::Null);
    assert_eq!(resp.planned_private, private);
}

#[tokio::test]
async fn destroy_plan_asks_the_resource_which_can_refuse_it() {
    let prior = widget(&[("id", s("w-keep")), ("name", s("keep"))]);
    let private = br#"{"generation":7}"#.to_vec();
    let (planned, resp) = plan(prior, Value::Null, Value::Null, private.clone()).await;
    assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
    let d = &resp.diagnostics[0];
    assert_eq!(d.severity, pb::diagnostic::Severity::Error as i32);
    assert_eq!(d.summary, "Destroy prevented");
    assert!(
        d.detail.contains("generation 7"),
        "the hook sees the typed prior private state: {}",
        d.detail
    );
    assert_eq!(
        planned,
        Value::Null,
        "a destroy plan stays null even when refused"
    );
    assert_eq!(resp.planned_private, private);
}

#[tokio::test]
async fn destroy_plan_with_an_undecodable_private_state_is_an_error() {
    let (planned, resp) = plan(
        prior_state(),
        Value::Null,
        Value::Null,
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(planned, Value::Null);
    assert!(
        resp.diagnostics
            .iter()
            .any(|d| d.summary == "Invalid private state"),
        "{:?}",
        resp.diagnostics
    );
}
