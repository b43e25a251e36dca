//! How traffic is split: Lambda alias weights (`AdditionalVersionWeights` between the Python and
//! the Rust version of one function) or two weighted Route 53 records. Weights are always read
//! from AWS, never from memory.
//!
//! The shift controller (the CLI) and the rollback guard (a Lambda function that CloudWatch's
//! alarm calls through SNS) move traffic with this one piece of code: a [`RouteTarget`] says
//! what to move (the CLI writes it into the guard's environment as JSON), a [`Router`] moves it.

use aws_sdk_lambda::types::AliasRoutingConfiguration;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("{call} {target}: {message}")]
    Aws {
        call: &'static str,
        target: String,
        message: String,
    },
    #[error("alias {alias} of {function} points at version {found}, which is neither the Python version {python} nor the Rust version {rust}")]
    Foreign {
        function: String,
        alias: String,
        found: String,
        python: String,
        rust: String,
    },
    #[error("record {record} has no weighted set '{set}'")]
    MissingSet { record: String, set: String },
}

/// The Rust share of traffic, in percent, and what AWS said.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub rust_percent: f64,
    pub detail: String,
}

/// A Lambda alias whose weights move between a Python and a Rust version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AliasTarget {
    pub function: String,
    pub alias: String,
    pub python_version: String,
    pub rust_version: String,
}

/// A Route 53 name with one weighted record for each side.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Route53Target {
    pub zone_id: String,
    pub record_name: String,
    pub record_type: String,
    pub python_set: String,
    pub rust_set: String,
    pub python_target: String,
    pub rust_target: String,
    pub ttl: i64,
}

/// What a router moves, as configuration: serialisable, so that the guard function is given
/// exactly what the controller uses (`MANUEL_GUARD_TARGET`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "router", rename_all = "snake_case")]
pub enum RouteTarget {
    Alias(AliasTarget),
    Route53(Route53Target),
}

/// A target with the client that moves it.
pub enum Router {
    Alias {
        client: aws_sdk_lambda::Client,
        to: AliasTarget,
    },
    Route53 {
        client: aws_sdk_route53::Client,
        to: Route53Target,
    },
}

impl RouteTarget {
    /// The router that moves this target's traffic with the clients of `conf`.
    pub fn router(&self, conf: &aws_config::SdkConfig) -> Router {
        match self.clone() {
            RouteTarget::Alias(to) => Router::Alias {
                client: aws_sdk_lambda::Client::new(conf),
                to,
            },
            RouteTarget::Route53(to) => Router::Route53 {
                client: aws_sdk_route53::Client::new(conf),
                to,
            },
        }
    }

    /// What it names, in words: `alias live of manuel-query-dev` or a Route 53 record.
    pub fn describe(&self) -> String {
        match self {
            RouteTarget::Alias(a) => format!("alias {} of {}", a.alias, a.function),
            RouteTarget::Route53(r) => format!("record {} in zone {}", r.record_name, r.zone_id),
        }
    }
}

/// An SDK error with its chain of causes, in one line.
pub fn aws_message<E: std::error::Error>(e: &E) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn aws(call: &'static str, target: &str, e: impl std::error::Error) -> RouterError {
    RouterError::Aws {
        call,
        target: target.to_owned(),
        message: aws_message(&e),
    }
}

impl Router {
    /// The AWS call `set` makes, in words (for `--dry-run` and the journal).
    pub fn describe_set(&self, percent: f64) -> String {
        match self {
            Router::Alias { to: a, .. } => {
                if percent >= 100.0 {
                    format!("lambda:UpdateAlias {} alias {} → version {} (promote, no additional weights)", a.function, a.alias, a.rust_version)
                } else if percent <= 0.0 {
                    format!(
                        "lambda:UpdateAlias {} alias {} → version {}, no additional weights",
                        a.function, a.alias, a.python_version
                    )
                } else {
                    format!(
                        "lambda:UpdateAlias {} alias {} → version {}, AdditionalVersionWeights {{{}: {}}}",
                        a.function,
                        a.alias,
                        a.python_version,
                        a.rust_version,
                        percent / 100.0
                    )
                }
            }
            Router::Route53 { to: r, .. } => format!(
                "route53:ChangeResourceRecordSets {} UPSERT {} {} weights {}={} {}={}",
                r.zone_id,
                r.record_name,
                r.record_type,
                r.python_set,
                (100.0 - percent).round(),
                r.rust_set,
                percent.round()
            ),
        }
    }

