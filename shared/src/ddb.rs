//! DynamoDB items as boto3's resource layer hands them to Python: `N` becomes `Decimal`, `S`
//! `str`, `M` a dict, and so on. Manuel's handlers do arithmetic and comparisons on those
//! values and serialise them, so the ports need the same value model to fail and succeed in
//! the same places (a `Decimal` is not JSON serialisable; a counter stored as a string cannot
//! be compared with an int).
//!
//! Numbers are [`PyDecimal`]s, read as boto3's TypeDeserializer reads them
//! (`DYNAMODB_CONTEXT.create_decimal`). boto3 deserialises the whole response before the handler
//! sees any of it, so a number that context refuses (more than 38 digits, a subnormal that would
//! lose digits, an exponent it must clamp) makes the *call* raise: [`item_from_sdk`] fails the
//! same way, whichever attribute holds it.

use crate::py::PyException;
use crate::pydecimal::{PyDecimal, PyNumber};
use aws_sdk_dynamodb::types::AttributeValue;
use std::cmp::Ordering;
use std::collections::HashMap;

/// A deserialised attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Null,
    Bool(bool),
    /// `Decimal`.
    Dec(PyDecimal),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Attr>),
    Map(Vec<(String, Attr)>),
    /// `set` (SS, NS, BS): not JSON serialisable. Members in the order DynamoDB sent them
    /// (a Python set's iteration order is its hash table's; for strings it changes with every
    /// process, so no port can reproduce it).
    Set(Vec<Attr>),
}

impl Attr {
    /// boto3's `TypeDeserializer().deserialize(v)`, failing where it raises.
    pub fn from_sdk(v: &AttributeValue) -> Result<Attr, PyException> {
        Ok(match v {
            AttributeValue::Null(_) => Attr::Null,
            AttributeValue::Bool(b) => Attr::Bool(*b),
            AttributeValue::N(n) => Attr::Dec(PyDecimal::from_dynamodb(n)?),
            AttributeValue::S(s) => Attr::Str(s.clone()),
            AttributeValue::B(b) => Attr::Bytes(b.as_ref().to_vec()),
            AttributeValue::L(items) => {
                Attr::List(items.iter().map(Attr::from_sdk).collect::<Result<_, _>>()?)
            }
            AttributeValue::M(m) => {
                let mut entries: Vec<(String, Attr)> = m
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Attr::from_sdk(v)?)))
                    .collect::<Result<_, PyException>>()?;
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Attr::Map(entries)
            }
            AttributeValue::Ns(numbers) => {
                // `set(map(create_decimal, ...))`: each member is read, then hashed.
                let mut members = Vec::with_capacity(numbers.len());
                for n in numbers {
                    let d = PyDecimal::from_dynamodb(n)?;
                    if d.is_signaling_nan() {
                        return Err(PyException::new(
                            "TypeError",
                            "Cannot hash a signaling NaN value",
                        ));
                    }
                    members.push(Attr::Dec(d));
                }
                Attr::Set(members)
            }
            AttributeValue::Ss(strings) => {
                Attr::Set(strings.iter().map(|s| Attr::Str(s.clone())).collect())
            }
            AttributeValue::Bs(blobs) => Attr::Set(
                blobs
                    .iter()
                    .map(|b| Attr::Bytes(b.as_ref().to_vec()))
                    .collect(),
            ),
            _ => Attr::Set(Vec::new()),
        })
    }

    /// Python's `type(x).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Attr::Null => "NoneType",
            Attr::Bool(_) => "bool",
            Attr::Dec(_) => "Decimal",
            Attr::Str(_) => "str",
            Attr::Bytes(_) => "Binary",
            Attr::List(_) => "list",
            Attr::Map(_) => "dict",
            Attr::Set(_) => "set",
        }
    }
}

impl Attr {
    /// The type's `tp_name`, as comparison errors print it (`decimal.Decimal`, not `Decimal`).
    pub fn tp_name(&self) -> &'static str {
        match self {
            Attr::Dec(_) => "decimal.Decimal",
            other => other.type_name(),
        }
    }

    fn number(&self) -> Option<PyNumber> {
        match self {
            Attr::Dec(d) => Some(PyNumber::Decimal(*d)),
            Attr::Bool(b) => Some(PyNumber::from(i64::from(*b))),
            _ => None,
        }
    }
}

impl Attr {
    /// Python truthiness (`if value:`).
    pub fn truthy(&self) -> bool {
        match self {
            Attr::Null => false,
            Attr::Bool(b) => *b,
            Attr::Dec(d) => !d.is_zero(),
            Attr::Str(s) => !s.is_empty(),
            Attr::Bytes(b) => !b.is_empty(),
            Attr::List(v) | Attr::Set(v) => !v.is_empty(),
            Attr::Map(m) => !m.is_empty(),
        }
    }

