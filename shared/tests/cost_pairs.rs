//! Replays the input/output pairs recorded from Manuel's Python cost calculators
//! (`tests/data/cost_pairs.json`, written by `tests/data/gen_cost_pairs.py`) against the port.
//!
//! Floats are compared through their Python `repr`, which round-trips, so equal text means equal
//! bits; int versus float is compared too. Rendered JSON (`to_dict`, `asdict`) is compared as
//! text, byte for byte.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use manuel_shared::cost::calculator::{
    estimate_audio_duration, estimate_tokens_from_text, py_float_str, py_isoformat, AttrKind,
    CostCalculator, CostError, Currency, Num, Pricing, RequestCostParams, ServiceCost,
};
use manuel_shared::pyjson::dumps;
use manuel_shared::pyround::{try_py_round, PyRoundError};
use serde_json::{Map, Value};
use std::sync::OnceLock;

const MIN_PAIRS: usize = 60;

fn cases() -> &'static [Value] {
    static DATA: OnceLock<Value> = OnceLock::new();
    let doc = DATA.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cost_pairs.json");
        let text = std::fs::read_to_string(path).expect("read cost_pairs.json");
        serde_json::from_str(&text).expect("parse cost_pairs.json")
    });
    doc["cases"].as_array().expect("cases array")
}

fn of_kind(kind: &str) -> Vec<&'static Value> {
    let found: Vec<_> = cases().iter().filter(|c| c["kind"] == kind).collect();
    assert!(!found.is_empty(), "no '{kind}' cases recorded");
    found
}

