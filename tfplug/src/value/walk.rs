//! What the recursive walks over a value and its type (the JSON codec, the msgpack codec, the
//! serde bridge's conform and check) share: errors at the path walked so far, and the shape
//! rules every walk enforces the same way.

use std::collections::BTreeMap;

use super::path::{AttributePath, PathStep};
use super::types::Type;
use super::ValueError;

/// An error at the value `path` leads to.
pub(crate) fn err(path: &[PathStep], message: impl Into<String>) -> ValueError {
    ValueError::new(AttributePath(path.to_vec()), message)
}

/// A tuple must have exactly one element for each element type.
pub(crate) fn check_tuple_len(
    path: &[PathStep],
    required: usize,
    found: usize,
) -> Result<(), ValueError> {
    if required == found {
        return Ok(());
    }
    Err(err(
        path,
        format!("a tuple of {required} elements is required, found {found}"),
    ))
}

/// An object must not have attributes its type lacks; the error names the first such one.
pub(crate) fn check_no_extra_attribute<'a>(
    mut names: impl Iterator<Item = &'a String>,
    types: &BTreeMap<String, Type>,
    path: &mut Vec<PathStep>,
) -> Result<(), ValueError> {
    match names.find(|name| !types.contains_key(*name)) {
        None => Ok(()),
        Some(extra) => {
            path.push(PathStep::Attribute(extra.clone()));
            Err(err(
                path,
                "unexpected attribute: the type has no such attribute",
            ))
        }
    }
}

/// Walks the elements of a list, set or tuple in order, each under its index in `path`. On
/// error `path` is left pointing at the failing element, which the error already names.
pub(crate) fn elements<I, T>(
    items: impl IntoIterator<Item = I>,
    path: &mut Vec<PathStep>,
    mut f: impl FnMut(I, &mut Vec<PathStep>) -> Result<T, ValueError>,
) -> Result<Vec<T>, ValueError> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        path.push(PathStep::ElementKeyInt(i as i64));
        out.push(f(item, path)?);
        path.pop();
    }
    Ok(out)
}
