//! Property test over the provider's and the resource's schemas, through the real gRPC surface (in memory): every
//! attribute, at every depth of the resource's blocks, set to generated hostile values of its type (huge and
//! negative numbers, fractions, infinities, long strings, path and URL characters, control and bidirectional
//! characters, empty values, unknowns, huge collections). Each must end in a diagnostic on that attribute or a
//! valid plan: never a panic (which would break the connection), never a diagnostic that blames another
//! attribute, and a configuration with errors makes no API call (the emulator's request log stays empty).

use std::collections::BTreeMap;
use std::str::FromStr;

use csmrun::provider::CsmrunProvider;
use csmrun_emulator::{Config, Emulator};
use tfplug::plugin::testing::in_memory;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::provider::Provider;
use tfplug::schema::{Block, Nesting};
use tfplug::value::{msgpack, Number, Type, Value};

fn dv(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: msgpack::encode(v, ty).expect("encode"),
        json: Vec::new(),
    }
}

/// A valid value for a required attribute, by name.
fn sample(name: &str, ty: &Type) -> Value {
    let s = match name {
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
    match ty {
        Type::Number => Value::from(50i64),
        Type::Bool => Value::Bool(true),
        _ => Value::string(s),
    }
}

/// The block as configuration: required attributes sampled, the rest null, nested blocks absent.
fn base(block: &Block) -> Value {
    let mut attrs = BTreeMap::new();
    for a in &block.attributes {
        let v = if a.required {
            sample(&a.name, &a.ty)
        } else {
            Value::Null
        };
        attrs.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let v = match b.nesting {
            Nesting::Single => Value::Null,
            Nesting::Set => Value::Set(Vec::new()),
            Nesting::Map => Value::Map(BTreeMap::new()),
            _ => Value::List(Vec::new()),
        };
        attrs.insert(b.name.clone(), v);
    }
    Value::Object(attrs)
}

fn hostile_strings() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "a".repeat(40_000),
        "../../global/backendServices/foreign".into(),
        "%2e%2e%2f".into(),
        "x?alt=json&fields=*".into(),
        "x#y".into(),
        "\u{0}".into(),
        "\u{202e}lper".into(),
        "名前".into(),
        "${var.x}".into(),
        "-1".into(),
        "1e999".into(),
        "99999999999999999999h".into(),
        "-5s".into(),
        "line\nbreak".into(),
    ]
}

fn hostile(ty: &Type) -> Vec<Value> {
    let mut out = vec![Value::Unknown];
    match ty {
        Type::String => out.extend(hostile_strings().into_iter().map(Value::String)),
        Type::Number => {
            for n in [
                "9223372036854775807",
                "-9223372036854775808",
                "18446744073709551616",
                "1e400",
                "-1",
                "0",
                "0.5",
                "-0.000001",
            ] {
                out.push(Value::Number(Number::from_str(n).expect("a number")));
            }
            out.push(Value::Number(Number::infinity()));
            out.push(Value::Number(Number::neg_infinity()));
        }
        Type::Bool => out.extend([Value::Bool(true), Value::Bool(false)]),
        Type::List(inner) | Type::Set(inner) => {
            let wrap = |items: Vec<Value>| match ty {
                Type::Set(_) => Value::Set(items),
                _ => Value::List(items),
            };
            out.push(wrap(Vec::new()));
            for v in hostile(inner).into_iter().skip(1) {
                out.push(wrap(vec![v]));
            }
            out.push(wrap(
                (0..2_000)
                    .map(|i| {
                        Value::string(format!("serviceAccount:a{i}@p.iam.gserviceaccount.com"))
                    })
                    .collect(),
            ));
        }
        Type::Map(_) => {
            out.push(Value::Map(BTreeMap::new()));
            for k in hostile_strings() {
                out.push(Value::Map(BTreeMap::from([(k, Value::string("v"))])));
            }
            for v in hostile_strings() {
                out.push(Value::Map(BTreeMap::from([(
                    "K".to_string(),
                    Value::String(v),
                )])));
            }
            out.push(Value::Map(
                (0..2_000)
                    .map(|i| (format!("K{i}"), Value::string("v".repeat(1_000))))
                    .collect(),
            ));
        }
        _ => {}
    }
    out
}

