//! Arbitrary-precision numbers as cty has them: any decimal, plus positive and negative infinity.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use bigdecimal::BigDecimal;
use num_bigint::{BigInt, Sign};

/// Largest decimal exponent accepted when parsing; far past anything Terraform produces
/// (cty's big.Float tops out near 10^646456992) and small enough that no arithmetic here
/// can overflow.
const MAX_EXPONENT: i64 = 1_000_000_000;

/// Zeros a number may be padded with before `Display` switches to scientific notation.
const MAX_PLAIN_PADDING: i64 = 1000;

/// A cty number: an exact decimal or an infinity. Never NaN.
///
/// Conversions never round silently: `to_i64` answers `None` unless the number is an exact
/// `i64`, and `exact_f64` unless it is exactly a binary64 float.
#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone, Debug)]
enum Repr {
    NegInf,
    /// Always normalised (no trailing zeros in the mantissa), so equal numbers are equal
    /// field by field.
    Finite(BigDecimal),
    PosInf,
}

/// A string that is not a number, or a NaN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseNumberError(String);

impl fmt::Display for ParseNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseNumberError {}

impl Number {
    /// Positive infinity.
    pub fn infinity() -> Number {
        Number(Repr::PosInf)
    }

    /// Negative infinity.
    pub fn neg_infinity() -> Number {
        Number(Repr::NegInf)
    }

    /// The number equal to `d`.
    pub fn from_bigdecimal(d: BigDecimal) -> Number {
        if d.sign() == Sign::NoSign {
            return Number(Repr::Finite(BigDecimal::from(0)));
        }
        Number(Repr::Finite(d.normalized()))
    }

    /// The decimal value, unless the number is infinite.
    pub fn as_bigdecimal(&self) -> Option<&BigDecimal> {
        match &self.0 {
            Repr::Finite(d) => Some(d),
            _ => None,
        }
    }

    /// True for either infinity.
    pub fn is_infinite(&self) -> bool {
        !matches!(self.0, Repr::Finite(_))
    }

    /// True when the number is finite and has no fractional part.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Finite(d) => d.fractional_digit_count() <= 0,
            _ => false,
        }
    }

    /// The number as an `i64` when it is exactly one.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_bigint().and_then(|i| i64::try_from(i).ok())
    }

    /// The number as a `u64` when it is exactly one.
    pub fn to_u64(&self) -> Option<u64> {
        self.to_bigint().and_then(|i| u64::try_from(i).ok())
    }

    /// The integer value, bounded to 20 digits so hostile exponents cannot allocate.
    fn to_bigint(&self) -> Option<BigInt> {
        let Repr::Finite(d) = &self.0 else {
            return None;
        };
        let (mantissa, scale) = d.as_bigint_and_exponent();
        if mantissa.sign() == Sign::NoSign {
            return Some(BigInt::from(0));
        }
        // Normalised: a positive scale means a fractional part.
        if !(-20..=0).contains(&scale) {
            return None;
        }
        Some(mantissa * BigInt::from(10).pow(scale.unsigned_abs() as u32))
    }

    /// The nearest `f64` (infinities map to infinities; magnitudes past `f64::MAX` too).
    pub fn to_f64(&self) -> f64 {
        match &self.0 {
            Repr::NegInf => f64::NEG_INFINITY,
            Repr::PosInf => f64::INFINITY,
            Repr::Finite(d) => {
                let (mantissa, scale) = d.as_bigint_and_exponent();
                let digits = mantissa.magnitude().to_string();
                let adjusted = digits.len() as i64 - 1 - scale;
                let negative = mantissa.sign() == Sign::Minus;
                let value = if adjusted > 400 {
                    f64::INFINITY
                } else if adjusted < -400 {
                    0.0
                } else {
                    // Rust's float parser rounds correctly, so this is the nearest f64.
                    format!("{digits}e{}", -scale)
                        .parse::<f64>()
                        .unwrap_or(f64::NAN)
                };
                if negative {
                    -value
                } else {
                    value
                }
            }
        }
    }

    /// The number as an `f64` when that loses nothing (infinities included).
    pub fn exact_f64(&self) -> Option<f64> {
        let f = self.to_f64();
        match Number::try_from(f) {
            Ok(back) if back == *self => Some(f),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self.0 {
            Repr::NegInf => 0,
            Repr::Finite(_) => 1,
            Repr::PosInf => 2,
        }
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Number {
        Number::from_bigdecimal(BigDecimal::from(n))
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Number {
        Number::from_bigdecimal(BigDecimal::from(n))
    }
}

impl From<i32> for Number {
    fn from(n: i32) -> Number {
        Number::from(i64::from(n))
    }
}

impl From<u32> for Number {
    fn from(n: u32) -> Number {
        Number::from(u64::from(n))
    }
}

impl From<BigDecimal> for Number {
    fn from(d: BigDecimal) -> Number {
        Number::from_bigdecimal(d)
    }
}

impl TryFrom<f64> for Number {
    type Error = ParseNumberError;

    /// Exact: the result is the binary value of `f`, digit for digit.
    fn try_from(f: f64) -> Result<Number, ParseNumberError> {
        if f.is_nan() {
            return Err(ParseNumberError(
                "NaN is not a number in Terraform".to_string(),
            ));
        }
        if f.is_infinite() {
            return Ok(if f > 0.0 {
                Number::infinity()
            } else {
                Number::neg_infinity()
            });
        }
        let bits = f.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1u64 << 52) - 1);
        let (mantissa, exp2) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), biased - 1075)
        };
        let mut int = BigInt::from(mantissa);
        if negative {
            int = -int;
        }
        let d = if exp2 >= 0 {
            BigDecimal::new(int << exp2 as usize, 0)
        } else {
            // m * 2^-k == m * 5^k / 10^k, which is a finite decimal.
            let k = exp2.unsigned_abs() as u32;
            BigDecimal::new(int * BigInt::from(5).pow(k), i64::from(k))
        };
        Ok(Number::from_bigdecimal(d))
    }
}