    pub async fn read(&self) -> Result<Weights, RouterError> {
        match self {
            Router::Alias { client, to: a } => {
                let out = client
                    .get_alias()
                    .function_name(&a.function)
                    .name(&a.alias)
                    .send()
                    .await
                    .map_err(|e| {
                        aws("lambda:GetAlias", &format!("{}:{}", a.function, a.alias), e)
                    })?;
                let version = out.function_version().unwrap_or_default().to_owned();
                let weights: HashMap<String, f64> = out
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .cloned()
                    .unwrap_or_default();
                let detail = format!(
                    "alias {} → version {version}, additional weights {weights:?}",
                    a.alias
                );
                let rust_percent = if version == a.rust_version {
                    100.0 - 100.0 * weights.get(&a.python_version).copied().unwrap_or(0.0)
                } else if version == a.python_version {
                    100.0 * weights.get(&a.rust_version).copied().unwrap_or(0.0)
                } else {
                    return Err(RouterError::Foreign {
                        function: a.function.clone(),
                        alias: a.alias.clone(),
                        found: version,
                        python: a.python_version.clone(),
                        rust: a.rust_version.clone(),
                    });
                };
                Ok(Weights {
                    rust_percent: (rust_percent * 1e6).round() / 1e6,
                    detail,
                })
            }
            Router::Route53 { client, to: r } => {
                let out = client
                    .list_resource_record_sets()
                    .hosted_zone_id(&r.zone_id)
                    .start_record_name(&r.record_name)
                    .send()
                    .await
                    .map_err(|e| aws("route53:ListResourceRecordSets", &r.zone_id, e))?;
                let want = r.record_name.trim_end_matches('.');
                let weight_of = |set: &str| {
                    out.resource_record_sets()
                        .iter()
                        .find(|s| {
                            s.name().trim_end_matches('.') == want
                                && s.set_identifier() == Some(set)
                        })
                        .map(|s| s.weight().unwrap_or(0))
                };
                let (py, rs) = match (weight_of(&r.python_set), weight_of(&r.rust_set)) {
                    // Before the first shift neither weighted record exists: all traffic is Python's.
                    (None, None) => {
                        return Ok(Weights {
                            rust_percent: 0.0,
                            detail: "no weighted records yet".into(),
                        });
                    }
                    (None, Some(_)) => {
                        return Err(RouterError::MissingSet {
                            record: r.record_name.clone(),
                            set: r.python_set.clone(),
                        })
                    }
                    (py, rs) => (py.unwrap_or(0), rs.unwrap_or(0)),
                };
                let total = (py + rs).max(1) as f64;
                Ok(Weights {
                    rust_percent: 100.0 * rs as f64 / total,
                    detail: format!("{}={py} {}={rs}", r.python_set, r.rust_set),
                })
            }
        }
    }

    pub async fn set(&self, percent: f64) -> Result<(), RouterError> {
        match self {
            Router::Alias { client, to: a } => {
                let (version, weights) = if percent >= 100.0 {
                    (a.rust_version.clone(), HashMap::new())
                } else if percent <= 0.0 {
                    (a.python_version.clone(), HashMap::new())
                } else {
                    (
                        a.python_version.clone(),
                        HashMap::from([(a.rust_version.clone(), percent / 100.0)]),
                    )
                };
                client
                    .update_alias()
                    .function_name(&a.function)
                    .name(&a.alias)
                    .function_version(version)
                    .routing_config(
                        AliasRoutingConfiguration::builder()
                            .set_additional_version_weights(Some(weights))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        aws(
                            "lambda:UpdateAlias",
                            &format!("{}:{}", a.function, a.alias),
                            e,
                        )
                    })?;
                Ok(())
            }
            Router::Route53 { client, to: r } => {
                use aws_sdk_route53::types::{
                    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
                };
                let record =
                    |set: &str, target: &str, weight: i64| -> Result<Change, RouterError> {
                        let rrset = ResourceRecordSet::builder()
                            .name(&r.record_name)
                            .r#type(RrType::from(r.record_type.as_str()))
                            .set_identifier(set)
                            .weight(weight)
                            .ttl(r.ttl)
                            .resource_records(
                                ResourceRecord::builder()
                                    .value(target)
                                    .build()
                                    .map_err(|e| aws("route53 record", target, e))?,
                            )
                            .build()
                            .map_err(|e| aws("route53 record", set, e))?;
                        Change::builder()
                            .action(ChangeAction::Upsert)
                            .resource_record_set(rrset)
                            .build()
                            .map_err(|e| aws("route53 change", set, e))
                    };
                let rust_w = percent.round().clamp(0.0, 100.0) as i64;
                let batch = ChangeBatch::builder()
                    .comment(format!("manuel-migrate: rust {rust_w}%"))
                    .changes(record(&r.python_set, &r.python_target, 100 - rust_w)?)
                    .changes(record(&r.rust_set, &r.rust_target, rust_w)?)
                    .build()
                    .map_err(|e| aws("route53 change batch", &r.zone_id, e))?;
                client
                    .change_resource_record_sets()
                    .hosted_zone_id(&r.zone_id)
                    .change_batch(batch)
                    .send()
                    .await
                    .map_err(|e| aws("route53:ChangeResourceRecordSets", &r.zone_id, e))?;
                Ok(())
            }
        }
    }
}
