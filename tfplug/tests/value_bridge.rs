//! serde bridge tests: typed structs to and from values, unknowns carried by `Val`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tfplug::value::{from_value, msgpack, to_value, AttributePath, Number, Type, Val, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Ingress {
    All,
    InternalOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Route {
    tag: String,
    weight: Val<i64>,
    url: Val<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Service {
    name: String,
    id: Val<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    ingress: Ingress,
    max_instances: Val<u32>,
    cpu: f64,
    big: Number,
    labels: BTreeMap<String, String>,
    hosts: BTreeSet<String>,
    route: Vec<Route>,
    probe: Option<Probe>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Probe {
    path: String,
    period: Val<i64>,
}

fn route_type() -> Type {
    Type::object([
        ("tag", Type::String),
        ("weight", Type::Number),
        ("url", Type::String),
    ])
}

fn service_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("id", Type::String),
        ("description", Type::String),
        ("ingress", Type::String),
        ("max_instances", Type::Number),
        ("cpu", Type::Number),
        ("big", Type::Number),
        ("labels", Type::map(Type::String)),
        ("hosts", Type::set(Type::String)),
        ("route", Type::list(route_type())),
        (
            "probe",
            Type::object([("path", Type::String), ("period", Type::Number)]),
        ),
    ])
}

fn sample() -> Service {
    Service {
        name: "svc".into(),
        id: Val::Unknown,
        description: None,
        ingress: Ingress::InternalOnly,
        max_instances: Val::Known(3),
        cpu: 0.5,
        big: "123456789012345678901234567890.5".parse().unwrap(),
        labels: BTreeMap::from([("team".into(), "a".into())]),
        hosts: BTreeSet::from(["b.example".into(), "a.example".into()]),
        route: vec![
            Route {
                tag: "blue".into(),
                weight: Val::Known(90),
                url: Val::Unknown,
            },
            Route {
                tag: "green".into(),
                weight: Val::Unknown,
                url: Val::Null,
            },
        ],
        probe: Some(Probe {
            path: "/healthz".into(),
            period: Val::Unknown,
        }),
    }
}

fn num(s: &str) -> Value {
    Value::Number(s.parse().unwrap())
}

#[test]
fn struct_becomes_a_value_conforming_to_the_type() {
    let v = to_value(&sample(), &service_type()).unwrap();
    assert_eq!(v.get_attr("id"), Some(&Value::Unknown));
    // skipped field filled in as null
    assert_eq!(v.get_attr("description"), Some(&Value::Null));
    assert_eq!(v.get_attr("ingress"), Some(&Value::string("INTERNAL_ONLY")));
    assert_eq!(v.get_attr("max_instances"), Some(&num("3")));
    assert_eq!(v.get_attr("cpu"), Some(&num("0.5")));
    assert_eq!(
        v.get_attr("big"),
        Some(&num("123456789012345678901234567890.5"))
    );
    // a BTreeSet in a set-typed attribute is a Set
    assert_eq!(
        v.get_attr("hosts"),
        Some(&Value::Set(vec![
            Value::string("a.example"),
            Value::string("b.example")
        ]))
    );
    let route0 = AttributePath::root().attr("route").index(0);
    assert_eq!(
        v.at_path(&route0.clone().attr("url")),
        Some(&Value::Unknown)
    );
    assert_eq!(v.at_path(&route0.attr("weight")), Some(&num("90")));
    assert_eq!(
        v.at_path(&AttributePath::root().attr("probe").attr("period")),
        Some(&Value::Unknown)
    );
    // and the value is one msgpack accepts for the type
    msgpack::encode(&v, &service_type()).unwrap();
}

#[test]
fn unknowns_in_nested_blocks_round_trip_through_msgpack() {
    let ty = service_type();
    let bytes = msgpack::encode(&to_value(&sample(), &ty).unwrap(), &ty).unwrap();
    let back: Service = from_value(&msgpack::decode(&bytes, &ty).unwrap(), &ty).unwrap();
    assert_eq!(back, sample());
}

#[test]
fn a_vec_in_a_set_typed_attribute_becomes_a_deduplicated_set() {
    #[derive(Serialize)]
    struct S {
        tags: Vec<&'static str>,
    }
    let ty = Type::object([("tags", Type::set(Type::String))]);
    let v = to_value(
        &S {
            tags: vec!["b", "a", "b"],
        },
        &ty,
    )
    .unwrap();
    assert_eq!(
        v.get_attr("tags"),
        Some(&Value::Set(vec![Value::string("a"), Value::string("b")]))
    );
}

