//! Attribute paths that locate a value inside an object tree (used in errors and diagnostics).

use std::fmt;

/// One step of an [`AttributePath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathStep {
    /// An object attribute: `.name`.
    Attribute(String),
    /// A map element: `["key"]`.
    ElementKeyString(String),
    /// A list or tuple element: `[3]`.
    ElementKeyInt(i64),
}

/// A path from the root of a value to one of its parts, e.g. `route[0].weight` or `env["KEY"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path: the value itself.
    pub fn root() -> Self {
        AttributePath(Vec::new())
    }

    /// This path followed by the object attribute `name`.
    pub fn attr(mut self, name: &str) -> Self {
        self.0.push(PathStep::Attribute(name.to_string()));
        self
    }

    /// This path followed by the map key `k`.
    pub fn key(mut self, k: &str) -> Self {
        self.0.push(PathStep::ElementKeyString(k.to_string()));
        self
    }

    /// This path followed by the list or tuple index `i`.
    pub fn index(mut self, i: i64) -> Self {
        self.0.push(PathStep::ElementKeyInt(i));
        self
    }

    /// This path followed by `step`.
    pub fn push(mut self, step: PathStep) -> Self {
        self.0.push(step);
        self
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The steps of this path, first to last.
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyString(k) => write!(f, "[{k:?}]")?,
                PathStep::ElementKeyInt(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
