//! The values the handler's result dicts hold and `json.dumps(result, default=decimal_default)`
//! of them: a `Decimal` becomes an int when `d % 1 == 0` (which itself raises
//! `DivisionImpossible` past 28 digits) or else a float, a datetime its `isoformat()`, anything
//! else unserialisable its `str()` — which for boto3's `Binary` raises TypeError (its
//! `__str__` returns bytes).

use manuel_shared::ddb::Attr;
use manuel_shared::py::PyException;
use manuel_shared::pydecimal::PyDecimal;
use manuel_shared::pyvalue::{PyDict, PyInt, PyStr, PyValue};
use serde_json::Value;

/// A value of a result dict.
#[derive(Debug, Clone)]
pub enum Out {
    /// A value taken from the event (the job id).
    Json(Value),
    /// A value read from DynamoDB (None for a missing attribute).
    Attr(Attr),
    Str(String),
    Int(i64),
    /// A `datetime` from botocore, as its `isoformat()`.
    DateTime(String),
    List(Vec<Out>),
    Dict(Vec<(String, Out)>),
}

impl Out {
    pub fn str(s: &str) -> Out {
        Out::Str(s.to_owned())
    }

    /// `item.get(key)`: the attribute, or None.
    pub fn get(item: &manuel_shared::ddb::Item, key: &str) -> Out {
        Out::Attr(item.get(key).cloned().unwrap_or(Attr::Null))
    }

    /// `item.get(key, default)`.
    pub fn get_or(item: &manuel_shared::ddb::Item, key: &str, default: &str) -> Out {
        match item.get(key) {
            Some(a) => Out::Attr(a.clone()),
            None => Out::str(default),
        }
    }
}

/// The result as `json.dumps` with `decimal_default` sees it, failing where it raises.
pub fn to_py(o: &Out) -> Result<PyValue, PyException> {
    Ok(match o {
        Out::Json(v) => PyValue::from_json(v),
        Out::Attr(a) => attr(a)?,
        Out::Str(s) => PyValue::str(s),
        Out::Int(i) => PyValue::Int(PyInt::I64(*i)),
        Out::DateTime(iso) => PyValue::str(iso),
        Out::List(items) => PyValue::List(items.iter().map(to_py).collect::<Result<_, _>>()?),
        Out::Dict(entries) => {
            let mut d = PyDict::new();
            for (k, v) in entries {
                d.insert(PyStr::from(k.as_str()), to_py(v)?);
            }
            PyValue::Dict(d)
        }
    })
}

fn attr(a: &Attr) -> Result<PyValue, PyException> {
    Ok(match a {
        Attr::Null => PyValue::None,
        Attr::Bool(b) => PyValue::Bool(*b),
        Attr::Str(s) => PyValue::str(s),
        Attr::Dec(d) => decimal(d)?,
        Attr::List(items) => PyValue::List(items.iter().map(attr).collect::<Result<_, _>>()?),
        Attr::Map(entries) => {
            let mut d = PyDict::new();
            for (k, v) in entries {
                d.insert(PyStr::from(k.as_str()), attr(v)?);
            }
            PyValue::Dict(d)
        }
        Attr::Bytes(_) => {
            return Err(PyException::new(
                "TypeError",
                "__str__ returned non-string (type bytes)",
            ))
        }
        // `str(a_set)`: its repr (member order: see `Attr::py_repr`).
        set @ Attr::Set(_) => PyValue::str(&set.py_repr()),
    })
}

/// `int(obj) if obj % 1 == 0 else float(obj)`.
fn decimal(d: &PyDecimal) -> Result<PyValue, PyException> {
    let rest = d.rem(&PyDecimal::from(1))?;
    Ok(if rest.is_zero() {
        PyValue::Int(d.to_int()?)
    } else {
        PyValue::Float(d.to_f64()?)
    })
}

pub use manuel_shared::aws::isoformat_utc as isoformat;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_as_decimal_default_renders_them() {
        let d = |t: &str| Attr::Dec(PyDecimal::from_dynamodb(t).unwrap());
        let dump = |a: Attr| manuel_shared::pyvalue::dumps(&attr(&a).unwrap());
        assert_eq!(dump(d("1794740000")), "1794740000");
        assert_eq!(dump(d("12.5")), "12.5");
        assert_eq!(dump(d("1E+20")), "100000000000000000000");
        assert_eq!(dump(d("-0.0")), "0");
        let e = attr(&d("1E+30")).unwrap_err();
        assert_eq!(e.message, "[<class 'decimal.DivisionImpossible'>]");
        assert_eq!(e.qualified_name(), "decimal.InvalidOperation");
    }

    #[test]
    fn binary_fails_and_sets_print_their_repr() {
        assert!(attr(&Attr::Bytes(vec![0, 1])).is_err());
        let set = Attr::Set(vec![Attr::Str("a".into()), Attr::Str("b'".into())]);
        assert_eq!(attr(&set).unwrap(), PyValue::str("{'a', \"b'\"}"));
    }

    #[test]
    fn isoformat_has_micros_only_when_set() {
        let t = aws_smithy_types::DateTime::from_secs_and_nanos(1_794_743_910, 0);
        assert_eq!(isoformat(&t), "2026-11-15T11:58:30+00:00");
        let t = aws_smithy_types::DateTime::from_secs_and_nanos(1_794_743_999, 500_000_000);
        assert_eq!(isoformat(&t), "2026-11-15T11:59:59.500000+00:00");
    }
}
