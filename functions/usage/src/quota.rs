//! `GET /api/user/quota`: today's and this month's use against the quotas, in Python's number
//! types (`Decimal` for a stored counter, float for none), and the status it implies.

use crate::numbers::{number_out, opt_out};
use crate::stats::{get_stats, minus, Operand, Stats};
use crate::table::Table;
use crate::tracker::{tracker, Reader};
use crate::{dict, int, s};
use chrono::{DateTime, Utc};
use manuel_shared::py::PyException;
use manuel_shared::pydecimal::{self, py_max, PyDecimal, PyNumber};
use manuel_shared::pyvalue::PyValue;
use serde_json::Value;

/// `(used / limit) * 100 if limit > 0 else 0`: a Decimal (two roundings to 28 digits) for a
/// stored counter, a float for an int one, the int 0 for a quota of zero or less.
pub(crate) fn percent(used: &Operand, limit: i64) -> Result<PyNumber, PyException> {
    if limit <= 0 {
        return Ok(PyNumber::from(0));
    }
    Ok(match used {
        Operand::Int(u) => PyNumber::Float(pydecimal::int_truediv(*u, limit)? * 100.0),
        Operand::Dec(d) => {
            PyNumber::Decimal(d.div(&PyDecimal::from(limit))?.mul(&PyDecimal::from(100))?)
        }
    })
}

/// `round(x, 1)`, then `convert_decimal_to_number`: a Decimal quantizes (InvalidOperation past
/// 28 digits), a float rounds as floats do, the int 0 stays.
pub(crate) fn rounded(p: &PyNumber) -> Result<PyValue, PyException> {
    match p {
        PyNumber::Decimal(d) => Ok(PyValue::Float(d.round(1)?.to_f64()?)),
        PyNumber::Float(f) => Ok(PyValue::Float(manuel_shared::pyround::py_round(*f, 1))),
        PyNumber::Int(i) => Ok(PyValue::Int(i.clone())),
    }
}

/// `determine_quota_status(daily, monthly)`: the larger of the two (Python's `max`, exact
/// across Decimal, float and int), against the thresholds.
pub(crate) fn quota_status(
    daily: &PyNumber,
    monthly: &PyNumber,
) -> Result<&'static str, PyException> {
    let top = py_max(daily, monthly)?;
    for (threshold, status) in [
        (100, "EXCEEDED"),
        (90, "CRITICAL"),
        (75, "WARNING"),
        (50, "MODERATE"),
    ] {
        if top.ge(&PyNumber::from(threshold))? {
            return Ok(status);
        }
    }
    Ok("OK")
}

/// `max(0, x)`: the int 0 unless x is greater.
pub(crate) fn max0(n: PyNumber) -> Result<PyValue, PyException> {
    let zero = PyNumber::from(0);
    let picked = py_max(&zero, &n)?;
    number_out(picked)
}

/// The quota endpoint's body from its stats and quotas.
pub(crate) fn quota_body(
    user_id: &Value,
    stats: &Stats,
    daily_limit: i64,
    monthly_limit: i64,
) -> Result<PyValue, PyException> {
    let daily_used = stats.daily_used.num("-")?;
    let monthly_used = stats.monthly_used.num("-")?;
    let daily_remaining = max0(minus(daily_limit, &daily_used)?)?;
    let monthly_remaining = max0(minus(monthly_limit, &monthly_used)?)?;
    let daily_percent = percent(&daily_used, daily_limit)?;
    let monthly_percent = percent(&monthly_used, monthly_limit)?;
    Ok(dict(vec![
        ("user_id", PyValue::from_json(user_id)),
        (
            "quotas",
            dict(vec![
                (
                    "daily",
                    dict(vec![
                        ("limit", int(daily_limit)),
                        ("used", stats.daily_used.out()?),
                        ("remaining", daily_remaining),
                        ("percent_used", rounded(&daily_percent)?),
                    ]),
                ),
                (
                    "monthly",
                    dict(vec![
                        ("limit", int(monthly_limit)),
                        ("used", stats.monthly_used.out()?),
                        ("remaining", monthly_remaining),
                        ("percent_used", rounded(&monthly_percent)?),
                    ]),
                ),
            ]),
        ),
        ("status", s(quota_status(&daily_percent, &monthly_percent)?)),
        ("last_operation", opt_out(&stats.last_operation)?),
        ("last_updated", opt_out(&stats.last_updated)?),
    ]))
}

