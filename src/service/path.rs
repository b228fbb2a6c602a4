//! Attribute paths inside a `csmrun_service` value, used to point a diagnostic at the attribute to fix.

use std::fmt;

/// One segment of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// An attribute or block name.
    Attr(String),
    /// A map key, e.g. `env["KEY"]`.
    Key(String),
    /// A list index, e.g. `route[0]`.
    Index(i64),
}

/// A path such as `route[0].destination[1].weight`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The path of a top-level attribute.
    pub fn attr(name: &str) -> Self {
        FieldPath(vec![Segment::Attr(name.to_string())])
    }

    /// This path followed by an attribute.
    pub fn at(&self, name: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Attr(name.to_string()));
        p
    }

    /// This path followed by a list index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i64::try_from(i).unwrap_or(i64::MAX)));
        p
    }

    /// This path followed by a map key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(k.to_string()));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Segment::Attr(a) if i == 0 => write!(f, "{a}")?,
                Segment::Attr(a) => write!(f, ".{a}")?,
                Segment::Key(k) => write!(f, "[{k:?}]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl From<&FieldPath> for tfplug::AttributePath {
    fn from(p: &FieldPath) -> Self {
        tfplug::AttributePath(
            p.0.iter()
                .map(|s| match s {
                    Segment::Attr(a) => tfplug::PathStep::Attribute(a.clone()),
                    Segment::Key(k) => tfplug::PathStep::ElementKeyString(k.clone()),
                    Segment::Index(i) => tfplug::PathStep::ElementKeyInt(*i),
                })
                .collect(),
        )
    }
}
