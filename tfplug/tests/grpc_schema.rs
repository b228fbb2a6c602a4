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
    assert_eq!(
        resp.server_capabilities.map(|c| c.plan_destroy),
        Some(true),
        "destroys are planned through the resource (Resource::plan_destroy)"
    );
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
