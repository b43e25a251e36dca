//! The rollback guard: the part of a shift that lives in AWS, so that traffic stays watched when
//! the controller is gone (killed, its laptop closed). `shift` creates, per function, a
//! CloudWatch alarm on the error-rate difference between the two sides, an SNS topic as its
//! action, and this function subscribed to the topic. When the alarm enters `ALARM` the guard
//! sets the Rust share to 0 % with the same router code the controller uses
//! ([`manuel_shared::routing`]).
//!
//! It is given exactly one target (`MANUEL_GUARD_TARGET`, the router's JSON) and one alarm name
//! (`MANUEL_GUARD_ALARM`): whatever a message says, it can only ever move that alias or record
//! back to its Python side. It keeps no journal — it logs what it did, and `status` reads the
//! weights and the alarm from AWS.
//!
//! Events it reads: SNS notifications of CloudWatch alarms (`Records[].Sns.Message`, the alarm
//! JSON) and CloudWatch's direct Lambda alarm action (`alarmData`). Anything else is ignored
//! with a reason; only a failed AWS call fails the invocation (so that SNS retries it).

use manuel_shared::routing::{RouteTarget, Router, RouterError};
use manuel_shared::runtime::InvokeContext;
use serde_json::{json, Value};

/// The variable holding the router's target, as JSON.
pub const TARGET_VAR: &str = "MANUEL_GUARD_TARGET";
/// The variable holding the name of the alarm the guard answers.
pub const ALARM_VAR: &str = "MANUEL_GUARD_ALARM";

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("{var} is not set")]
    Missing { var: &'static str },
    #[error("{var}: {message}")]
    BadTarget { var: &'static str, message: String },
    #[error("the guard is not configured: {0}")]
    NotConfigured(String),
    #[error("rollback of {target} failed: {source}")]
    Router {
        target: String,
        #[source]
        source: Box<RouterError>,
    },
}

/// What init built: the router (or why there is none) and the alarm name.
pub struct Guard {
    config: Result<(RouteTarget, String), String>,
    router: Option<Router>,
}

/// One alarm state change read from an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub alarm: String,
    pub state: String,
    pub reason: String,
    pub time: String,
}

/// A record of the event: a state change, or why it is not one.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Notice(Notice),
    Unreadable(String),
}

/// The target and alarm from the environment's two values.
pub fn config_from(
    target: Option<&str>,
    alarm: Option<&str>,
) -> Result<(RouteTarget, String), GuardError> {
    let target = target.ok_or(GuardError::Missing { var: TARGET_VAR })?;
    let target: RouteTarget = serde_json::from_str(target).map_err(|e| GuardError::BadTarget {
        var: TARGET_VAR,
        message: e.to_string(),
    })?;
    let alarm = alarm
        .filter(|a| !a.is_empty())
        .ok_or(GuardError::Missing { var: ALARM_VAR })?;
    Ok((target, alarm.to_owned()))
}

