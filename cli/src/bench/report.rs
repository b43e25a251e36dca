//! Bench output: the comparison with the migration plan's targets, JSON, HdrHistogram logs and
//! an SVG percentile-distribution plot.

use super::load::LoadResult;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Cold-start samples of one side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ColdStats {
    pub samples: usize,
    pub init_ms: Vec<f64>,
    pub first_response_ms: Vec<f64>,
    pub peak_rss_mb: f64,
    pub failures: usize,
}

fn pct(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    Some(s[(((s.len() - 1) as f64) * q).round() as usize])
}

impl ColdStats {
    pub fn init_p50(&self) -> Option<f64> {
        pct(&self.init_ms, 0.5)
    }
    pub fn first_p50(&self) -> Option<f64> {
        pct(&self.first_response_ms, 0.5)
    }
    pub fn first_p99(&self) -> Option<f64> {
        pct(&self.first_response_ms, 0.99)
    }
}

/// Everything measured for one side.
#[derive(Debug, Serialize)]
pub struct SideReport {
    pub target: String,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub error_samples: Vec<String>,
    pub throughput_rps: f64,
    pub latency_ms: Percentiles,
    pub mean_billed_ms: Option<f64>,
    pub peak_rss_mb: f64,
    pub memory_mb: u32,
    pub arch: String,
    pub cost_per_million_usd: Option<f64>,
    /// How Lambda's CPU and memory limits applied: `cgroup v1`, `cgroup v2`, `model (…)`,
    /// `off`, or `Lambda's own` for a deployed side.
    pub lambda_limits: String,
    pub cold: ColdStats,
    pub interrupted: bool,
}

impl SideReport {
    /// The load phase's latencies, when it measured any request.
    pub fn loaded(&self) -> Option<&Percentiles> {
        (self.requests > 0).then_some(&self.latency_ms)
    }
}

#[derive(Debug, Serialize, Clone, Copy)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(r: &LoadResult) -> Self {
        Self {
            p50: r.ms(0.5),
            p90: r.ms(0.9),
            p99: r.ms(0.99),
            p999: r.ms(0.999),
            max: r.histogram.max() as f64 / 1000.0,
            mean: r.histogram.mean() / 1000.0,
        }
    }
}

/// One row of the comparison with the plan's targets.
#[derive(Debug, Serialize)]
pub struct Row {
    pub metric: String,
    pub target: String,
    pub python_baseline: String,
    pub python: Option<f64>,
    pub rust: Option<f64>,
    pub ratio: Option<f64>,
    /// `None` when the row has no target (information only) or Rust was not measured.
    pub pass: Option<bool>,
    /// `pass`, `fail`, `skipped` (a target, but nothing measured: `--cold-samples 0`, an
    /// interrupted run) or empty (no target).
    pub verdict: &'static str,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub function: String,
    pub started_at: String,
    pub mode: String,
    pub cases: Vec<String>,
    pub python: Option<SideReport>,
    pub rust: SideReport,
    pub rows: Vec<Row>,
    pub passed: bool,
    pub files: Vec<String>,
}

fn ratio(r: Option<f64>, p: Option<f64>) -> Option<f64> {
    match (r, p) {
        (Some(r), Some(p)) if p > 0.0 => Some(r / p),
        _ => None,
    }
}

/// The seed's targets for the Rust side and its Python baseline.
pub fn rows(python: Option<&SideReport>, rust: &SideReport) -> Vec<Row> {
    let p = |f: &dyn Fn(&SideReport) -> Option<f64>| python.and_then(f);
    let mut out = Vec::new();
    let mut row = |metric: &str,
                   target: &str,
                   base: &str,
                   pf: &dyn Fn(&SideReport) -> Option<f64>,
                   pass: &dyn Fn(f64) -> bool| {
        let (pv, rv) = (p(pf), pf(rust));
        let has_target = !target.is_empty();
        let verdict = match (has_target, rv) {
            (false, _) => "",
            (true, None) => "skipped",
            (true, Some(v)) if pass(v) => "pass",
            (true, Some(_)) => "fail",
        };
        out.push(Row {
            metric: metric.into(),
            target: target.into(),
            python_baseline: base.into(),
            python: pv,
            rust: rv,
            ratio: ratio(rv, pv),
            pass: match verdict {
                "pass" => Some(true),
                "fail" => Some(false),
                _ => None,
            },
            verdict,
        });
    };
    row(
        "cold start, spawn → first response p50 (ms)",
        "50–200 (≤ 200)",
        "800–1200",
        &|s| s.cold.first_p50(),
        &|v| v <= 200.0,
    );
    row(
        "cold start, init p50 (ms)",
        "",
        "",
        &|s| s.cold.init_p50(),
        &|_| true,
    );
    row(
        "peak memory (MB)",
        "128–256 (≤ 256)",
        "512",
        &|s| Some(s.peak_rss_mb.max(s.cold.peak_rss_mb)).filter(|m| *m > 0.0),
        &|v| v <= 256.0,
    );
    row(
        "latency p50 (ms)",
        "",
        "",
        &|s| s.loaded().map(|l| l.p50),
        &|_| true,
    );
    row(
        "latency p90 (ms)",
        "",
        "",
        &|s| s.loaded().map(|l| l.p90),
        &|_| true,
    );
    row(
        "latency p99 (ms)",
        "≤ 500",
        "2000",
        &|s| s.loaded().map(|l| l.p99),
        &|v| v <= 500.0,
    );
    row(
        "latency p99.9 (ms)",
        "",
        "",
        &|s| s.loaded().map(|l| l.p999),
        &|_| true,
    );
    row(
        "latency max (ms)",
        "",
        "",
        &|s| s.loaded().map(|l| l.max),
        &|_| true,
    );
    row(
        "throughput (req/s)",
        "",
        "",
        &|s| s.loaded().map(|_| s.throughput_rps),
        &|_| true,
    );
    row(
        "error rate (%)",
        "0",
        "",
        &|s| s.loaded().map(|_| s.error_rate * 100.0),
        &|v| v == 0.0,
    );
    row(
        "cost per 1M requests (USD)",
        "≤ 0.80",
        "2.50",
        &|s| s.loaded().and(s.cost_per_million_usd),
        &|v| v <= 0.80,
    );
    out
}

