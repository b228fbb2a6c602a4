//! `tfplugexample_echo`: a data source returning its input in upper case.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplug::data_source::{DataResult, DataSource};
use tfplug::schema::{Attribute, Block, Schema};
use tfplug::{Context, Type};

use crate::store::Store;

pub struct EchoDataSource;

#[derive(Serialize, Deserialize)]
pub struct Echo {
    pub input: String,
    pub output: Option<String>,
}

#[async_trait]
impl DataSource for EchoDataSource {
    type State = Echo;
    type ProviderData = Store;

    fn type_name(&self) -> String {
        "tfplugexample_echo".into()
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Returns `input` in upper case.")
                .attribute(Attribute::required("input", Type::String))
                .attribute(Attribute::computed("output", Type::String)),
        )
    }

    async fn read(&self, _ctx: &Context<Store>, config: Echo) -> DataResult<Echo> {
        let output = Some(config.input.to_uppercase());
        DataResult::ok(Echo {
            input: config.input,
            output,
        })
    }
}