    /// Python's `str(value)` (an f-string's `{value}`): a str is itself, a Decimal its
    /// scientific string; containers print their members' reprs. (`str()` of a `Binary` raises
    /// in Python: `__str__` returns bytes; callers that can meet one check first.)
    pub fn py_str(&self) -> String {
        match self {
            Attr::Str(s) => s.clone(),
            Attr::Dec(d) => d.to_string(),
            other => other.py_repr(),
        }
    }

    /// Python's `repr(value)`. A set prints its members in DynamoDB's order (Python's order is
    /// its hash table's, random per process for strings).
    pub fn py_repr(&self) -> String {
        let join = |items: &[Attr]| {
            items
                .iter()
                .map(Attr::py_repr)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Attr::Null => "None".into(),
            Attr::Bool(true) => "True".into(),
            Attr::Bool(false) => "False".into(),
            Attr::Dec(d) => format!("Decimal('{d}')"),
            Attr::Str(s) => crate::py::repr_str(s),
            Attr::Bytes(b) => format!("Binary({})", bytes_repr(b)),
            Attr::List(items) => format!("[{}]", join(items)),
            Attr::Set(items) if items.is_empty() => "set()".into(),
            Attr::Set(items) => format!("{{{}}}", join(items)),
            Attr::Map(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", crate::py::repr_str(k), v.py_repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

/// Python's `repr(b)` of a bytes object.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote as char);
    out
}

/// Python's `a == b` on deserialised values (never raises for what DynamoDB can store; a NaN
/// is unequal to everything).
pub fn py_eq(a: &Attr, b: &Attr) -> bool {
    match (a, b) {
        (Attr::Null, Attr::Null) => true,
        (Attr::Str(x), Attr::Str(y)) => x == y,
        (Attr::Bytes(x), Attr::Bytes(y)) => x == y,
        (Attr::List(x), Attr::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Attr::Map(x), Attr::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .find(|(k2, _)| k2 == k)
                        .is_some_and(|(_, w)| py_eq(v, w))
                })
        }
        _ => match (a.number(), b.number()) {
            (Some(x), Some(y)) => matches!(x.py_cmp(&y), Ok(Some(Ordering::Equal))),
            _ => false,
        },
    }
}

/// Python's `a < b` on deserialised values: numbers (Decimal and bool) among themselves, str
/// by code point, lists lexicographically; anything else raises the TypeError CPython raises
/// (`None < None` included). Sets compare as subsets in Python; their members are not kept
/// here, so two sets are never "less" (see the README).
pub fn py_lt(a: &Attr, b: &Attr) -> Result<bool, PyException> {
    match (a, b) {
        (Attr::Str(x), Attr::Str(y)) => Ok(x < y),
        (Attr::List(x), Attr::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !py_eq(p, q) {
                    return py_lt(p, q);
                }
            }
            Ok(x.len() < y.len())
        }
        (Attr::Set(_), Attr::Set(_)) => Ok(false),
        _ => match (a.number(), b.number()) {
            (Some(x), Some(y)) => Ok(x.py_cmp(&y)? == Some(Ordering::Less)),
            _ => Err(PyException::new(
                "TypeError",
                format!(
                    "'<' not supported between instances of '{}' and '{}'",
                    a.tp_name(),
                    b.tp_name()
                ),
            )),
        },
    }
}

/// An item as `table.get_item(...)["Item"]` returns it.
pub type Item = HashMap<String, Attr>;

/// An item of a response, deserialised as boto3 does (or its exception).
pub fn item_from_sdk(m: &HashMap<String, AttributeValue>) -> Result<Item, PyException> {
    m.iter()
        .map(|(k, v)| Ok((k.clone(), Attr::from_sdk(v)?)))
        .collect()
}

