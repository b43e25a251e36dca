//! Differential test of `pydecimal` against CPython's `decimal` and boto3.
//!
//! `data/pydecimal_corpus.json` holds what CPython 3.11 (the decimal module Lambda's python3.11
//! runtime has) and boto3's TypeDeserializer/TypeSerializer did with DynamoDB numbers at the
//! edges of their range and around the quotas (see `data/gen_pydecimal_corpus.py`, which
//! regenerates it and documents the format). Every case must come out the same here: the same
//! `str()` of a Decimal result, the same float to the bit, the same int, the same comparison, the
//! same operand picked by `max()`, and where Python raised, the same exception class and `str(e)`.

use manuel_shared::py::PyException;
use manuel_shared::pydecimal::{int_add, int_sub, int_truediv, py_max, PyDecimal, PyNumber};
use manuel_shared::pyvalue::PyInt;
use serde_json::{json, Value};

const CORPUS: &str = include_str!("data/pydecimal_corpus.json");

type R = Result<Value, PyException>;

fn n(v: &Value) -> Result<PyDecimal, PyException> {
    PyDecimal::from_dynamodb(v["n"].as_str().expect("n operand"))
}

fn int(v: &Value) -> i64 {
    v["i"].as_i64().expect("int operand")
}

fn float(v: &Value) -> f64 {
    v["f"]
        .as_str()
        .expect("float operand")
        .parse()
        .expect("float repr")
}

fn number(v: &Value) -> Result<PyNumber, PyException> {
    Ok(if v.get("n").is_some() {
        PyNumber::Decimal(n(v)?)
    } else if v.get("i").is_some() {
        PyNumber::from(int(v))
    } else {
        PyNumber::Float(float(v))
    })
}

fn dec(d: PyDecimal) -> Value {
    json!({"d": d.to_string()})
}

fn fl(f: f64) -> Value {
    // Debug prints every f64 so that it parses back to the same bits (inf, NaN included).
    json!({"f": format!("{f:?}")})
}

fn pyint(i: PyInt) -> Value {
    json!({"i": i.to_string()})
}

/// A number as `convert_decimal_to_number` leaves it: Decimals become floats.
fn converted(x: &PyNumber) -> R {
    Ok(match x {
        PyNumber::Int(i) => pyint(i.clone()),
        PyNumber::Float(f) => fl(*f),
        PyNumber::Decimal(d) => fl(d.to_f64()?),
    })
}

/// Decimal operands of a binary op; an int operand becomes `Decimal(i)`, as Python converts it.
fn dec_operand(v: &Value) -> Result<PyDecimal, PyException> {
    if v.get("i").is_some() {
        Ok(PyDecimal::from(int(v)))
    } else {
        n(v)
    }
}

/// The quota endpoint's arithmetic on one stored counter and a positive or zero quota.
fn quota(used: &PyDecimal, limit: i64) -> R {
    let remaining = PyDecimal::from(limit).sub(used)?;
    let remaining = py_max(&PyNumber::from(0), &PyNumber::Decimal(remaining))?.clone();
    let (percent, other) = if limit > 0 {
        let p = used
            .div(&PyDecimal::from(limit))?
            .mul(&PyDecimal::from(100))?;
        let o = int_truediv(0, limit)? * 100.0;
        (PyNumber::Decimal(p), PyNumber::Float(o))
    } else {
        (PyNumber::from(0), PyNumber::from(0))
    };
    let rounded = match &percent {
        PyNumber::Decimal(p) => PyNumber::Decimal(p.round(1)?),
        other => other.clone(),
    };
    let top = py_max(&percent, &other)?;
    let status = if top.ge(&PyNumber::from(100))? {
        "EXCEEDED"
    } else if top.ge(&PyNumber::from(90))? {
        "CRITICAL"
    } else if top.ge(&PyNumber::from(75))? {
        "WARNING"
    } else if top.ge(&PyNumber::from(50))? {
        "MODERATE"
    } else {
        "OK"
    };
    Ok(json!({
        "remaining": converted(&remaining)?,
        "percent": converted(&rounded)?,
        "status": status,
    }))
}

