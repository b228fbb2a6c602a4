//! Serde model of `terraform providers schema -json` (format 0.x), only the parts the docs need.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

/// The whole document: one entry per provider address (`registry.terraform.io/csmrun/csmrun`).
#[derive(Debug, Deserialize)]
pub struct ProvidersSchema {
    pub format_version: String,
    #[serde(default)]
    pub provider_schemas: BTreeMap<String, ProviderSchema>,
}

#[derive(Debug, Deserialize)]
pub struct ProviderSchema {
    pub provider: Option<Schema>,
    #[serde(default)]
    pub resource_schemas: BTreeMap<String, Schema>,
    #[serde(default)]
    pub data_source_schemas: BTreeMap<String, Schema>,
}

#[derive(Debug, Deserialize)]
pub struct Schema {
    pub block: Block,
}

#[derive(Debug, Default, Deserialize)]
pub struct Block {
    #[serde(default)]
    pub attributes: BTreeMap<String, Attribute>,
    #[serde(default)]
    pub block_types: BTreeMap<String, BlockType>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub deprecated: bool,
}

#[derive(Debug, Deserialize)]
pub struct Attribute {
    /// cty type JSON: `"string"`, `["map","string"]`, `["object",{...}]`; absent when `nested_type` is set.
    #[serde(rename = "type", default)]
    pub ty: Option<Value>,
    #[serde(default)]
    pub nested_type: Option<NestedType>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub computed: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub deprecated: bool,
}

/// Nested attribute types (protocol 6 `Schema.Object`); csmrun uses blocks, but the format allows these.
#[derive(Debug, Deserialize)]
pub struct NestedType {
    #[serde(default)]
    pub attributes: BTreeMap<String, Attribute>,
    pub nesting_mode: String,
}

#[derive(Debug, Deserialize)]
pub struct BlockType {
    pub nesting_mode: String,
    pub block: Block,
    #[serde(default)]
    pub min_items: u64,
    #[serde(default)]
    pub max_items: u64,
}

impl ProvidersSchema {
    pub fn parse(json: &str) -> Result<Self> {
        let schema: Self = serde_json::from_str(json)
            .context("parsing `terraform providers schema -json` output")?;
        if !schema.format_version.starts_with("0.") && !schema.format_version.starts_with("1.") {
            bail!(
                "unsupported providers schema format_version {}",
                schema.format_version
            );
        }
        Ok(schema)
    }

    /// The schema of the provider whose address ends in `/<name>` (any registry host and namespace).
    pub fn provider(&self, name: &str) -> Result<&ProviderSchema> {
        let suffix = format!("/{name}");
        self.provider_schemas
            .iter()
            .find(|(addr, _)| addr.ends_with(&suffix))
            .map(|(_, p)| p)
            .ok_or_else(|| {
                let found: Vec<&String> = self.provider_schemas.keys().collect();
                anyhow!("no provider named {name} in the schema JSON (found: {found:?})")
            })
    }
}

/// Human type name in the registry's words: `String`, `List of String`, `Map of Number`, `Object`.
pub fn type_name(ty: &Value) -> String {
    match ty {
        Value::String(s) => match s.as_str() {
            "string" => "String".into(),
            "number" => "Number".into(),
            "bool" => "Boolean".into(),
            "dynamic" => "Dynamic".into(),
            other => other.to_string(),
        },
        Value::Array(parts) => match (parts.first().and_then(Value::as_str), parts.get(1)) {
            (Some("list"), Some(elem)) => format!("List of {}", type_name(elem)),
            (Some("set"), Some(elem)) => format!("Set of {}", type_name(elem)),
            (Some("map"), Some(elem)) => format!("Map of {}", type_name(elem)),
            (Some("object"), _) => "Object".into(),
            (Some("tuple"), _) => "Tuple".into(),
            _ => ty.to_string(),
        },
        _ => ty.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_names_follow_the_registry_wording() {
        assert_eq!(type_name(&json!("string")), "String");
        assert_eq!(type_name(&json!("bool")), "Boolean");
        assert_eq!(type_name(&json!(["list", "string"])), "List of String");
        assert_eq!(type_name(&json!(["map", "number"])), "Map of Number");
        assert_eq!(
            type_name(&json!(["set", ["list", "string"]])),
            "Set of List of String"
        );
        assert_eq!(type_name(&json!(["object", {"a": "string"}])), "Object");
    }

    #[test]
    fn finds_the_provider_by_its_type_name_under_any_host() {
        let doc = r#"{"format_version":"0.2","provider_schemas":{
            "registry.terraform.io/csmrun/csmrun":{"provider":{"version":0,"block":{}}}}}"#;
        let schema = ProvidersSchema::parse(doc).unwrap();
        assert!(schema.provider("csmrun").is_ok());
        let err = schema.provider("google").unwrap_err().to_string();
        assert!(err.contains("registry.terraform.io/csmrun/csmrun"), "{err}");
    }
}