pub fn table(report: &BenchReport) -> comfy_table::Table {
    let mut t = crate::commands::table();
    t.set_header(vec![
        "metric",
        "target (Rust)",
        "Python baseline (plan)",
        "Python",
        "Rust",
        "Rust/Python",
        "verdict",
    ]);
    let f = |v: Option<f64>| {
        v.map(|x| {
            if x >= 100.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.3}")
            }
        })
        .unwrap_or_else(|| "—".into())
    };
    for r in &report.rows {
        t.add_row(vec![
            r.metric.clone(),
            r.target.clone(),
            r.python_baseline.clone(),
            f(r.python),
            f(r.rust),
            r.ratio
                .map(|x| format!("{x:.2}×"))
                .unwrap_or_else(|| "—".into()),
            match r.verdict {
                "fail" => "FAIL".into(),
                v => v.to_owned(),
            },
        ]);
    }
    t
}

/// Write an HdrHistogram interval log (V2 deflate) with one interval: the whole run.
pub fn write_hlog(
    path: &Path,
    tag: &str,
    r: &LoadResult,
    started: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    {
        let mut ser = V2DeflateSerializer::new();
        let start = std::time::SystemTime::from(started);
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "manuel-migrate bench, {tag}, latency in microseconds"
            ))
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut ser)
            .map_err(std::io::Error::other)?;
        let tag = Tag::new(tag);
        w.write_histogram(&r.histogram, std::time::Duration::ZERO, r.elapsed, tag)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    }
    crate::fsutil::write_atomic(path, &buf)
}

/// Percentile-distribution plot (x: percentile on a "nines" scale, y: latency in ms).
pub fn write_svg(
    path: &Path,
    function: &str,
    sides: &[(&str, &LoadResult)],
) -> std::io::Result<()> {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let series: Vec<(&str, Vec<(f64, f64)>)> = sides
            .iter()
            .map(|(name, r)| {
                let pts = r
                    .histogram
                    .iter_quantiles(2)
                    .map(|v| {
                        let q = v.quantile_iterated_to().min(0.99999);
                        (-(1.0 - q).log10(), v.value_iterated_to() as f64 / 1000.0)
                    })
                    .collect();
                (*name, pts)
            })
            .collect();
        let count = sides
            .iter()
            .map(|(_, r)| r.histogram.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let xmax = (count as f64).log10().ceil().clamp(2.0, 6.0);
        let ymax = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|x| x.1))
            .fold(0.001, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{function}: latency by percentile"),
                ("sans-serif", 22),
            )
            .margin(16)
            .margin_right(48)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .x_label_formatter(&|x| {
                let p = format!("{:.3}", 100.0 * (1.0 - 10f64.powf(-x)));
                format!("{}%", p.trim_end_matches('0').trim_end_matches('.'))
            })
            .x_labels(xmax as usize + 1)
            .draw()
            .map_err(plot_err)?;
        let colours = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28)];
        for (i, (name, pts)) in series.into_iter().enumerate() {
            let c = colours[i % colours.len()];
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    crate::fsutil::write_atomic(path, svg.as_bytes())
}

fn plot_err<E: std::fmt::Debug>(e: E) -> std::io::Error {
    std::io::Error::other(format!("plot: {e:?}"))
}

/// `reports/bench-<ts>.*` paths.
pub fn paths(dir: &Path, stamp: &str) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    (
        dir.join(format!("bench-{stamp}.json")),
        dir.join(format!("bench-{stamp}-python.hlog")),
        dir.join(format!("bench-{stamp}-rust.hlog")),
        dir.join(format!("bench-{stamp}.svg")),
    )
}