fn eval(op: &str, a: &Value, b: &Value) -> R {
    match op {
        "parse" => Ok(dec(n(a)?)),
        "serialize" => Ok(json!({"s": n(a)?.to_dynamodb()?})),
        "incr" => Ok(json!({"s": n(a)?.add(&PyDecimal::from(1))?.to_dynamodb()?})),
        "float" => Ok(fl(n(a)?.to_f64()?)),
        "int" => Ok(pyint(n(a)?.to_int()?)),
        "round0" => Ok(dec(n(a)?.round(0)?)),
        "round1" => Ok(dec(n(a)?.round(1)?)),
        "round2" => Ok(dec(n(a)?.round(2)?)),
        "max0" => {
            let zero = PyNumber::from(0);
            let x = PyNumber::Decimal(n(a)?);
            Ok(match py_max(&zero, &x)? {
                PyNumber::Decimal(d) => dec(*d),
                _ => json!({"zero": true}),
            })
        }
        "add" => Ok(dec(dec_operand(a)?.add(&dec_operand(b)?)?)),
        "sub" => Ok(dec(dec_operand(a)?.sub(&dec_operand(b)?)?)),
        "mul" => Ok(dec(dec_operand(a)?.mul(&dec_operand(b)?)?)),
        "div" => Ok(dec(dec_operand(a)?.div(&dec_operand(b)?)?)),
        "ge" => Ok(json!({"b": number(a)?.ge(&number(b)?)?})),
        "gt" => Ok(json!({"b": number(a)?.gt(&number(b)?)?})),
        "max" => {
            let (x, y) = (number(a)?, number(b)?);
            let picked = py_max(&x, &y)?;
            Ok(json!({"pick": if std::ptr::eq(picked, &x) { 0 } else { 1 }}))
        }
        "int_add" => Ok(pyint(int_add(&n(a)?.to_int()?, &n(b)?.to_int()?)?)),
        "int_sub" => Ok(pyint(int_sub(&PyInt::I64(int(a)), &PyInt::I64(int(b)))?)),
        "int_truediv" => Ok(fl(int_truediv(int(a), int(b))?)),
        "quota" => quota(&n(a)?, int(b)),
        "usage" => {
            let used = n(a)?;
            let queries = fl(used.to_f64()?);
            let remaining = PyDecimal::from(int(b)).sub(&used)?;
            Ok(json!({"queries": queries, "remaining": fl(remaining.to_f64()?)}))
        }
        other => panic!("unknown op {other}"),
    }
}

/// Equal as Python's answer: floats by value (bit for bit, any NaN equal to any NaN), the rest
/// as JSON.
fn same(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            w.len() == g.len()
                && w.iter().all(|(k, wv)| {
                    g.get(k).is_some_and(|gv| {
                        if k == "f" {
                            let parse = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
                            match (parse(wv), parse(gv)) {
                                (Some(w), Some(g)) => {
                                    (w.is_nan() && g.is_nan()) || w.to_bits() == g.to_bits()
                                }
                                _ => false,
                            }
                        } else {
                            same(wv, gv)
                        }
                    })
                })
        }
        _ => want == got,
    }
}

#[test]
fn pydecimal_matches_cpython_on_every_corpus_case() {
    let corpus: Value = serde_json::from_str(CORPUS).expect("corpus is JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30_000, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for c in cases {
        let (op, a, b, want) = (c[0].as_str().expect("op"), &c[1], &c[2], &c[3]);
        let got = match eval(op, a, b) {
            Ok(v) => v,
            Err(e) => json!({"e": [e.kind, e.message]}),
        };
        if !same(want, &got) {
            failures.push(format!("{op}({a}, {b}): python {want}, rust {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
