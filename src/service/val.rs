//! The three states a configured value can be in: known, null or not yet known (tfplug's `Val`).

pub use tfplug::Val;
