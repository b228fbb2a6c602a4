//! Walks a schema block alongside three values of it (a reference such as the config, the
//! prior state, and a value being checked or rewritten), attribute by attribute.
//!
//! Nested list and map blocks pair elements by index and key. Set elements have no identity
//! to pair by and no path step on the wire, so inside a set block the element itself serves as
//! its own reference and there is no prior value.

use crate::schema::{Attribute, Block, Nesting};
use crate::value::{AttributePath, Value};

/// Called once per attribute: (schema, reference value, prior value, target slot, path).
pub(crate) type Visit<'f> =
    dyn FnMut(&Attribute, Option<&Value>, Option<&Value>, &mut Value, &AttributePath) + 'f;

/// Visits every attribute of `target` (an object of `block`), recursing into nested blocks.
pub(crate) fn walk(
    block: &Block,
    reference: Option<&Value>,
    prior: Option<&Value>,
    target: &mut Value,
    path: &AttributePath,
    visit: &mut Visit<'_>,
) {
    let Value::Object(attrs) = target else { return };
    for attr in &block.attributes {
        if let Some(slot) = attrs.get_mut(&attr.name) {
            let r = reference.and_then(|v| v.get_attr(&attr.name));
            let p = prior.and_then(|v| v.get_attr(&attr.name));
            visit(attr, r, p, slot, &path.clone().attr(&attr.name));
        }
    }
    for nested in &block.blocks {
        let Some(slot) = attrs.get_mut(&nested.name) else {
            continue;
        };
        let r = reference.and_then(|v| v.get_attr(&nested.name));
        let p = prior.and_then(|v| v.get_attr(&nested.name));
        let here = path.clone().attr(&nested.name);
        match (nested.nesting, slot) {
            (Nesting::Single | Nesting::Group, slot) => {
                walk(&nested.block, r, p, slot, &here, visit)
            }
            (Nesting::List, Value::List(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let ri = r.and_then(|v| element(v, i));
                    let pi = p.and_then(|v| element(v, i));
                    walk(
                        &nested.block,
                        ri,
                        pi,
                        item,
                        &here.clone().index(i as i64),
                        visit,
                    );
                }
            }
            (Nesting::Map, Value::Map(items)) => {
                for (k, item) in items.iter_mut() {
                    let rk = r.and_then(|v| entry(v, k));
                    let pk = p.and_then(|v| entry(v, k));
                    walk(&nested.block, rk, pk, item, &here.clone().key(k), visit);
                }
            }
            (Nesting::Set, Value::Set(items)) => {
                let mut elements = std::mem::take(items);
                for item in elements.iter_mut() {
                    let own = item.clone();
                    walk(&nested.block, Some(&own), None, item, &here, visit);
                }
                // Rewriting elements can reorder or merge them; keep the set canonical.
                *items = Value::normalize_set(elements);
            }
            _ => {}
        }
    }
}

fn element(v: &Value, i: usize) -> Option<&Value> {
    match v {
        Value::List(items) => items.get(i),
        _ => None,
    }
}

fn entry<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    match v {
        Value::Map(items) => items.get(k),
        _ => None,
    }
}
