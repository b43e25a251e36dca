//! Power tuning, locally: the same request mix at several memory sizes under Lambda's limits
//! (`bench --memory 128,256,…`), the cheapest size and the fastest within 10 % of its cost, a
//! plot of cost and p99 against memory, and the chosen `MemorySize` written into
//! `template-rust.yaml` with its evidence (`--write-template`). AWS Lambda Power Tuning does the
//! same on real Lambda with a Step Functions state machine.

use super::report::SideReport;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TuningError {
    #[error("{file}: {message}")]
    Template { file: String, message: String },
}

/// One side at one memory size.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub memory_mb: u32,
    pub vcpus: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cold_p50_ms: Option<f64>,
    pub requests: u64,
    pub errors: u64,
    pub peak_rss_mb: f64,
    pub cost_per_million_usd: Option<f64>,
    pub lambda_limits: String,
}

impl Point {
    pub fn of(memory_mb: u32, s: &SideReport) -> Self {
        let loaded = s.loaded();
        Point {
            memory_mb,
            vcpus: crate::exec::runtime_api::limits::vcpus(memory_mb),
            p50_ms: loaded.map(|l| l.p50),
            p99_ms: loaded.map(|l| l.p99),
            cold_p50_ms: s.cold.first_p50(),
            requests: s.requests,
            errors: s.errors,
            peak_rss_mb: s.peak_rss_mb,
            cost_per_million_usd: s.cost_per_million_usd,
            lambda_limits: s.lambda_limits.clone(),
        }
    }

    /// Usable as a choice: measured, priced, and without a single error (an out-of-memory
    /// error rules a size out).
    fn eligible(&self) -> bool {
        self.requests > 0 && self.errors == 0 && self.cost_per_million_usd.is_some()
    }
}

/// The sizes power tuning names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Choice {
    /// Lowest cost per million requests.
    pub cheapest_mb: u32,
    /// Lowest p99 among the sizes costing at most 10 % more than the cheapest: the one chosen.
    pub balanced_mb: u32,
}

/// The cheapest size and the fastest within 10 % of its cost (ties: the smaller size);
/// `None` when no size ran without errors.
pub fn choose(points: &[Point]) -> Option<Choice> {
    let ok: Vec<&Point> = points.iter().filter(|p| p.eligible()).collect();
    let cost = |p: &Point| p.cost_per_million_usd.unwrap_or(f64::INFINITY);
    let cheapest = ok.iter().min_by(|a, b| {
        cost(a)
            .total_cmp(&cost(b))
            .then(a.memory_mb.cmp(&b.memory_mb))
    })?;
    let limit = cost(cheapest) * 1.10;
    let balanced = ok.iter().filter(|p| cost(p) <= limit).min_by(|a, b| {
        let p99 = |p: &Point| p.p99_ms.unwrap_or(f64::INFINITY);
        p99(a)
            .total_cmp(&p99(b))
            .then(a.memory_mb.cmp(&b.memory_mb))
    })?;
    Some(Choice {
        cheapest_mb: cheapest.memory_mb,
        balanced_mb: balanced.memory_mb,
    })
}

/// `template` with the `MemorySize` of `resource` set to `memory_mb`, the evidence as comment
/// lines above it (replacing the comment an earlier run wrote). Everything else is kept byte
/// for byte: the file is edited as text, not re-serialised.
pub fn set_memory_size(
    template: &str,
    file: &str,
    resource: &str,
    memory_mb: u32,
    evidence: &[String],
) -> Result<String, TuningError> {
    let err = |message: String| TuningError::Template {
        file: file.to_owned(),
        message,
    };
    let lines: Vec<&str> = template.lines().collect();
    let header = format!("  {resource}:");
    let start = lines
        .iter()
        .position(|l| l.trim_end() == header)
        .ok_or_else(|| err(format!("no resource {resource} under Resources")))?;
    // The resource's block: until the next line indented two spaces or less.
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            !l.trim().is_empty()
                && l.len() - l.trim_start().len() <= 2
                && !l.trim_start().starts_with('#')
        })
        .map_or(lines.len(), |i| start + 1 + i);
    let props = (start + 1..end)
        .find(|&i| lines[i].trim_end() == "    Properties:")
        .ok_or_else(|| err(format!("{resource} has no Properties")))?;
    let existing = (props + 1..end).find(|&i| lines[i].trim_start().starts_with("MemorySize:"));
    const MARK: &str = "# MemorySize chosen by manuel-migrate bench --memory";
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + evidence.len() + 2);
    let at = existing.unwrap_or(props + 1);
    // Drop the comment block an earlier run left above the MemorySize line.
    let mut keep_until = at;
    while keep_until > props + 1 && lines[keep_until - 1].trim_start().starts_with('#') {
        keep_until -= 1;
    }
    let cut = (keep_until..at)
        .find(|&i| lines[i].trim_start().starts_with(MARK))
        .unwrap_or(at);
    out.extend(lines[..cut].iter().map(|l| (*l).to_owned()));
    out.push(format!("      {MARK}:"));
    for e in evidence {
        out.push(format!("      #   {e}"));
    }
    out.push(format!("      MemorySize: {memory_mb}"));
    let rest = if existing.is_some() { at + 1 } else { at };
    out.extend(lines[rest..].iter().map(|l| (*l).to_owned()));
    let mut text = out.join("\n");
    if template.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Cost per million and p99 against memory, both sides (SVG).
