//! Python's two-argument `round(x, ndigits)` for floats, bit for bit.
//!
//! CPython does not scale by `10**ndigits` (that would round twice). It asks its `dtoa` for the
//! decimal string of the *exact* binary value correctly rounded to `ndigits` places, ties to even,
//! then parses that string back. So `round(2.675, 2)` is `2.67` (the double is 2.67499999…) and
//! `round(0.125, 2)` is `0.12` (an exact tie, kept even). This module does the same: it expands the
//! double into its exact decimal digits (every finite double has a finite expansion), rounds that
//! digit string half-to-even, and lets Rust's correctly rounded `str::parse::<f64>` read it back.

use thiserror::Error;

/// Above this many digits CPython returns `x` unchanged (`NDIGITS_MAX` in `floatobject.c`:
/// `(DBL_MANT_DIG - DBL_MIN_EXP) * 0.30103`).
const NDIGITS_MAX: i32 = 323;
/// Below this CPython returns a zero carrying the sign of `x` (`NDIGITS_MIN`).
const NDIGITS_MIN: i32 = -308;

/// Where Python's `round` raises instead of returning a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PyRoundError {
    /// Rounding to a negative number of digits carried the value past `f64::MAX`
    /// (`round(1.7976931348623157e308, -308)`); Python raises `OverflowError`.
    #[error("rounded value too large to represent")]
    Overflow,
}

/// `round(x, ndigits)` as Python computes it for a float `x`, or the `OverflowError` it raises.
///
/// NaN and infinities come back unchanged, zeros keep their sign, and a value that rounds to zero
/// keeps the sign of `x` (`round(-1e-7, 6)` is `-0.0`).
pub fn try_py_round(x: f64, ndigits: i32) -> Result<f64, PyRoundError> {
    if !x.is_finite() || ndigits > NDIGITS_MAX {
        return Ok(x);
    }
    if ndigits < NDIGITS_MIN {
        return Ok(0.0 * x);
    }
    if x == 0.0 {
        return Ok(x);
    }
    let (digits, exp10) = exact_decimal(x.abs());
    let kept = match round_digits(&digits, exp10, ndigits) {
        Rounded::Unchanged => return Ok(x),
        Rounded::Zero => return Ok(0.0f64.copysign(x)),
        Rounded::Digits(kept) => kept,
    };
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let text = format!("{sign}{kept}e{}", -i64::from(ndigits));
    // The string is well formed by construction; parsing cannot fail.
    let rounded: f64 = text.parse().unwrap_or(f64::NAN);
    if rounded.is_infinite() {
        return Err(PyRoundError::Overflow);
    }
    Ok(rounded)
}

/// [`try_py_round`] for callers that cannot meet the overflow: where Python would raise, this
/// returns the infinity of the same sign. The overflow needs a negative `ndigits` and a value
/// near `f64::MAX`; `round(x, 6)` on a finite double never overflows.
pub fn py_round(x: f64, ndigits: i32) -> f64 {
    try_py_round(x, ndigits).unwrap_or(f64::INFINITY.copysign(x))
}

/// Outcome of rounding a decimal expansion.
#[derive(Debug, PartialEq)]
enum Rounded {
    /// Nothing lies below the rounding position: the value is already a multiple.
    Unchanged,
    /// The multiple is zero.
    Zero,
    /// The multiple, as decimal digits counting units of `10^-ndigits`.
    Digits(String),
}

/// Round the exact decimal `digits × 10^exp10` (no leading or trailing zeros in `digits`) to a
/// multiple of `10^-ndigits`, ties to even.
fn round_digits(digits: &str, exp10: i32, ndigits: i32) -> Rounded {
    let bytes = digits.as_bytes();
    let len = bytes.len() as i64;
    // How many leading digits have a weight of at least 10^-ndigits.
    let keep = i64::from(exp10) + len + i64::from(ndigits);
    if keep >= len {
        return Rounded::Unchanged;
    }
    if keep < 0 {
        // The value is below a tenth of the unit, so less than half of it.
        return Rounded::Zero;
    }
    let keep = keep as usize;
    let next = bytes[keep];
    // Digits carry no trailing zeros, so anything after `next` is a non-zero remainder.
    let beyond_half = bytes.len() > keep + 1;
    let last_kept_odd = keep > 0 && (bytes[keep - 1] - b'0') % 2 == 1;
    let round_up = next > b'5' || (next == b'5' && (beyond_half || last_kept_odd));
    let mut kept: Vec<u8> = bytes[..keep].to_vec();
    if round_up {
        increment_decimal(&mut kept);
    }
    let kept = String::from_utf8(kept).unwrap_or_default();
    let significant = kept.trim_start_matches('0');
    if significant.is_empty() {
        Rounded::Zero
    } else {
        Rounded::Digits(significant.to_string())
    }
}

/// Add one to a string of ASCII decimal digits (an empty string counts as zero).
fn increment_decimal(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// The exact decimal value of a finite positive double as `(digits, exp10)`, meaning
/// `x == digits × 10^exp10`, with neither leading nor trailing zeros in `digits`.
///
/// With `x = m × 2^e`: for `e >= 0` the value is the integer `m << e`; for `e < 0` it equals
/// `m × 5^-e / 10^-e`, so the digits are those of the integer `m × 5^-e`.
fn exact_decimal(x: f64) -> (String, i32) {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    while m != 0 && m % 2 == 0 && e < 0 {
        m >>= 1;
        e += 1;
    }
    let mut n = BigUint::from_u64(m);
    let mut exp10 = 0;
    if e >= 0 {
        n.shl(e as u32);
    } else {
        n.mul_pow5((-e) as u32);
        exp10 = e;
    }
    let mut digits = n.into_decimal();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        exp10 += 1;
    }
    (digits, exp10)
}

