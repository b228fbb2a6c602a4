//! Holds `emulator/FIDELITY.md` to Google's discovery documents: every constraint Google states on a parameter or
//! field of a method the emulator serves must have a ledger line saying whether the emulator models it, and every
//! test a ledger line cites must exist.
//!
//! "Methods the emulator serves" are the discovery method ids of its handler registry
//! (`csmrun_emulator::services::registry()`). That list cannot drift silently: the router answers 501 for any
//! discovery method without a handler, so the provider (whose every test runs against the emulator) can only use
//! a method after someone registers a handler for it, and registering one puts the method under this test.
//!
//! A "constraint sentence" is a sentence of a parameter's or field's `description` (whitespace collapsed; fields
//! reachable from the method's request and response schemas through `$ref`, `items`, `additionalProperties` and
//! inline `properties`, each schema walked once) that contains one of [`PHRASES`], plus the machine-readable
//! constraints of a parameter: `pattern`, `required: true`, `minimum`, `maximum` and `enum`, written as
//! sentences like `pattern: ^projects/[^/]+$`.
//!
//! A ledger line covers a parameter sentence when it contains the method id and the parameter name, each in
//! backticks, and the sentence's first 60 characters; a field sentence when it contains `Schema.field` in
//! backticks and the sentence's first 60 characters. The line must end in `— modelled: <what>; test `<fn>``,
//! `— not modelled: <why>` or `— differs: <how>`.

use csmrun_emulator::api::Api;
use csmrun_emulator::discovery::{document, Document};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Phrases that make a description sentence a constraint (matched case-insensitively).
const PHRASES: &[&str] = &[
    "cannot be",
    "must be",
    "must not",
    "at most",
    "at least",
    "maximum",
    "minimum",
    "required",
    "only",
    "limit",
    "up to",
    "must match",
    "pattern",
    "immutable",
    "cannot",
    "should not exceed",
    // Beyond the list: rules phrased without any of the above ("It must start with a letter.",
    // "Acceptable values are `0` to `500`, inclusive.", "No other punctuation is allowed.").
    "must ",
    "inclusive",
    "valid range",
    "acceptable values",
    "accepted values",
    "allowed values",
    "not allowed",
];

/// How many leading characters of a sentence a ledger line must quote.
const QUOTE_PREFIX: usize = 60;

const CATEGORIES: &[&str] = &[" — modelled: ", " — not modelled: ", " — differs: "];

/// One constraint Google states, and where a ledger line for it belongs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Constraint {
    api: &'static str,
    /// `method id` for a parameter, `Schema` for a field (used only to group the missing lines).
    group: String,
    /// The backticked names a covering line must contain.
    keys: Vec<String>,
    sentence: String,
    source: &'static str,
}

impl Constraint {
    fn ledger_line(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(|k| format!("`{k}`")).collect();
        format!(
            "- {}: \"{}\" ({}) — not modelled: TODO classify",
            keys.join(" "),
            self.sentence,
            self.source
        )
    }

    fn covered_by(&self, line: &str) -> bool {
        let quoted: String = self.sentence.chars().take(QUOTE_PREFIX).collect();
        self.keys.iter().all(|k| line.contains(&format!("`{k}`"))) && line.contains(&quoted)
    }
}

fn source_file(api: Api) -> &'static str {
    match api {
        Api::Run => "run.v2.json",
        Api::Compute => "compute.v1.json",
        Api::NetworkServices => "networkservices.v1.json",
        Api::Dns => "dns.v1.json",
        Api::ResourceManager => "cloudresourcemanager.v1.json",
    }
}

