//! GetProviderSchema over the in-memory plugin connection.

mod common;

use async_trait::async_trait;
use common::*;
use tfplug::plugin::testing::in_memory;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::provider::{ConfigureRequest, Configured, Provider};
use tfplug::resource::AnyResource;
use tfplug::schema::{Attribute, Block, Schema};
use tfplug::{Context, Type};

#[tokio::test]
async fn get_provider_schema_describes_provider_resources_and_data_sources() {
    let mut c = connect().await;
    let resp = c
        .provider
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let provider = resp
        .provider
        .expect("provider schema is required by Terraform");
    assert!(provider.block.is_some());
    assert!(
        resp.provider_meta.and_then(|m| m.block).is_some(),
        "every schema needs a block"
    );

    let widget = &resp.resource_schemas["test_widget"];
    assert_eq!(widget.version, 2);
    let block = widget.block.as_ref().unwrap();
    let name = block.attributes.iter().find(|a| a.name == "name").unwrap();
    assert!(name.required && !name.optional && !name.computed);
    assert_eq!(name.r#type, b"\"string\"");
    assert_eq!(name.description_kind, pb::StringKind::Markdown as i32);
    let secret = block
        .attributes
        .iter()
        .find(|a| a.name == "secret")
        .unwrap();
    assert!(secret.sensitive);
    let note = block.attributes.iter().find(|a| a.name == "note").unwrap();
    assert!(note.optional && note.computed);
    let item = &block.block_types[0];
    assert_eq!(item.type_name, "item");
    assert_eq!(
        item.nesting,
        pb::schema::nested_block::NestingMode::List as i32
    );
    assert!(item
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .any(|a| a.name == "key" && a.required));

    assert!(resp.data_source_schemas.contains_key("test_echo"));
    let caps = resp.server_capabilities.expect("server capabilities");
    assert!(
        caps.plan_destroy,
        "destroys are planned through the resource (Resource::plan_destroy)"
    );
    assert!(
        caps.get_provider_schema_optional,
        "Terraform may cache the schema across provider processes (6.4)"
    );
    assert!(
        caps.move_resource_state,
        "Terraform (>= 1.8) asks the target resource about a moved block across types (6.5)"
    );
}

#[tokio::test]
async fn get_metadata_lists_the_types_and_capabilities_without_schemas() {
    let mut c = connect().await;
    let resp = c
        .provider
        .get_metadata(pb::get_metadata::Request {})
        .await
        .expect("GetMetadata is served")
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let resources: Vec<&str> = resp
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(resources, ["test_widget"]);
    let data_sources: Vec<&str> = resp
        .data_sources
        .iter()
        .map(|d| d.type_name.as_str())
        .collect();
    assert_eq!(data_sources, ["test_echo"]);
    assert_eq!(
        resp.server_capabilities,
        Some(pb::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: true,
            move_resource_state: true,
        }),
        "the same capabilities as GetProviderSchema"
    );
}

#[tokio::test]
async fn get_metadata_reports_schema_self_check_problems_too() {
    let mut c = in_memory(BadProvider).await.unwrap();
    let resp = c
        .provider
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1, "{:?}", resp.diagnostics);
    assert!(is_error(&resp.diagnostics[0]));
    assert!(resp.resources.is_empty());
}

/// What get_provider_schema_optional promises: a provider process that is never asked for its
/// schema (Terraform served it from its cache) configures, plans and applies.
#[tokio::test]
async fn a_process_never_asked_for_its_schema_plans_and_applies() {
    let mut c = configured().await;
    let ty = widget_ty();
    let config = widget(&[("name", s("cached"))]);
    let planned = c
        .provider
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(dv(&tfplug::value::Value::Null, &ty)),
            proposed_new_state: Some(dv(&config, &ty)),
            config: Some(dv(&config, &ty)),
            prior_private: Vec::new(),
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    let applied = c
        .provider
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(dv(&tfplug::value::Value::Null, &ty)),
            planned_state: planned.planned_state,
            config: Some(dv(&config, &ty)),
            planned_private: planned.planned_private,
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = undv(applied.new_state.as_ref(), &ty);
    assert_eq!(state.get_attr("id"), Some(&s("w-cached")));
}

struct BadProvider;

#[async_trait]
impl Provider for BadProvider {
    type Data = ();
    fn schema(&self) -> Schema {
        Schema::new(Block::new().attribute(Attribute::optional("Bad-Name", Type::String)))
    }
    async fn configure(&self, _ctx: &Context<()>, _req: ConfigureRequest) -> Configured<()> {
        Configured::ok(())
    }
    fn resources(&self) -> Vec<Box<dyn AnyResource<()>>> {
        Vec::new()
    }
}

#[tokio::test]
async fn schema_self_check_problems_are_error_diagnostics() {
    let mut c = in_memory(BadProvider).await.unwrap();
    let resp = c
        .provider
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    assert!(is_error(&resp.diagnostics[0]));
    assert!(
        resp.diagnostics[0].detail.contains("Bad-Name"),
        "{}",
        resp.diagnostics[0].detail
    );
}

#[tokio::test]
async fn large_messages_above_tonic_default_limit_are_accepted() {
    let mut c = configured().await;
    let big = "x".repeat(6 << 20);
    let config = widget(&[("name", s("big")), ("note", s(&big))]);
    let resp = c
        .provider
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_widget".into(),
            config: Some(dv(&config, &widget_ty())),
        })
        .await
        .expect("a 6 MiB request passes the raised limit")
        .into_inner();
    assert!(resp.diagnostics.is_empty());
}
