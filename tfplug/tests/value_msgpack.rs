//! msgpack codec table tests. Every byte string is written by hand from the msgpack spec
//! (and go-cty's wire conventions), so these check the codec against the format, not itself.

use std::collections::BTreeMap;

use tfplug::value::{msgpack, AttributePath, Number, Type, Value};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

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

fn obj_type(pairs: &[(&str, Type)]) -> Type {
    Type::Object(
        pairs
            .iter()
            .map(|(k, t)| (k.to_string(), t.clone()))
            .collect(),
    )
}

fn decode(h: &str, ty: &Type) -> Value {
    msgpack::decode(&hex(h), ty).unwrap_or_else(|e| panic!("decoding {h} as {ty}: {e}"))
}

fn decode_err(h: &str, ty: &Type) -> String {
    match msgpack::decode(&hex(h), ty) {
        Ok(v) => panic!("decoding {h} as {ty} should fail, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn nil_decodes_as_null_for_every_type() {
    for ty in [
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::list(Type::String),
        obj_type(&[("a", Type::Bool)]),
    ] {
        assert_eq!(decode("c0", &ty), Value::Null, "{ty}");
    }
}

#[test]
fn every_ext_form_decodes_as_unknown() {
    let forms = [
        "d4 00 00",                               // fixext1, type 0: what cty writes
        "d5 00 00 00",                            // fixext2
        "d6 00 00 00 00 00",                      // fixext4
        "d7 00 00 00 00 00 00 00 00 00",          // fixext8
        "d8 00 00000000000000000000000000000000", // fixext16
        "c7 00 00",                               // ext8, empty payload
        "c7 03 0c 81 01 c3", // ext8, type 12: refined unknown {1: true} (not null)
        "c7 07 0c 82 01 c3 02 a2 61 62", // refined: not null, string prefix "ab"
        "c7 09 0c 82 03 92 01 c3 04 92 0a c2", // refined number bounds [1, true], [10, false]
        "d4 0c 00",          // fixext1 with type 12
        "d4 7f 00",          // an ext code nobody defined
        "c8 00 01 05 00",    // ext16
        "c9 00 00 00 01 07 00", // ext32
    ];
    for ty in [
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::set(Type::Number),
        obj_type(&[("a", Type::Bool)]),
    ] {
        for form in forms {
            assert_eq!(decode(form, &ty), Value::Unknown, "{form} as {ty}");
        }
    }
}

#[test]
fn unknown_encodes_as_fixext1_type_zero() {
    assert_eq!(
        msgpack::encode(&Value::Unknown, &Type::String).unwrap(),
        hex("d4 00 00")
    );
    assert_eq!(
        msgpack::encode(&Value::Unknown, &Type::Dynamic).unwrap(),
        hex("d4 00 00")
    );
}

#[test]
fn unknown_inside_an_object_is_decoded_per_attribute() {
    let ty = obj_type(&[("id", Type::String), ("name", Type::String)]);
    let v = decode("82 a2 69 64 c7 03 0c 81 01 c3 a4 6e 61 6d 65 a1 78", &ty);
    assert_eq!(
        v,
        obj(&[("id", Value::Unknown), ("name", Value::string("x"))])
    );
    assert!(!v.is_wholly_known());
}

#[test]
fn integers_of_every_width_decode() {
    let cases = [
        ("00", "0"),
        ("7f", "127"),
        ("ff", "-1"),
        ("e0", "-32"),
        ("cc ff", "255"),
        ("cd 01 00", "256"),
        ("ce 00 01 00 00", "65536"),
        ("cf ff ff ff ff ff ff ff ff", "18446744073709551615"),
        ("d0 80", "-128"),
        ("d1 80 00", "-32768"),
        ("d2 80 00 00 00", "-2147483648"),
        ("d3 80 00 00 00 00 00 00 00", "-9223372036854775808"),
        ("d3 00 00 00 00 00 00 00 05", "5"),
        ("cc 05", "5"),
    ];
    for (h, want) in cases {
        assert_eq!(decode(h, &Type::Number), num(want), "{h}");
    }
}

#[test]
fn floats_decode_to_their_exact_binary_value() {
    assert_eq!(decode("ca 3f c0 00 00", &Type::Number), num("1.5"));
    assert_eq!(
        decode("cb 3f f8 00 00 00 00 00 00", &Type::Number),
        num("1.5")
    );
    assert_eq!(
        decode("cb c0 04 00 00 00 00 00 00", &Type::Number),
        num("-2.5")
    );
    assert_eq!(
        decode("cb 3f b9 99 99 99 99 99 9a", &Type::Number),
        num("0.1000000000000000055511151231257827021181583404541015625")
    );
    assert_eq!(
        decode("cb 7f f0 00 00 00 00 00 00", &Type::Number),
        Value::Number(Number::infinity())
    );
    assert_eq!(
        decode("cb ff f0 00 00 00 00 00 00", &Type::Number),
        Value::Number(Number::neg_infinity())
    );
    assert_eq!(
        decode("ca 7f 80 00 00", &Type::Number),
        Value::Number(Number::infinity())
    );
}

#[test]
fn nan_is_rejected() {
    assert!(decode_err("cb 7f f8 00 00 00 00 00 00", &Type::Number).contains("NaN"));
}

#[test]
fn decimal_strings_decode_without_losing_precision() {
    // str8, 32 bytes
    let big = "123456789012345678901234567890.5";
    let mut h = String::from("d9 20");
    for b in big.bytes() {
        h.push_str(&format!(" {b:02x}"));
    }
    let v = decode(&h, &Type::Number);
    assert_eq!(v.as_number().unwrap().to_string(), big);
    let v = decode("a5 31 65 34 30 30", &Type::Number); // "1e400"
    assert_eq!(
        v.as_number().unwrap().to_string(),
        format!("1{}", "0".repeat(400))
    );
    assert_eq!(decode("a4 2d 30 2e 35", &Type::Number), num("-0.5"));
    assert_eq!(
        decode("a4 2b 49 6e 66", &Type::Number),
        Value::Number(Number::infinity())
    ); // "+Inf"
    assert!(decode_err("a3 61 62 63", &Type::Number).contains("not a number"));
}

/// Finite numbers go out as decimal strings in the layout of Go's `big.Float.Text('f', -1)`, so
/// Terraform parses them as it parses numbers in state JSON (`cty.ParseNumberVal`): a number read
/// from msgpack as int or float64 would be the same value but not the same Go representation, and
/// Terraform >= 1.10 compares prior and refreshed state by representation in refresh-only plans.
#[test]
fn numbers_encode_as_decimal_strings_and_infinities_as_float64() {
    let cases: &[(&str, &str)] = &[
        ("0", "a1 30"),
        ("127", "a3 31 32 37"),
        ("-1", "a2 2d 31"),
        ("1.0", "a1 31"),
        ("1.5", "a3 31 2e 35"),
        ("0.1", "a3 30 2e 31"),
        ("-0.25", "a5 2d 30 2e 32 35"),
        // 2^64-1: 20 digits still fit a fixstr (up to 31 bytes)
        (
            "18446744073709551615",
            "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 35",
        ),
        // cty has no decimal form for the infinities: float64, as go-cty writes them.
        ("+Inf", "cb 7f f0 00 00 00 00 00 00"),
        ("-Inf", "cb ff f0 00 00 00 00 00 00"),
    ];
    for (n, h) in cases {
        assert_eq!(
            msgpack::encode(&num(n), &Type::Number).unwrap(),
            hex(h),
            "{n}"
        );
    }
    // 1e400 is written out in full, as Go's big.Float Text('f', -1) does: str16, 401 bytes.
    let bytes = msgpack::encode(&num("1e400"), &Type::Number).unwrap();
    assert_eq!(&bytes[..4], &hex("da 01 91 31")[..]);
    assert_eq!(bytes.len(), 3 + 401);
    assert!(bytes[4..].iter().all(|b| *b == b'0'));
}

#[test]
fn numbers_round_trip_through_their_decimal_strings() {
    for n in [
        "0",
        "8080",
        "-9223372036854775808",
        "1.5",
        "0.1",
        "1e-30",
        "123456789.000000001",
    ] {
        let bytes = msgpack::encode(&num(n), &Type::Number).unwrap();
        assert_eq!(
            msgpack::decode(&bytes, &Type::Number).unwrap(),
            num(n),
            "{n}"
        );
    }
}

#[test]
fn strings_and_bools_decode_and_encode() {
    assert_eq!(decode("a0", &Type::String), Value::string(""));
    assert_eq!(decode("a3 61 62 63", &Type::String), Value::string("abc"));
    assert_eq!(
        decode("d9 03 61 62 63", &Type::String),
        Value::string("abc")
    );
    assert_eq!(
        decode("da 00 03 61 62 63", &Type::String),
        Value::string("abc")
    );
    assert_eq!(
        decode("db 00 00 00 03 61 62 63", &Type::String),
        Value::string("abc")
    );
    assert_eq!(
        decode("c4 03 61 62 63", &Type::String),
        Value::string("abc")
    );
    assert_eq!(decode("c3", &Type::Bool), Value::Bool(true));
    assert_eq!(decode("c2", &Type::Bool), Value::Bool(false));
    assert_eq!(
        msgpack::encode(&Value::string("abc"), &Type::String).unwrap(),
        hex("a3 61 62 63")
    );
    let s32 = "a".repeat(32);
    assert_eq!(
        msgpack::encode(&Value::string(s32), &Type::String).unwrap()[..2],
        hex("d9 20")[..]
    );
    assert_eq!(
        msgpack::encode(&Value::Bool(true), &Type::Bool).unwrap(),
        hex("c3")
    );
    assert_eq!(
        msgpack::encode(&Value::Null, &Type::Bool).unwrap(),
        hex("c0")
    );
}

#[test]
fn strings_are_nfc_normalised_both_ways() {
    // "e" + U+0301 COMBINING ACUTE ACCENT becomes U+00E9.
    assert_eq!(
        decode("a3 65 cc 81", &Type::String),
        Value::string("\u{e9}")
    );
    assert_eq!(
        msgpack::encode(&Value::string("e\u{301}"), &Type::String).unwrap(),
        hex("a2 c3 a9")
    );
}

#[test]
fn invalid_utf8_is_an_error() {
    assert!(decode_err("a2 c3 28", &Type::String).contains("UTF-8"));
}

#[test]
fn objects_decode_with_exactly_their_attributes() {
    let ty = obj_type(&[("a", Type::String), ("b", Type::Number)]);
    let want = obj(&[("a", Value::string("x")), ("b", num("1"))]);
    assert_eq!(decode("82 a1 61 a1 78 a1 62 01", &ty), want);
    // key order on the wire does not matter
    assert_eq!(decode("82 a1 62 01 a1 61 a1 78", &ty), want);
    assert_eq!(
        msgpack::encode(&want, &ty).unwrap(),
        hex("82 a1 61 a1 78 a1 62 a1 31")
    );
}

#[test]
fn object_missing_attribute_is_an_error_naming_it() {
    let ty = obj_type(&[("a", Type::String), ("b", Type::Number)]);
    let e = decode_err("81 a1 61 a1 78", &ty);
    assert!(e.starts_with("b: missing attribute"), "{e}");
    let e = msgpack::encode(&obj(&[("a", Value::string("x"))]), &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("b"));
}

#[test]
fn object_extra_attribute_is_an_error_naming_it() {
    let ty = obj_type(&[("a", Type::String)]);
    let e = decode_err("82 a1 61 a1 78 a1 63 01", &ty);
    assert!(e.starts_with("c: unexpected attribute"), "{e}");
    let e = msgpack::encode(&obj(&[("a", Value::string("x")), ("c", num("1"))]), &ty).unwrap_err();
    assert_eq!(e.path(), &AttributePath::root().attr("c"));
}

#[test]
fn wrong_type_is_an_error_naming_the_nested_path() {
    let ty = obj_type(&[("route", Type::list(obj_type(&[("weight", Type::Number)])))]);
    // {"route": [{"weight": 1}, {"weight": "x"}]}
    let e = decode_err(
        "81 a5 72 6f 75 74 65 92 81 a6 77 65 69 67 68 74 01 81 a6 77 65 69 67 68 74 a1 78",
        &ty,
    );
    assert!(e.starts_with("route[1].weight: "), "{e}");
    let ty = obj_type(&[("env", Type::map(Type::String))]);
    // {"env": {"KEY": true}}
    let e = decode_err("81 a3 65 6e 76 81 a3 4b 45 59 c3", &ty);
    assert!(
        e.starts_with("env[\"KEY\"]: expected a string, found a bool"),
        "{e}"
    );
    let e = msgpack::encode(
        &obj(&[(
            "env",
            Value::Map(BTreeMap::from([("KEY".into(), Value::Bool(true))])),
        )]),
        &ty,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "env[\"KEY\"]: a bool value does not fit type \"string\""
    );
}

#[test]
fn lists_sets_maps_and_tuples_decode() {
    assert_eq!(decode("90", &Type::list(Type::Number)), Value::List(vec![]));
    assert_eq!(
        decode("92 01 02", &Type::list(Type::Number)),
        Value::List(vec![num("1"), num("2")])
    );
    assert_eq!(
        decode("dc 00 02 01 02", &Type::list(Type::Number)),
        Value::List(vec![num("1"), num("2")])
    );
    assert_eq!(
        decode("dd 00 00 00 02 01 02", &Type::list(Type::Number)),
        Value::List(vec![num("1"), num("2")])
    );
    // duplicates collapse, order is canonical
    assert_eq!(
        decode("94 02 01 02 a1 32", &Type::set(Type::Number)),
        Value::Set(vec![num("1"), num("2")])
    );
    assert_eq!(
        decode("82 a1 61 01 a1 62 02", &Type::map(Type::Number)),
        Value::Map(BTreeMap::from([
            ("a".into(), num("1")),
            ("b".into(), num("2"))
        ]))
    );
    assert_eq!(
        decode("de 00 01 a1 61 01", &Type::map(Type::Number)),
        Value::Map(BTreeMap::from([("a".into(), num("1"))]))
    );
    let tuple = Type::Tuple(vec![Type::String, Type::Number]);
    assert_eq!(
        decode("92 a1 61 01", &tuple),
        Value::Tuple(vec![Value::string("a"), num("1")])
    );
    assert!(decode_err("91 a1 61", &tuple).contains("tuple of 2 elements"));
}

#[test]
fn sets_encode_sorted_without_duplicates() {
    let v = Value::Set(vec![num("2"), num("1"), num("2")]);
    assert_eq!(
        msgpack::encode(&v, &Type::set(Type::Number)).unwrap(),
        hex("92 a1 31 a1 32")
    );
}

#[test]
fn dynamic_values_carry_their_type_json_as_bin() {
    // [bin("\"string\""), "x"]
    let h = "92 c4 08 22 73 74 72 69 6e 67 22 a1 78";
    let want = Value::Dynamic(Type::String, Box::new(Value::string("x")));
    assert_eq!(decode(h, &Type::Dynamic), want);
    assert_eq!(msgpack::encode(&want, &Type::Dynamic).unwrap(), hex(h));
    // the type may also arrive as str
    assert_eq!(
        decode("92 a8 22 73 74 72 69 6e 67 22 a1 78", &Type::Dynamic),
        want
    );
    // ["list","number"] with [1, 2]
    let h = "92 c4 11 5b 22 6c 69 73 74 22 2c 22 6e 75 6d 62 65 72 22 5d 92 01 02";
    let want = Value::Dynamic(
        Type::list(Type::Number),
        Box::new(Value::List(vec![num("1"), num("2")])),
    );
    assert_eq!(decode(h, &Type::Dynamic), want);
    assert_eq!(
        msgpack::encode(&want, &Type::Dynamic).unwrap(),
        hex("92 c4 11 5b 22 6c 69 73 74 22 2c 22 6e 75 6d 62 65 72 22 5d 92 a1 31 a1 32")
    );
    // a plain known value in a dynamic slot gets its inferred type
    assert_eq!(
        msgpack::encode(&Value::string("x"), &Type::Dynamic).unwrap(),
        hex("92 c4 08 22 73 74 72 69 6e 67 22 a1 78")
    );
    assert_eq!(decode("c0", &Type::Dynamic), Value::Null);
    assert_eq!(decode("d4 00 00", &Type::Dynamic), Value::Unknown);
    assert!(
        decode_err("93 c4 08 22 73 74 72 69 6e 67 22 a1 78 c0", &Type::Dynamic)
            .contains("2-element")
    );
    assert!(decode_err("92 c4 03 22 78 22 a1 78", &Type::Dynamic).contains("invalid type JSON"));
}

#[test]
fn dynamic_attribute_inside_an_object() {
    let ty = obj_type(&[("v", Type::Dynamic)]);
    // {"v": [bin("\"number\""), 7]}
    let h = "81 a1 76 92 c4 08 22 6e 75 6d 62 65 72 22 07";
    let want = obj(&[("v", Value::Dynamic(Type::Number, Box::new(num("7"))))]);
    assert_eq!(decode(h, &ty), want);
    assert_eq!(
        msgpack::encode(&want, &ty).unwrap(),
        hex("81 a1 76 92 c4 08 22 6e 75 6d 62 65 72 22 a1 37")
    );
}

#[test]
fn nested_value_round_trips() {
    let block = obj_type(&[
        ("name", Type::String),
        ("weight", Type::Number),
        ("tags", Type::set(Type::String)),
    ]);
    let ty = obj_type(&[
        ("id", Type::String),
        ("route", Type::list(block.clone())),
        ("env", Type::map(Type::String)),
        ("pair", Type::Tuple(vec![Type::Bool, Type::Number])),
        ("extra", Type::Dynamic),
        ("single", block.clone()),
    ]);
    let v = obj(&[
        ("id", Value::Unknown),
        (
            "route",
            Value::List(vec![
                obj(&[
                    ("name", Value::string("a")),
                    ("weight", num("0.25")),
                    (
                        "tags",
                        Value::set(vec![Value::string("z"), Value::string("y")]),
                    ),
                ]),
                obj(&[
                    ("name", Value::string("b")),
                    ("weight", Value::Unknown),
                    ("tags", Value::Null),
                ]),
            ]),
        ),
        (
            "env",
            Value::Map(BTreeMap::from([
                ("K".into(), Value::string("v")),
                ("L".into(), Value::Unknown),
            ])),
        ),
        (
            "pair",
            Value::Tuple(vec![
                Value::Bool(false),
                num("123456789012345678901234567890.5"),
            ]),
        ),
        (
            "extra",
            Value::Dynamic(
                obj_type(&[("x", Type::Number)]),
                Box::new(obj(&[("x", num("1e400"))])),
            ),
        ),
        ("single", Value::Null),
    ]);
    let bytes = msgpack::encode(&v, &ty).unwrap();
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), v);
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    let ty = obj_type(&[("a", Type::list(Type::String))]);
    for h in [
        "",                              // nothing
        "81",                            // map header only
        "81 a1",                         // truncated key
        "81 a1 61 dd ff ff ff ff",       // a 4-billion-element array with no elements
        "81 a1 61 dc ff ff",             // array16 with nothing behind it
        "81 a1 61 91 db ff ff ff ff",    // str32 claiming 4 GiB
        "81 a1 61 91 c9 ff ff ff ff 00", // ext32 claiming 4 GiB
        "c1",                            // reserved marker
        "81 a1 61 90 00",                // trailing bytes
    ] {
        let _ = decode_err(h, &ty);
    }
}

