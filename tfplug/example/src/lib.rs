//! A small provider that exercises tfplug end to end: `tfplugexample_thing` (a resource
//! stored as JSON files under the provider's `root_dir`, so it survives Terraform starting a
//! new provider process per phase) and `tfplugexample_echo` (a data source).

mod echo;
mod store;
mod thing;

use std::path::PathBuf;

use async_trait::async_trait;
use serde::Deserialize;
use tfplug::data_source::AnyDataSource;
use tfplug::provider::{ConfigureRequest, Configured, Provider};
use tfplug::resource::AnyResource;
use tfplug::schema::{Attribute, Block, Schema};
use tfplug::{Context, Diagnostic, Type};

pub use echo::EchoDataSource;
pub use store::Store;
pub use thing::{Rule, Thing, ThingResource};

/// The source address the example is published under (for dev_overrides and reattach).
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/tfplug/tfplugexample";

/// The provider: its only setting is where things are stored.
pub struct ExampleProvider;

#[derive(Deserialize)]
struct ProviderConfig {
    root_dir: Option<String>,
}

#[async_trait]
impl Provider for ExampleProvider {
    type Data = Store;

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("The tfplug example provider.")
                .attribute(Attribute::optional("root_dir", Type::String).description(
                    "Directory holding one JSON file per thing. Defaults to `$TFPLUGEXAMPLE_ROOT`.",
                )),
        )
    }

    async fn configure(&self, _ctx: &Context<Store>, req: ConfigureRequest) -> Configured<Store> {
        let config: ProviderConfig = match req.config.decode() {
            Ok(c) => c,
            Err(d) => return Configured::failed(d),
        };
        let root = config
            .root_dir
            .or_else(|| std::env::var("TFPLUGEXAMPLE_ROOT").ok());
        match root {
            Some(dir) => Configured::ok(Store::new(PathBuf::from(dir))),
            None => Configured::failed(Diagnostic::error(
                "Missing root_dir",
                "Set root_dir in the provider block or TFPLUGEXAMPLE_ROOT in the environment.",
            )),
        }
    }

    fn resources(&self) -> Vec<Box<dyn AnyResource<Store>>> {
        vec![Box::new(ThingResource)]
    }

    fn data_sources(&self) -> Vec<Box<dyn AnyDataSource<Store>>> {
        vec![Box::new(EchoDataSource)]
    }
}