#[test]
fn unknown_into_a_plain_field_is_an_error_naming_the_path() {
    let ty = service_type();
    let mut v = to_value(&sample(), &ty).unwrap();
    if let Value::Object(attrs) = &mut v {
        attrs.insert("name".into(), Value::Unknown);
    }
    let e = from_value::<Service>(&v, &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("name"));
    assert!(e.to_string().contains("unknown"), "{e}");

    let mut v = to_value(&sample(), &ty).unwrap();
    if let Value::Object(attrs) = &mut v {
        let route = Value::List(vec![Value::object([
            ("tag", Value::Unknown),
            ("weight", Value::Null),
            ("url", Value::Null),
        ])]);
        attrs.insert("route".into(), route);
    }
    let e = from_value::<Service>(&v, &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "route[0].tag: value is unknown (not known until apply); use Val<T> for this field"
    );
}

#[test]
fn null_into_a_required_field_is_an_error_naming_the_path() {
    let ty = service_type();
    let mut v = to_value(&sample(), &ty).unwrap();
    if let Value::Object(attrs) = &mut v {
        attrs.insert(
            "probe".into(),
            Value::object([("path", Value::Null), ("period", Value::Null)]),
        );
    }
    let e = from_value::<Service>(&v, &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("probe").attr("path"));
}

#[test]
fn wrong_values_are_errors_naming_the_path() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct S {
        count: u8,
    }
    let ty = Type::object([("count", Type::Number)]);
    let e = from_value::<S>(&Value::object([("count", num("300"))]), &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("count"));
    // the value must fit the type given
    let e = from_value::<S>(&Value::object([("count", Value::string("x"))]), &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "count: a string value does not fit type \"number\""
    );
    // serializing something that does not fit the type
    #[derive(Serialize)]
    struct T {
        count: &'static str,
        other: bool,
    }
    let e = to_value(
        &T {
            count: "x",
            other: true,
        },
        &ty,
    )
    .unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("other"));
    let e = to_value(&BTreeMap::from([("count", "x")]), &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "count: a string value does not fit type \"number\""
    );
    let e = to_value(&BTreeMap::from([("count", f64::NAN)]), &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().key("count"));
}

#[test]
fn val_states_map_to_null_unknown_and_known() {
    let ty = Type::object([
        ("a", Type::Number),
        ("b", Type::Number),
        ("c", Type::Number),
    ]);
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        a: Val<i64>,
        b: Val<i64>,
        c: Val<i64>,
    }
    let s = S {
        a: Val::Known(1),
        b: Val::Null,
        c: Val::Unknown,
    };
    let v = to_value(&s, &ty).unwrap();
    assert_eq!(
        v,
        Value::object([("a", num("1")), ("b", Value::Null), ("c", Value::Unknown)])
    );
    assert_eq!(from_value::<S>(&v, &ty).unwrap(), s);
}

#[test]
fn option_fields_take_null_and_missing_attributes() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct S {
        a: Option<String>,
        b: Option<String>,
    }
    let ty = Type::object([("a", Type::String)]);
    let s: S = from_value(&Value::object([("a", Value::Null)]), &ty).unwrap();
    assert_eq!(s, S { a: None, b: None });
}

#[test]
fn numbers_fill_integer_float_and_number_fields() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        i: i32,
        f: f64,
        n: Number,
        v: Val<Number>,
    }
    let ty = Type::object([
        ("i", Type::Number),
        ("f", Type::Number),
        ("n", Type::Number),
        ("v", Type::Number),
    ]);
    let v = Value::object([
        ("i", num("-7")),
        ("f", num("0.1")),
        ("n", num("1e400")),
        ("v", num("2.5")),
    ]);
    let s: S = from_value(&v, &ty).unwrap();
    assert_eq!(s.i, -7);
    assert_eq!(s.f, 0.1);
    assert_eq!(s.n, "1e400".parse().unwrap());
    assert_eq!(s.v, Val::Known("2.5".parse().unwrap()));
    // back again, the big number survives exactly
    let back = to_value(&s, &ty).unwrap();
    assert_eq!(back.get_attr("n"), Some(&num("1e400")));
}

#[test]
fn dynamic_attributes_get_their_inferred_type() {
    #[derive(Serialize, Deserialize)]
    struct S {
        any: Vec<String>,
    }
    let ty = Type::object([("any", Type::Dynamic)]);
    let v = to_value(
        &S {
            any: vec!["x".into()],
        },
        &ty,
    )
    .unwrap();
    assert_eq!(
        v.get_attr("any"),
        Some(&Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::List(vec![Value::string("x")]))
        ))
    );
    let back: S = from_value(&v, &ty).unwrap();
    assert_eq!(back.any, vec!["x".to_string()]);
}

