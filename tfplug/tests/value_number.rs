//! Number tests: parsing, printing, exact conversions, ordering.

use tfplug::value::Number;

fn n(s: &str) -> Number {
    s.parse().unwrap()
}

#[test]
fn display_is_plain_decimal() {
    for (input, want) in [
        ("0", "0"),
        ("-0.0", "0"),
        ("1.50", "1.5"),
        ("1e3", "1000"),
        ("-12.5e-3", "-0.0125"),
        (".5", "0.5"),
        (
            "123456789012345678901234567890.5",
            "123456789012345678901234567890.5",
        ),
        ("1e-5000", "1e-5000"),
        ("2.5e5000", "2.5e+5000"),
        ("inf", "+Inf"),
        ("-Inf", "-Inf"),
    ] {
        assert_eq!(n(input).to_string(), want, "{input}");
        assert_eq!(n(want), n(input), "{want} parses back");
    }
}

#[test]
fn malformed_strings_are_rejected() {
    for bad in [
        "",
        "-",
        "1.2.3",
        "1e",
        "e5",
        "0x10",
        "1_000",
        "NaN",
        " 1",
        "1e99999999999",
        "--1",
    ] {
        assert!(bad.parse::<Number>().is_err(), "{bad:?}");
    }
}

#[test]
fn integer_conversions_are_exact() {
    assert_eq!(n("9223372036854775807").to_i64(), Some(i64::MAX));
    assert_eq!(n("9223372036854775808").to_i64(), None);
    assert_eq!(n("9223372036854775808").to_u64(), Some(1 << 63));
    assert_eq!(n("-1").to_u64(), None);
    assert_eq!(n("2.0").to_i64(), Some(2));
    assert_eq!(n("2.5").to_i64(), None);
    assert_eq!(n("1e400").to_i64(), None);
    assert_eq!(n("1e-400").to_i64(), None);
    assert_eq!(Number::from(-5i64).to_i64(), Some(-5));
    assert_eq!(Number::from(u64::MAX).to_u64(), Some(u64::MAX));
}

#[test]
fn float_conversions_never_round_silently() {
    assert_eq!(
        Number::try_from(0.1f64).unwrap(),
        n("0.1000000000000000055511151231257827021181583404541015625")
    );
    assert_eq!(Number::try_from(0.1f64).unwrap().exact_f64(), Some(0.1));
    assert_eq!(n("0.1").exact_f64(), None);
    assert_eq!(n("0.1").to_f64(), 0.1);
    assert_eq!(n("1e400").exact_f64(), None);
    assert_eq!(n("1e400").to_f64(), f64::INFINITY);
    assert_eq!(Number::infinity().exact_f64(), Some(f64::INFINITY));
    assert_eq!(
        Number::try_from(5e-324f64).unwrap().exact_f64(),
        Some(5e-324)
    );
    assert_eq!(
        Number::try_from(f64::MAX).unwrap().exact_f64(),
        Some(f64::MAX)
    );
    assert!(Number::try_from(f64::NAN).is_err());
}

#[test]
fn ordering_is_numeric_even_across_huge_exponents() {
    let mut v = vec![
        n("1e999999999"),
        n("-Inf"),
        n("2"),
        n("1e-999999999"),
        n("-1e999999999"),
        n("1.5"),
        n("+Inf"),
        n("0"),
        n("-2"),
    ];
    v.sort();
    let got: Vec<String> = v.iter().map(Number::to_string).collect();
    assert_eq!(
        got,
        [
            "-Inf",
            "-1e+999999999",
            "-2",
            "0",
            "1e-999999999",
            "1.5",
            "2",
            "1e+999999999",
            "+Inf"
        ]
    );
    assert_eq!(n("1.0"), n("1"));
    assert_eq!(n("100"), n("1e2"));
    assert!(n("-1.5") < n("-1.25"));
}
