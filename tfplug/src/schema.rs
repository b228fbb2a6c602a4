//! Schemas of providers, resources and data sources, with a builder API and plan flags.
//!
//! A [`Schema`] is a versioned root [`Block`]; blocks hold [`Attribute`]s and [`NestedBlock`]s.
//! Descriptions are Markdown. Two attribute flags drive the framework's plan helpers:
//! [`Attribute::requires_replace`] and [`Attribute::use_state_for_unknown`].
//!
//! ```
//! use tfplug::schema::{Attribute, Block, NestedBlock, Schema};
//! use tfplug::value::Type;
//!
//! let schema = Schema::new(
//!     Block::new()
//!         .description("A thing.")
//!         .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
//!         .attribute(Attribute::required("name", Type::String).requires_replace())
//!         .attribute(Attribute::optional("size", Type::Number).description("Size in `GiB`."))
//!         .block(NestedBlock::list("rule", Block::new()
//!             .attribute(Attribute::required("port", Type::Number)))
//!             .max_items(4)),
//! );
//! assert!(schema.check().is_empty());
//! ```

use std::collections::BTreeMap;

use crate::value::Type;

pub use crate::schema_check::SchemaProblem;

/// The schema of a provider, resource or data source: a version and a root block.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Bumped when the state layout changes; Terraform stores it and asks for an upgrade.
    pub version: i64,
    pub block: Block,
}

impl Schema {
    /// A version-0 schema.
    pub fn new(block: Block) -> Self {
        Schema { version: 0, block }
    }

    /// Sets the schema version (see `Resource` state upgraders).
    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    /// The object type of values conforming to this schema.
    pub fn ty(&self) -> Type {
        self.block.ty()
    }

    /// Checks the rules Terraform 1.0.3 does not enforce on provider schemas; empty means valid.
    pub fn check(&self) -> Vec<SchemaProblem> {
        crate::schema_check::check_schema(self, false)
    }

    /// Like [`Schema::check`], and also rejects root names Terraform reserves for resource
    /// meta-arguments (`count`, `for_each`, `lifecycle`, ...).
    pub fn check_resource(&self) -> Vec<SchemaProblem> {
        crate::schema_check::check_schema(self, true)
    }
}

/// A block: attributes and nested blocks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
}

impl Block {
    /// An empty block.
    pub fn new() -> Self {
        Block::default()
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    /// Sets the Markdown description.
    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    /// Marks the block deprecated.
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// The attribute called `name`.
    pub fn get_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block called `name`.
    pub fn get_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// The object type of this block's values: attributes by their type, nested blocks by
    /// their nesting mode (single and group: object; list, set, map: a collection of objects).
    pub fn ty(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = BTreeMap::new();
        for a in &self.attributes {
            attrs.insert(a.name.clone(), a.ty.clone());
        }
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.ty());
        }
        Type::Object(attrs)
    }
}

/// One attribute. Exactly the flags Terraform knows, plus tfplug's plan helper flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    /// Redacted in Terraform's output (state still holds it in clear).
    pub sensitive: bool,
    pub deprecated: bool,
    /// A planned change of this attribute replaces the resource.
    pub requires_replace: bool,
    /// When the plan would make this computed attribute unknown, keep the prior state's value.
    pub use_state_for_unknown: bool,
}

impl Attribute {
    fn with_flags(name: &str, ty: Type, required: bool, optional: bool, computed: bool) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            required,
            optional,
            computed,
            sensitive: false,
            deprecated: false,
            requires_replace: false,
            use_state_for_unknown: false,
        }
    }

    /// An attribute the configuration must set.
    pub fn required(name: &str, ty: Type) -> Self {
        Self::with_flags(name, ty, true, false, false)
    }

    /// An attribute the configuration may set; null when unset.
    pub fn optional(name: &str, ty: Type) -> Self {
        Self::with_flags(name, ty, false, true, false)
    }

    /// A read-only attribute set by the provider; configuring it is a validation error.
    pub fn computed(name: &str, ty: Type) -> Self {
        Self::with_flags(name, ty, false, false, true)
    }

    /// An attribute the configuration may set, and the provider fills when it does not.
    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self::with_flags(name, ty, false, true, true)
    }

    /// Sets the Markdown description.
    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    /// Marks the attribute sensitive.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks the attribute deprecated (Terraform warns when it is configured).
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// A change of this attribute's value plans a replacement.
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    /// Keeps the prior value instead of unknown when other attributes change (for ids and
    /// other values that never change after create). Only meaningful on computed attributes.
    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; absent is null.
    Single,
    /// Exactly one; absent means all attributes null.
    Group,
    List,
    Set,
    /// Keyed by the block's label.
    Map,
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    /// 0 means no minimum.
    pub min_items: i64,
    /// 0 means no maximum.
    pub max_items: i64,
}

impl NestedBlock {
    /// A block with the given nesting.
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        NestedBlock {
            name: name.to_string(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
        }
    }

    /// A block that appears at most once.
    pub fn single(name: &str, block: Block) -> Self {
        Self::new(name, Nesting::Single, block)
    }

    /// A block that always exists (its attributes are null when it is not written).
    pub fn group(name: &str, block: Block) -> Self {
        Self::new(name, Nesting::Group, block)
    }

    /// An ordered, repeatable block.
    pub fn list(name: &str, block: Block) -> Self {
        Self::new(name, Nesting::List, block)
    }

    /// An unordered, repeatable block.
    pub fn set(name: &str, block: Block) -> Self {
        Self::new(name, Nesting::Set, block)
    }

    /// A labelled, repeatable block.
    pub fn map(name: &str, block: Block) -> Self {
        Self::new(name, Nesting::Map, block)
    }

    /// Sets the minimum number of blocks (Terraform enforces it while decoding HCL).
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }

    /// Sets the maximum number of blocks.
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }

    /// The type of this block's value in its parent object.
    pub fn ty(&self) -> Type {
        let object = self.block.ty();
        match self.nesting {
            Nesting::Single | Nesting::Group => object,
            Nesting::List => Type::List(Box::new(object)),
            Nesting::Set => Type::Set(Box::new(object)),
            Nesting::Map => Type::Map(Box::new(object)),
        }
    }
}
