//! The shift's guard in AWS: per shifted function a CloudWatch alarm on the error-rate
//! difference between the sides, an SNS topic as its action, and a rollback-guard function
//! subscribed to the topic, which sets the Rust share to 0 % with the controller's router. It
//! watches while no controller does (killed, finished at a step below 100 %, never started again).
//!
//! The alarm is the backstop rule of the controller's verdict: `Rust error rate − Python error
//! rate > max_error_diff points` over one window of `interval`, judged only from
//! `min_invocations` Rust invocations (the controller's early, p-value based rollback on fewer
//! invocations is not expressible in metric math and stays the controller's).

use super::monitor::MetricScope;
use super::router::RouteTarget;
use super::Thresholds;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat,
};

/// The prefix of every resource the guard consists of (the local stack evaluates the alarms
/// with it).
pub const PREFIX: &str = "manuel-migrate-guard-";
/// The tag that names the project function a Lambda function runs (the local stack invokes
/// the guard from this crate).
pub const FUNCTION_TAG: &str = "manuel-migrate:function";
/// The project function of the guard.
pub const GUARD_FUNCTION: &str = "rollback-guard";

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("{call} {target}: {message}")]
    Aws {
        call: &'static str,
        target: String,
        message: String,
    },
    #[error("the guard's code is missing: {0} (run `manuel-migrate functions build --function rollback-guard && manuel-migrate functions package --function rollback-guard`)")]
    NoPackage(String),
    #[error("manuel-migrate.toml: [shift].guard_role_arn is missing (the ARN of the role the guard runs with: template-rust.yaml's RollbackGuardRoleRustArn output)")]
    NoRole,
}

fn aws(call: &'static str, target: &str, e: impl std::error::Error) -> GuardError {
    GuardError::Aws {
        call,
        target: target.to_owned(),
        message: crate::stack::aws_message(&e),
    }
}

/// What one function's guard is made of.
#[derive(Debug, Clone)]
pub struct GuardSpec {
    /// The function's name in manuel-migrate.toml.
    pub function: String,
    /// Name of the alarm, the topic and the guard function.
    pub name: String,
    pub target: RouteTarget,
    pub scope: MetricScope,
    pub thresholds: Thresholds,
    /// The alarm's period: the shift's interval in whole minutes (at least one).
    pub period_s: i32,
}

/// The guard's code for CreateFunction: the packaged zip and its architecture.
pub struct GuardCode {
    pub zip: Vec<u8>,
    pub arch: aws_sdk_lambda::types::Architecture,
}

/// What `inspect` found.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardState {
    pub alarm_state: String,
    pub alarm_reason: String,
    pub alarm_updated: String,
    pub threshold: f64,
    pub topic_arn: String,
    pub function_arn: String,
}

/// Why a guard is not whole.
#[derive(Debug, Clone, PartialEq)]
pub enum GuardCheck {
    Ready(GuardState),
    Missing(String),
}

impl GuardSpec {
    pub fn new(
        function: &str,
        target: RouteTarget,
        scope: MetricScope,
        thresholds: Thresholds,
        interval: std::time::Duration,
    ) -> Self {
        let minutes = interval.as_secs().div_ceil(60).max(1);
        Self {
            function: function.to_owned(),
            name: format!("{PREFIX}{}", sanitize(&target_name(&target, function))),
            target,
            scope,
            thresholds,
            period_s: (minutes * 60).min(86_400) as i32,
        }
    }

    /// The alarm's expression: points by which Rust's error rate exceeds Python's, 0 below the
    /// minimum sample, no datapoint without Rust invocations.
    pub fn expression(&self) -> String {
        format!(
            "IF(ri >= {}, 100 * FILL(re, 0) / ri - 100 * FILL(pe, 0) / FILL(pi, 1), 0)",
            self.thresholds.min_invocations
        )
    }