/// boto3's `TypeSerializer().serialize(v)` of a value `json.loads` produced, as `put_item`
/// sends it: `None` → `NULL`, `bool` → `BOOL`, `int` → `N` (at most 38 digits: boto3's
/// `DYNAMODB_CONTEXT` traps the rounding of longer ones), `str` → `S`, `list` → `L`, `dict` →
/// `M`. A `float` is refused as boto3 refuses it (`TypeError: Float types are not supported`).
/// A `str` holding a lone surrogate fails as botocore fails to encode the request
/// (`UnicodeEncodeError`; recorded: error-processor `lone-surrogate`). Containers deeper
/// than `max_depth` fail with the `RecursionError` boto3 hits on the way (the caller knows how
/// deep the Python side can go from where it calls).
pub fn attr_from_py(
    v: &crate::pyvalue::PyValue,
    max_depth: usize,
) -> Result<AttributeValue, PyException> {
    use crate::pyvalue::{PyInt, PyValue};
    if max_depth == 0 && matches!(v, PyValue::List(_) | PyValue::Dict(_)) {
        return Err(PyException::new(
            "RecursionError",
            "maximum recursion depth exceeded while calling a Python object",
        ));
    }
    Ok(match v {
        PyValue::None => AttributeValue::Null(true),
        PyValue::Bool(b) => AttributeValue::Bool(*b),
        PyValue::Int(i) => {
            let digits = match i {
                PyInt::I64(n) => n.unsigned_abs().to_string().len(),
                PyInt::Big(s) => s.trim_start_matches('-').len(),
            };
            if digits > 38 {
                return Err(PyException::new("Inexact", "[<class 'decimal.Inexact'>]"));
            }
            AttributeValue::N(i.to_string())
        }
        PyValue::Float(_) => {
            return Err(PyException::new(
                "TypeError",
                "Float types are not supported. Use Decimal types instead.",
            ))
        }
        PyValue::Str(s) => AttributeValue::S(py_text(s)?.to_owned()),
        PyValue::List(items) => AttributeValue::L(
            items
                .iter()
                .map(|x| attr_from_py(x, max_depth - 1))
                .collect::<Result<_, _>>()?,
        ),
        PyValue::Dict(d) => {
            let mut m = HashMap::with_capacity(d.len());
            for (k, x) in d.iter() {
                m.insert(py_text(k)?.to_owned(), attr_from_py(x, max_depth - 1)?);
            }
            AttributeValue::M(m)
        }
    })
}

/// The text of a Python `str` for an SDK request: what `s.encode()` would refuse fails the same.
fn py_text(s: &crate::pyvalue::PyStr) -> Result<&str, PyException> {
    s.to_str()
        .map_err(|e| PyException::new("UnicodeEncodeError", e.to_string()))
}

/// `json.dumps`' error for a value it cannot encode.
pub fn not_serializable(type_name: &str) -> PyException {
    PyException::new(
        "TypeError",
        format!("Object of type {type_name} is not JSON serializable"),
    )
}

/// `json.dumps` of a deserialised value (a `Decimal`, `Binary` or `set` anywhere fails).
pub fn attr_json(a: &Attr) -> Result<serde_json::Value, PyException> {
    use serde_json::Value;
    Ok(match a {
        Attr::Null => Value::Null,
        Attr::Bool(b) => Value::Bool(*b),
        Attr::Str(s) => Value::String(s.clone()),
        Attr::List(items) => Value::Array(items.iter().map(attr_json).collect::<Result<_, _>>()?),
        Attr::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), attr_json(v)?)))
                .collect::<Result<_, PyException>>()?,
        ),
        other => return Err(not_serializable(other.type_name())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_boto3_reads_them() {
        let n = |t: &str| Attr::from_sdk(&AttributeValue::N(t.into()));
        assert_eq!(n("3").unwrap().type_name(), "Decimal");
        match n("1_0").unwrap() {
            Attr::Dec(d) => assert!(d.is_nan()),
            other => panic!("{other:?}"),
        }
        // A 38-digit subnormal loses digits in DYNAMODB_CONTEXT: the whole call raises.
        let item = HashMap::from([
            ("user_id".to_owned(), AttributeValue::S("u".into())),
            (
                "x".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "deep".to_owned(),
                    AttributeValue::N("1.2345678901234567890123456789012345678E-130".into()),
                )])),
            ),
        ]);
        assert_eq!(item_from_sdk(&item).unwrap_err().kind, "Underflow");
        assert_eq!(
            Attr::from_sdk(&AttributeValue::Ns(vec!["1".into(), "sNaN".into()]))
                .unwrap_err()
                .message,
            "Cannot hash a signaling NaN value"
        );
    }

    #[test]
    fn json_fails_like_json_dumps() {
        let d = Attr::Dec(PyDecimal::from(1));
        assert_eq!(
            attr_json(&Attr::List(vec![Attr::Bool(true), d]))
                .unwrap_err()
                .message,
            "Object of type Decimal is not JSON serializable"
        );
        assert_eq!(
            attr_json(&Attr::Map(vec![("a".into(), Attr::Null)])).unwrap(),
            serde_json::json!({"a": null})
        );
    }
}