/// One step of a path: an attribute, or element 0 of a block list.
#[derive(Clone, Debug)]
enum Step {
    Attr(String),
    First,
}

/// Every (path, type) of an attribute the configuration can set, with one element of each nested block on the way.
fn settable(block: &Block, prefix: &[Step], out: &mut Vec<(Vec<Step>, Type)>) {
    for a in &block.attributes {
        if a.required || a.optional {
            let mut p = prefix.to_vec();
            p.push(Step::Attr(a.name.clone()));
            out.push((p, a.ty.clone()));
        }
    }
    for b in &block.blocks {
        let mut p = prefix.to_vec();
        p.push(Step::Attr(b.name.clone()));
        if !matches!(b.nesting, Nesting::Single) {
            p.push(Step::First);
        }
        settable(&b.block, &p, out);
    }
}

/// `config` with one element of every block on `path` (valid blocks: required attributes sampled), and the
/// attribute at the end of `path` set to `value`.
fn with(config: &Value, block: &Block, path: &[Step], value: Value) -> Value {
    let mut config = config.clone();
    set(&mut config, block, path, value);
    config
}

fn set(node: &mut Value, block: &Block, path: &[Step], value: Value) {
    let Some((Step::Attr(name), rest)) = path.split_first() else {
        return;
    };
    let Value::Object(attrs) = node else {
        return;
    };
    if rest.is_empty() {
        attrs.insert(name.clone(), value);
        return;
    }
    let Some(nested) = block.blocks.iter().find(|b| &b.name == name) else {
        return;
    };
    match rest.split_first() {
        Some((Step::First, deeper)) => {
            let mut element = base(&nested.block);
            set(&mut element, &nested.block, deeper, value);
            attrs.insert(name.clone(), Value::List(vec![element]));
        }
        _ => {
            let mut element = base(&nested.block);
            set(&mut element, &nested.block, rest, value);
            attrs.insert(name.clone(), element);
        }
    }
}

/// The path as the wire renders it, for comparing with a diagnostic's.
fn wire_path(path: &[Step]) -> Vec<String> {
    path.iter()
        .map(|s| match s {
            Step::Attr(n) => n.clone(),
            Step::First => "[0]".into(),
        })
        .collect()
}

fn diag_path(d: &pb::Diagnostic) -> Vec<String> {
    use pb::attribute_path::step::Selector;
    let Some(p) = &d.attribute else {
        return Vec::new();
    };
    p.steps
        .iter()
        .filter_map(|s| match s.selector.as_ref()? {
            Selector::AttributeName(n) => Some(n.clone()),
            Selector::ElementKeyInt(i) => Some(format!("[{i}]")),
            Selector::ElementKeyString(k) => Some(format!("[{k:?}]")),
        })
        .collect()
}

fn is_error(d: &pb::Diagnostic) -> bool {
    d.severity == pb::diagnostic::Severity::Error as i32
}