    fn query(&self, id: &str, metric: &str, rust: bool) -> MetricDataQuery {
        let dims: Vec<Dimension> = self.scope.dimensions(rust);
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("AWS/Lambda")
                            .metric_name(metric)
                            .set_dimensions(Some(dims))
                            .build(),
                    )
                    .period(self.period_s)
                    .stat("Sum")
                    .build(),
            )
            .return_data(false)
            .build()
    }

    pub fn queries(&self) -> Vec<MetricDataQuery> {
        vec![
            self.query("pi", "Invocations", false),
            self.query("pe", "Errors", false),
            self.query("ri", "Invocations", true),
            self.query("re", "Errors", true),
            MetricDataQuery::builder()
                .id("diff")
                .expression(self.expression())
                .label("Rust error rate − Python error rate (points)")
                .return_data(true)
                .build(),
        ]
    }

    fn description(&self) -> String {
        format!(
            "manuel-migrate shift guard of {}: Rust's error rate more than {} points above Python's \
             over {} s (from {} Rust invocations) sends {} back to Python",
            self.function,
            self.thresholds.max_error_diff,
            self.period_s,
            self.thresholds.min_invocations,
            self.target.describe()
        )
    }

    /// The calls `install` makes, in words (`shift --dry-run`).
    pub fn describe_install(&self) -> Vec<String> {
        vec![
            format!("sns:CreateTopic {}", self.name),
            format!(
                "lambda:CreateFunction {} (or UpdateFunctionConfiguration): the rollback-guard package, MANUEL_GUARD_TARGET = {}",
                self.name,
                self.target.describe()
            ),
            format!("lambda:AddPermission {} for sns.amazonaws.com from the topic, sns:Subscribe the function to the topic", self.name),
            format!(
                "cloudwatch:PutMetricAlarm {}: {} > {} over {} s, action the topic",
                self.name,
                self.expression(),
                self.thresholds.max_error_diff,
                self.period_s
            ),
        ]
    }
}

fn target_name(target: &RouteTarget, function: &str) -> String {
    match target {
        RouteTarget::Alias(a) => format!("{}-{}", a.function, a.alias),
        RouteTarget::Route53(_) => function.to_owned(),
    }
}

/// A name CloudWatch, SNS and Lambda all accept (letters, digits, `-`, `_`; 64 characters).
fn sanitize(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    clean.chars().take(64 - PREFIX.len()).collect()
}