#[test]
fn deep_dynamic_nesting_is_refused() {
    // Each level is [bin("\"dynamic\""), <next level>]; 10 000 levels would overflow a naive decoder.
    let level = hex("92 c4 09 22 64 79 6e 61 6d 69 63 22");
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend_from_slice(&level);
    }
    bytes.push(0xc0);
    let e = msgpack::decode(&bytes, &Type::Dynamic).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
}

#[test]
fn deeply_nested_type_json_is_refused() {
    // ["list",["list",...]] 200 deep inside a dynamic value
    let mut json = String::new();
    for _ in 0..200 {
        json.push_str("[\"list\",");
    }
    json.push_str("\"string\"");
    for _ in 0..200 {
        json.push(']');
    }
    let mut bytes = hex("92 c5");
    bytes.extend_from_slice(&(json.len() as u16).to_be_bytes());
    bytes.extend_from_slice(json.as_bytes());
    bytes.push(0xc0);
    assert!(msgpack::decode(&bytes, &Type::Dynamic).is_err());
}

#[test]
fn set_elements_that_are_not_wholly_known_never_collapse() {
    // [unknown, unknown, "a", "a"]: cty keeps both unknowns (they may differ) but one "a".
    let v = decode("94 d4 00 00 d4 00 00 a1 61 a1 61", &Type::set(Type::String));
    assert_eq!(
        v,
        Value::Set(vec![Value::Unknown, Value::Unknown, Value::string("a")])
    );
    // two blocks alike except for an unknown attribute stay two blocks
    let block = obj_type(&[("n", Type::String), ("id", Type::String)]);
    let v = decode(
        "92 82 a1 6e a1 61 a2 69 64 d4 00 00 82 a1 6e a1 61 a2 69 64 d4 00 00",
        &Type::set(block.clone()),
    );
    let Value::Set(items) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(msgpack::encode(&v, &Type::set(block)).unwrap()[0], 0x92);
}

