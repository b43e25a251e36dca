//! Python's `decimal.Decimal` as Manuel's handlers meet it: boto3 hands every DynamoDB number
//! (`N`) to Python as a `Decimal`, and the handlers add, subtract, divide, compare, round and
//! convert those under Python's default context. This module gives the same results and raises
//! the same exceptions, from DynamoDB's whole range (38 significant digits, magnitudes from
//! 1E-130 to 9.99…E+125) and beyond it (what moto or a careless writer may store).
//!
//! The arithmetic is IBM's decNumber (crate `dec`), which implements the General Decimal
//! Arithmetic specification — the same specification CPython's `_decimal` (libmpdec) implements.
//! What this module adds is Python's side of it:
//!
//! - the two contexts: the handlers' default one (28 digits, ROUND_HALF_EVEN, exponents
//!   ±999999, traps InvalidOperation, DivisionByZero, Overflow) and boto3's `DYNAMODB_CONTEXT`
//!   (38 digits, Emin −128, Emax 126, traps Clamped, Overflow, Inexact, Rounded, Underflow),
//!   which both its TypeDeserializer (`create_decimal(text)`) and TypeSerializer (`str(
//!   create_decimal(value))`) apply;
//! - a trapped signal becomes a [`PyException`] named and worded as CPython raises it
//!   (`Underflow`, `[<class 'decimal.Underflow'>, <class 'decimal.Inexact'>, …]`);
//! - comparisons with ints and floats are exact, as Python's are, and NaNs raise in ordering
//!   comparisons; `max()` returns the operand Python returns;
//! - `float()`, `int()` (exact, of any size: [`PyInt::Big`]) and `str()`.
//!
//! `shared/tests/pydecimal_corpus.rs` checks all of it against what CPython 3.11 and boto3
//! answered for some 40,000 operations (`shared/tests/data/gen_pydecimal_corpus.py`).

use crate::py::PyException;
use crate::pyvalue::PyInt;
use dec::{Context, Rounding, Status};
use std::cmp::Ordering;
use std::fmt;

/// Units of storage of a [`PyDecimal`]: 3 digits each, 39 in all — DynamoDB's 38 digits and the
/// default context's 28 fit.
const UNITS: usize = 13;
type Narrow = dec::Decimal<UNITS>;

/// Working width for exact conversions and integer arithmetic: 4320 digits, enough for any int
/// Python will turn into text (4300 digits) and for the exact value of any `f64` (at most 767
/// significant digits).
const WIDE_UNITS: usize = 1440;
const WIDE_DIGITS: usize = WIDE_UNITS * 3;
type Wide = dec::Decimal<WIDE_UNITS>;

/// Python's `sys.get_int_max_str_digits()` default.
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// The signals a context traps, named as Python names them.
#[derive(Debug, Clone, Copy)]
struct Traps {
    invalid_operation: bool,
    division_by_zero: bool,
    overflow: bool,
    underflow: bool,
    inexact: bool,
    rounded: bool,
    clamped: bool,
}

/// `decimal.DefaultContext`'s traps.
const DEFAULT_TRAPS: Traps = Traps {
    invalid_operation: true,
    division_by_zero: true,
    overflow: true,
    underflow: false,
    inexact: false,
    rounded: false,
    clamped: false,
};

/// boto3's `DYNAMODB_CONTEXT` traps.
const DYNAMODB_TRAPS: Traps = Traps {
    invalid_operation: false,
    division_by_zero: false,
    overflow: true,
    underflow: true,
    inexact: true,
    rounded: true,
    clamped: true,
};

