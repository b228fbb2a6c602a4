//! cty type JSON tests.

use tfplug::value::Type;

#[test]
fn types_write_compact_cty_json() {
    let cases = [
        (Type::String, r#""string""#),
        (Type::Number, r#""number""#),
        (Type::Bool, r#""bool""#),
        (Type::Dynamic, r#""dynamic""#),
        (Type::list(Type::String), r#"["list","string"]"#),
        (Type::set(Type::Number), r#"["set","number"]"#),
        (Type::map(Type::Bool), r#"["map","bool"]"#),
        (
            Type::object([("b", Type::String), ("a", Type::list(Type::Number))]),
            r#"["object",{"a":["list","number"],"b":"string"}]"#,
        ),
        (
            Type::object(Vec::<(String, Type)>::new()),
            r#"["object",{}]"#,
        ),
        (
            Type::Tuple(vec![Type::String, Type::Dynamic]),
            r#"["tuple",["string","dynamic"]]"#,
        ),
        (
            Type::object([("q\"uote", Type::String)]),
            r#"["object",{"q\"uote":"string"}]"#,
        ),
    ];
    for (ty, want) in cases {
        assert_eq!(String::from_utf8(ty.to_json()).unwrap(), want);
        assert_eq!(Type::from_json(want.as_bytes()).unwrap(), ty, "{want}");
    }
}

#[test]
fn object_optional_attribute_list_is_accepted_and_dropped() {
    let t = Type::from_json(br#"["object",{"a":"string","b":"number"},["b"]]"#).unwrap();
    assert_eq!(t, Type::object([("a", Type::String), ("b", Type::Number)]));
    assert_eq!(
        t.to_json(),
        br#"["object",{"a":"string","b":"number"}]"#.to_vec()
    );
}

#[test]
fn invalid_type_json_is_an_error() {
    for bad in [
        &b"\"strin\""[..],
        b"[\"list\"]",
        b"[\"list\",\"string\",1]",
        b"[\"object\",[]]",
        b"[\"tuple\",{}]",
        b"1",
        b"[1,2]",
        b"{",
    ] {
        let e = Type::from_json(bad).unwrap_err();
        assert!(e.to_string().contains("invalid type JSON"), "{e}");
    }
}