/// Collects mismatches so one run reports all of them.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0
                .push(format!("{what}\n    got:  {got:?}\n    want: {want:?}"));
        }
    }

    fn finish(self, checked: usize) {
        assert!(
            self.0.is_empty(),
            "{} of {checked} cases differ from Python:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// A recorded Python value: `{"int": "..."}`, `{"float": "<repr>"}` or `{"str": "..."}`.
enum Py {
    Int(String),
    Float(f64),
    Str(String),
}

fn decode(v: &Value) -> Py {
    let obj = v.as_object().expect("tagged value");
    if let Some(i) = obj.get("int") {
        Py::Int(str_of(i).to_string())
    } else if let Some(f) = obj.get("float") {
        Py::Float(str_of(f).parse().expect("float repr"))
    } else {
        Py::Str(str_of(&obj["str"]).to_string())
    }
}

/// The recorded number as a [`Num`], or `None` for an int beyond `i64`.
fn num(v: &Value) -> Option<Num> {
    match decode(v) {
        Py::Int(i) => i.parse().ok().map(Num::Int),
        Py::Float(f) => Some(Num::Float(f)),
        Py::Str(s) => panic!("expected a number, got string {s:?}"),
    }
}

/// What Python's `repr` printed, tagged with its type: compared with the port's [`Num`].
fn recorded_repr(v: &Value) -> (bool, String) {
    let obj = v.as_object().expect("tagged value");
    match (obj.get("int"), obj.get("float")) {
        (Some(i), _) => (true, str_of(i).to_string()),
        (_, Some(f)) => (false, str_of(f).to_string()),
        _ => panic!("not a number: {v}"),
    }
}

fn port_repr(n: Num) -> (bool, String) {
    (matches!(n, Num::Int(_)), n.repr())
}

fn currency(case: &Value) -> Currency {
    match str_of(&case["currency"]) {
        "EUR" => Currency::Eur,
        "USD" => Currency::Usd,
        other => panic!("currency {other}"),
    }
}

fn check_service_cost(f: &mut Failures, ctx: &str, got: &ServiceCost, want: &Value) {
    f.check(
        &format!("{ctx} service"),
        got.service,
        str_of(&want["service"]),
    );
    f.check(
        &format!("{ctx} operation"),
        got.operation.as_str(),
        str_of(&want["operation"]),
    );
    f.check(&format!("{ctx} unit"), got.unit, str_of(&want["unit"]));
    f.check(
        &format!("{ctx} currency"),
        got.currency.as_str(),
        str_of(&want["currency"]),
    );
    f.check(
        &format!("{ctx} quantity"),
        port_repr(got.quantity),
        recorded_repr(&want["quantity"]),
    );
    f.check(
        &format!("{ctx} unit_cost"),
        port_repr(got.unit_cost),
        recorded_repr(&want["unit_cost"]),
    );
    f.check(
        &format!("{ctx} total_cost"),
        (false, py_float_str(got.total_cost)),
        recorded_repr(&want["total_cost"]),
    );
    if let Some(json) = want.get("asdict_json") {
        f.check(
            &format!("{ctx} asdict json"),
            dumps(&got.to_value()),
            str_of(json).to_string(),
        );
    }
}

#[test]
fn enough_pairs_were_recorded() {
    assert!(cases().len() >= MIN_PAIRS, "only {} pairs", cases().len());
    for kind in [
        "pricing",
        "service_cost",
        "request_cost",
        "estimate_tokens",
        "estimate_audio",
        "round",
        "isoformat",
    ] {
        of_kind(kind);
    }
}

#[test]
fn pricing_tables() {
    let mut f = Failures::default();
    let cases = of_kind("pricing");
    for case in &cases {
        let p = Pricing::for_currency(currency(case));
        let mut ours: Vec<(String, f64)> = Vec::new();
        for m in &p.bedrock {
            ours.push((
                format!("bedrock/{}/input_tokens", m.model_id),
                m.input_tokens,
            ));
            if let Some(out) = m.output_tokens {
                ours.push((format!("bedrock/{}/output_tokens", m.model_id), out));
            }
        }
        for (k, v) in [
            ("transcribe/standard", p.transcribe_standard),
            ("lambda/requests", p.lambda_requests),
            ("lambda/compute_gb_second", p.lambda_compute_gb_second),
            ("dynamodb/read_request_unit", p.dynamodb_read_request_unit),
            ("dynamodb/write_request_unit", p.dynamodb_write_request_unit),
            ("s3/standard_storage", p.s3_standard_storage),
            ("s3/standard_requests_put", p.s3_standard_requests_put),
            ("s3/standard_requests_get", p.s3_standard_requests_get),
            ("api_gateway/requests", p.api_gateway_requests),
            ("cloudwatch/logs_ingestion", p.cloudwatch_logs_ingestion),
            ("cloudwatch/logs_storage", p.cloudwatch_logs_storage),
            ("cloudwatch/custom_metrics", p.cloudwatch_custom_metrics),
        ] {
            ours.push((k.to_string(), v));
        }
        let ours: Vec<(String, String)> = ours
            .into_iter()
            .map(|(k, v)| (k, py_float_str(v)))
            .collect();
        let theirs: Vec<(String, String)> = case["entries"]
            .as_object()
            .expect("entries")
            .iter()
            .map(|(k, v)| (k.clone(), str_of(v).to_string()))
            .collect();
        f.check(
            &format!("{} pricing", str_of(&case["currency"])),
            ours,
            theirs,
        );
    }
    f.finish(cases.len());
}

#[test]
fn service_costs() {
    let mut f = Failures::default();
    let cases = of_kind("service_cost");
    for (i, case) in cases.iter().enumerate() {
        let calc = CostCalculator::new(Pricing::for_currency(currency(case)));
        let method = str_of(&case["method"]);
        let args: Vec<&Value> = case["args"].as_array().expect("args").iter().collect();
        let ctx = format!(
            "service_cost #{i} {method} {}",
            Value::Array(args.iter().map(|v| (*v).clone()).collect())
        );
        let nums: Vec<Option<Num>> = args
            .iter()
            .skip(usize::from(method == "bedrock"))
            .map(|v| num(v))
            .collect();
        let expects_error = case.get("rust_expects_error").is_some();
        if nums.iter().any(Option::is_none) {
            assert!(expects_error, "{ctx}: an input beyond i64 must be flagged");
            continue;
        }
        let n: Vec<Num> = nums.into_iter().map(Option::unwrap).collect();
        let got: Result<ServiceCost, CostError> = match method {
            "bedrock" => {
                let Py::Str(model) = decode(args[0]) else {
                    panic!("{ctx}: model")
                };
                calc.calculate_bedrock_cost(&model, n[0], n[1])
            }
            "transcribe" => Ok(calc.calculate_transcribe_cost(n[0])),
            "lambda" => Ok(calc.calculate_lambda_cost(n[0], n[1])),
            "dynamodb" => calc.calculate_dynamodb_cost(n[0], n[1]),
            "s3" => calc.calculate_s3_cost(n[0], n[1], n[2]),
            "api_gateway" => Ok(calc.calculate_api_gateway_cost(n[0])),
            other => panic!("unknown method {other}"),
        };
        match (got, expects_error) {
            (Ok(cost), false) => check_service_cost(&mut f, &ctx, &cost, &case["result"]),
            (Err(CostError::IntegerOverflow { .. }), true) => {}
            (other, _) => f.0.push(format!("{ctx}: unexpected {other:?}")),
        }
    }
    f.finish(cases.len());
}

fn instant(iso: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S"))
        .unwrap_or_else(|e| panic!("instant {iso}: {e}"));
    Utc.from_utc_datetime(&naive)
}

fn kwargs_json(case: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in case["kwargs"].as_object().expect("kwargs") {
        let value = match decode(v) {
            Py::Int(i) => Value::from(i.parse::<i64>().expect("i64 kwarg")),
            Py::Float(x) => Value::from(x),
            Py::Str(s) => Value::from(s),
        };
        out.insert(k.clone(), value);
    }
    out
}

#[test]
fn request_costs() {
    let mut f = Failures::default();
    let cases = of_kind("request_cost");
    for case in &cases {
        let ctx = format!("request_cost {}", str_of(&case["request_id"]));
        let now = instant(str_of(&case["now"]));
        let params = RequestCostParams::from_kwargs(&kwargs_json(case)).expect("kwargs");
        let rc = CostCalculator::new(Pricing::for_currency(currency(case)))
            .calculate_request_cost(
                str_of(&case["request_id"]),
                str_of(&case["user_id"]),
                str_of(&case["operation"]),
                &params,
                now,
            )
            .expect("request cost");
        f.check(
            &format!("{ctx} timestamp"),
            rc.timestamp.as_str(),
            str_of(&case["timestamp"]),
        );
        f.check(
            &format!("{ctx} total_cost"),
            (false, py_float_str(rc.total_cost)),
            recorded_repr(&case["total_cost"]),
        );
        let want_costs = case["service_costs"].as_array().expect("service_costs");
        f.check(
            &format!("{ctx} number of services"),
            rc.service_costs.len(),
            want_costs.len(),
        );
        for (j, (got, want)) in rc.service_costs.iter().zip(want_costs).enumerate() {
            check_service_cost(&mut f, &format!("{ctx} [{j}]"), got, want);
        }
        f.check(
            &format!("{ctx} to_dict json"),
            dumps(&rc.to_dict()),
            str_of(&case["to_dict_json"]).to_string(),
        );

        let item: Vec<(String, &str, String)> = rc
            .cost_item(now)
            .into_iter()
            .map(|a| {
                let kind = match a.kind {
                    AttrKind::S => "S",
                    AttrKind::N => "N",
                };
                (a.name.to_string(), kind, a.value)
            })
            .collect();
        let want_item: Vec<(String, &str, String)> = case["store_item"]
            .as_array()
            .expect("store_item")
            .iter()
            .map(|a| {
                (
                    str_of(&a[0]).to_string(),
                    str_of(&a[1]),
                    str_of(&a[2]).to_string(),
                )
            })
            .collect();
        f.check(&format!("{ctx} store item"), item, want_item);

        let metrics: Vec<Value> = rc
            .cost_metrics(now)
            .into_iter()
            .map(|m| {
                serde_json::json!({
                    "namespace": m.namespace,
                    "metric_name": m.metric_name,
                    "value": {"float": py_float_str(m.value)},
                    "unit": m.unit,
                    "dimensions": m.dimensions.iter().map(|d| [d.name, d.value.as_str()]).collect::<Vec<_>>(),
                    "timestamp": py_isoformat(&m.timestamp),
                })
            })
            .collect();
        f.check(
            &format!("{ctx} metrics"),
            Value::Array(metrics),
            case["metrics"].clone(),
        );
    }
    f.finish(cases.len());
}

#[test]
fn token_estimates() {
    let mut f = Failures::default();
    let cases = of_kind("estimate_tokens");
    for case in &cases {
        let text = str_of(&case["text"]);
        f.check(
            &format!("code points of {text:?}"),
            text.chars().count() as u64,
            case["code_points"].as_u64().unwrap(),
        );
        f.check(
            &format!("tokens of {text:?}"),
            estimate_tokens_from_text(text),
            case["tokens"].as_i64().unwrap(),
        );
    }
    f.finish(cases.len());
}

#[test]
fn audio_estimates() {
    let mut f = Failures::default();
    let cases = of_kind("estimate_audio");
    for case in &cases {
        let size = num(&case["size"]).expect("size within i64");
        f.check(
            &format!("audio duration of {size}"),
            (false, py_float_str(estimate_audio_duration(size))),
            recorded_repr(&case["seconds"]),
        );
    }
    f.finish(cases.len());
}

#[test]
fn python_round() {
    let mut f = Failures::default();
    let cases = of_kind("round");
    for case in &cases {
        let Py::Float(x) = decode(&case["x"]) else {
            panic!("round of a non-float")
        };
        let n = case["ndigits"].as_i64().expect("ndigits") as i32;
        let ctx = format!("round({}, {n})", py_float_str(x));
        match (try_py_round(x, n), case.get("result")) {
            (Ok(got), Some(want)) => f.check(&ctx, (false, py_float_str(got)), recorded_repr(want)),
            (Err(PyRoundError::Overflow), None) => {
                f.check(
                    &ctx,
                    "OverflowError: rounded value too large to represent",
                    str_of(&case["error"]),
                );
            }
            (got, want) => f.0.push(format!(
                "{ctx}: got {got:?}, Python {want:?} {:?}",
                case.get("error")
            )),
        }
    }
    f.finish(cases.len());
}

#[test]
fn isoformat() {
    let mut f = Failures::default();
    let cases = of_kind("isoformat");
    for case in &cases {
        let v: Vec<u32> = case["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        let t = Utc
            .with_ymd_and_hms(v[0] as i32, v[1], v[2], v[3], v[4], v[5])
            .unwrap()
            + chrono::TimeDelta::microseconds(i64::from(v[6]));
        f.check(
            &format!("isoformat {v:?}"),
            py_isoformat(&t),
            str_of(&case["isoformat"]).to_string(),
        );
    }
    f.finish(cases.len());
}