impl TryFrom<f32> for Number {
    type Error = ParseNumberError;

    fn try_from(f: f32) -> Result<Number, ParseNumberError> {
        Number::try_from(f64::from(f))
    }
}

impl FromStr for Number {
    type Err = ParseNumberError;

    /// Accepts decimal notation with an optional exponent (`-12.5`, `1e400`, `.5`) and the
    /// infinities as Go's big.Float writes them (`+Inf`, `-Inf`, `Inf`).
    fn from_str(s: &str) -> Result<Number, ParseNumberError> {
        let bad = || ParseNumberError(format!("{:?} is not a number", truncate(s)));
        match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => return Ok(Number::infinity()),
            "-inf" | "-infinity" => return Ok(Number::neg_infinity()),
            _ => {}
        }
        check_decimal_syntax(s).ok_or_else(bad)?;
        let d = BigDecimal::from_str(s).map_err(|_| bad())?;
        Ok(Number::from_bigdecimal(d))
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Checks `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?` with a bounded exponent,
/// before the string reaches the bigdecimal parser.
fn check_decimal_syntax(s: &str) -> Option<()> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let exp: i64 = s.get(i..)?.parse().ok()?;
        if exp.abs() > MAX_EXPONENT {
            return None;
        }
        let rest = &b[i..];
        let unsigned = rest
            .strip_prefix(b"+")
            .or_else(|| rest.strip_prefix(b"-"))
            .unwrap_or(rest);
        if unsigned.is_empty() || !unsigned.iter().all(u8::is_ascii_digit) {
            return None;
        }
        return Some(());
    }
    (i == b.len()).then_some(())
}

impl fmt::Display for Number {
    /// Plain decimal notation (as Terraform writes numbers), switching to `1.5e+2000` style
    /// only for exponents so large that the plain form would be mostly zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = match &self.0 {
            Repr::NegInf => return f.write_str("-Inf"),
            Repr::PosInf => return f.write_str("+Inf"),
            Repr::Finite(d) => d,
        };
        let (mantissa, scale) = d.as_bigint_and_exponent();
        let sign = if mantissa.sign() == Sign::Minus {
            "-"
        } else {
            ""
        };
        let digits = mantissa.magnitude().to_string();
        let len = digits.len() as i64;
        if scale <= 0 && -scale <= MAX_PLAIN_PADDING {
            write!(
                f,
                "{sign}{digits}{}",
                "0".repeat(scale.unsigned_abs() as usize)
            )
        } else if scale > 0 && scale < len {
            let (int, frac) = digits.split_at((len - scale) as usize);
            write!(f, "{sign}{int}.{frac}")
        } else if scale >= len && scale - len <= MAX_PLAIN_PADDING {
            write!(f, "{sign}0.{}{digits}", "0".repeat((scale - len) as usize))
        } else {
            let exp = len - 1 - scale;
            let (first, rest) = digits.split_at(1);
            let dot = if rest.is_empty() { "" } else { "." };
            write!(
                f,
                "{sign}{first}{dot}{rest}e{}{exp}",
                if exp >= 0 { "+" } else { "" }
            )
        }
    }
}

impl fmt::Debug for Number {
    /// `Number(1.5)`: the decimal, not bigdecimal's digit vector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Finite(a), Repr::Finite(b)) => cmp_decimal(a, b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// Compares without rescaling across huge exponent gaps: signs first, then the position of
/// the leading digit, and only then the digits themselves.
fn cmp_decimal(a: &BigDecimal, b: &BigDecimal) -> Ordering {
    let (ma, sa) = a.as_bigint_and_exponent();
    let (mb, sb) = b.as_bigint_and_exponent();
    let sign_order = |s: Sign| match s {
        Sign::Minus => 0,
        Sign::NoSign => 1,
        Sign::Plus => 2,
    };
    match sign_order(ma.sign()).cmp(&sign_order(mb.sign())) {
        Ordering::Equal if ma.sign() == Sign::NoSign => return Ordering::Equal,
        Ordering::Equal => {}
        other => return other,
    }
    let da = ma.magnitude().to_string();
    let db = mb.magnitude().to_string();
    let lead_a = da.len() as i64 - sa;
    let lead_b = db.len() as i64 - sb;
    let magnitude = lead_a
        .cmp(&lead_b)
        .then_with(|| da.as_bytes().cmp(db.as_bytes()));
    // Same leading position: comparing the digit strings lexicographically compares the values.
    if ma.sign() == Sign::Minus {
        magnitude.reverse()
    } else {
        magnitude
    }
}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        if let Repr::Finite(d) = &self.0 {
            let (mantissa, scale) = d.as_bigint_and_exponent();
            mantissa.hash(state);
            scale.hash(state);
        }
    }
}
