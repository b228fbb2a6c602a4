//! Configurations of `csmrun_service` into the provider's decode and validation, as ValidateResourceConfig runs
//! them: they must return problems or none, never panic. Two ways in, chosen by the first byte:
//! - raw bytes as the msgpack Terraform sends, decoded against the resource's schema type;
//! - a valid configuration with attributes at every depth replaced by values generated from the bytes (huge,
//!   negative and fractional numbers, infinities, long, empty and control-character strings, unknowns, nulls,
//!   collections), which reaches the validation rules far more often than raw bytes do.
//!
//! A configuration that validates must also pass the checks a state read from disk gets (`check_state`), since
//! a valid plan becomes that state.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tfplug::schema::{Block, Nesting};
use tfplug::value::{from_value, msgpack};
use tfplug::{Number, Type, Value};

#[allow(dead_code, unused_imports)]
mod service;

use service::model::ServiceModel;

/// Reads the fuzzer's bytes as a stream of choices; an exhausted stream reads zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// Values a Terraform user could write that validation must refuse or accept without arithmetic overflow.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.5",
    "-0.000001",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "1e400",
    "3.4028236e38",
    "100000000000000000000000000000000000000000",
    "+Inf",
    "-Inf",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "x",
    "-",
    "..",
    "../../../global/backendServices/x",
    "a?alt=json",
    "a#b",
    "a/b",
    "%2e%2e",
    "9999999999999999999999h",
    "1.5s",
    "-1s",
    "0s",
    "PT1S",
    "1e9s",
    "\u{0}",
    "\u{202e}abc",
    "ａｂｃ",
    "3.4028236e38ms",
    "A",
    "1Gi",
    "9999999999Gi",
    "0.0001",
    "1000000",
    "DELETE",
    "PREVENT",
];

fn number(b: &mut Bytes) -> Value {
    let pick = b.byte();
    let n = if pick < 128 {
        NUMBERS[usize::from(pick) % NUMBERS.len()]
            .parse::<Number>()
            .ok()
    } else {
        let raw = b.take(8);
        let mut eight = [0u8; 8];
        eight[..raw.len()].copy_from_slice(raw);
        let i = i64::from_le_bytes(eight);
        if pick & 1 == 0 {
            Some(Number::from(i))
        } else {
            Number::try_from(f64::from_bits(i as u64)).ok()
        }
    };
    n.map(Value::Number).unwrap_or(Value::Null)
}

fn string(b: &mut Bytes) -> Value {
    let pick = b.byte();
    if pick < 128 {
        return Value::string(STRINGS[usize::from(pick) % STRINGS.len()]);
    }
    let len = usize::from(b.byte());
    let text = String::from_utf8_lossy(b.take(len)).into_owned();
    // Long strings come from repeating what the bytes gave, so 64 bytes of input can make a 10 MB value.
    if pick & 1 == 1 {
        Value::string(text.repeat(usize::from(b.byte()) * 64))
    } else {
        Value::string(text)
    }
}

/// A value of `ty` generated from the bytes, `depth` levels into collections.
fn generate(ty: &Type, b: &mut Bytes, depth: u8) -> Value {
    match b.byte() % 16 {
        0 => return Value::Null,
        1 => return Value::Unknown,
        _ => {}
    }
    match ty {
        Type::Bool => Value::Bool(b.byte() & 1 == 1),
        Type::Number => number(b),
        Type::String | Type::Dynamic => string(b),
        Type::List(e) | Type::Set(e) => {
            let n = if depth > 2 { 0 } else { b.byte() % 4 };
            let items: Vec<Value> = (0..n).map(|_| generate(e, b, depth + 1)).collect();
            if matches!(ty, Type::List(_)) {
                Value::List(items)
            } else {
                // A set holds each value once, as Terraform sends it.
                let mut unique: Vec<Value> = Vec::new();
                for v in items {
                    if !unique.contains(&v) {
                        unique.push(v);
                    }
                }
                Value::Set(unique)
            }
        }
        Type::Map(e) => {
            let n = if depth > 2 { 0 } else { b.byte() % 4 };
            let mut m = BTreeMap::new();
            for _ in 0..n {
                let k = match string(b) {
                    Value::String(s) => s,
                    _ => String::new(),
                };
                m.insert(k, generate(e, b, depth + 1));
            }
            Value::Map(m)
        }
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| (k.clone(), generate(t, b, depth + 1)))
                .collect(),
        ),
        Type::Tuple(ts) => Value::Tuple(ts.iter().map(|t| generate(t, b, depth + 1)).collect()),
    }
}

