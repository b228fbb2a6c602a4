//! The one error type of the value layer: a message and the attribute path it concerns.

use std::fmt;

use super::path::{AttributePath, PathStep};

/// An error decoding, encoding or converting a value; its `Display` names the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    path: AttributePath,
    message: String,
    /// Whether `path` is final. Errors raised by serde visitors start unlocated and get the
    /// path of the innermost value that saw them.
    located: bool,
}

impl ValueError {
    /// An error at `path`.
    pub fn new(path: AttributePath, message: impl Into<String>) -> Self {
        ValueError {
            path,
            message: message.into(),
            located: true,
        }
    }

    /// An error whose location is filled in later by the code that knows it.
    pub(crate) fn unlocated(message: impl Into<String>) -> Self {
        ValueError {
            path: AttributePath::root(),
            message: message.into(),
            located: false,
        }
    }

    /// The path of the value the error concerns (empty for the root value).
    pub fn path(&self) -> &AttributePath {
        &self.path
    }

    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Sets the path if it is not known yet.
    pub(crate) fn locate(mut self, path: &AttributePath) -> Self {
        if !self.located {
            self.path = path.clone();
            self.located = true;
        }
        self
    }

    /// Puts `step` in front of the path: used where errors bubble up from children that did
    /// not know their parents.
    pub(crate) fn under(mut self, step: PathStep) -> Self {
        self.path.0.insert(0, step);
        self.located = true;
        self
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_root() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ValueError {}

impl serde::ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::unlocated(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::unlocated(msg.to_string())
    }
}