/// Lambda's init: the configuration and the clients (the region and credentials of the
/// function's environment, endpoints from `AWS_ENDPOINT_URL*` on the local stack).
pub async fn init() -> Guard {
    let config = config_from(
        std::env::var(TARGET_VAR).ok().as_deref(),
        std::env::var(ALARM_VAR).ok().as_deref(),
    )
    .map_err(|e| e.to_string());
    let router = match &config {
        Ok((target, _)) => {
            let conf = aws_config::load_from_env().await;
            Some(target.router(&conf))
        }
        Err(e) => {
            tracing::error!("rollback guard is not configured: {e}");
            None
        }
    };
    Guard { config, router }
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The alarm JSON CloudWatch publishes to SNS.
fn sns_alarm(message: &Value) -> Reading {
    let Some(name) = message.get("AlarmName").and_then(Value::as_str) else {
        return Reading::Unreadable(
            "the SNS message is not a CloudWatch alarm (no AlarmName)".into(),
        );
    };
    Reading::Notice(Notice {
        alarm: name.to_owned(),
        state: text(message, "NewStateValue"),
        reason: text(message, "NewStateReason"),
        time: text(message, "StateChangeTime"),
    })
}

/// Every state change an event carries, in order.
pub fn readings(event: &Value) -> Vec<Reading> {
    if let Some(records) = event.get("Records") {
        let Some(records) = records.as_array() else {
            return vec![Reading::Unreadable("Records is not a list".into())];
        };
        return records
            .iter()
            .map(|r| {
                let Some(message) = r.get("Sns").and_then(|s| s.get("Message")) else {
                    return Reading::Unreadable("a record without Sns.Message".into());
                };
                match message {
                    Value::String(s) => match serde_json::from_str::<Value>(s) {
                        Ok(m) => sns_alarm(&m),
                        Err(e) => Reading::Unreadable(format!("Sns.Message is not JSON: {e}")),
                    },
                    Value::Object(_) => sns_alarm(message),
                    _ => Reading::Unreadable("Sns.Message is neither text nor an object".into()),
                }
            })
            .collect();
    }
    if let Some(data) = event.get("alarmData") {
        let Some(name) = data.get("alarmName").and_then(Value::as_str) else {
            return vec![Reading::Unreadable("alarmData without alarmName".into())];
        };
        let state = data.get("state").cloned().unwrap_or(Value::Null);
        return vec![Reading::Notice(Notice {
            alarm: name.to_owned(),
            state: text(&state, "value"),
            reason: text(&state, "reason"),
            time: text(&state, "timestamp"),
        })];
    }
    vec![Reading::Unreadable(
        "neither an SNS notification (Records) nor a CloudWatch alarm action (alarmData)".into(),
    )]
}

/// Whether a notice asks this guard to act.
pub fn acts_on(notice: &Notice, alarm: &str) -> Result<(), String> {
    if notice.alarm != alarm {
        return Err(format!(
            "alarm {} is not this guard's ({alarm})",
            notice.alarm
        ));
    }
    if notice.state != "ALARM" {
        return Err(format!("state {} (only ALARM rolls back)", notice.state));
    }
    Ok(())
}

/// Handle one invocation: roll back on the first notice that asks for it (more in the same event
/// find Rust at 0 % already), say why for every other.
pub async fn answer(
    event: &Value,
    ctx: &InvokeContext,
    guard: &Guard,
) -> Result<Value, GuardError> {
    let (target, alarm) = guard
        .config
        .as_ref()
        .map_err(|e| GuardError::NotConfigured(e.clone()))?;
    let Some(router) = &guard.router else {
        return Err(GuardError::NotConfigured(format!(
            "{TARGET_VAR}: no router"
        )));
    };
    let mut out = Vec::new();
    for reading in readings(event) {
        let notice = match reading {
            Reading::Notice(n) => n,
            Reading::Unreadable(why) => {
                tracing::warn!(request_id = %ctx.request_id, "ignored: {why}");
                out.push(json!({"action": "ignored", "reason": why}));
                continue;
            }
        };
        if let Err(why) = acts_on(&notice, alarm) {
            tracing::info!(request_id = %ctx.request_id, alarm = %notice.alarm, "ignored: {why}");
            out.push(json!({"alarm": notice.alarm, "state": notice.state, "action": "ignored", "reason": why}));
            continue;
        }
        let err = |source| GuardError::Router {
            target: target.describe(),
            source: Box::new(source),
        };
        let before = router.read().await.map_err(err)?;
        if before.rust_percent <= 0.0 {
            tracing::info!(alarm = %notice.alarm, "Rust already at 0% of {} ({})", target.describe(), before.detail);
            out.push(json!({"alarm": notice.alarm, "state": notice.state, "action": "none", "reason": "Rust is at 0% already", "rust_percent": 0.0}));
            continue;
        }
        router.set(0.0).await.map_err(err)?;
        let after = router.read().await.map_err(err)?;
        tracing::warn!(
            alarm = %notice.alarm,
            from = before.rust_percent,
            to = after.rust_percent,
            reason = %notice.reason,
            "ROLLED BACK {}: Rust {}% → {}% ({})",
            target.describe(),
            before.rust_percent,
            after.rust_percent,
            after.detail
        );
        out.push(json!({
            "alarm": notice.alarm, "state": notice.state, "action": "rolled_back",
            "from": before.rust_percent, "to": after.rust_percent,
            "reason": notice.reason, "alarm_time": notice.time, "weights": after.detail,
        }));
    }
    Ok(json!({"guard": alarm, "target": target.describe(), "notices": out}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns(message: &str) -> Value {
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": message, "TopicArn": "arn:aws:sns:eu-west-1:1:t"}}]})
    }

    #[test]
    fn alarm_notifications_are_read_from_sns_and_from_the_direct_action() {
        let m = json!({"AlarmName": "g", "NewStateValue": "ALARM", "NewStateReason": "r", "StateChangeTime": "t"});
        let n = Notice {
            alarm: "g".into(),
            state: "ALARM".into(),
            reason: "r".into(),
            time: "t".into(),
        };
        assert_eq!(
            readings(&sns(&m.to_string())),
            vec![Reading::Notice(n.clone())]
        );
        let direct = json!({"source": "aws.cloudwatch", "alarmData": {"alarmName": "g", "state": {"value": "ALARM", "reason": "r", "timestamp": "t"}}});
        assert_eq!(readings(&direct), vec![Reading::Notice(n)]);
        assert!(matches!(
            readings(&sns("not json"))[0],
            Reading::Unreadable(_)
        ));
        assert!(matches!(readings(&json!({}))[0], Reading::Unreadable(_)));
        assert!(matches!(
            readings(&json!({"Records": 3}))[0],
            Reading::Unreadable(_)
        ));
    }

    #[test]
    fn only_its_own_alarm_in_alarm_state_acts() {
        let n = |alarm: &str, state: &str| Notice {
            alarm: alarm.into(),
            state: state.into(),
            reason: String::new(),
            time: String::new(),
        };
        assert!(acts_on(&n("g", "ALARM"), "g").is_ok());
        assert!(acts_on(&n("g", "OK"), "g").is_err());
        assert!(acts_on(&n("g", "INSUFFICIENT_DATA"), "g").is_err());
        assert!(acts_on(&n("other", "ALARM"), "g").is_err());
    }

    #[test]
    fn the_configuration_names_what_is_missing_or_wrong() {
        let t = r#"{"router":"alias","function":"f","alias":"live","python_version":"1","rust_version":"2"}"#;
        assert!(config_from(Some(t), Some("g")).is_ok());
        assert!(matches!(
            config_from(None, Some("g")),
            Err(GuardError::Missing { var: TARGET_VAR })
        ));
        assert!(matches!(
            config_from(Some(t), Some("")),
            Err(GuardError::Missing { var: ALARM_VAR })
        ));
        assert!(matches!(
            config_from(Some("{}"), Some("g")),
            Err(GuardError::BadTarget { .. })
        ));
    }
}
