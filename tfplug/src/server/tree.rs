//! Mutable navigation in value trees by attribute path (the value layer offers read-only `at_path`).

use crate::value::{AttributePath, PathStep, Value};

/// The slot at `path` inside `root`, if every step exists. Set elements are not addressable.
pub(crate) fn at_path_mut<'a>(root: &'a mut Value, path: &AttributePath) -> Option<&'a mut Value> {
    let mut cur = root;
    for step in path.steps() {
        cur = step_mut(cur, step)?;
    }
    Some(cur)
}

fn step_mut<'a>(v: &'a mut Value, step: &PathStep) -> Option<&'a mut Value> {
    match (v, step) {
        (Value::Object(attrs), PathStep::Attribute(name)) => attrs.get_mut(name),
        (Value::Map(items), PathStep::ElementKeyString(key)) => items.get_mut(key),
        (Value::List(items) | Value::Tuple(items), PathStep::ElementKeyInt(i)) => {
            usize::try_from(*i).ok().and_then(|i| items.get_mut(i))
        }
        (Value::Dynamic(_, inner), step) => step_mut(inner, step),
        _ => None,
    }
}

/// Replaces every unknown inside `v` with null and returns the paths where that happened.
pub(crate) fn unknowns_to_null(
    v: &mut Value,
    path: &AttributePath,
    found: &mut Vec<AttributePath>,
) {
    match v {
        Value::Unknown => {
            found.push(path.clone());
            *v = Value::Null;
        }
        Value::Object(attrs) => {
            for (k, child) in attrs.iter_mut() {
                unknowns_to_null(child, &path.clone().attr(k), found);
            }
        }
        Value::Map(items) => {
            for (k, child) in items.iter_mut() {
                unknowns_to_null(child, &path.clone().key(k), found);
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                unknowns_to_null(child, &path.clone().index(i as i64), found);
            }
        }
        // Set elements have no path step on the wire; report the set itself.
        Value::Set(items) => {
            let mut inner = Vec::new();
            for child in items.iter_mut() {
                unknowns_to_null(child, path, &mut inner);
            }
            if !inner.is_empty() {
                found.push(path.clone());
            }
        }
        Value::Dynamic(_, inner) => unknowns_to_null(inner, path, found),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_path_mut_reaches_list_element_attribute() {
        let mut v = Value::object([(
            "rule",
            Value::List(vec![Value::object([("port", Value::Null)])]),
        )]);
        let p = AttributePath::root().attr("rule").index(0).attr("port");
        *at_path_mut(&mut v, &p).unwrap() = Value::string("x");
        assert_eq!(v.at_path(&p), Some(&Value::string("x")));
        assert!(at_path_mut(&mut v, &AttributePath::root().attr("rule").index(1)).is_none());
    }

    #[test]
    fn unknowns_to_null_reports_each_path() {
        let mut v = Value::object([
            ("a", Value::Unknown),
            ("b", Value::Map([("k".to_string(), Value::Unknown)].into())),
        ]);
        let mut found = Vec::new();
        unknowns_to_null(&mut v, &AttributePath::root(), &mut found);
        assert_eq!(
            found,
            vec![
                AttributePath::root().attr("a"),
                AttributePath::root().attr("b").key("k")
            ]
        );
        assert!(v.is_wholly_known());
    }
}
