//! The three states a configured value can be in at plan time: known, null or not yet known.
//!
//! Mirrors `tfplug::value::Val` (same shape, same meaning) so the pure logic of this crate can be tested on its own.

/// A value from the configuration, the plan or the state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Val<T> {
    /// A value Terraform knows.
    Known(T),
    /// Not set.
    #[default]
    Null,
    /// Known only after apply (e.g. another resource's computed attribute).
    Unknown,
}

impl<T> Val<T> {
    /// The value when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(v) => Some(v),
            _ => None,
        }
    }

    /// True when not yet known.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown)
    }

    /// True when not set.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
}