/// Errors that blame neither `path` nor an attribute of the block that holds it (a value can make a sibling
/// required: `delay` set needs `delay_percent`), nor the block itself.
fn misplaced<'a>(diags: &'a [pb::Diagnostic], path: &[String]) -> Vec<&'a pb::Diagnostic> {
    let holder = &path[..path.len().saturating_sub(1)];
    diags
        .iter()
        .filter(|d| is_error(d))
        .filter(|d| {
            let p = diag_path(d);
            let n = p.len().min(holder.len());
            p.is_empty() || p[..n] != holder[..n]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_of_every_attribute_give_a_diagnostic_on_it_or_a_valid_plan_and_never_a_panic(
) {
    let emu = Emulator::start(Config::default()).await.expect("emulator");
    // The provider's clients reach the emulator (and only it) when a plan calls out.
    std::env::set_var(
        "CSMRUN_EMULATOR_HOST",
        emu.base_url().trim_start_matches("http://"),
    );
    let mut c = in_memory(CsmrunProvider).await.expect("in-memory provider");
    let provider_ty = CsmrunProvider.schema().ty();
    let provider_block = CsmrunProvider.schema().block;
    let configured = c
        .provider
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.0.3".into(),
            config: Some(dv(
                &with(
                    &with(
                        &base(&provider_block),
                        &provider_block,
                        &[Step::Attr("project".into())],
                        Value::string("demo-project"),
                    ),
                    &provider_block,
                    &[Step::Attr("region".into())],
                    Value::string("asia-northeast1"),
                ),
                &provider_ty,
            )),
        })
        .await
        .expect("ConfigureProvider answers")
        .into_inner();
    assert!(
        !configured.diagnostics.iter().any(is_error),
        "{:?}",
        configured.diagnostics
    );

    let schema = csmrun::service::schema::schema();
    let ty = schema.ty();
    let root = base(&schema.block);
    let mut paths = Vec::new();
    settable(&schema.block, &[], &mut paths);
    let mut cases = 0usize;
    let mut planned = 0usize;
    let mut refused = 0usize;
    let mut problems = Vec::new();
    for (path, attr_ty) in &paths {
        // The blocks on the way, valid on their own: what the hostile value adds is judged against this.
        let baseline = with(&root, &schema.block, path, Value::Null);
        let baseline_errors = c
            .provider
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "csmrun_service".into(),
                config: Some(dv(&baseline, &ty)),
            })
            .await
            .expect("ValidateResourceConfig answers")
            .into_inner()
            .diagnostics;
        for value in hostile(attr_ty) {
            cases += 1;
            let config = with(&root, &schema.block, path, value.clone());
            let shown = format!("{:?} = {:.80}", wire_path(path), format!("{value:?}"));
            let calls_before = emu.requests().len();
            let validated = match c
                .provider
                .validate_resource_config(pb::validate_resource_config::Request {
                    type_name: "csmrun_service".into(),
                    config: Some(dv(&config, &ty)),
                })
                .await
            {
                Ok(r) => r.into_inner().diagnostics,
                Err(status) => {
                    problems.push(format!("{shown}: ValidateResourceConfig failed: {status}"));
                    continue;
                }
            };
            let new_errors: Vec<pb::Diagnostic> = validated
                .iter()
                .filter(|d| is_error(d) && !baseline_errors.contains(d))
                .cloned()
                .collect();
            let wrong = misplaced(&new_errors, &wire_path(path));
            if !wrong.is_empty() {
                problems.push(format!("{shown}: errors on other attributes: {wrong:?}"));
            }
            if validated.iter().any(is_error) {
                refused += 1;
                let calls = emu.requests().len().saturating_sub(calls_before);
                if calls > 0 {
                    problems.push(format!("{shown}: refused, yet {calls} API calls were made"));
                }
                continue;
            }
            let plan = match c
                .provider
                .plan_resource_change(pb::plan_resource_change::Request {
                    type_name: "csmrun_service".into(),
                    prior_state: Some(dv(&Value::Null, &ty)),
                    proposed_new_state: Some(dv(&config, &ty)),
                    config: Some(dv(&config, &ty)),
                    prior_private: Vec::new(),
                    provider_meta: None,
                })
                .await
            {
                Ok(r) => r.into_inner(),
                Err(status) => {
                    problems.push(format!("{shown}: PlanResourceChange failed: {status}"));
                    continue;
                }
            };
            let wrong = misplaced(&plan.diagnostics, &wire_path(path));
            if !wrong.is_empty() {
                problems.push(format!(
                    "{shown}: plan errors on other attributes: {wrong:?}"
                ));
            }
            planned += 1;
        }
    }
    eprintln!(
        "{} attributes, {cases} hostile values: {refused} refused at validate, {planned} planned",
        paths.len()
    );
    assert!(
        paths.len() > 40,
        "every settable attribute: {}",
        paths.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems: {problems:#?}",
        problems.len()
    );
}
