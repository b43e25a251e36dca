//! The local stack's CloudWatch alarms and SNS → Lambda delivery, for the alarms this tool
//! creates (the shift guards, `manuel-migrate-guard-*`). moto stores alarms but never evaluates
//! them nor sends their actions, and delivers SNS to Lambda only through Docker
//! (`../shared/LOCAL-AWS.md`); this service plays both parts:
//!
//! 1. every tick (2 s; CloudWatch evaluates once a minute) it reads the alarms from moto, takes
//!    each query's `Sum` over the alarm's period ending now (one sliding datapoint), evaluates
//!    the expression ([`super::metric_math`]) and compares it with the threshold;
//! 2. on a state change it sets the state in moto (`SetAlarmState`, so `DescribeAlarms` and
//!    `status` see it) and, for the actions of the new state, publishes CloudWatch's
//!    notification to each SNS topic (moto delivers it to SQS subscribers) and invokes each
//!    Lambda subscriber whose `manuel-migrate:function` tag names a project function through
//!    the local Runtime API, with the deployed function's environment, as Lambda's SNS
//!    integration would.
//!
//! `POST /__alarms/evaluate` runs one evaluation at once and answers what it did (tests);
//! each transition and invocation is also a log line.

use super::Stack;
use crate::config::Project;
use crate::exec::{Pool, Side};
use crate::shift::guard::{FUNCTION_TAG, PREFIX};
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, StateValue, Statistic};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum AlarmsError {
    #[error("alarm service on 127.0.0.1:{port}: {message}")]
    Bind { port: u16, message: String },
    #[error("{call}: {message}")]
    Aws { call: &'static str, message: String },
}

fn aws(call: &'static str, e: impl std::error::Error) -> AlarmsError {
    AlarmsError::Aws {
        call,
        message: super::aws_message(&e),
    }
}

struct Evaluator {
    project: Project,
    run_dir: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

/// Serve the health and evaluate endpoints and evaluate every `tick`, until killed.
pub async fn serve(
    project: Project,
    run_dir: PathBuf,
    port: u16,
    tick: Duration,
) -> Result<(), AlarmsError> {
    let ev = Arc::new(Evaluator {
        project,
        run_dir,
        lock: tokio::sync::Mutex::new(()),
    });
    let app = axum::Router::new()
        .route("/__alarms/health", axum::routing::get(|| async { "ok" }))
        .route(
            "/__alarms/evaluate",
            axum::routing::post({
                let ev = ev.clone();
                move || {
                    let ev = ev.clone();
                    async move {
                        let out = match ev.evaluate().await {
                            Ok(v) => v,
                            Err(e) => json!({"error": e.to_string()}),
                        };
                        axum::Json(out)
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| AlarmsError::Bind {
            port,
            message: e.to_string(),
        })?;
    let ticker = {
        let ev = ev.clone();
        async move {
            loop {
                tokio::time::sleep(tick).await;
                if let Err(e) = ev.evaluate().await {
                    tracing::warn!("alarm evaluation: {e}");
                }
            }
        }
    };
    let server = axum::serve(listener, app);
    tokio::select! {
        r = server => r.map_err(|e| AlarmsError::Bind { port, message: e.to_string() }),
        () = ticker => Ok(()),
    }
}

/// The tool's alarms in moto, asked of the launcher without an AWS request (`None`: a moto
/// without the launcher's endpoint, which is then asked through the SDK).
async fn guard_alarm_names(stack: &Stack) -> Result<Option<Vec<String>>, AlarmsError> {
    let local = |e: reqwest::Error| AlarmsError::Aws {
        call: "moto /__local/alarms",
        message: e.to_string(),
    };
    let resp = reqwest::Client::new()
        .get(format!("{}/__local/alarms", stack.moto_url()))
        .query(&[("prefix", PREFIX)])
        .send()
        .await
        .map_err(local)?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Names {
        names: Vec<String>,
    }
    let names: Names = resp
        .error_for_status()
        .map_err(local)?
        .json()
        .await
        .map_err(local)?;
    Ok(Some(names.names))
}

/// The state an alarm's value gives (`None` value: missing data, as `TreatMissingData` says).
pub fn state_for(
    value: Option<f64>,
    threshold: f64,
    op: &ComparisonOperator,
    treat_missing: &str,
    current: &StateValue,
) -> StateValue {
    let Some(v) = value else {
        return match treat_missing {
            "breaching" => StateValue::Alarm,
            "ignore" => current.clone(),
            "missing" => StateValue::InsufficientData,
            _ => StateValue::Ok,
        };
    };
    let breach = match op {
        ComparisonOperator::GreaterThanThreshold => v > threshold,
        ComparisonOperator::GreaterThanOrEqualToThreshold => v >= threshold,
        ComparisonOperator::LessThanThreshold => v < threshold,
        ComparisonOperator::LessThanOrEqualToThreshold => v <= threshold,
        _ => false,
    };
    if breach {
        StateValue::Alarm
    } else {
        StateValue::Ok
    }
}

impl Evaluator {
    async fn evaluate(&self) -> Result<Value, AlarmsError> {
        let _one_at_a_time = self.lock.lock().await;
        // The stack is whole only once every service is up; until then there is nothing to do.
        let Some(stack) = Stack::attach_at(&self.project, self.run_dir.clone()) else {
            return Ok(json!({"evaluated": 0, "note": "the stack is not up yet"}));
        };
        // No AWS request while the tool has no alarm: each would draw a request id from moto's
        // seeded generator, and the ids a case draws would depend on when the last tick was.
        if guard_alarm_names(&stack)
            .await?
            .is_some_and(|n| n.is_empty())
        {
            return Ok(json!({"evaluated": 0, "alarms": []}));
        }
        let conf = stack.sdk_config().await;
        let cw = aws_sdk_cloudwatch::Client::new(&conf);
        let alarms = cw
            .describe_alarms()
            .alarm_name_prefix(PREFIX)
            .send()
            .await
            .map_err(|e| aws("cloudwatch:DescribeAlarms", e))?;
        let mut out = Vec::new();
        for alarm in alarms.metric_alarms() {
            out.push(self.one(&stack, &cw, alarm).await);
        }
        Ok(json!({"evaluated": out.len(), "alarms": out}))
    }

    async fn one(&self, stack: &Stack, cw: &aws_sdk_cloudwatch::Client, a: &MetricAlarm) -> Value {
        let name = a.alarm_name().unwrap_or_default().to_owned();
        let value = match value_of(cw, a).await {
            Ok(v) => v,
            Err(e) => return json!({"alarm": name, "error": e}),
        };
        let current = a
            .state_value()
            .cloned()
            .unwrap_or(StateValue::InsufficientData);
        let threshold = a.threshold().unwrap_or_default();
        let op = a
            .comparison_operator()
            .cloned()
            .unwrap_or(ComparisonOperator::GreaterThanThreshold);
        let new = state_for(
            value,
            threshold,
            &op,
            a.treat_missing_data().unwrap_or("missing"),
            &current,
        );
        let mut entry = json!({
            "alarm": name, "value": value, "threshold": threshold,
            "from": current.as_str(), "to": new.as_str(),
        });
        if new == current {
            return entry;
        }
        let reason = match value {
            Some(v) => format!(
                "Threshold Crossed: 1 datapoint [{v}] was {} the threshold ({threshold}) (evaluated by the local stack).",
                if new == StateValue::Alarm { "beyond" } else { "not beyond" }
            ),
            None => "no datapoint in the period: treated as TreatMissingData says (local stack)".into(),
        };
        let changed_at = SystemTime::now();
        if let Err(e) = cw
            .set_alarm_state()
            .alarm_name(&name)
            .state_value(new.clone())
            .state_reason(&reason)
            .send()
            .await
        {
            entry["error"] = json!(super::aws_message(&e));
            return entry;
        }
        tracing::warn!(
            "alarm {name}: {} → {} ({reason})",
            current.as_str(),
            new.as_str()
        );
        let actions: Vec<String> = match (&new, a.actions_enabled().unwrap_or(true)) {
            (_, false) => vec![],
            (StateValue::Alarm, true) => a.alarm_actions().to_vec(),
            (StateValue::Ok, true) => a.ok_actions().to_vec(),
            (_, true) => a.insufficient_data_actions().to_vec(),
        };
        let message = json!({
            "AlarmName": name,
            "AlarmDescription": a.alarm_description(),
            "AWSAccountId": stack.names.account_id,
            "AlarmConfigurationUpdatedTimestamp": a.alarm_configuration_updated_timestamp().map(|t| t.to_string()),
            "NewStateValue": new.as_str(),
            "NewStateReason": reason,
            "StateChangeTime": chrono::DateTime::<chrono::Utc>::from(changed_at).to_rfc3339(),
            "Region": stack.names.region,
            "AlarmArn": a.alarm_arn(),
            "OldStateValue": current.as_str(),
            "Trigger": {"Threshold": threshold, "ComparisonOperator": op.as_str(), "EvaluationPeriods": a.evaluation_periods()},
        });
        let mut delivered = Vec::new();
        for topic in actions.iter().filter(|t| t.starts_with("arn:aws:sns:")) {
            delivered.extend(self.deliver(stack, topic, &name, &new, &message).await);
        }
        entry["delivered"] = Value::Array(delivered);
        entry
    }

    /// Publish to the topic, then invoke its Lambda subscribers as SNS would.
    async fn deliver(
        &self,
        stack: &Stack,
        topic: &str,
        alarm: &str,
        state: &StateValue,
        message: &Value,
    ) -> Vec<Value> {
        let conf = stack.sdk_config().await;
        let sns = aws_sdk_sns::Client::new(&conf);
        let subject = format!("{}: \"{alarm}\" in {}", state.as_str(), stack.names.region);
        let published = sns
            .publish()
            .topic_arn(topic)
            .subject(&subject)
            .message(message.to_string())
            .send()
            .await;
        let message_id = match published {
            Ok(p) => p.message_id().unwrap_or_default().to_owned(),
            Err(e) => {
                return vec![json!({"topic": topic, "error": super::aws_message(&e)})];
            }
        };
        let subs = match sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .send()
            .await
        {
            Ok(s) => s,
            Err(e) => return vec![json!({"topic": topic, "error": super::aws_message(&e)})],
        };
        let mut out = Vec::new();
        for s in subs
            .subscriptions()
            .iter()
            .filter(|s| s.protocol() == Some("lambda"))
        {
            let endpoint = s.endpoint().unwrap_or_default();
            let event = json!({"Records": [{
                "EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": s.subscription_arn(),
                "Sns": {
                    "Type": "Notification", "MessageId": message_id, "TopicArn": topic,
                    "Subject": subject, "Message": message.to_string(),
                    "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "SignatureVersion": "1", "MessageAttributes": {},
                },
            }]});
            out.push(self.invoke(stack, endpoint, &event).await);
        }
        out
    }

    /// Invoke the function an ARN names through the local Runtime API, cold, with its
    /// deployed environment.
    async fn invoke(&self, stack: &Stack, function_arn: &str, event: &Value) -> Value {
        let started = Instant::now();
        let conf = stack.sdk_config().await;
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let project_function = lambda
            .list_tags()
            .resource(function_arn)
            .send()
            .await
            .ok()
            .and_then(|t| t.tags().and_then(|t| t.get(FUNCTION_TAG)).cloned());
        let Some(function) = project_function else {
            return json!({"function": function_arn, "skipped": format!("no {FUNCTION_TAG} tag: not a function of this project")});
        };
        let env: BTreeMap<String, String> = match lambda
            .get_function_configuration()
            .function_name(function_arn)
            .send()
            .await
        {
            Ok(c) => c
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            Err(e) => return json!({"function": function_arn, "error": super::aws_message(&e)}),
        };
        let pool = match Pool::new(&self.project, stack, &function, Side::Rust, None, None) {
            Ok(p) => p.with_lambda_limits(true, None),
            Err(e) => return json!({"function": function_arn, "error": e.to_string()}),
        };
        let body = axum::body::Bytes::from(event.to_string());
        match pool.invoke_cold(&env, body).await {
            Ok(answer) => {
                let ms = started.elapsed().as_secs_f64() * 1e3;
                let (ok, payload) = match &answer.outcome {
                    Some(crate::exec::runtime_api::Outcome::Response(b)) => (
                        true,
                        serde_json::from_slice::<Value>(b).unwrap_or(Value::Null),
                    ),
                    Some(crate::exec::runtime_api::Outcome::FunctionError { payload, .. }) => {
                        (false, payload.clone())
                    }
                    None => (false, Value::Null),
                };
                let init_ms = answer.report.as_ref().and_then(|r| r.init_ms);
                tracing::warn!(
                    "invoked {function_arn} ({function}) for the alarm: {} in {ms:.0} ms (init {init_ms:?} ms): {payload}",
                    if ok { "answered" } else { "FAILED" }
                );
                json!({"function": function_arn, "crate": function, "ok": ok, "answer": payload,
                       "ms": ms, "init_ms": init_ms, "logs": answer.logs})
            }
            Err(e) => json!({"function": function_arn, "error": e.to_string()}),
        }
    }
}

/// The alarm's value now: each `MetricStat` query's statistic over the last period (no
/// datapoint → missing), then the expression that returns data (or the one metric query).
async fn value_of(cw: &aws_sdk_cloudwatch::Client, a: &MetricAlarm) -> Result<Option<f64>, String> {
    let mut values: HashMap<String, Option<f64>> = HashMap::new();
    let now = SystemTime::now();
    for q in a.metrics() {
        let Some(ms) = q.metric_stat() else { continue };
        let Some(m) = ms.metric() else { continue };
        let period = ms.period().unwrap_or(60).max(1);
        let stat = Statistic::from(ms.stat().unwrap_or("Sum"));
        let r = cw
            .get_metric_statistics()
            .namespace(m.namespace().unwrap_or_default())
            .metric_name(m.metric_name().unwrap_or_default())
            .set_dimensions(Some(m.dimensions().to_vec()))
            .start_time(aws_sdk_cloudwatch::primitives::DateTime::from(
                now - Duration::from_secs(period as u64),
            ))
            .end_time(aws_sdk_cloudwatch::primitives::DateTime::from(
                now + Duration::from_secs(1),
            ))
            .period(period)
            .statistics(stat.clone())
            .send()
            .await
            .map_err(|e| super::aws_message(&e))?;
        let points = r.datapoints();
        let v = if points.is_empty() {
            None
        } else {
            Some(match stat {
                Statistic::Maximum => points
                    .iter()
                    .filter_map(|d| d.maximum())
                    .fold(f64::MIN, f64::max),
                Statistic::Minimum => points
                    .iter()
                    .filter_map(|d| d.minimum())
                    .fold(f64::MAX, f64::min),
                Statistic::Average => {
                    points.iter().filter_map(|d| d.average()).sum::<f64>() / points.len() as f64
                }
                Statistic::SampleCount => points.iter().filter_map(|d| d.sample_count()).sum(),
                _ => points.iter().filter_map(|d| d.sum()).sum(),
            })
        };
        values.insert(q.id().unwrap_or_default().to_owned(), v);
    }
    let returned = a
        .metrics()
        .iter()
        .find(|q| q.return_data().unwrap_or(false));
    match returned {
        Some(q) if q.expression().is_some() => {
            let e = super::metric_math::parse(q.expression().unwrap_or_default())
                .map_err(|e| e.to_string())?;
            super::metric_math::eval(&e, &values)
        }
        Some(q) => Ok(values.get(q.id().unwrap_or_default()).copied().flatten()),
        None if a.metrics().is_empty() => {
            Err("a single-metric alarm (no Metrics): not evaluated by the local stack".into())
        }
        None => Err("no query returns data".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_data_and_comparisons_give_cloudwatchs_states() {
        use ComparisonOperator::{GreaterThanOrEqualToThreshold as Ge, GreaterThanThreshold as Gt};
        use StateValue::{Alarm, InsufficientData, Ok};
        // (value, operator, missing data, current state) → the new state; threshold 1.
        let cases = [
            (Some(2.0), Gt, "notBreaching", Ok, Alarm),
            (Some(1.0), Gt, "notBreaching", Ok, Ok),
            (Some(1.0), Ge, "notBreaching", Ok, Alarm),
            (None, Gt, "notBreaching", Alarm, Ok),
            (None, Gt, "breaching", Ok, Alarm),
            (None, Gt, "ignore", Alarm, Alarm),
            (None, Gt, "missing", Ok, InsufficientData),
        ];
        for (value, op, missing, current, want) in cases {
            assert_eq!(
                state_for(value, 1.0, &op, missing, &current),
                want,
                "{value:?} {op:?} {missing} from {current:?}"
            );
        }
    }
}
