//! Just enough of Python's `Decimal` for the usage numbers: DynamoDB returns numbers as decimal
//! text, boto3 makes them `Decimal`s, and the handler subtracts, divides and rounds them in
//! decimal arithmetic — where binary floats would round differently (1/2000·100 is exactly
//! 0.05 in Decimal, rounded half-even to 0.0; the float 0.05 rounds to 0.1).

use manuel_shared::py::PyException;
use std::cmp::Ordering;

/// `mant × 10^-scale`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dec {
    mant: i128,
    scale: u32,
}

fn invalid(text: &str) -> PyException {
    PyException::new(
        "InvalidOperation",
        format!("[<class 'decimal.ConversionSyntax'>] {text}"),
    )
}

impl Dec {
    /// Parse DynamoDB's number text (`-12.50`, `1E+3`).
    pub fn parse(text: &str) -> Result<Dec, PyException> {
        let t = text.trim();
        let (base, exp) = match t.find(['e', 'E']) {
            Some(i) => (
                &t[..i],
                t[i + 1..].parse::<i32>().map_err(|_| invalid(text))?,
            ),
            None => (t, 0),
        };
        let (neg, digits) = match base.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, base.strip_prefix('+').unwrap_or(base)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(invalid(text));
        }
        let all = format!("{int}{frac}");
        let mut mant: i128 = all.parse().map_err(|_| invalid(text))?;
        let mut scale = frac.len() as i32 - exp;
        while scale < 0 {
            mant = mant.checked_mul(10).ok_or_else(|| invalid(text))?;
            scale += 1;
        }
        Ok(Dec {
            mant: if neg { -mant } else { mant },
            scale: scale as u32,
        })
    }

    pub fn from_int(i: i64) -> Dec {
        Dec {
            mant: i as i128,
            scale: 0,
        }
    }

    fn aligned(self, scale: u32) -> i128 {
        self.mant * 10i128.pow(scale - self.scale)
    }

    pub fn sub(self, other: &Dec) -> Dec {
        let scale = self.scale.max(other.scale);
        Dec {
            mant: self.aligned(scale) - other.aligned(scale),
            scale,
        }
    }

    /// `float(d)`: correctly rounded, through the decimal text.
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// `int(d)`: towards zero.
    pub fn trunc(self) -> i64 {
        (self.mant / 10i128.pow(self.scale)) as i64
    }

    pub fn cmp_int(self, i: i64) -> Ordering {
        self.mant.cmp(&Dec::from_int(i).aligned(self.scale))
    }

    pub fn mul_int(self, k: i64) -> Dec {
        Dec {
            mant: self.mant * k as i128,
            scale: self.scale,
        }
    }

    /// `self / k` as an exact ratio (Python rounds the quotient to 28 significant digits; the
    /// answers here only ever round it to one decimal place, where that cannot matter).
    pub fn div_int(self, k: i64) -> Ratio {
        Ratio {
            num: self.mant,
            den: 10i128.pow(self.scale) * k as i128,
        }
    }
}

impl std::fmt::Display for Dec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = 10i128.pow(self.scale);
        let sign = if self.mant < 0 { "-" } else { "" };
        let a = self.mant.abs();
        if self.scale == 0 {
            write!(f, "{sign}{a}")
        } else {
            write!(f, "{sign}{}.{:0w$}", a / p, a % p, w = self.scale as usize)
        }
    }
}

/// An exact quotient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    num: i128,
    den: i128,
}

impl Ratio {
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    pub fn cmp_int(self, i: i64) -> Ordering {
        // den > 0 (limits are positive where a ratio is made).
        self.num.cmp(&(i as i128 * self.den))
    }

    /// `round(x, places)` with ROUND_HALF_EVEN, as Decimal's `__round__` does.
    pub fn round_half_even(self, places: u32) -> Dec {
        let p = 10i128.pow(places);
        let n = self.num * p;
        let (mut q, r) = (n.div_euclid(self.den), n.rem_euclid(self.den));
        match (2 * r).cmp(&self.den) {
            Ordering::Greater => q += 1,
            Ordering::Equal if q % 2 != 0 => q += 1,
            _ => {}
        }
        Dec {
            mant: q,
            scale: places,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_arithmetic_is_exact() {
        let d = Dec::parse("2.50").unwrap();
        assert_eq!(Dec::from_int(1000).sub(&d).to_string(), "997.50");
        assert_eq!(Dec::parse("1E+2").unwrap().to_string(), "100");
        assert_eq!(Dec::parse("-3.7").unwrap().trunc(), -3);
        assert_eq!(
            Dec::from_int(50).sub(&Dec::parse("0.1").unwrap()).to_f64(),
            49.9
        );
        assert!(Dec::parse("abc").is_err());
    }

    #[test]
    fn percent_rounds_half_even_on_the_exact_value() {
        let r = Dec::from_int(1).mul_int(100).div_int(2000); // 0.05
        assert_eq!(r.round_half_even(1).to_string(), "0.0");
        let r = Dec::from_int(3).mul_int(100).div_int(2000); // 0.15
        assert_eq!(r.round_half_even(1).to_string(), "0.2");
        let r = Dec::from_int(1).mul_int(100).div_int(3);
        assert_eq!(r.round_half_even(1).to_string(), "33.3");
        assert_eq!(r.cmp_int(33), Ordering::Greater);
    }
}
