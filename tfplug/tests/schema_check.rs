//! Table tests of the schema self-check (rules Terraform 1.0.3 does not enforce).

use tfplug::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplug::value::Type;

fn problems(schema: Schema) -> Vec<String> {
    schema
        .check_resource()
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn schema_rules_table() {
    let mut both = Attribute::required("a", Type::String);
    both.optional = true;
    let mut req_comp = Attribute::required("a", Type::String);
    req_comp.computed = true;
    let mut none = Attribute::optional("a", Type::String);
    none.optional = false;
    let cases: Vec<(&str, Schema, Vec<&str>)> = vec![
        (
            "valid schema",
            Schema::new(Block::new().attribute(Attribute::required("name_1", Type::String))),
            vec![],
        ),
        (
            "upper case name",
            Schema::new(Block::new().attribute(Attribute::optional("Name", Type::String))),
            vec!["Name: name must match ^[a-z0-9_]+$"],
        ),
        (
            "dash in name",
            Schema::new(Block::new().attribute(Attribute::optional("a-b", Type::String))),
            vec!["a-b: name must match ^[a-z0-9_]+$"],
        ),
        (
            "required and optional",
            Schema::new(Block::new().attribute(both)),
            vec!["a: attribute cannot be both required and optional"],
        ),
        (
            "required and computed",
            Schema::new(Block::new().attribute(req_comp)),
            vec!["a: attribute cannot be both required and computed"],
        ),
        (
            "no flag",
            Schema::new(Block::new().attribute(none)),
            vec!["a: attribute must be required, optional or computed"],
        ),
        (
            "attribute and block share a name",
            Schema::new(
                Block::new()
                    .attribute(Attribute::optional("x", Type::String))
                    .block(NestedBlock::list("x", Block::new())),
            ),
            vec!["x: name is used more than once (attributes and blocks share one namespace)"],
        ),
        (
            "single block with max 2",
            Schema::new(Block::new().block(NestedBlock::single("s", Block::new()).max_items(2))),
            vec!["s: a single block has min_items and max_items of 0 or 1"],
        ),
        (
            "group block with min",
            Schema::new(Block::new().block(NestedBlock::group("g", Block::new()).min_items(1))),
            vec!["g: a group block cannot set min_items or max_items"],
        ),
        (
            "min above max",
            Schema::new(
                Block::new().block(
                    NestedBlock::list("l", Block::new())
                        .min_items(3)
                        .max_items(2),
                ),
            ),
            vec!["l: min_items must not exceed max_items"],
        ),
        (
            "nested problems carry the block path",
            Schema::new(Block::new().block(NestedBlock::set(
                "rule",
                Block::new().attribute(Attribute::optional("Port", Type::Number)),
            ))),
            vec!["rule.Port: name must match ^[a-z0-9_]+$"],
        ),
        (
            "use_state_for_unknown on a non-computed attribute",
            Schema::new(
                Block::new()
                    .attribute(Attribute::optional("o", Type::String).use_state_for_unknown()),
            ),
            vec!["o: use_state_for_unknown only applies to computed attributes"],
        ),
        (
            "reserved meta-argument name",
            Schema::new(Block::new().attribute(Attribute::optional("count", Type::Number))),
            vec!["count: name is reserved by Terraform for a meta-argument"],
        ),
        (
            "negative version",
            Schema::new(Block::new()).version(-1),
            vec!["schema version must not be negative"],
        ),
    ];
    for (name, schema, expected) in cases {
        assert_eq!(problems(schema), expected, "case: {name}");
    }
}

#[test]
fn reserved_names_are_allowed_in_provider_and_nested_schemas() {
    let schema = Schema::new(Block::new().attribute(Attribute::optional("count", Type::Number)));
    assert!(schema.check().is_empty());
    let nested = Schema::new(Block::new().block(NestedBlock::list(
        "x",
        Block::new().attribute(Attribute::optional("count", Type::Number)),
    )));
    assert!(nested.check_resource().is_empty());
}

#[test]
fn block_types_follow_nesting_modes() {
    let inner = Block::new().attribute(Attribute::required("p", Type::Number));
    let object = Type::object([("p", Type::Number)]);
    for (nesting, ty) in [
        (Nesting::Single, object.clone()),
        (Nesting::Group, object.clone()),
        (Nesting::List, Type::list(object.clone())),
        (Nesting::Set, Type::set(object.clone())),
        (Nesting::Map, Type::map(object.clone())),
    ] {
        assert_eq!(
            NestedBlock::new("b", nesting, inner.clone()).ty(),
            ty,
            "{nesting:?}"
        );
    }
}