/// Just enough of an unsigned big integer for [`exact_decimal`]: little-endian base-2^32 limbs.
struct BigUint {
    limbs: Vec<u32>,
}

impl BigUint {
    fn from_u64(v: u64) -> Self {
        BigUint {
            limbs: vec![v as u32, (v >> 32) as u32],
        }
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn mul_pow5(&mut self, mut power: u32) {
        // 5^13 is the largest power of five below 2^32.
        const FIVE_13: u32 = 1_220_703_125;
        while power >= 13 {
            self.mul_small(FIVE_13);
            power -= 13;
        }
        if power > 0 {
            self.mul_small(5u32.pow(power));
        }
    }

    fn shl(&mut self, bits: u32) {
        let words = (bits / 32) as usize;
        let rest = bits % 32;
        if rest > 0 {
            let mut carry = 0u32;
            for limb in &mut self.limbs {
                let shifted = (u64::from(*limb) << rest) | u64::from(carry);
                *limb = shifted as u32;
                carry = (shifted >> 32) as u32;
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        self.limbs.splice(0..0, std::iter::repeat_n(0, words));
    }

    fn is_zero(&self) -> bool {
        self.limbs.iter().all(|&l| l == 0)
    }

    /// Divide in place by a small divisor, returning the remainder.
    fn div_small(&mut self, divisor: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / u64::from(divisor)) as u32;
            rem = cur % u64::from(divisor);
        }
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
        rem as u32
    }

    fn into_decimal(mut self) -> String {
        const CHUNK: u32 = 1_000_000_000;
        if self.is_zero() {
            return "0".into();
        }
        let mut chunks = Vec::new();
        while !self.is_zero() {
            chunks.push(self.div_small(CHUNK));
        }
        let mut out = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for chunk in chunks.iter().rev() {
            out.push_str(&format!("{chunk:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(x: f64) -> u64 {
        x.to_bits()
    }

    #[test]
    fn exact_expansion_of_one_tenth() {
        assert_eq!(
            exact_decimal(0.1),
            (
                "1000000000000000055511151231257827021181583404541015625".to_string(),
                -55
            )
        );
        assert_eq!(exact_decimal(1.0), ("1".to_string(), 0));
        assert_eq!(exact_decimal(1e20), ("1".to_string(), 20));
        assert_eq!(exact_decimal(2.5), ("25".to_string(), -1));
        let (digits, exp) = exact_decimal(5e-324);
        assert_eq!(exp, -1074);
        assert!(digits.starts_with("494065645841246544"));
        assert_eq!(digits.len(), 751);
    }

    #[test]
    fn exact_expansion_of_large_values() {
        assert_eq!(
            exact_decimal(2f64.powi(64)),
            ("18446744073709551616".to_string(), 0)
        );
        let (digits, exp) = exact_decimal(f64::MAX);
        assert_eq!(exp, 0);
        assert_eq!(digits.len(), 309);
        assert!(digits.starts_with("17976931348623157"));
    }

    #[test]
    fn below_and_at_ties() {
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(0.0078125, 6), 0.007812);
        assert_eq!(py_round(0.0234375, 6), 0.023438);
        assert_eq!(py_round(2.5, 0), 2.0);
        assert_eq!(py_round(3.5, 0), 4.0);
        assert_eq!(py_round(5e-7, 6), 0.0);
        assert_eq!(py_round(5.000000000000001e-07, 6), 1e-6);
        assert_eq!(py_round(0.5, 0), 0.0);
    }

    #[test]
    fn signs_of_zero() {
        assert_eq!(bits(py_round(-1e-7, 6)), bits(-0.0));
        assert_eq!(bits(py_round(-0.5, 0)), bits(-0.0));
        assert_eq!(bits(py_round(-0.0, 6)), bits(-0.0));
        assert_eq!(bits(py_round(0.0, 6)), bits(0.0));
        assert_eq!(bits(py_round(-3.0, -400)), bits(-0.0));
    }

    #[test]
    fn negative_ndigits() {
        assert_eq!(py_round(1234.5, -1), 1230.0);
        assert_eq!(py_round(1250.0, -2), 1200.0);
        assert_eq!(py_round(1350.0, -2), 1400.0);
        assert_eq!(py_round(49.99, -2), 0.0);
        assert_eq!(py_round(-51.0, -2), -100.0);
        assert_eq!(py_round(999.0, -3), 1000.0);
    }

    #[test]
    fn carry_into_a_new_digit() {
        assert_eq!(py_round(9.9999996, 6), 10.0);
        assert_eq!(py_round(0.9999999, 6), 1.0);
    }

    #[test]
    fn extremes() {
        assert_eq!(try_py_round(f64::MAX, -308), Err(PyRoundError::Overflow));
        assert_eq!(py_round(f64::MAX, -308), f64::INFINITY);
        assert_eq!(py_round(-f64::MAX, -308), f64::NEG_INFINITY);
        assert_eq!(py_round(f64::MAX, 6), f64::MAX);
        assert_eq!(py_round(0.1, 400), 0.1);
        assert!(py_round(f64::NAN, 6).is_nan());
        assert_eq!(py_round(f64::NEG_INFINITY, -2), f64::NEG_INFINITY);
        assert_eq!(py_round(5e-324, 6), 0.0);
        assert_eq!(py_round(1e20, 6), 1e20);
    }
}
