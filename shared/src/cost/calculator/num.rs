//! Python's numbers as the calculator sees them: an `int` or a `float`, Python's mixed
//! arithmetic and its rendering.

use super::CostError;
use crate::pyjson::float_repr;
use serde_json::{Number, Value};
use std::fmt;

/// A Python number as the calculator sees it: an `int` or a `float`.
///
/// The variant is part of the result: `quantity` and `unit_cost` serialise as `1` or `1.0`
/// depending on it, and it decides how a division rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// Python's `float(x)`: ints convert with round-half-even (exact up to 2^53).
    pub fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// Python's `str(x)` / `repr(x)`: `5`, `5.0`, `1e-06`, `nan`, `inf`.
    pub fn repr(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => py_float_str(f),
        }
    }

    /// The JSON value Python's `json.dumps` would write for this number. serde_json has no
    /// NaN or infinity, so those become `null` (Python writes the non-JSON `NaN`/`Infinity`).
    pub fn to_json(self) -> Value {
        match self {
            Num::Int(i) => Value::from(i),
            Num::Float(f) => float_json(f),
        }
    }

    /// `self + other`, int + int staying an int.
    pub(super) fn add(self, other: Num, what: &'static str) -> Result<Num, CostError> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_add(b)
                .map(Num::Int)
                .ok_or(CostError::IntegerOverflow { what }),
            _ => Ok(Num::Float(self.to_f64() + other.to_f64())),
        }
    }

    /// `self * price` for a float price.
    pub(super) fn times(self, price: f64) -> f64 {
        self.to_f64() * price
    }

    /// `self * price` where a missing price is Python's `dict.get(key, 0)`, the int zero: an int
    /// count times it stays the int `0`, a float count gives `count * 0.0` (NaN for inf/NaN).
    pub(super) fn times_optional(self, price: Option<f64>) -> Num {
        match (self, price) {
            (_, Some(p)) => Num::Float(self.times(p)),
            (Num::Int(_), None) => Num::Int(0),
            (Num::Float(f), None) => Num::Float(f * 0.0),
        }
    }

    /// Python's true division `self / divisor` (always a float). Callers guarantee a non-zero
    /// divisor, as the Python does with its `> 0` guards.
    pub(super) fn div(self, divisor: Num) -> f64 {
        match (self, divisor) {
            (Num::Int(a), Num::Int(b)) => int_true_div(a, b),
            _ => self.to_f64() / divisor.to_f64(),
        }
    }

    /// Python's `self > 0`.
    pub(super) fn is_positive(self) -> bool {
        match self {
            Num::Int(i) => i > 0,
            Num::Float(f) => f > 0.0,
        }
    }
}

impl From<i64> for Num {
    fn from(v: i64) -> Self {
        Num::Int(v)
    }
}

impl From<i32> for Num {
    fn from(v: i32) -> Self {
        Num::Int(i64::from(v))
    }
}

impl From<u32> for Num {
    fn from(v: u32) -> Self {
        Num::Int(i64::from(v))
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Self {
        Num::Float(v)
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Python's `str(float)`: the shortest round-trip repr, with `nan`, `inf` and `-inf` spelled
/// as Python spells them (unlike JSON's `NaN` / `Infinity`).
pub fn py_float_str(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        float_repr(f)
    }
}

pub(super) fn float_json(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Python's `int / int`: the exact quotient rounded once to the nearest double (ties to even).
///
/// Converting both operands first rounds twice once a numerator passes 2^53, which Python does
/// not do. The quotient is computed with at least 55 significant bits plus a sticky bit for the
/// remainder, so the one conversion to `f64` rounds as the exact quotient would.
fn int_true_div(a: i64, b: i64) -> f64 {
    debug_assert!(b != 0, "division by zero");
    let negative = (a < 0) != (b < 0);
    let (num, den) = (u128::from(a.unsigned_abs()), u128::from(b.unsigned_abs()));
    if num == 0 {
        return if negative { -0.0 } else { 0.0 };
    }
    let num_bits = 128 - num.leading_zeros() as i32;
    let den_bits = 128 - den.leading_zeros() as i32;
    // Scale so the integer quotient lands in [2^54, 2^56): both operands are below 2^64, so the
    // shifted values stay below 2^120.
    let shift = 55 - (num_bits - den_bits);
    let (quotient, inexact) = if shift >= 0 {
        let n = num << shift;
        (n / den, n % den != 0)
    } else {
        let d = den << -shift;
        (num / d, num % d != 0)
    };
    // The sticky bit sits two or more places below the rounding position, so it only breaks
    // ties, exactly as the discarded remainder would.
    let magnitude = (quotient | u128::from(inexact)) as f64 * 2f64.powi(-shift);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_true_div_rounds_once() {
        assert_eq!(int_true_div(1, 3), 1.0 / 3.0);
        assert_eq!(int_true_div(-7, 2), -3.5);
        assert_eq!(int_true_div(0, 1000).to_bits(), 0.0f64.to_bits());
        assert_eq!(int_true_div(0, -5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(int_true_div(i64::MIN, 1), -(2f64.powi(63)));
        // 2^62 + 513 over 1000: converting first rounds the numerator up to 2^62 + 1024.
        let a = (1i64 << 62) + 513;
        assert_eq!(a as f64 / 1000.0, 4611686018427389.0);
        assert_eq!(int_true_div(a, 1000), 4611686018427388.0);
        // The exact tie 2^53 + 1 over 1 rounds to even.
        assert_eq!(int_true_div((1 << 53) + 1, 1), 2f64.powi(53));
        assert_eq!(int_true_div((1 << 53) + 3, 1), 2f64.powi(53) + 4.0);
    }

    #[test]
    fn num_keeps_int_versus_float() {
        assert_eq!(Num::Int(5).repr(), "5");
        assert_eq!(Num::Float(5.0).repr(), "5.0");
        assert_eq!(Num::Float(f64::NEG_INFINITY).repr(), "-inf");
        assert_eq!(Num::Int(2).add(Num::Int(3), "x"), Ok(Num::Int(5)));
        assert_eq!(Num::Int(2).add(Num::Float(0.5), "x"), Ok(Num::Float(2.5)));
        assert_eq!(
            Num::Int(i64::MAX).add(Num::Int(1), "x"),
            Err(CostError::IntegerOverflow { what: "x" })
        );
        assert_eq!(Num::Int(7).times_optional(None), Num::Int(0));
        assert_eq!(Num::Float(7.0).times_optional(None), Num::Float(0.0));
        assert!(matches!(
            Num::Float(f64::INFINITY).times_optional(None),
            Num::Float(f) if f.is_nan()
        ));
    }
}
