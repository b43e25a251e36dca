//! DynamoDB items as boto3's resource layer hands them to Python: `N` becomes `Decimal`, `S`
//! `str`, `M` a dict, and so on. Manuel's handlers do arithmetic and comparisons on those
//! values and serialise them, so the ports need the same value model to fail and succeed in
//! the same places (a `Decimal` is not JSON serialisable; a counter stored as a string cannot
//! be compared with an int).

use crate::py::PyException;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// A deserialised attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Null,
    Bool(bool),
    /// `Decimal` (the number's text as DynamoDB returned it).
    Dec(String),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Attr>),
    Map(Vec<(String, Attr)>),
    /// `set` (SS, NS, BS): not JSON serialisable.
    Set,
}

impl Attr {
    pub fn from_sdk(v: &AttributeValue) -> Attr {
        match v {
            AttributeValue::Null(_) => Attr::Null,
            AttributeValue::Bool(b) => Attr::Bool(*b),
            AttributeValue::N(n) => Attr::Dec(n.clone()),
            AttributeValue::S(s) => Attr::Str(s.clone()),
            AttributeValue::B(b) => Attr::Bytes(b.as_ref().to_vec()),
            AttributeValue::L(items) => Attr::List(items.iter().map(Attr::from_sdk).collect()),
            AttributeValue::M(m) => {
                let mut entries: Vec<(String, Attr)> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), Attr::from_sdk(v)))
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Attr::Map(entries)
            }
            _ => Attr::Set,
        }
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
            Attr::Set => "set",
        }
    }

    /// The number as a float (`float(Decimal)` is correctly rounded, as Rust's parse is).
    pub fn dec_f64(&self) -> Option<f64> {
        match self {
            Attr::Dec(n) => n.trim().parse::<f64>().ok(),
            _ => None,
        }
    }
}

/// An item as `table.get_item(...)["Item"]` returns it.
pub type Item = HashMap<String, Attr>;

pub fn item_from_sdk(m: &HashMap<String, AttributeValue>) -> Item {
    m.iter()
        .map(|(k, v)| (k.clone(), Attr::from_sdk(v)))
        .collect()
}

/// A number Python code computed with, where int vs Decimal matters.
#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    Int(i64),
    Dec(String),
}

impl Num {
    pub fn as_f64(&self) -> f64 {
        match self {
            Num::Int(i) => *i as f64,
            Num::Dec(s) => s.trim().parse().unwrap_or(f64::NAN),
        }
    }

    /// `x + 1` (int stays int, Decimal stays Decimal).
    pub fn plus_one(&self) -> Num {
        match self {
            Num::Int(i) => Num::Int(i + 1),
            Num::Dec(s) => Num::Dec(decimal_add(s, 1)),
        }
    }

    /// The value boto3 writes for it (`N`).
    pub fn to_attribute(&self) -> AttributeValue {
        match self {
            Num::Int(i) => AttributeValue::N(i.to_string()),
            Num::Dec(s) => AttributeValue::N(s.clone()),
        }
    }

    /// As a JSON value, failing like `json.dumps` on a Decimal.
    pub fn to_json(&self) -> Result<Value, PyException> {
        match self {
            Num::Int(i) => Ok(Value::from(*i)),
            Num::Dec(_) => Err(not_serializable("Decimal")),
        }
    }
}

/// `json.dumps`' error for a value it cannot encode.
pub fn not_serializable(type_name: &str) -> PyException {
    PyException::new(
        "TypeError",
        format!("Object of type {type_name} is not JSON serializable"),
    )
}

/// `item.get(name, 0)` used as a counter: an absent attribute is the int 0, a number a Decimal,
/// a bool an int (Python's bool is an int); anything else fails the comparison that follows.
pub fn counter(item: &Item, name: &str) -> Result<Num, PyException> {
    match item.get(name) {
        None => Ok(Num::Int(0)),
        Some(Attr::Dec(n)) => Ok(Num::Dec(n.clone())),
        Some(Attr::Bool(b)) => Ok(Num::Int(*b as i64)),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "'>=' not supported between instances of '{}' and 'int'",
                other.type_name()
            ),
        )),
    }
}

/// Decimal addition of a small integer to DynamoDB's number text (exact for integers and
/// plain decimals, which is what counters hold).
pub fn decimal_add(n: &str, k: i64) -> String {
    let t = n.trim();
    if let Ok(i) = t.parse::<i128>() {
        return (i + k as i128).to_string();
    }
    if let Some((int, frac)) = t.split_once('.') {
        if let Ok(i) = int.parse::<i128>() {
            if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) {
                let neg = int.starts_with('-');
                // Work on the scaled integer so that the fraction keeps its digits.
                let scale = 10i128.pow(frac.len() as u32);
                let f: i128 = frac.parse().unwrap_or(0);
                let whole = i * scale + if neg { -f } else { f } + k as i128 * scale;
                let sign = if whole < 0 { "-" } else { "" };
                let a = whole.abs();
                return format!(
                    "{sign}{}.{:0width$}",
                    a / scale,
                    a % scale,
                    width = frac.len()
                );
            }
        }
    }
    crate::pyjson::float_repr(t.parse::<f64>().unwrap_or(f64::NAN) + k as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_counters_add_exactly() {
        assert_eq!(decimal_add("3", 1), "4");
        assert_eq!(decimal_add("2.50", 1), "3.50");
        assert_eq!(decimal_add("-0.5", 1), "0.5");
        assert_eq!(
            decimal_add("99999999999999999999", 1),
            "100000000000000000000"
        );
    }

    #[test]
    fn counters_behave_like_python_values() {
        let mut item = Item::new();
        item.insert("a".into(), Attr::Dec("3".into()));
        item.insert("s".into(), Attr::Str("3".into()));
        assert_eq!(counter(&item, "a").unwrap(), Num::Dec("3".into()));
        assert_eq!(counter(&item, "missing").unwrap(), Num::Int(0));
        let err = counter(&item, "s").unwrap_err();
        assert_eq!(
            err.message,
            "'>=' not supported between instances of 'str' and 'int'"
        );
        assert_eq!(
            Num::Dec("1".into()).to_json().unwrap_err().message,
            "Object of type Decimal is not JSON serializable"
        );
    }
}
