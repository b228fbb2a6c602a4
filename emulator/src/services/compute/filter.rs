//! List filters: the subset of Compute's filter language and AIP-160 that clients use on these collections.
//!
//! A filter is one or more comparisons joined by `AND` or by juxtaposition of parenthesised terms:
//! `name = "x"`, `name != x`, `name eq x.*` / `name ne x.*` (anchored regular expressions, Compute),
//! `field:value` (AIP-160 "has"). Fields use dots for nesting (`cloudRun.service`); on a repeated field a
//! comparison holds when it holds for any element (`backends.group = "..."`).

use serde_json::Value;

/// A parsed filter; matches every comparison (logical AND).
#[derive(Debug)]
pub struct Filter {
    terms: Vec<Term>,
}

#[derive(Debug)]
struct Term {
    field: Vec<String>,
    negate: bool,
    matcher: Matcher,
}

#[derive(Debug)]
enum Matcher {
    Equals(String),
    Regex(regex::Regex),
}

impl Filter {
    /// Parses `text`; the error names the term that could not be understood.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let terms = split_terms(text)
            .into_iter()
            .map(|t| parse_term(&t).ok_or_else(|| format!("cannot parse filter term '{t}'")))
            .collect::<Result<Vec<_>, _>>()?;
        if terms.is_empty() {
            return Err(format!("empty filter '{text}'"));
        }
        Ok(Filter { terms })
    }

    pub fn matches(&self, item: &Value) -> bool {
        self.terms.iter().all(|t| t.matches(item))
    }
}

fn split_terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for part in text.split(" AND ") {
        let part = part.trim();
        if part.starts_with('(') {
            // `(a = "x") (b = "y")`: each parenthesised group is a term.
            for group in part.split(')') {
                let g = group.trim().trim_start_matches('(').trim();
                if !g.is_empty() {
                    terms.push(g.to_string());
                }
            }
        } else if !part.is_empty() {
            terms.push(part.to_string());
        }
    }
    terms
}

fn parse_term(term: &str) -> Option<Term> {
    for (op, negate, regex) in [
        (" != ", true, false),
        (" = ", false, false),
        (" ne ", true, true),
        (" eq ", false, true),
        (":", false, false),
    ] {
        let Some((field, value)) = term.split_once(op) else {
            continue;
        };
        let field = field.trim();
        if field.is_empty() || field.contains(' ') {
            return None;
        }
        let value = value.trim().trim_matches('"').to_string();
        let matcher = if regex {
            Matcher::Regex(regex::Regex::new(&format!("^(?:{value})$")).ok()?)
        } else {
            Matcher::Equals(value)
        };
        return Some(Term {
            field: field.split('.').map(str::to_string).collect(),
            negate,
            matcher,
        });
    }
    None
}

impl Term {
    fn matches(&self, item: &Value) -> bool {
        let mut values = Vec::new();
        collect(item, &self.field, &mut values);
        let hit = values.iter().any(|v| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match &self.matcher {
                Matcher::Equals(want) => &text == want,
                Matcher::Regex(re) => re.is_match(&text),
            }
        });
        hit != self.negate
    }
}

// The values at `path`, descending into every element of arrays on the way.
fn collect<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match (v, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|i| collect(i, path, out)),
        (_, None) => out.push(v),
        (Value::Object(map), Some((head, rest))) => {
            if let Some(next) = map.get(head) {
                collect(next, rest, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn neg() -> Value {
        json!({"name": "svc-neg", "cloudRun": {"service": "svc"},
               "backends": [{"group": "g1"}, {"group": "g2"}]})
    }

    #[test]
    fn equality_on_nested_and_repeated_fields() {
        assert!(Filter::parse("cloudRun.service = \"svc\"")
            .unwrap()
            .matches(&neg()));
        assert!(Filter::parse("backends.group = \"g2\"")
            .unwrap()
            .matches(&neg()));
        assert!(!Filter::parse("backends.group = \"g3\"")
            .unwrap()
            .matches(&neg()));
        assert!(Filter::parse("name != other").unwrap().matches(&neg()));
    }

    #[test]
    fn regex_and_has_operators() {
        assert!(Filter::parse("name eq svc-.*").unwrap().matches(&neg()));
        assert!(
            !Filter::parse("name eq svc").unwrap().matches(&neg()),
            "eq is anchored"
        );
        assert!(Filter::parse("backends.group:g1").unwrap().matches(&neg()));
    }

    #[test]
    fn terms_combine_with_and() {
        let both = "(name = \"svc-neg\") (cloudRun.service = \"svc\")";
        assert!(Filter::parse(both).unwrap().matches(&neg()));
        let one_false = "name = \"svc-neg\" AND cloudRun.service = \"other\"";
        assert!(!Filter::parse(one_false).unwrap().matches(&neg()));
    }

    #[test]
    fn nonsense_is_an_error() {
        assert!(Filter::parse("what is this").is_err());
        assert!(Filter::parse("").is_err());
    }
}
