//! Differential test of `pyvalue::loads` against CPython's `json.loads`.
//!
//! `data/pyloads_corpus.json` holds what CPython 3.11 did with each input (see
//! `data/gen_pyloads_corpus.py`, which regenerates it). Every case must come out the same here:
//! accepted or rejected alike, the same exception class and `str(e)` with the same position, line
//! and column, and for accepted input the same `json.dumps` text, type name, truthiness, `len()`
//! and `str.encode()` failure — the facts a handler's answer depends on.

use manuel_shared::pyjson;
use manuel_shared::pyvalue::{dumps, loads, LoadsErrorKind, PyValue};
use serde_json::Value;

const CORPUS: &str = include_str!("data/pyloads_corpus.json");

/// Differences between the expected description (`want`, from Python) and `got`.
fn compare_value(label: &str, want: &Value, got: &PyValue, problems: &mut Vec<String>) {
    let mut check = |what: &str, expected: Value, actual: Value| {
        if expected != actual {
            problems.push(format!("{label}{what}: python {expected}, rust {actual}"));
        }
    };
    let text = dumps(got);
    check("dumps", want["ok"].clone(), Value::from(text.as_str()));
    check("type", want["type"].clone(), Value::from(got.type_name()));
    check(
        "truthy",
        want["truthy"].clone(),
        Value::from(got.is_truthy()),
    );
    check(
        "len",
        want.get("len").cloned().unwrap_or(Value::Null),
        got.py_len().map_or(Value::Null, Value::from),
    );
    let encode_error = got
        .as_py_str()
        .and_then(|s| s.to_str().err())
        .map_or(Value::Null, |e| Value::from(e.to_string()));
    check(
        "encode_error",
        want.get("encode_error").cloned().unwrap_or(Value::Null),
        encode_error,
    );
    // Where serde_json can hold the value, the existing renderer must agree with Python too.
    if let Some(json) = got.to_json() {
        check(
            "to_json",
            want["ok"].clone(),
            Value::from(pyjson::dumps(&json)),
        );
    }
}

#[test]
fn rust_loads_matches_cpython_on_every_corpus_case() {
    let corpus: Value = serde_json::from_str(CORPUS).expect("corpus is JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 300, "corpus too small: {}", cases.len());

    let mut failures = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for (n, case) in cases.iter().enumerate() {
        let input = case["input"].as_str().expect("input is a string");
        let short: String = input.chars().take(60).collect();
        let label = format!("case {n} {short:?}: ");
        let mut problems = Vec::new();
        match (loads(input), case.get("exc")) {
            (Ok(v), None) => {
                *outcomes.entry(format!("ok {}", v.type_name())).or_default() += 1;
                compare_value(&label, case, &v, &mut problems);
                match (v.get("question"), case.get("question")) {
                    (Ok(Some(q)), Some(want)) => {
                        compare_value(&format!("{label}question "), want, q, &mut problems)
                    }
                    (Ok(None), None) | (Err(_), None) => {}
                    (got, want) => problems.push(format!(
                        "{label}question: python {want:?}, rust {:?}",
                        got.map(|q| q.map(dumps))
                    )),
                }
            }
            (Err(e), Some(exc)) => {
                *outcomes.entry(e.kind.python_name().to_owned()).or_default() += 1;
                if exc != e.kind.python_name() {
                    problems.push(format!("{label}python raised {exc}, rust {:?}", e.kind));
                }
                if case["error"] != e.to_string().as_str() {
                    problems.push(format!("{label}python {}, rust {e}", case["error"]));
                }
                if e.kind == LoadsErrorKind::JsonDecodeError {
                    let got = [e.pos, e.lineno, e.colno].map(Value::from);
                    let want = [&case["pos"], &case["lineno"], &case["colno"]].map(Value::clone);
                    if got != want {
                        problems.push(format!("{label}pos/line/col python {want:?}, rust {got:?}"));
                    }
                }
            }
            (Ok(v), Some(_)) => problems.push(format!(
                "{label}python raised {}, rust accepted {}",
                case["error"],
                dumps(&v)
            )),
            (Err(e), None) => problems.push(format!(
                "{label}python gave {}, rust raised {e}",
                case["ok"]
            )),
        }
        failures.extend(problems);
    }
    // Every outcome class must be exercised, or a broken corpus would pass silently.
    for needed in [
        "ok dict",
        "ok list",
        "ok str",
        "ok int",
        "ok float",
        "JSONDecodeError",
        "ValueError",
        "RecursionError",
    ] {
        assert!(
            outcomes.contains_key(needed),
            "no corpus case ends in {needed}: {outcomes:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} differences from CPython (first 30):\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