#[test]
fn typed_null_and_unknown_in_a_dynamic_slot_keep_their_type() {
    // [bin("\"string\""), nil] and [bin("\"string\""), d4 00 00]
    for (h, inner) in [
        ("92 c4 08 22 73 74 72 69 6e 67 22 c0", Value::Null),
        ("92 c4 08 22 73 74 72 69 6e 67 22 d4 00 00", Value::Unknown),
    ] {
        let v = decode(h, &Type::Dynamic);
        assert_eq!(v, Value::Dynamic(Type::String, Box::new(inner.clone())));
        assert_eq!(v.is_null(), inner.is_null());
        assert_eq!(v.is_unknown(), inner.is_unknown());
        assert_eq!(msgpack::encode(&v, &Type::Dynamic).unwrap(), hex(h));
    }
}

#[test]
fn map_keys_must_be_strings() {
    // {1: "a"} as map(string)
    let e = decode_err("81 01 a1 61", &Type::map(Type::String));
    assert!(
        e.contains("expected a string map key, found an integer"),
        "{e}"
    );
}

#[test]
fn paths_lead_into_nested_values() {
    let ty = obj_type(&[("route", Type::list(obj_type(&[("weight", Type::Number)])))]);
    let v = decode(
        "81 a5 72 6f 75 74 65 92 81 a6 77 65 69 67 68 74 01 81 a6 77 65 69 67 68 74 02",
        &ty,
    );
    let p = AttributePath::root().attr("route").index(1).attr("weight");
    assert_eq!(p.to_string(), "route[1].weight");
    assert_eq!(v.at_path(&p), Some(&num("2")));
    assert_eq!(
        v.at_path(&AttributePath::root().attr("route").index(2)),
        None
    );
    assert_eq!(v.at_path(&AttributePath::root().attr("nope")), None);
    assert_eq!(
        AttributePath::root().attr("env").key("KEY").to_string(),
        "env[\"KEY\"]"
    );
}
