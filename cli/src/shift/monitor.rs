//! Reading each side's Invocations and Errors from CloudWatch over a window (`AWS/Lambda`, Sum).

use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use std::time::Duration;

/// CloudWatch could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cloudwatch:GetMetricStatistics {metric}: {message}")]
pub struct MetricsError {
    pub metric: String,
    pub message: String,
}

/// Counts of one side in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SideCounts {
    pub invocations: u64,
    pub errors: u64,
}

impl SideCounts {
    pub fn error_rate(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            self.errors as f64 / self.invocations as f64
        }
    }
}

/// Which metric dimensions identify each side.
#[derive(Debug, Clone)]
pub enum MetricScope {
    /// Alias routing: `FunctionName`, `Resource` = `function:alias`, `ExecutedVersion`.
    Alias {
        function: String,
        alias: String,
        python_version: String,
        rust_version: String,
    },
    /// Route 53 routing: two functions.
    Functions {
        python_function: String,
        rust_function: String,
    },
}

pub struct Monitor {
    pub client: aws_sdk_cloudwatch::Client,
    pub scope: MetricScope,
}

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

impl MetricScope {
    pub fn dimensions(&self, rust: bool) -> Vec<Dimension> {
        match self {
            MetricScope::Alias {
                function,
                alias,
                python_version,
                rust_version,
            } => vec![
                dim("FunctionName", function),
                dim("Resource", &format!("{function}:{alias}")),
                dim(
                    "ExecutedVersion",
                    if rust { rust_version } else { python_version },
                ),
            ],
            MetricScope::Functions {
                python_function,
                rust_function,
            } => {
                vec![dim(
                    "FunctionName",
                    if rust { rust_function } else { python_function },
                )]
            }
        }
    }
}

impl Monitor {
    async fn sum(
        &self,
        metric: &str,
        dims: Vec<Dimension>,
        window: Duration,
    ) -> Result<u64, MetricsError> {
        let end = std::time::SystemTime::now();
        let start = end - window;
        let period = (window.as_secs().max(60) / 60 * 60) as i32;
        let out = self
            .client
            .get_metric_statistics()
            .namespace("AWS/Lambda")
            .metric_name(metric)
            .set_dimensions(Some(dims))
            .start_time(aws_sdk_cloudwatch::primitives::DateTime::from(start))
            .end_time(aws_sdk_cloudwatch::primitives::DateTime::from(end))
            .period(period)
            .statistics(Statistic::Sum)
            .send()
            .await
            .map_err(|e| MetricsError {
                metric: metric.to_owned(),
                message: crate::stack::aws_message(&e),
            })?;
        Ok(out
            .datapoints()
            .iter()
            .filter_map(|d| d.sum())
            .sum::<f64>()
            .round() as u64)
    }

    /// (python, rust) counts over the last `window`.
    pub async fn read(&self, window: Duration) -> Result<(SideCounts, SideCounts), MetricsError> {
        let mut out = [SideCounts::default(); 2];
        for (i, rust) in [false, true].into_iter().enumerate() {
            out[i].invocations = self
                .sum("Invocations", self.scope.dimensions(rust), window)
                .await?;
            out[i].errors = self
                .sum("Errors", self.scope.dimensions(rust), window)
                .await?;
        }
        Ok((out[0], out[1]))
    }
}