#[test]
fn enums_with_content_are_single_attribute_objects() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Traffic {
        Latest,
        Revision { name: String, percent: i64 },
    }
    let ty = Type::list(Type::Dynamic);
    let items = vec![
        Traffic::Latest,
        Traffic::Revision {
            name: "r1".into(),
            percent: 10,
        },
    ];
    let v = to_value(&items, &ty).unwrap();
    let back: Vec<Traffic> = from_value(&v, &ty).unwrap();
    assert_eq!(back, items);
}

#[test]
fn val_works_with_serde_json_too() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        a: Val<i64>,
        b: Val<i64>,
    }
    let s: S = serde_json::from_str(r#"{"a":1,"b":null}"#).unwrap();
    assert_eq!(
        s,
        S {
            a: Val::Known(1),
            b: Val::Null
        }
    );
    assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"a":1,"b":null}"#);
}

#[test]
fn null_collections_read_as_empty_for_plain_collection_fields() {
    // Older state JSON may lack a block entirely; it decodes as null.
    #[derive(Debug, PartialEq, Deserialize)]
    struct S {
        route: Vec<Route>,
        labels: BTreeMap<String, String>,
        hosts: BTreeSet<String>,
        tags: Option<Vec<String>>,
        env: Val<BTreeMap<String, Val<String>>>,
    }
    let ty = Type::object([
        ("route", Type::list(route_type())),
        ("labels", Type::map(Type::String)),
        ("hosts", Type::set(Type::String)),
        ("tags", Type::list(Type::String)),
        ("env", Type::map(Type::String)),
    ]);
    let v = tfplug::value::json::decode(b"{}", &ty).unwrap();
    let s: S = from_value(&v, &ty).unwrap();
    assert_eq!(
        s,
        S {
            route: vec![],
            labels: BTreeMap::new(),
            hosts: BTreeSet::new(),
            tags: None,
            env: Val::Null
        }
    );
}

#[test]
fn nested_val_collections_carry_unknown_elements() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        invokers: Val<Vec<Val<String>>>,
        env: Val<BTreeMap<String, Val<String>>>,
    }
    let ty = Type::object([
        ("invokers", Type::set(Type::String)),
        ("env", Type::map(Type::String)),
    ]);
    let s = S {
        invokers: Val::Known(vec![
            Val::Known("user:a".into()),
            Val::Unknown,
            Val::Unknown,
        ]),
        env: Val::Known(BTreeMap::from([
            ("A".into(), Val::Unknown),
            ("B".into(), Val::Known("b".into())),
        ])),
    };
    let v = to_value(&s, &ty).unwrap();
    // both unknown set elements survive (they may turn out different)
    assert_eq!(
        v.get_attr("invokers"),
        Some(&Value::Set(vec![
            Value::Unknown,
            Value::Unknown,
            Value::string("user:a")
        ]))
    );
    let bytes = msgpack::encode(&v, &ty).unwrap();
    let back: S = from_value(&msgpack::decode(&bytes, &ty).unwrap(), &ty).unwrap();
    assert_eq!(back.env, s.env);
    assert_eq!(
        back.invokers,
        Val::Known(vec![
            Val::Unknown,
            Val::Unknown,
            Val::Known("user:a".into())
        ])
    );
}

#[test]
fn raw_value_fields_pass_through_whole() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        name: String,
        any: Value,
    }
    let ty = Type::object([("name", Type::String), ("any", Type::Dynamic)]);
    let any = Value::Dynamic(
        Type::object([("n", Type::Number), ("id", Type::String)]),
        Box::new(Value::object([("n", num("1e400")), ("id", Value::Unknown)])),
    );
    let v = Value::object([("name", Value::string("x")), ("any", any.clone())]);
    let s: S = from_value(&v, &ty).unwrap();
    assert_eq!(s.any, any);
    assert_eq!(to_value(&s, &ty).unwrap(), v);
    // a typed null in a dynamic slot keeps its type too
    let typed_null = Value::Dynamic(Type::String, Box::new(Value::Null));
    let v = Value::object([("name", Value::string("x")), ("any", typed_null.clone())]);
    let s: S = from_value(&v, &ty).unwrap();
    assert_eq!(s.any, typed_null);
    assert_eq!(to_value(&s, &ty).unwrap(), v);
}

#[test]
fn raw_values_show_their_structure_to_other_formats() {
    let v = Value::object([
        ("a", Value::List(vec![num("1"), num("0.5"), Value::Null])),
        (
            "b",
            Value::Dynamic(Type::String, Box::new(Value::string("x"))),
        ),
    ]);
    let text = serde_json::to_string(&v).unwrap();
    assert_eq!(text, r#"{"a":[1,0.5,null],"b":"x"}"#);
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        back,
        Value::Map(BTreeMap::from([
            (
                "a".into(),
                Value::List(vec![num("1"), num("0.5"), Value::Null])
            ),
            ("b".into(), Value::string("x")),
        ]))
    );
}
