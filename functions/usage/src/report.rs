//! `GET /api/user/usage`: the body of the usage endpoint, from the stats, history, breakdown
//! and costs.

use crate::costs::{daily_costs, monthly_costs, recent_out, recent_queries};
use crate::history::{breakdown, historical, historical_out};
use crate::numbers::{check_int_digits, number_out};
use crate::stats::{get_stats, minus, Stat};
use crate::table::Table;
use crate::tracker::{tracker, Reader};
use crate::{dict, int, s};
use chrono::{DateTime, Utc};
use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{PyDict, PyStr, PyValue};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) async fn usage<T: Table + Sync>(
    r: &Reader<'_, T>,
    user_id: &Value,
    now: DateTime<Utc>,
) -> Result<PyValue, PyException> {
    let t = tracker()?;
    let today = now.format("%Y-%m-%d").to_string();
    let month = now.format("%Y-%m").to_string();
    let stats = get_stats(r, &t, user_id, &today).await?;
    let historical = historical(r, &t, user_id, now).await;
    let breakdown = breakdown(r, &t, user_id, &month).await;
    let daily = daily_costs(r, &t, user_id, &today).await;
    let monthly = monthly_costs(r, &t, user_id, &month).await;
    let recent = recent_queries(r, &t, user_id).await;

    // `current_stats.get(k, default)`: the error dict has none of the keys.
    let (daily_used, daily_limit, monthly_used, monthly_limit) = match &stats {
        Some(st) => (
            st.daily_used.clone(),
            t.daily_limit,
            st.monthly_used.clone(),
            t.monthly_limit,
        ),
        None => (Stat::Default(0), 50, Stat::Default(0), 1000),
    };
    let daily_remaining = minus(daily_limit, &daily_used.num("-")?)?;
    let monthly_remaining = minus(monthly_limit, &monthly_used.num("-")?)?;
    let cost = |m: &HashMap<&str, f64>, k: &str| PyValue::Float(m.get(k).copied().unwrap_or(0.0));
    let mut services = PyDict::new();
    for (k, v) in &monthly.1 {
        services.insert(PyStr::from(k.as_str()), PyValue::Float(*v));
    }
    let body = dict(vec![
        (
            "current_usage",
            dict(vec![
                ("daily_queries", daily_used.out()?),
                ("daily_limit", int(daily_limit)),
                ("daily_remaining", number_out(&daily_remaining)?),
                ("monthly_queries", monthly_used.out()?),
                ("monthly_limit", int(monthly_limit)),
                ("monthly_remaining", number_out(&monthly_remaining)?),
            ]),
        ),
        (
            "daily_costs",
            dict(vec![
                ("total_cost", cost(&daily, "total")),
                ("transcribe_cost", cost(&daily, "transcribe")),
                ("bedrock_cost", cost(&daily, "bedrock")),
                ("lambda_cost", cost(&daily, "lambda")),
                ("s3_cost", cost(&daily, "s3")),
                ("api_gateway_cost", cost(&daily, "api_gateway")),
                ("currency", s("EUR")),
            ]),
        ),
        (
            "monthly_costs",
            dict(vec![
                ("total_cost", PyValue::Float(monthly.0)),
                ("service_breakdown", PyValue::Dict(services)),
                ("currency", s("EUR")),
            ]),
        ),
        ("recent_queries", recent_out(recent)?),
        ("user_id", PyValue::from_json(user_id)),
        ("historical", historical_out(historical)?),
        ("breakdown", breakdown),
    ]);
    check_int_digits(&body)?;
    Ok(body)
}