/// Whitespace collapsed to single spaces.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sentences of a description: split after `.`, `!` or `?` followed by a space and a character that is not a
/// lower-case letter, unless it ends an abbreviation (so `e.g. Foo` and `1.5 s` stay whole).
fn sentences(description: &str) -> Vec<String> {
    let text = normalise(description);
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let word: String = chars[..=i]
            .iter()
            .rev()
            .take_while(|c| **c != ' ')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let abbreviation =
            ["e.g.", "i.e.", "etc.", "vs.", "(e.g.", "(i.e."].contains(&word.as_str());
        let ends = matches!(chars[i], '.' | '!' | '?')
            && !abbreviation
            && chars.get(i + 1) == Some(&' ')
            && chars.get(i + 2).is_some_and(|c| !c.is_lowercase());
        if ends {
            out.push(chars[start..=i].iter().collect::<String>());
            start = i + 2;
        }
    }
    if start < chars.len() {
        out.push(chars[start..].iter().collect::<String>());
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_constraint(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

fn constraint_sentences(description: Option<&str>) -> Vec<String> {
    sentences(description.unwrap_or_default())
        .into_iter()
        .filter(|s| is_constraint(s))
        .collect()
}

/// The machine-readable constraints of a parameter, as sentences.
fn parameter_facets(p: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(pattern) = p["pattern"].as_str() {
        out.push(format!("pattern: {pattern}"));
    }
    if p["required"].as_bool() == Some(true) {
        out.push("required: true".to_string());
    }
    for bound in ["minimum", "maximum"] {
        if let Some(v) = p[bound].as_str() {
            out.push(format!("{bound}: {v}"));
        }
    }
    if let Some(values) = p["enum"].as_array() {
        let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        out.push(format!("enum: {}", values.join(", ")));
    }
    out
}

/// Walks one field (possibly an inline object, array or map) of `schema`, collecting constraint sentences and
/// queueing referenced schemas.
fn walk_field(
    api: Api,
    schema: &str,
    path: &str,
    field: &Value,
    queue: &mut Vec<String>,
    out: &mut Vec<Constraint>,
) {
    let key = format!("{schema}.{path}");
    for sentence in constraint_sentences(field["description"].as_str()) {
        out.push(Constraint {
            api: api.name(),
            group: schema.to_string(),
            keys: vec![key.clone()],
            sentence,
            source: source_file(api),
        });
    }
    if let Some(r) = field["$ref"].as_str() {
        queue.push(r.to_string());
    }
    for nested in ["items", "additionalProperties"] {
        if field[nested].is_object() {
            walk_field(api, schema, path, &field[nested], queue, out);
        }
    }
    if let Some(props) = field["properties"].as_object() {
        for (name, sub) in props {
            walk_field(api, schema, &format!("{path}.{name}"), sub, queue, out);
        }
    }
}

/// Every constraint of the methods `ids` of one document: parameters per method, fields per schema (once).
fn constraints(doc: &Document, ids: &BTreeSet<String>, out: &mut Vec<Constraint>) {
    let api = doc.api;
    let mut seen = BTreeSet::new();
    for method in doc.methods.iter().filter(|m| ids.contains(&m.id)) {
        if let Some(params) = method.def["parameters"].as_object() {
            for (name, p) in params {
                let mut found = constraint_sentences(p["description"].as_str());
                found.extend(parameter_facets(p));
                for sentence in found {
                    out.push(Constraint {
                        api: api.name(),
                        group: method.id.clone(),
                        keys: vec![method.id.clone(), name.clone()],
                        sentence,
                        source: source_file(api),
                    });
                }
            }
        }
        let mut queue: Vec<String> = ["request", "response"]
            .iter()
            .filter_map(|k| method.def[*k]["$ref"].as_str().map(str::to_string))
            .collect();
        while let Some(name) = queue.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(schema) = doc.schema(&name) else {
                continue;
            };
            if let Some(props) = schema["properties"].as_object() {
                for (field, def) in props {
                    walk_field(api, &name, field, def, &mut queue, out);
                }
            }
        }
    }
}

/// Every constraint of every method the emulator serves, and the served ids no document knows.
fn served_constraints() -> (Vec<Constraint>, Vec<String>) {
    let registry = csmrun_emulator::services::registry();
    let served: BTreeSet<String> = registry.method_ids().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut known = BTreeSet::new();
    for api in Api::ALL {
        let doc = document(api);
        known.extend(doc.methods.iter().map(|m| m.id.clone()));
        constraints(doc, &served, &mut out);
    }
    let unknown = served.difference(&known).cloned().collect();
    out.sort();
    out.dedup();
    (out, unknown)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn ledger() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("FIDELITY.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The ledger lines: list items that carry a category.
fn entries(ledger: &str) -> Vec<&str> {
    ledger
        .lines()
        .filter(|l| l.starts_with("- ") && CATEGORIES.iter().any(|c| l.contains(c)))
        .collect()
}

/// Test names cited as ``test `name` `` (also ``tests `a`, `b` ``) in a ledger line.
fn cited_tests(line: &str) -> Vec<String> {
    let Some(at) = line.find(" — modelled: ") else {
        return Vec::new();
    };
    let tail = &line[at..];
    let mut out = Vec::new();
    let mut rest = tail;
    while let Some(i) = rest.find("test") {
        // Only the word "test"/"tests", not "latest `x`" or "contest".
        let word_start = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_');
        rest = &rest[i + 4..];
        if !word_start {
            continue;
        }
        let after = rest.strip_prefix('s').unwrap_or(rest);
        let mut list = after.trim_start();
        if !list.starts_with('`') {
            continue;
        }
        // A run of backticked names separated by commas / "and".
        while let Some(body) = list.strip_prefix('`') {
            let Some(end) = body.find('`') else { break };
            out.push(body[..end].to_string());
            list = body[end + 1..].trim_start();
            list = list
                .strip_prefix(',')
                .or_else(|| list.strip_prefix("and"))
                .unwrap_or(list)
                .trim_start();
        }
    }
    out
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Names of functions marked `#[test]` or `#[tokio::test]` anywhere in the repository.
fn test_functions() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_sources(&repo_root(), &mut files);
    let mut out = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut armed = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                armed = true;
                continue;
            }
            if !armed || line.starts_with("#[") || line.starts_with("//") || line.is_empty() {
                continue;
            }
            armed = false;
            let sig = line.trim_start_matches("pub ").trim_start_matches("async ");
            if let Some(name) = sig.strip_prefix("fn ") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_constraint_of_a_served_method_has_a_ledger_entry() {
    let (all, unknown) = served_constraints();
    assert!(
        unknown.is_empty(),
        "handlers registered for method ids no embedded discovery document has: {unknown:?}"
    );
    assert!(
        all.len() > 100,
        "only {} constraints found; the walk is broken",
        all.len()
    );
    let text = ledger();
    let lines = entries(&text);
    let missing: Vec<&Constraint> = all
        .iter()
        .filter(|c| !lines.iter().any(|l| c.covered_by(l)))
        .collect();
    if !missing.is_empty() {
        let mut report = String::new();
        let mut group = String::new();
        for c in &missing {
            let heading = format!("{} / {}", c.api, c.group);
            if heading != group {
                report.push_str(&format!("\n### {heading}\n"));
                group = heading;
            }
            report.push_str(&c.ledger_line());
            report.push('\n');
        }
        panic!(
            "{} of {} constraints Google states for the methods the emulator serves have no line in \
             emulator/FIDELITY.md. Classify each (read the emulator code) and paste it under its API and method:\n{report}",
            missing.len(),
            all.len()
        );
    }
}

#[test]
fn every_ledger_entry_is_classified_and_cites_tests_that_exist() {
    let text = ledger();
    let tests = test_functions();
    let mut problems = Vec::new();
    for line in entries(&text) {
        if line.contains("TODO") {
            problems.push(format!("unclassified (TODO): {line}"));
        }
        if line.contains(" — modelled: ") {
            let cited = cited_tests(line);
            if cited.is_empty() {
                problems.push(format!("modelled but cites no ``test `name` ``: {line}"));
            }
            for name in cited {
                if !tests.contains(&name) {
                    problems.push(format!(
                        "cites test `{name}`, which no #[test] fn has: {line}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn list_items_that_look_like_entries_carry_a_category() {
    // A line in the entry format whose category is misspelt would silently cover nothing; say so.
    let text = ledger();
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("- `") && l.contains("\" (") && !entries(&text).contains(l))
        .collect();
    assert!(
        bad.is_empty(),
        "ledger lines without ` — modelled: `, ` — not modelled: ` or ` — differs: `:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_sentence_splitter_keeps_abbreviations_and_decimals_whole() {
    let got = sentences(
        "Required. The name, e.g. `a.b`.  Must be at most 1.5 s. [Output Only] Set by\n server.",
    );
    assert_eq!(
        got,
        vec![
            "Required.",
            "The name, e.g. `a.b`.",
            "Must be at most 1.5 s.",
            "[Output Only] Set by server."
        ]
    );
    assert!(is_constraint("[Output Only] Set by server."));
    assert!(!is_constraint("The name of the service."));
}

#[test]
fn cited_test_names_are_read_from_the_modelled_part_only() {
    let line = "- `a.b` `c`: \"Must be x.\" (run.v2.json) — modelled: refuses; tests `one`, `two` and `three`";
    assert_eq!(cited_tests(line), vec!["one", "two", "three"]);
    let line = "- `a.b` `c`: \"Must be x.\" (run.v2.json) — modelled: keeps the latest `value`; test `one`";
    assert_eq!(cited_tests(line), vec!["one"]);
    let line = "- `a.b` `c`: \"the test `x` is\" (run.v2.json) — not modelled: never sent";
    assert!(cited_tests(line).is_empty());
}