/// The clients a guard is installed and read with.
pub struct GuardClients {
    pub lambda: aws_sdk_lambda::Client,
    pub sns: aws_sdk_sns::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl GuardClients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            lambda: aws_sdk_lambda::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            cloudwatch: aws_sdk_cloudwatch::Client::new(conf),
        }
    }

    /// Create or update every part of the guard (idempotent: a second shift updates the alarm's
    /// thresholds and the function's target).
    pub async fn install(
        &self,
        spec: &GuardSpec,
        code: &GuardCode,
        role_arn: &str,
        memory_mb: i32,
    ) -> Result<GuardState, GuardError> {
        let topic = self
            .sns
            .create_topic()
            .name(&spec.name)
            .send()
            .await
            .map_err(|e| aws("sns:CreateTopic", &spec.name, e))?
            .topic_arn()
            .unwrap_or_default()
            .to_owned();
        let target = serde_json::to_string(&spec.target).unwrap_or_default();
        let env = aws_sdk_lambda::types::Environment::builder()
            .variables(rollback_guard_vars::TARGET, target)
            .variables(rollback_guard_vars::ALARM, &spec.name)
            .build();
        let exists = self
            .lambda
            .get_function_configuration()
            .function_name(&spec.name)
            .send()
            .await
            .ok();
        let function_arn = match exists {
            Some(found) => {
                self.lambda
                    .update_function_configuration()
                    .function_name(&spec.name)
                    .environment(env)
                    .send()
                    .await
                    .map_err(|e| aws("lambda:UpdateFunctionConfiguration", &spec.name, e))?;
                crate::deploy::wait_updated(
                    &self.lambda,
                    &spec.name,
                    std::time::Duration::from_secs(120),
                )
                .await
                .map_err(|e| GuardError::Aws {
                    call: "lambda:GetFunctionConfiguration",
                    target: spec.name.clone(),
                    message: e.to_string(),
                })?;
                found.function_arn().unwrap_or_default().to_owned()
            }
            None => self
                .lambda
                .create_function()
                .function_name(&spec.name)
                .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                .handler("bootstrap")
                .architectures(code.arch.clone())
                .role(role_arn)
                .memory_size(memory_mb)
                .timeout(30)
                .description(format!(
                    "manuel-migrate rollback guard of {}",
                    spec.function
                ))
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new(code.zip.clone()))
                        .build(),
                )
                .environment(env)
                .tags(FUNCTION_TAG, GUARD_FUNCTION)
                .send()
                .await
                .map_err(|e| aws("lambda:CreateFunction", &spec.name, e))?
                .function_arn()
                .unwrap_or_default()
                .to_owned(),
        };
        let permission = self
            .lambda
            .add_permission()
            .function_name(&spec.name)
            .statement_id("manuel-migrate-guard-topic")
            .action("lambda:InvokeFunction")
            .principal("sns.amazonaws.com")
            .source_arn(&topic)
            .send()
            .await;
        if let Err(e) = permission {
            let conflict = e
                .as_service_error()
                .is_some_and(|s| s.is_resource_conflict_exception());
            if !conflict {
                return Err(aws("lambda:AddPermission", &spec.name, e));
            }
        }
        self.sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("lambda")
            .endpoint(&function_arn)
            .send()
            .await
            .map_err(|e| aws("sns:Subscribe", &topic, e))?;
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .alarm_description(spec.description())
            .set_metrics(Some(spec.queries()))
            .threshold(spec.thresholds.max_error_diff)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .evaluation_periods(1)
            .datapoints_to_alarm(1)
            .treat_missing_data("notBreaching")
            .alarm_actions(&topic)
            .send()
            .await
            .map_err(|e| aws("cloudwatch:PutMetricAlarm", &spec.name, e))?;
        match self.inspect(spec).await? {
            GuardCheck::Ready(state) => Ok(state),
            GuardCheck::Missing(what) => Err(GuardError::Aws {
                call: "guard check after install",
                target: spec.name.clone(),
                message: what,
            }),
        }
    }

    /// The guard's alarm, when it exists.
    async fn alarm(
        &self,
        spec: &GuardSpec,
    ) -> Result<Option<aws_sdk_cloudwatch::types::MetricAlarm>, GuardError> {
        let alarms = self
            .cloudwatch
            .describe_alarms()
            .alarm_names(&spec.name)
            .send()
            .await
            .map_err(|e| aws("cloudwatch:DescribeAlarms", &spec.name, e))?;
        Ok(alarms.metric_alarms().first().cloned())
    }

    /// Whether every part is there and wired to this target: the alarm (with the topic as its
    /// action), the function (with this target), its subscription to the topic.
    pub async fn inspect(&self, spec: &GuardSpec) -> Result<GuardCheck, GuardError> {
        let Some(alarm) = self.alarm(spec).await? else {
            return Ok(GuardCheck::Missing(format!("no alarm {}", spec.name)));
        };
        let Some(topic) = alarm.alarm_actions().first().cloned() else {
            return Ok(GuardCheck::Missing(format!(
                "alarm {} has no action",
                spec.name
            )));
        };
        let Ok(conf) = self
            .lambda
            .get_function_configuration()
            .function_name(&spec.name)
            .send()
            .await
        else {
            return Ok(GuardCheck::Missing(format!(
                "no guard function {}",
                spec.name
            )));
        };
        let configured: Option<RouteTarget> = conf
            .environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get(rollback_guard_vars::TARGET))
            .and_then(|t| serde_json::from_str(t).ok());
        if configured.as_ref() != Some(&spec.target) {
            return Ok(GuardCheck::Missing(format!(
                "guard function {} is not configured for {}",
                spec.name,
                spec.target.describe()
            )));
        }
        let function_arn = conf.function_arn().unwrap_or_default().to_owned();
        let subs = self
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&topic)
            .send()
            .await
            .map_err(|e| aws("sns:ListSubscriptionsByTopic", &topic, e))?;
        let subscribed = subs.subscriptions().iter().any(|s| {
            s.protocol() == Some("lambda")
                && s.endpoint()
                    .is_some_and(|e| e.trim_end_matches(":$LATEST") == function_arn)
        });
        if !subscribed {
            return Ok(GuardCheck::Missing(format!(
                "guard function {} is not subscribed to {topic}",
                spec.name
            )));
        }
        Ok(GuardCheck::Ready(GuardState {
            alarm_state: alarm
                .state_value()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            alarm_reason: alarm.state_reason().unwrap_or_default().to_owned(),
            alarm_updated: alarm
                .state_updated_timestamp()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            threshold: alarm.threshold().unwrap_or_default(),
            topic_arn: topic,
            function_arn,
        }))
    }

    /// Delete the alarm, the topic (with its subscriptions) and the function; what was removed.
    pub async fn remove(&self, spec: &GuardSpec) -> Result<Vec<String>, GuardError> {
        let mut done = Vec::new();
        let alarm = self.alarm(spec).await?;
        let topics: Vec<String> = alarm
            .iter()
            .flat_map(|a| a.alarm_actions().to_vec())
            .collect();
        if alarm.is_some() {
            self.cloudwatch
                .delete_alarms()
                .alarm_names(&spec.name)
                .send()
                .await
                .map_err(|e| aws("cloudwatch:DeleteAlarms", &spec.name, e))?;
            done.push(format!("alarm {}", spec.name));
        }
        for topic in topics {
            self.sns
                .delete_topic()
                .topic_arn(&topic)
                .send()
                .await
                .map_err(|e| aws("sns:DeleteTopic", &topic, e))?;
            done.push(format!("topic {topic}"));
        }
        if self
            .lambda
            .delete_function()
            .function_name(&spec.name)
            .send()
            .await
            .is_ok()
        {
            done.push(format!("function {}", spec.name));
        }
        Ok(done)
    }
}

