//! State JSON codec tests (the RawState.json that UpgradeResourceState receives).

use tfplug::value::{json, AttributePath, Number, Type, Value};

fn num(s: &str) -> Value {
    Value::Number(s.parse::<Number>().unwrap())
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn service_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("port", Type::Number),
        ("big", Type::Number),
        ("labels", Type::map(Type::String)),
        (
            "route",
            Type::list(Type::object([
                ("weight", Type::Number),
                ("tag", Type::String),
            ])),
        ),
        ("added_later", Type::Bool),
    ])
}

#[test]
fn state_json_decodes_with_missing_attributes_as_null() {
    let state = br#"{"name":"svc","port":8080,"big":123456789012345678901234567890.5,
        "labels":{"team":"a"},"route":[{"weight":0.25,"tag":"blue"}]}"#;
    let v = json::decode(state, &service_type()).unwrap();
    assert_eq!(v.get_attr("name"), Some(&Value::string("svc")));
    assert_eq!(v.get_attr("port"), Some(&num("8080")));
    assert_eq!(
        v.get_attr("big").unwrap().as_number().unwrap().to_string(),
        "123456789012345678901234567890.5"
    );
    assert_eq!(v.get_attr("added_later"), Some(&Value::Null));
    assert_eq!(
        v.at_path(&AttributePath::root().attr("route").index(0).attr("weight")),
        Some(&num("0.25"))
    );
    assert_eq!(
        v.at_path(&AttributePath::root().attr("labels").key("team")),
        Some(&Value::string("a"))
    );
}

#[test]
fn state_json_with_an_unknown_attribute_is_an_error_naming_it() {
    let e = json::decode(
        br#"{"name":"svc","route":[{"weight":1,"colour":"red"}]}"#,
        &service_type(),
    )
    .unwrap_err();
    assert_eq!(
        e.path(),
        &AttributePath::root().attr("route").index(0).attr("colour")
    );
    assert!(
        e.to_string()
            .starts_with("route[0].colour: unsupported attribute"),
        "{e}"
    );
}

#[test]
fn state_json_wrong_type_names_the_path() {
    let e = json::decode(br#"{"labels":{"team":[1]}}"#, &service_type()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "labels[\"team\"]: expected \"string\", found an array"
    );
    assert!(json::decode(b"{", &service_type())
        .unwrap_err()
        .to_string()
        .contains("invalid state JSON"));
}

#[test]
fn huge_and_tiny_numbers_keep_every_digit() {
    let ty = Type::object([("n", Type::Number)]);
    let v = json::decode(br#"{"n":1e400}"#, &ty).unwrap();
    assert_eq!(v.get_attr("n"), Some(&num("1e400")));
    let v = json::decode(br#"{"n":-0.000000000000000000000000000001}"#, &ty).unwrap();
    assert_eq!(v.get_attr("n"), Some(&num("-1e-30")));
    let out = json::encode(&obj(&[("n", num("123456789012345678901234567890.5"))]), &ty).unwrap();
    assert_eq!(out, br#"{"n":123456789012345678901234567890.5}"#);
}

#[test]
fn primitives_convert_like_cty() {
    let ty = Type::object([("n", Type::Number), ("b", Type::Bool), ("s", Type::String)]);
    let v = json::decode(br#"{"n":"12.5","b":"true","s":7}"#, &ty).unwrap();
    assert_eq!(
        v,
        obj(&[
            ("n", num("12.5")),
            ("b", Value::Bool(true)),
            ("s", Value::string("7"))
        ])
    );
}

#[test]
fn sets_tuples_and_dynamic_values_decode() {
    let ty = Type::object([
        ("tags", Type::set(Type::String)),
        ("pair", Type::Tuple(vec![Type::String, Type::Number])),
        ("any", Type::Dynamic),
    ]);
    let v = json::decode(
        br#"{"tags":["b","a","b"],"pair":["x",1],"any":{"value":["a"],"type":["list","string"]}}"#,
        &ty,
    )
    .unwrap();
    assert_eq!(
        v.get_attr("tags"),
        Some(&Value::Set(vec![Value::string("a"), Value::string("b")]))
    );
    assert_eq!(
        v.get_attr("pair"),
        Some(&Value::Tuple(vec![Value::string("x"), num("1")]))
    );
    assert_eq!(
        v.get_attr("any"),
        Some(&Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::List(vec![Value::string("a")]))
        ))
    );
}

#[test]
fn encode_writes_every_attribute_in_name_order() {
    let ty = Type::object([
        ("b", Type::String),
        ("a", Type::list(Type::Number)),
        ("d", Type::Dynamic),
    ]);
    let v = obj(&[
        ("a", Value::List(vec![num("1"), num("0.5")])),
        ("b", Value::Null),
        (
            "d",
            Value::Dynamic(Type::String, Box::new(Value::string("x"))),
        ),
    ]);
    let out = json::encode(&v, &ty).unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"a":[1,0.5],"b":null,"d":{"value":"x","type":"string"}}"#
    );
    assert_eq!(json::decode(&out, &ty).unwrap(), v);
}

#[test]
fn encode_refuses_unknowns_and_infinities() {
    let ty = Type::object([("a", Type::Number)]);
    let e = json::encode(&obj(&[("a", Value::Unknown)]), &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a: an unknown value cannot be written as JSON"
    );
    let e = json::encode(&obj(&[("a", Value::Number(Number::infinity()))]), &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("a"));
}

/// Found by the json_state_decode fuzz target: a number given as the string "+inf" is
/// infinity (cty's big.Float parser agrees), which JSON cannot express on the way back.
#[test]
fn infinity_strings_decode_but_do_not_encode() {
    let v = json::decode(br#""+inf""#, &Type::Number).unwrap();
    assert_eq!(v, Value::Number(Number::infinity()));
    let e = json::encode(&v, &Type::Number).unwrap_err();
    assert!(e.message().contains("infinite"), "{e}");
    assert_eq!(
        json::decode(br#""-Inf""#, &Type::Number).unwrap(),
        Value::Number(Number::neg_infinity())
    );
}

#[test]
fn typed_null_in_a_dynamic_attribute_keeps_its_type() {
    let ty = Type::object([("any", Type::Dynamic)]);
    let text = br#"{"any":{"value":null,"type":"string"}}"#;
    let v = json::decode(text, &ty).unwrap();
    assert_eq!(
        v.get_attr("any"),
        Some(&Value::Dynamic(Type::String, Box::new(Value::Null)))
    );
    assert_eq!(json::encode(&v, &ty).unwrap(), text.to_vec());
}