/// A valid configuration of `block`: its required attributes set, everything else null, no nested blocks.
fn base(block: &Block) -> Value {
    let sample = |name: &str| match name {
        "name" => "orders",
        "image" => "asia-northeast1-docker.pkg.dev/demo-project/apps/orders:1",
        "mesh" => "meshapps",
        "domain" => "meshapps.internal",
        "network" => "mesh-vpc",
        "subnetwork" => "mesh-subnet",
        "service_account" => "orders@demo-project.iam.gserviceaccount.com",
        "backend_service" => "target-backend",
        _ => "x",
    };
    let mut attrs: BTreeMap<String, Value> = block
        .attributes
        .iter()
        .map(|a| {
            let v = match (&a.ty, a.required) {
                (Type::String, true) => Value::string(sample(&a.name)),
                (Type::Number, true) => Value::Number(Number::from(50i64)),
                (Type::Bool, true) => Value::Bool(true),
                _ => Value::Null,
            };
            (a.name.clone(), v)
        })
        .collect();
    for nb in &block.blocks {
        let v = match nb.nesting {
            Nesting::Single => Value::Null,
            Nesting::Group => base(&nb.block),
            Nesting::List => Value::List(Vec::new()),
            Nesting::Set => Value::Set(Vec::new()),
            Nesting::Map => Value::Map(BTreeMap::new()),
        };
        attrs.insert(nb.name.clone(), v);
    }
    Value::Object(attrs)
}

/// Replaces attributes of `v` (a configuration of `block`) by generated values, and adds nested blocks, each a
/// valid one mutated in turn.
fn mutate(v: &mut Value, block: &Block, b: &mut Bytes, depth: u8) {
    let Value::Object(vals) = v else {
        return;
    };
    for a in &block.attributes {
        // Zero (also what an exhausted input reads) keeps the attribute as it is.
        if b.byte() % 3 == 1 {
            if let Some(slot) = vals.get_mut(&a.name) {
                *slot = generate(&a.ty, b, depth);
            }
        }
    }
    for nb in &block.blocks {
        if b.byte() % 3 != 1 || depth > 3 {
            continue;
        }
        let mut item = base(&nb.block);
        mutate(&mut item, &nb.block, b, depth + 1);
        let Some(slot) = vals.get_mut(&nb.name) else {
            continue;
        };
        match (nb.nesting, slot) {
            (Nesting::List, Value::List(items)) | (Nesting::Set, Value::Set(items)) => {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            (Nesting::Map, Value::Map(items)) => {
                items.insert(format!("k{}", items.len()), item);
            }
            (_, slot) => *slot = item,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let schema = service::schema::schema();
    let ty = schema.block.ty();
    let mut b = Bytes(data);
    let raw = b.byte() & 1 == 0;
    let unmutated = !raw && b.0.is_empty();
    let config = if raw {
        match msgpack::decode(b.0, &ty) {
            Ok(v) => v,
            Err(_) => return,
        }
    } else {
        let mut v = base(&schema.block);
        mutate(&mut v, &schema.block, &mut b, 0);
        v
    };
    // A value of the wrong shape is Terraform's to refuse; what reaches the provider decodes or errors.
    let decoded = from_value::<ServiceModel>(&config, &ty);
    // The harness's own check: the configuration mutations start from is valid, or they would only ever
    // exercise the decoder's refusals.
    if unmutated {
        let m = decoded.as_ref().expect("the base configuration decodes");
        assert_eq!(
            service::validate::validate(m),
            Vec::new(),
            "the base configuration is valid"
        );
    }
    let Ok(m) = decoded else {
        return;
    };
    let problems = service::validate::validate(&m);
    for p in &problems {
        assert!(!p.summary.is_empty(), "a problem without a summary: {p:?}");
    }
    if problems.is_empty() && config.is_wholly_known() {
        let _ = service::validate::check_state(&m);
    }
});