/// The guard function's variables (the crate's constants, without depending on the crate).
pub mod rollback_guard_vars {
    pub const TARGET: &str = "MANUEL_GUARD_TARGET";
    pub const ALARM: &str = "MANUEL_GUARD_ALARM";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shift::router::AliasTarget;
    use crate::stack::metric_math;
    use std::collections::HashMap;

    fn spec() -> GuardSpec {
        GuardSpec::new(
            "query",
            RouteTarget::Alias(AliasTarget {
                function: "manuel-query-dev".into(),
                alias: "live".into(),
                python_version: "3".into(),
                rust_version: "4".into(),
            }),
            MetricScope::Alias {
                function: "manuel-query-dev".into(),
                alias: "live".into(),
                python_version: "3".into(),
                rust_version: "4".into(),
            },
            Thresholds {
                max_error_diff: 1.0,
                min_invocations: 200,
                strict_p: 0.001,
                min_errors: 5,
            },
            std::time::Duration::from_secs(90),
        )
    }

    #[test]
    fn the_alarm_judges_like_the_controller_on_a_full_window() {
        let s = spec();
        assert_eq!(s.name, "manuel-migrate-guard-manuel-query-dev-live");
        assert_eq!(s.period_s, 120);
        let e = metric_math::parse(&s.expression()).unwrap();
        let diff = |ri: f64, re: f64, pi: f64, pe: f64| {
            let v: HashMap<String, Option<f64>> = [("ri", ri), ("re", re), ("pi", pi), ("pe", pe)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Some(v)))
                .collect();
            metric_math::eval(&e, &v).unwrap().unwrap()
        };
        // The controller's `judge` gives the same difference in points on the same counts.
        let (py, rs) = (
            super::super::monitor::SideCounts {
                invocations: 1000,
                errors: 10,
            },
            super::super::monitor::SideCounts {
                invocations: 250,
                errors: 10,
            },
        );
        let (_, points, _) = super::super::judge(py, rs, s.thresholds);
        assert!((diff(250.0, 10.0, 1000.0, 10.0) - points).abs() < 1e-9);
        // Below the minimum sample the alarm stays quiet (the controller's early rule is its own).
        assert_eq!(diff(199.0, 199.0, 1000.0, 0.0), 0.0);
    }

    #[test]
    fn names_fit_every_service() {
        let mut s = spec();
        s.target = RouteTarget::Alias(AliasTarget {
            function: "x".repeat(80),
            alias: "live".into(),
            python_version: "1".into(),
            rust_version: "2".into(),
        });
        let name = GuardSpec::new(
            "q",
            s.target.clone(),
            s.scope.clone(),
            s.thresholds,
            std::time::Duration::from_secs(600),
        )
        .name;
        assert_eq!(name.len(), 64);
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
