//! Number conversions as Python makes them: `convert_decimal_to_number`, `int()` and `float()`
//! of stored and JSON-decoded values, and the digit limit of `json.dumps`.

use crate::s;
use manuel_shared::ddb::Attr;
use manuel_shared::py::{self, PyException};
use manuel_shared::pydecimal::{self, PyNumber};
use manuel_shared::pyvalue::{PyDict, PyInt, PyStr, PyValue};

/// `convert_decimal_to_number` (Decimals become `float(d)`, a signalling NaN raises), then what
/// `json.dumps` accepts (a `Binary` or a `set` raises).
pub(crate) fn converted(a: &Attr) -> Result<PyValue, PyException> {
    Ok(match a {
        Attr::Null => PyValue::None,
        Attr::Bool(b) => PyValue::Bool(*b),
        Attr::Dec(d) => PyValue::Float(d.to_f64()?),
        Attr::Str(t) => s(t),
        Attr::List(items) => PyValue::List(items.iter().map(converted).collect::<Result<_, _>>()?),
        Attr::Map(entries) => {
            let mut d = PyDict::new();
            for (k, v) in entries {
                d.insert(PyStr::from(k.as_str()), converted(v)?);
            }
            PyValue::Dict(d)
        }
        Attr::Bytes(_) => return Err(manuel_shared::ddb::not_serializable("Binary")),
        Attr::Set(_) => return Err(manuel_shared::ddb::not_serializable("set")),
    })
}

pub(crate) fn opt_out(a: &Option<Attr>) -> Result<PyValue, PyException> {
    match a {
        None => Ok(PyValue::None),
        Some(a) => converted(a),
    }
}

/// A number after `convert_decimal_to_number`.
pub(crate) fn number_out(n: &PyNumber) -> Result<PyValue, PyException> {
    Ok(match n {
        PyNumber::Int(i) => PyValue::Int(i.clone()),
        PyNumber::Float(f) => PyValue::Float(*f),
        PyNumber::Decimal(d) => PyValue::Float(d.to_f64()?),
    })
}

/// `json.dumps` refuses ints of more than 4300 digits (ValueError), e.g. an operation
/// breakdown summing counters stored as long digit strings.
pub(crate) fn check_int_digits(v: &PyValue) -> Result<(), PyException> {
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            PyValue::Int(PyInt::Big(t))
                if t.trim_start_matches('-').len() > pydecimal::INT_MAX_STR_DIGITS =>
            {
                return Err(PyException::new(
                    "ValueError",
                    "Exceeds the limit (4300 digits) for integer string conversion; use \
                     sys.set_int_max_str_digits() to increase the limit",
                ));
            }
            PyValue::List(items) => todo.extend(items.iter()),
            PyValue::Dict(d) => todo.extend(d.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    Ok(())
}

/// Python's `int(s)` for a `str`: whitespace around, a sign, decimal digits of any script with
/// single underscores between them, at most 4300 digits; of any size.
pub(crate) fn int_of_str(text: &str) -> Result<PyInt, PyException> {
    let invalid = || {
        PyException::new(
            "ValueError",
            format!(
                "invalid literal for int() with base 10: {}",
                py::repr_str(text)
            ),
        )
    };
    let t = text.trim_matches(char::is_whitespace);
    let (neg, body) = match (t.strip_prefix('-'), t.strip_prefix('+')) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => (false, t),
    };
    let mut digits = String::with_capacity(body.len());
    let mut prev_underscore = true; // no leading underscore
    for c in body.chars() {
        if c == '_' {
            if prev_underscore {
                return Err(invalid());
            }
            prev_underscore = true;
        } else if let Some(d) = py::digit_value(c) {
            digits.push(char::from(b'0' + d as u8));
            prev_underscore = false;
        } else {
            return Err(invalid());
        }
    }
    if digits.is_empty() || prev_underscore {
        return Err(invalid());
    }
    if digits.len() > pydecimal::INT_MAX_STR_DIGITS {
        return Err(PyException::new(
            "ValueError",
            format!(
                "Exceeds the limit (4300 digits) for integer string conversion: value has {} \
                 digits; use sys.set_int_max_str_digits() to increase the limit",
                digits.len()
            ),
        ));
    }
    let trimmed = digits.trim_start_matches('0');
    let magnitude = if trimmed.is_empty() { "0" } else { trimmed };
    let text = if neg && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude.to_owned()
    };
    Ok(match text.parse::<i64>() {
        Ok(i) => PyInt::I64(i),
        Err(_) => PyInt::Big(text),
    })
}

/// `int(x)` of a stored counter: exact, of any size.
pub(crate) fn to_int(a: Option<&Attr>) -> Result<PyInt, PyException> {
    match a {
        None => Ok(PyInt::I64(0)),
        Some(Attr::Dec(d)) => d.to_int(),
        Some(Attr::Bool(b)) => Ok(PyInt::I64(i64::from(*b))),
        Some(Attr::Str(t)) => int_of_str(t),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

/// Python's `float(x)` of a stored value.
pub(crate) fn to_float(a: Option<&Attr>) -> Result<f64, PyException> {
    match a {
        None => Ok(0.0),
        Some(Attr::Dec(d)) => d.to_f64(),
        Some(Attr::Str(t)) => manuel_shared::py::parse_float(t).ok_or_else(|| {
            PyException::new(
                "ValueError",
                format!("could not convert string to float: {}", py::repr_str(t)),
            )
        }),
        Some(Attr::Bool(b)) => Ok(f64::from(u8::from(*b))),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "float() argument must be a string or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

/// `float(x)` of a JSON-decoded value.
pub(crate) fn json_float(v: Option<&PyValue>) -> Result<f64, PyException> {
    match v {
        None => Ok(0.0),
        Some(PyValue::Float(f)) => Ok(*f),
        Some(PyValue::Int(i)) => PyNumber::Int(i.clone()).to_f64(),
        Some(PyValue::Bool(b)) => Ok(f64::from(u8::from(*b))),
        Some(PyValue::Str(t)) => {
            let t = t.to_string_lossy();
            manuel_shared::py::parse_float(&t).ok_or_else(|| {
                PyException::new(
                    "ValueError",
                    format!("could not convert string to float: {}", py::repr_str(&t)),
                )
            })
        }
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "float() argument must be a string or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_of_strings_like_python() {
        assert_eq!(int_of_str(" 1_000 ").unwrap(), PyInt::I64(1000));
        assert_eq!(int_of_str("\u{0661}\u{0662}").unwrap(), PyInt::I64(12));
        assert_eq!(
            int_of_str(&"9".repeat(30)).unwrap(),
            PyInt::Big("9".repeat(30))
        );
        assert_eq!(int_of_str("-007").unwrap(), PyInt::I64(-7));
        assert!(int_of_str("1__0").is_err());
        assert!(int_of_str("_1").is_err());
        assert!(int_of_str("1.5").is_err());
        assert!(int_of_str(&"1".repeat(4301)).is_err());
    }
}