pub(crate) async fn quota<T: Table + Sync>(
    r: &Reader<'_, T>,
    user_id: &Value,
    now: DateTime<Utc>,
) -> Result<PyValue, PyException> {
    let t = tracker()?;
    let today = now.format("%Y-%m-%d").to_string();
    let Some(stats) = get_stats(r, &t, user_id, &today).await? else {
        return Err(PyException::key_error("daily_limit"));
    };
    quota_body(user_id, &stats, t.daily_limit, t.monthly_limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stat;
    use aws_sdk_dynamodb::types::AttributeValue;
    use manuel_shared::ddb::Attr;
    use serde_json::json;

    fn dec(t: &str) -> Operand {
        Operand::Dec(PyDecimal::from_dynamodb(t).unwrap())
    }

    #[test]
    fn quota_percentages_follow_python_types() {
        // Decimal path: 1/2000*100 = 0.05 exactly, half-even to 0.0; the float path would say 0.1.
        let p = percent(&dec("1"), 2000).unwrap();
        assert_eq!(rounded(&p).unwrap(), PyValue::Float(0.0));
        let f = percent(&Operand::Int(1), 2000).unwrap();
        assert_eq!(rounded(&f).unwrap(), PyValue::Float(0.1));
        assert_eq!(
            rounded(&percent(&Operand::Int(3), 0).unwrap()).unwrap(),
            int(0)
        );
        assert_eq!(
            quota_status(&PyNumber::Float(90.0), &PyNumber::from(0)).unwrap(),
            "CRITICAL"
        );
        // 1E-40 of 50 is far below every threshold (the old fixed-point port wrapped to EXCEEDED).
        let tiny = percent(&dec("1E-40"), 50).unwrap();
        assert_eq!(quota_status(&tiny, &PyNumber::Float(0.0)).unwrap(), "OK");
        // A 38-digit counter: round(…, 1) needs 39 digits, InvalidOperation (Python's 500).
        let big = percent(&dec("12345678901234567890123456789012345678"), 50).unwrap();
        assert_eq!(rounded(&big).unwrap_err().kind, "InvalidOperation");
    }

    /// The quota and usage cases of the shared corpus (what CPython computed for one stored
    /// counter and a quota), through this handler's own functions.
    #[test]
    fn quota_arithmetic_matches_the_corpus() {
        let corpus: Value = serde_json::from_str(include_str!(
            "../../../shared/tests/data/pydecimal_corpus.json"
        ))
        .unwrap();
        let tag = |v: &PyValue| match v {
            PyValue::Float(f) => json!({"f": format!("{f:?}")}),
            PyValue::Int(i) => json!({"i": i.to_string()}),
            other => json!({"other": format!("{other:?}")}),
        };
        let same_float = |w: &Value, g: &Value| {
            let f = |v: &Value| v["f"].as_str().and_then(|s| s.parse::<f64>().ok());
            match (f(w), f(g)) {
                (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                _ => w == g,
            }
        };
        let mut checked = 0;
        for c in corpus["cases"].as_array().unwrap() {
            let (op, want) = (c[0].as_str().unwrap(), &c[3]);
            if op != "quota" && op != "usage" {
                continue;
            }
            let limit = c[2]["i"].as_i64().unwrap();
            let text = c[1]["n"].as_str().unwrap();
            let got: Result<Value, PyException> = (|| {
                let stored = Attr::from_sdk(&AttributeValue::N(text.into()))?;
                let stat = Stat::Stored(stored);
                if op == "quota" {
                    let stats = Stats {
                        daily_used: stat,
                        monthly_used: Stat::Default(0),
                        last_operation: None,
                        last_updated: None,
                    };
                    let body = quota_body(&json!("u"), &stats, limit, limit)?;
                    let daily = body.get("quotas").ok().flatten().unwrap().get("daily");
                    let daily = daily.ok().flatten().unwrap();
                    let status = body.get("status").ok().flatten().unwrap();
                    Ok(json!({
                        "remaining": tag(daily.get("remaining").ok().flatten().unwrap()),
                        "percent": tag(daily.get("percent_used").ok().flatten().unwrap()),
                        "status": status.as_py_str().unwrap().to_string_lossy(),
                    }))
                } else {
                    let queries = stat.out()?;
                    let remaining = number_out(&minus(limit, &stat.num("-")?)?)?;
                    Ok(json!({"queries": tag(&queries), "remaining": tag(&remaining)}))
                }
            })();
            match (want.get("e"), got) {
                (Some(_), Err(_)) => {}
                (None, Ok(g)) => {
                    let keys = ["remaining", "percent", "queries"];
                    for k in keys {
                        if let Some(w) = want.get(k) {
                            assert!(
                                same_float(w, &g[k]),
                                "{op}({text}, {limit}).{k}: python {w}, rust {}",
                                g[k]
                            );
                        }
                    }
                    if let Some(w) = want.get("status") {
                        assert_eq!(w, &g["status"], "{op}({text}, {limit})");
                    }
                }
                (w, g) => panic!("{op}({text}, {limit}): python {want}, rust {g:?} ({w:?})"),
            }
            checked += 1;
        }
        assert!(checked > 1000, "{checked}");
    }
}
