//! Conversions between framework types and tfplugin6 wire types: dynamic values, attribute
//! paths, diagnostics and schemas.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::protocol::generated::tfplugin6 as pb;
use crate::resource::value_error_diagnostic;
use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::value::{self, AttributePath, PathStep, Type, Value};

/// Decodes a value from Terraform; an absent or empty DynamicValue is null.
pub(crate) fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, diags: &mut Diagnostics) -> Value {
    let Some(dv) = dv else { return Value::Null };
    let result = if !dv.msgpack.is_empty() {
        value::msgpack::decode(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        value::json::decode(&dv.json, ty)
    } else {
        return Value::Null;
    };
    result.unwrap_or_else(|e| {
        diags.push(value_error_diagnostic("Invalid value from Terraform", &e));
        Value::Null
    })
}

/// Encodes a value for Terraform, always as msgpack (JSON cannot carry unknowns).
pub(crate) fn encode(v: &Value, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match value::msgpack::encode(v, ty) {
        Ok(msgpack) => Some(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
        Err(e) => {
            diags.push(value_error_diagnostic("Invalid value from provider", &e));
            None
        }
    }
}

pub(crate) fn path_to_wire(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    let steps = path
        .steps()
        .iter()
        .map(|s| pb::attribute_path::Step {
            selector: Some(match s {
                PathStep::Attribute(n) => Selector::AttributeName(n.clone()),
                PathStep::ElementKeyString(k) => Selector::ElementKeyString(k.clone()),
                PathStep::ElementKeyInt(i) => Selector::ElementKeyInt(*i),
            }),
        })
        .collect();
    pb::AttributePath { steps }
}

pub(crate) fn diagnostics_to_wire(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags.into_iter().map(diagnostic_to_wire).collect()
}

fn diagnostic_to_wire(d: Diagnostic) -> pb::Diagnostic {
    let severity = match d.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity as i32,
        summary: d.summary,
        detail: d.detail,
        attribute: d
            .attribute
            .filter(|p| !p.is_root())
            .map(|p| path_to_wire(&p)),
    }
}

pub(crate) fn schema_to_wire(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block_to_wire(&schema.block, schema.version)),
    }
}

fn block_to_wire(block: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: block.attributes.iter().map(attribute_to_wire).collect(),
        block_types: block.blocks.iter().map(nested_to_wire).collect(),
        description: block.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: block.deprecated,
    }
}

fn attribute_to_wire(a: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: a.ty.to_json(),
        nested_type: None,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated,
    }
}

fn nested_to_wire(b: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    let nesting = match b.nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::Group => NestingMode::Group,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
        Nesting::Map => NestingMode::Map,
    };
    pb::schema::NestedBlock {
        type_name: b.name.clone(),
        block: Some(block_to_wire(&b.block, 0)),
        nesting: nesting as i32,
        min_items: b.min_items,
        max_items: b.max_items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_path_diagnostic_has_no_attribute_on_the_wire() {
        let d = Diagnostic::error("s", "d").at(AttributePath::root());
        assert!(diagnostic_to_wire(d).attribute.is_none());
    }

    #[test]
    fn path_steps_map_to_selectors() {
        use pb::attribute_path::step::Selector;
        let wire = path_to_wire(&AttributePath::root().attr("rule").index(2).key("k"));
        let sel: Vec<_> = wire
            .steps
            .into_iter()
            .map(|s| s.selector.unwrap())
            .collect();
        assert_eq!(
            sel,
            vec![
                Selector::AttributeName("rule".into()),
                Selector::ElementKeyInt(2),
                Selector::ElementKeyString("k".into())
            ]
        );
    }
}
