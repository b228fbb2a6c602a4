//! Self-check of schema rules that Terraform 1.0.3 does not enforce (it trusts providers).
//!
//! Breaking one of these rules makes Terraform misbehave later and far from the cause (odd
//! plans, panics in newer versions), so tfplug reports them when the provider starts.

use std::collections::BTreeSet;
use std::fmt;

use crate::schema::{Block, Nesting, Schema};

/// One broken schema rule, located by a dotted path of attribute and block names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// e.g. `rule.port`; empty for the root block.
    pub path: String,
    pub message: String,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Names Terraform reserves for meta-arguments at the root of a resource block.
const RESERVED_RESOURCE_NAMES: &[&str] = &[
    "connection",
    "count",
    "depends_on",
    "for_each",
    "lifecycle",
    "provider",
    "provisioner",
];

pub(crate) fn check_schema(schema: &Schema, resource: bool) -> Vec<SchemaProblem> {
    let mut problems = Vec::new();
    if schema.version < 0 {
        problems.push(problem("", "schema version must not be negative"));
    }
    if resource {
        for name in names(&schema.block) {
            if RESERVED_RESOURCE_NAMES.contains(&name) {
                problems.push(problem(
                    name,
                    "name is reserved by Terraform for a meta-argument",
                ));
            }
        }
    }
    check_block(&schema.block, "", &mut problems);
    problems
}

fn names(block: &Block) -> impl Iterator<Item = &str> {
    block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .chain(block.blocks.iter().map(|b| b.name.as_str()))
}

fn check_block(block: &Block, prefix: &str, problems: &mut Vec<SchemaProblem>) {
    let mut seen = BTreeSet::new();
    for name in names(block) {
        let path = join(prefix, name);
        if !valid_name(name) {
            problems.push(problem(&path, "name must match ^[a-z0-9_]+$"));
        }
        if !seen.insert(name) {
            problems.push(problem(
                &path,
                "name is used more than once (attributes and blocks share one namespace)",
            ));
        }
    }
    for a in &block.attributes {
        let path = join(prefix, &a.name);
        if a.required && a.optional {
            problems.push(problem(
                &path,
                "attribute cannot be both required and optional",
            ));
        }
        if a.required && a.computed {
            problems.push(problem(
                &path,
                "attribute cannot be both required and computed",
            ));
        }
        if !a.required && !a.optional && !a.computed {
            problems.push(problem(
                &path,
                "attribute must be required, optional or computed",
            ));
        }
        if a.use_state_for_unknown && !a.computed {
            problems.push(problem(
                &path,
                "use_state_for_unknown only applies to computed attributes",
            ));
        }
    }
    for b in &block.blocks {
        let path = join(prefix, &b.name);
        if b.min_items < 0 || b.max_items < 0 {
            problems.push(problem(
                &path,
                "min_items and max_items must not be negative",
            ));
        }
        if b.max_items > 0 && b.min_items > b.max_items {
            problems.push(problem(&path, "min_items must not exceed max_items"));
        }
        match b.nesting {
            Nesting::Single if b.min_items > 1 || b.max_items > 1 => {
                problems.push(problem(
                    &path,
                    "a single block has min_items and max_items of 0 or 1",
                ));
            }
            Nesting::Group if b.min_items != 0 || b.max_items != 0 => {
                problems.push(problem(
                    &path,
                    "a group block cannot set min_items or max_items",
                ));
            }
            _ => {}
        }
        check_block(&b.block, &path, problems);
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn problem(path: &str, message: &str) -> SchemaProblem {
    SchemaProblem {
        path: path.to_string(),
        message: message.to_string(),
    }
}