/// The exception CPython raises for the trapped signals in `status`, if any: the first trapped
/// signal in `_decimal`'s signal order names the class, and `str(e)` lists every trapped signal
/// that occurred (InvalidOperation by its specific condition).
fn trapped(status: Status, traps: Traps) -> Result<(), PyException> {
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut list: Vec<&'static str> = Vec::new();
    if traps.invalid_operation {
        let conditions = [
            (status.invalid_operation(), "InvalidOperation"),
            (status.conversion_syntax(), "ConversionSyntax"),
            (status.division_impossible(), "DivisionImpossible"),
            (status.division_undefined(), "DivisionUndefined"),
            (status.invalid_context(), "InvalidContext"),
        ];
        for (set, name) in conditions {
            if set {
                list.push(name);
            }
        }
        if !list.is_empty() {
            kinds.push("InvalidOperation");
        }
    }
    let signals = [
        (
            traps.division_by_zero && status.division_by_zero(),
            "DivisionByZero",
        ),
        (traps.overflow && status.overflow(), "Overflow"),
        (traps.underflow && status.underflow(), "Underflow"),
        (traps.inexact && status.inexact(), "Inexact"),
        (traps.rounded && status.rounded(), "Rounded"),
        (traps.clamped && status.clamped(), "Clamped"),
    ];
    for (set, name) in signals {
        if set {
            kinds.push(name);
            list.push(name);
        }
    }
    if status.insufficient_storage() {
        return Err(PyException::new("MemoryError", ""));
    }
    match kinds.first() {
        None => Ok(()),
        Some(kind) => Err(PyException::new(
            *kind,
            format!(
                "[{}]",
                list.iter()
                    .map(|n| format!("<class 'decimal.{n}'>"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn context<const N: usize>(precision: usize, emax: isize, emin: isize) -> Context<dec::Decimal<N>> {
    let mut cx = Context::<dec::Decimal<N>>::default();
    // The values are constants within the crate's documented limits: these cannot fail.
    let _ = cx.set_precision(precision);
    let _ = cx.set_max_exponent(emax);
    let _ = cx.set_min_exponent(emin);
    cx.set_rounding(Rounding::HalfEven);
    cx.set_clamp(false);
    cx
}

/// `decimal.DefaultContext`, which a Lambda handler computes under.
fn default_context() -> Context<Narrow> {
    context(28, 999_999, -999_999)
}

/// boto3's `DYNAMODB_CONTEXT`.
fn dynamodb_context() -> Context<Narrow> {
    context(38, 126, -128)
}

/// A context for exact work on wide values (nothing here rounds).
fn wide_context() -> Context<Wide> {
    context(WIDE_DIGITS, 999_999_999, -999_999_999)
}

/// What `_decimal` does to a `str` before parsing it (`numeric_as_ascii` without stripping
/// whitespace or underscores, as `Context.create_decimal` calls it): ASCII stays, other
/// whitespace becomes a space, decimal digits of any script become ASCII digits, and any other
/// character makes the text unparseable (`None`).
fn numeric_as_ascii(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let cp = c as u32;
        if (1..=127).contains(&cp) {
            out.push(c);
        } else if c.is_whitespace() {
            out.push(' ');
        } else if let Some(d) = crate::py::digit_value(c) {
            out.push(char::from(b'0' + d as u8));
        } else {
            return None;
        }
    }
    Some(out)
}

/// Python's `Decimal`. Equality (`==` here) is of the representation (`str()`), not of the
/// value: use [`PyNumber::py_cmp`] for Python's comparisons.
#[derive(Clone, Copy)]
pub struct PyDecimal(Narrow);

impl PyDecimal {
    /// `TypeDeserializer().deserialize({"N": text})`: `DYNAMODB_CONTEXT.create_decimal(text)`.
    /// Text it cannot read is NaN (the context does not trap ConversionSyntax); a number it
    /// would have to round or clamp raises (38 significant digits at most, a subnormal with
    /// digits below 1E-165 raises Underflow, 1E+127 Overflow, 0E-200 Clamped).
    pub fn from_dynamodb(text: &str) -> Result<PyDecimal, PyException> {
        let mut cx = dynamodb_context();
        let parsed = numeric_as_ascii(text).and_then(|ascii| cx.parse(ascii).ok());
        let d = parsed.unwrap_or_else(Narrow::nan);
        trapped(cx.status(), DYNAMODB_TRAPS)?;
        Ok(PyDecimal(d))
    }

    /// The `N` text boto3's TypeSerializer writes: `str(DYNAMODB_CONTEXT.create_decimal(self))`,
    /// refused with TypeError when that is `Infinity` or `NaN` (but not `-Infinity`, `-NaN` or
    /// `sNaN`, which it passes on for DynamoDB to refuse).
    pub fn to_dynamodb(&self) -> Result<String, PyException> {
        // `str()` then parse is `create_decimal` of the value itself: to-scientific-string and
        // to-number are inverse, sign of zero and exponent included.
        let applied = PyDecimal::from_dynamodb(&self.to_string())?;
        let text = applied.to_string();
        if text == "Infinity" || text == "NaN" {
            return Err(PyException::new(
                "TypeError",
                "Infinity and NaN not supported",
            ));
        }
        Ok(text)
    }

    fn arith(
        &self,
        rhs: &PyDecimal,
        op: impl FnOnce(&mut Context<Narrow>, &mut Narrow, &Narrow),
    ) -> Result<PyDecimal, PyException> {
        let mut cx = default_context();
        let mut r = self.0;
        op(&mut cx, &mut r, &rhs.0);
        trapped(cx.status(), DEFAULT_TRAPS)?;
        Ok(PyDecimal(r))
    }

    /// `self + rhs` (an int operand: `PyDecimal::from(i)`, converted exactly as Python does).
    pub fn add(&self, rhs: &PyDecimal) -> Result<PyDecimal, PyException> {
        self.arith(rhs, |cx, a, b| cx.add(a, b))
    }

    /// `self - rhs`.
    pub fn sub(&self, rhs: &PyDecimal) -> Result<PyDecimal, PyException> {
        self.arith(rhs, |cx, a, b| cx.sub(a, b))
    }

    /// `self * rhs`.
    pub fn mul(&self, rhs: &PyDecimal) -> Result<PyDecimal, PyException> {
        self.arith(rhs, |cx, a, b| cx.mul(a, b))
    }

    /// `self / rhs`.
    pub fn div(&self, rhs: &PyDecimal) -> Result<PyDecimal, PyException> {
        self.arith(rhs, |cx, a, b| cx.div(a, b))
    }

    /// `self % rhs`: the remainder with the sign of the dividend, under the default context, so
    /// a quotient of more than 28 digits raises `[<class 'decimal.DivisionImpossible'>]` (how
    /// `Decimal('1E+30') % 1` fails) and `x % 0` `[<class 'decimal.InvalidOperation'>]`.
    pub fn rem(&self, rhs: &PyDecimal) -> Result<PyDecimal, PyException> {
        self.arith(rhs, |cx, a, b| cx.rem(a, b))
    }

    /// `round(self, ndigits)`: `Decimal.__round__` quantizes to `1E-ndigits` under the default
    /// context, so a result of more than 28 digits raises InvalidOperation, as do infinities.
    pub fn round(&self, ndigits: i32) -> Result<PyDecimal, PyException> {
        let mut q = context::<UNITS>(1, 999_999_999, -999_999_999);
        let quantum = q
            .parse(format!("1E{}", -i64::from(ndigits)))
            .map_err(|_| PyException::new("OverflowError", "ndigits out of range"))?;
        self.arith(&PyDecimal(quantum), |cx, a, b| cx.quantize(a, b))
    }

    /// `float(self)`: correctly rounded (Python converts `str(self)`); a signalling NaN raises.
    pub fn to_f64(&self) -> Result<f64, PyException> {
        let d = &self.0;
        if d.is_signaling_nan() {
            return Err(PyException::new(
                "ValueError",
                "cannot convert signaling NaN to float",
            ));
        }
        let sign = if d.is_negative() { -1.0 } else { 1.0 };
        if d.is_nan() {
            return Ok(f64::NAN.copysign(sign));
        }
        if d.is_infinite() {
            return Ok(sign * f64::INFINITY);
        }
        self.to_string()
            .parse::<f64>()
            .map_err(|e| PyException::new("ValueError", e.to_string()))
    }

    /// `int(self)`: truncated towards zero, exact and of any size.
    pub fn to_int(&self) -> Result<PyInt, PyException> {
        let d = &self.0;
        if d.is_nan() {
            return Err(PyException::new(
                "ValueError",
                "cannot convert NaN to integer",
            ));
        }
        if d.is_infinite() {
            return Err(PyException::new(
                "OverflowError",
                "cannot convert Infinity to integer",
            ));
        }
        let mut cx = wide_context();
        cx.set_rounding(Rounding::Down);
        let mut w: Wide = cx.to_width(*d);
        let widened = cx.status();
        // Rounding to an integral value flags Inexact when it drops digits: that is the point.
        cx.round(&mut w);
        int_from_wide(&w, widened)
    }

    pub fn is_nan(&self) -> bool {
        self.0.is_nan()
    }

    pub fn is_signaling_nan(&self) -> bool {
        self.0.is_signaling_nan()
    }

    pub fn is_infinite(&self) -> bool {
        self.0.is_infinite()
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.0.is_negative()
    }
}

impl From<i64> for PyDecimal {
    /// `Decimal(i)`: exact.
    fn from(i: i64) -> PyDecimal {
        let mut cx = context::<UNITS>(UNITS * 3, 999_999, -999_999);
        PyDecimal(cx.parse(i.to_string()).unwrap_or_else(|_| Narrow::nan()))
    }
}

impl fmt::Display for PyDecimal {
    /// `str(self)`: the specification's to-scientific-string, as Python prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for PyDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal('{self}')")
    }
}

impl PartialEq for PyDecimal {
    fn eq(&self, other: &PyDecimal) -> bool {
        self.to_string() == other.to_string()
    }
}

// ------------------------------------------------------------------------------- ints

fn int_from_wide(w: &Wide, status: Status) -> Result<PyInt, PyException> {
    if status.inexact() || !w.is_finite() {
        return Err(PyException::new(
            "OverflowError",
            "int too large for this port (more than 4320 digits)",
        ));
    }
    let text = w.to_standard_notation_string();
    let text = match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0') => rest.to_owned(),
        _ => text,
    };
    Ok(match text.parse::<i64>() {
        Ok(i) => PyInt::I64(i),
        Err(_) => PyInt::Big(text),
    })
}

fn wide_of_int(cx: &mut Context<Wide>, i: &PyInt) -> Result<Wide, PyException> {
    let w = cx
        .parse(i.to_string())
        .map_err(|_| PyException::new("ValueError", format!("not an int: {i}")))?;
    if cx.status().inexact() {
        return Err(PyException::new(
            "OverflowError",
            "int too large for this port (more than 4320 digits)",
        ));
    }
    Ok(w)
}

fn int_op(
    a: &PyInt,
    b: &PyInt,
    op: impl FnOnce(&mut Context<Wide>, &mut Wide, &Wide),
) -> Result<PyInt, PyException> {
    let mut cx = wide_context();
    let mut x = wide_of_int(&mut cx, a)?;
    let y = wide_of_int(&mut cx, b)?;
    op(&mut cx, &mut x, &y);
    int_from_wide(&x, cx.status())
}

/// Python's `a + b` on ints.
pub fn int_add(a: &PyInt, b: &PyInt) -> Result<PyInt, PyException> {
    int_op(a, b, |cx, x, y| cx.add(x, y))
}

/// Python's `a - b` on ints.
pub fn int_sub(a: &PyInt, b: &PyInt) -> Result<PyInt, PyException> {
    int_op(a, b, |cx, x, y| cx.sub(x, y))
}

/// Python's `a / b` on ints: the exact quotient rounded once to the nearest float. (The quotient
/// is taken to 800 digits first; a 64-bit quotient is never within 10^-343 of a tie between two
/// floats without being on it, so that rounding cannot move it across one.)
pub fn int_truediv(a: i64, b: i64) -> Result<f64, PyException> {
    if b == 0 {
        return Err(PyException::new("ZeroDivisionError", "division by zero"));
    }
    let mut cx = context::<WIDE_UNITS>(800, 999_999_999, -999_999_999);
    let x = cx.parse(a.to_string());
    let y = cx.parse(b.to_string());
    let (Ok(mut x), Ok(y)) = (x, y) else {
        return Err(PyException::new("ValueError", "not an int"));
    };
    cx.div(&mut x, &y);
    x.to_string()
        .parse::<f64>()
        .map_err(|e| PyException::new("ValueError", e.to_string()))
}

// ------------------------------------------------------------------------------- mixed numbers

/// A Python number of one of the types the handlers mix: an int, a float or a Decimal.
#[derive(Debug, Clone, PartialEq)]
pub enum PyNumber {
    Int(PyInt),
    Float(f64),
    Decimal(PyDecimal),
}

impl From<i64> for PyNumber {
    fn from(i: i64) -> PyNumber {
        PyNumber::Int(PyInt::I64(i))
    }
}

impl From<PyDecimal> for PyNumber {
    fn from(d: PyDecimal) -> PyNumber {
        PyNumber::Decimal(d)
    }
}

fn invalid_operation() -> PyException {
    PyException::new("InvalidOperation", "[<class 'decimal.InvalidOperation'>]")
}

/// The exact value of a float as a decimal (Rust prints any precision exactly; 767 significant
/// digits hold every `f64`).
fn wide_of_float(cx: &mut Context<Wide>, f: f64) -> Result<Wide, PyException> {
    let text = if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        format!("{f:.766e}")
    };
    cx.parse(text)
        .map_err(|_| PyException::new("ValueError", format!("float {f} not convertible")))
}

impl PyNumber {
    fn is_nan(&self) -> bool {
        match self {
            PyNumber::Int(_) => false,
            PyNumber::Float(f) => f.is_nan(),
            PyNumber::Decimal(d) => d.is_nan(),
        }
    }

    /// How Python orders `self` and `other`: exactly, whatever the types. `Ok(None)` is a float
    /// NaN compared with an int or float (every comparison is False); a NaN beside a Decimal
    /// raises InvalidOperation, as Decimal's ordering comparisons do.
    pub fn py_cmp(&self, other: &PyNumber) -> Result<Option<Ordering>, PyException> {
        let decimal_involved =
            matches!(self, PyNumber::Decimal(_)) || matches!(other, PyNumber::Decimal(_));
        if self.is_nan() || other.is_nan() {
            return if decimal_involved {
                Err(invalid_operation())
            } else {
                Ok(None)
            };
        }
        let mut cx = wide_context();
        let x = self.wide(&mut cx)?;
        let y = other.wide(&mut cx)?;
        Ok(cx.partial_cmp(&x, &y))
    }

    fn wide(&self, cx: &mut Context<Wide>) -> Result<Wide, PyException> {
        match self {
            PyNumber::Int(i) => wide_of_int(cx, i),
            PyNumber::Float(f) => wide_of_float(cx, *f),
            PyNumber::Decimal(d) => Ok(cx.to_width(d.0)),
        }
    }

    /// `self > other`.
    pub fn gt(&self, other: &PyNumber) -> Result<bool, PyException> {
        Ok(self.py_cmp(other)? == Some(Ordering::Greater))
    }

    /// `self >= other`.
    pub fn ge(&self, other: &PyNumber) -> Result<bool, PyException> {
        Ok(matches!(
            self.py_cmp(other)?,
            Some(Ordering::Greater | Ordering::Equal)
        ))
    }

    /// `float(self)`.
    pub fn to_f64(&self) -> Result<f64, PyException> {
        match self {
            PyNumber::Int(PyInt::I64(i)) => Ok(*i as f64),
            PyNumber::Int(PyInt::Big(t)) => match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(f),
                _ => Err(PyException::new(
                    "OverflowError",
                    "int too large to convert to float",
                )),
            },
            PyNumber::Float(f) => Ok(*f),
            PyNumber::Decimal(d) => d.to_f64(),
        }
    }
}

/// Python's `max(a, b)`: `a` unless `b > a`.
pub fn py_max<'a>(a: &'a PyNumber, b: &'a PyNumber) -> Result<&'a PyNumber, PyException> {
    Ok(if b.gt(a)? { b } else { a })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> PyDecimal {
        PyDecimal::from_dynamodb(t).unwrap()
    }

    #[test]
    fn deserialises_like_boto3() {
        assert_eq!(d("1E-130").to_string(), "1E-130");
        assert_eq!(d("\u{0661}\u{0662}").to_string(), "12");
        assert!(d("1_0").is_nan());
        let e = PyDecimal::from_dynamodb("123456789012345678901234567890123456789").unwrap_err();
        assert_eq!(e.kind, "Inexact");
        assert_eq!(
            e.message,
            "[<class 'decimal.Inexact'>, <class 'decimal.Rounded'>]"
        );
        assert_eq!(
            PyDecimal::from_dynamodb("0E-200").unwrap_err().kind,
            "Clamped"
        );
    }

    #[test]
    fn arithmetic_rounds_to_28_digits() {
        let big = d("12345678901234567890123456789012345678");
        let r = big.add(&PyDecimal::from(1)).unwrap();
        assert_eq!(r.to_string(), "1.234567890123456789012345679E+37");
        assert_eq!(
            r.to_dynamodb().unwrap(),
            "1.234567890123456789012345679E+37"
        );
        assert_eq!(
            d("1E-130").add(&PyDecimal::from(1)).unwrap().to_string(),
            "1.000000000000000000000000000"
        );
        let e = PyDecimal::from(1).div(&d("0")).unwrap_err();
        assert_eq!(e.kind, "DivisionByZero");
        let pct = d("1").div(&PyDecimal::from(2000)).unwrap();
        let pct = pct.mul(&PyDecimal::from(100)).unwrap();
        assert_eq!(pct.round(1).unwrap().to_string(), "0.0");
        assert_eq!(big.round(1).unwrap_err().kind, "InvalidOperation");
    }

    #[test]
    fn conversions() {
        assert_eq!(
            d("9.9999999999999999999999999999999999999E+125")
                .to_int()
                .unwrap()
                .to_string(),
            format!("99999999999999999999999999999999999999{}", "0".repeat(88))
        );
        assert_eq!(d("-1.9").to_int().unwrap(), PyInt::I64(-1));
        assert_eq!(d("-0.5").to_int().unwrap(), PyInt::I64(0));
        assert_eq!(d("1E-130").to_f64().unwrap(), 1e-130);
        assert_eq!(d("NaN").to_int().unwrap_err().kind, "ValueError");
        assert_eq!(
            d("NaN").to_dynamodb().unwrap_err().message,
            "Infinity and NaN not supported"
        );
    }

    #[test]
    fn comparisons_are_exact() {
        let near = PyNumber::Decimal(d("49.9999999999999999999999999999999999"));
        assert!(!near.ge(&PyNumber::from(50)).unwrap());
        assert!(PyNumber::Decimal(d("50.0"))
            .ge(&PyNumber::from(50))
            .unwrap());
        let third = PyNumber::Float(100.0 / 3.0);
        assert!(
            PyNumber::Decimal(d("33.33333333333333"))
                .py_cmp(&third)
                .unwrap()
                == Some(Ordering::Less)
        );
        assert!(PyNumber::Decimal(d("NaN")).gt(&PyNumber::from(0)).is_err());
        assert!(!PyNumber::Float(f64::NAN).gt(&PyNumber::from(0)).unwrap());
        let zero = PyNumber::from(0);
        let neg_zero = PyNumber::Decimal(d("-0"));
        assert_eq!(py_max(&zero, &neg_zero).unwrap(), &zero);
    }

    #[test]
    fn ints() {
        let a = PyInt::Big("9".repeat(40));
        assert_eq!(
            int_add(&a, &PyInt::I64(1)).unwrap().to_string(),
            format!("1{}", "0".repeat(40))
        );
        assert_eq!(
            int_sub(&PyInt::I64(i64::MIN), &PyInt::I64(1))
                .unwrap()
                .to_string(),
            "-9223372036854775809"
        );
        assert_eq!(int_truediv(1, 3).unwrap(), 1.0 / 3.0);
        assert!(int_truediv(1, 0).is_err());
    }
}