pub fn write_svg(path: &Path, function: &str, sides: &[(&str, &[Point])]) -> std::io::Result<()> {
    use plotters::prelude::*;
    let plot_err = |e: &dyn std::fmt::Debug| std::io::Error::other(format!("plot: {e:?}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 720)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&e))?;
        let (top, bottom) = root.split_vertically(360);
        let xs: Vec<u32> = sides
            .iter()
            .flat_map(|(_, pts)| pts.iter().map(|p| p.memory_mb))
            .collect();
        let xmin = f64::from(*xs.iter().min().unwrap_or(&128)).log2() - 0.2;
        let xmax = f64::from(*xs.iter().max().unwrap_or(&10240)).log2() + 0.2;
        let colours = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28)];
        type Pick = fn(&Point) -> Option<f64>;
        let panels: [(&DrawingArea<_, _>, &str, &str, Pick); 2] = [
            (&top, "cost per 1M requests (USD)", "cost", |p| {
                p.cost_per_million_usd
            }),
            (&bottom, "latency p99 (ms)", "p99", |p| p.p99_ms),
        ];
        for (area, ydesc, what, pick) in panels {
            let ymax = sides
                .iter()
                .flat_map(|(_, pts)| pts.iter().filter_map(pick))
                .fold(0.001, f64::max)
                * 1.15;
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{function}: {what} by memory size"),
                    ("sans-serif", 20),
                )
                .margin(12)
                .margin_right(40)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(xmin..xmax, 0.0..ymax)
                .map_err(|e| plot_err(&e))?;
            chart
                .configure_mesh()
                .x_desc("memory (MB, log scale)")
                .y_desc(ydesc)
                .x_label_formatter(&|x| format!("{:.0}", 2f64.powf(*x)))
                .draw()
                .map_err(|e| plot_err(&e))?;
            for (i, (name, pts)) in sides.iter().enumerate() {
                let c = colours[i % colours.len()];
                let series: Vec<(f64, f64)> = pts
                    .iter()
                    .filter_map(|p| pick(p).map(|y| (f64::from(p.memory_mb).log2(), y)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(series.clone(), c.stroke_width(2)))
                    .map_err(|e| plot_err(&e))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(series.into_iter().map(|xy| Circle::new(xy, 4, c.filled())))
                    .map_err(|e| plot_err(&e))?;
            }
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| plot_err(&e))?;
        }
        root.present().map_err(|e| plot_err(&e))?;
    }
    crate::fsutil::write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(mb: u32, cost: f64, p99: f64, errors: u64) -> Point {
        Point {
            memory_mb: mb,
            vcpus: crate::exec::runtime_api::limits::vcpus(mb),
            p50_ms: Some(p99 / 2.0),
            p99_ms: Some(p99),
            cold_p50_ms: None,
            requests: 100,
            errors,
            peak_rss_mb: 50.0,
            cost_per_million_usd: Some(cost),
            lambda_limits: "cgroup v1".into(),
        }
    }

    #[test]
    fn the_cheapest_and_the_fastest_within_ten_percent_of_it() {
        let pts = [
            point(128, 0.30, 900.0, 3), // out of memory: never chosen
            point(256, 0.25, 400.0, 0),
            point(512, 0.27, 200.0, 0), // within 10 % of 0.25, faster
            point(1024, 0.40, 100.0, 0),
        ];
        assert_eq!(
            choose(&pts),
            Some(Choice {
                cheapest_mb: 256,
                balanced_mb: 512
            })
        );
        assert_eq!(choose(&pts[..1]), None);
    }

    const TEMPLATE: &str = "Resources:\n  FnRust:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 60\n      MemorySize: 1024\n      Layers:\n        - x\n  Other:\n    Properties:\n      MemorySize: 128\n";

    #[test]
    fn the_memory_size_is_replaced_with_its_evidence_and_nothing_else_moves() {
        let evidence = vec!["2026-12-02: 512 MB p99 40 ms, $0.30/1M".to_owned()];
        let once = set_memory_size(TEMPLATE, "t.yaml", "FnRust", 512, &evidence).unwrap();
        assert!(
            once.contains("      MemorySize: 512\n      Layers:"),
            "{once}"
        );
        assert!(once.contains("#   2026-12-02: 512 MB"), "{once}");
        assert!(once.ends_with("  Other:\n    Properties:\n      MemorySize: 128\n"));
        // A second run replaces the first one's comment instead of stacking another.
        let twice = set_memory_size(&once, "t.yaml", "FnRust", 256, &["later".into()]).unwrap();
        assert_eq!(
            twice.matches("chosen by manuel-migrate").count(),
            1,
            "{twice}"
        );
        assert!(!twice.contains("2026-12-02"), "{twice}");
        assert!(twice.contains("      MemorySize: 256\n"));
        // No MemorySize yet: one is added first under Properties.
        let bare = "Resources:\n  FnRust:\n    Properties:\n      Timeout: 3\n";
        let added = set_memory_size(bare, "t.yaml", "FnRust", 256, &[]).unwrap();
        assert!(
            added.contains("    Properties:\n      # MemorySize chosen"),
            "{added}"
        );
        assert!(
            added.contains("      MemorySize: 256\n      Timeout: 3\n"),
            "{added}"
        );
        assert!(set_memory_size(TEMPLATE, "t.yaml", "Missing", 256, &[]).is_err());
    }
}
