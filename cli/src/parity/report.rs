//! Parity reports: JSON (machine-readable), Markdown (humans, CI summaries), JUnit XML (CI test
//! views). All three are written atomically next to `parity-latest.*` copies.

use super::diff::{Class, Difference};
use crate::exec::runtime_api::Report as InvokeReport;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Not run against this target (see `skipped`).
    Skipped,
    Identical,
    Noise,
    Accepted,
    Different,
}

impl Verdict {
    pub fn of(diffs: &[Difference]) -> Self {
        diffs
            .iter()
            .map(|d| match d.class {
                Class::Unexplained => Verdict::Different,
                Class::Accepted { .. } => Verdict::Accepted,
                Class::Noise => Verdict::Noise,
            })
            .max()
            .unwrap_or(Verdict::Identical)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub function: String,
    pub case: String,
    pub file: String,
    pub verdict: Verdict,
    pub differences: Vec<Difference>,
    pub python: Value,
    pub rust: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_report: Option<InvokeReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_report: Option<InvokeReport>,
    /// Paths the Python side disagreed with itself on (recorded or measured now).
    pub noise: Vec<String>,
    /// What each side changed in the shared state (stateful cases on the local stack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_state: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_state: Option<Value>,
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl CaseResult {
    pub fn skipped(case: &crate::fixtures::Case, why: String) -> Self {
        Self {
            function: case.function.clone(),
            case: case.fixture.name.clone(),
            file: case.file.display().to_string(),
            verdict: Verdict::Skipped,
            differences: Vec::new(),
            python: Value::Null,
            rust: Value::Null,
            python_report: None,
            rust_report: None,
            noise: Vec::new(),
            python_state: None,
            rust_state: None,
            duration_ms: 0.0,
            skipped: Some(why),
        }
    }

    pub fn unexplained(&self) -> usize {
        self.differences
            .iter()
            .filter(|d| d.class == Class::Unexplained)
            .count()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DivergenceNote {
    pub divergence: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    pub started_at: String,
    /// `recorded` (fixtures' Python responses) or `live` (the Python handlers run now).
    pub python_mode: String,
    /// What answered for each side (`recorded fixtures`, `local rust`, `Lambda fn:live`, `URL …`).
    pub python_target: String,
    pub rust_target: String,
    pub max_diff: usize,
    pub unexplained: usize,
    pub passed: bool,
    pub elapsed_s: f64,
    pub cases_per_s: f64,
    pub divergences: Vec<DivergenceNote>,
    pub cases: Vec<CaseResult>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub cases: usize,
    pub identical: usize,
    pub noise: usize,
    pub accepted: usize,
    pub different: usize,
    pub skipped: usize,
    pub unexplained: usize,
}

impl ParityReport {
    /// Per-function counts, in function order.
    pub fn counts(&self) -> Vec<(String, Counts)> {
        let mut out: Vec<(String, Counts)> = Vec::new();
        for c in &self.cases {
            if out.last().is_none_or(|(f, _)| f != &c.function) {
                out.push((c.function.clone(), Counts::default()));
            }
            let k = &mut out.last_mut().expect("pushed").1;
            k.cases += 1;
            k.unexplained += c.unexplained();
            match c.verdict {
                Verdict::Identical => k.identical += 1,
                Verdict::Noise => k.noise += 1,
                Verdict::Accepted => k.accepted += 1,
                Verdict::Different => k.different += 1,
                Verdict::Skipped => k.skipped += 1,
            }
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Parity report — {}\n", self.started_at);
        let _ = writeln!(
            md,
            "**{}**: {} unexplained difference(s), gate allows {} · Python side: {} · {} cases in {:.2} s ({:.0} cases/s)\n",
            if self.passed { "PASSED" } else { "FAILED" },
            self.unexplained,
            self.max_diff,
            self.python_mode,
            self.cases.len(),
            self.elapsed_s,
            self.cases_per_s
        );
        let _ = writeln!(
            md,
            "| function | cases | identical | noise | accepted | different | unexplained diffs |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
        for (f, k) in self.counts() {
            let _ = writeln!(
                md,
                "| {f} | {} | {} | {} | {} | {} | {} |",
                k.cases, k.identical, k.noise, k.accepted, k.different, k.unexplained
            );
        }
        // What needs a look first: the failing cases, then what was accepted and why.
        let different: Vec<_> = self
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Different)
            .collect();
        if !different.is_empty() {
            let _ = writeln!(md, "\n## Different ({})\n", different.len());
            for c in &different {
                let paths: Vec<String> = c
                    .differences
                    .iter()
                    .filter(|d| d.class == Class::Unexplained)
                    .map(|d| format!("`{}` ({})", d.path, d.kind.name()))
                    .collect();
                let _ = writeln!(md, "- `{}/{}`: {}", c.function, c.case, paths.join(", "));
            }
        }
        let accepted: Vec<_> = self
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Accepted)
            .collect();
        if !accepted.is_empty() {
            let _ = writeln!(md, "\n## Accepted ({})\n", accepted.len());
            for c in &accepted {
                let mut reasons: Vec<String> = Vec::new();
                for d in &c.differences {
                    if let Class::Accepted { reason, .. } = &d.class {
                        let line = format!("`{}`: {reason}", d.path);
                        if !reasons.contains(&line) {
                            reasons.push(line);
                        }
                    }
                }
                let _ = writeln!(md, "- `{}/{}` — {}", c.function, c.case, reasons.join("; "));
            }
        }
        let _ = writeln!(md, "\n## Every case");
        for (f, _) in self.counts() {
            let _ = writeln!(md, "\n### {f}\n");
            for c in self.cases.iter().filter(|c| c.function == f) {
                match &c.skipped {
                    Some(why) => {
                        let _ = writeln!(md, "- `{}` — skipped: {why}", c.case);
                    }
                    None => {
                        let _ = writeln!(md, "- `{}` — **{}**", c.case, verdict_word(c.verdict));
                    }
                }
                if let (Some(p), Some(r)) = (&c.python_state, &c.rust_state) {
                    let _ = writeln!(
                        md,
                        "  - state — python: {} · rust: {}",
                        state_summary(p),
                        state_summary(r)
                    );
                }
                for d in &c.differences {
                    let class = match &d.class {
                        Class::Unexplained => "DIFFERENT".to_string(),
                        Class::Accepted { reason, .. } => format!("accepted: {reason}"),
                        Class::Noise => "noise (Python differs from itself)".to_string(),
                    };
                    let _ = writeln!(
                        md,
                        "  - `{}` {} — python `{}` · rust `{}` — {class}",
                        d.path,
                        d.kind.name(),
                        short(d.python.as_ref()),
                        short(d.rust.as_ref())
                    );
                    if let Some(detail) = &d.detail {
                        if detail.contains('\n') {
                            let _ =
                                writeln!(md, "\n    ```diff\n{}    ```", indent(detail, "    "));
                        } else {
                            let _ = writeln!(md, "    - {detail}");
                        }
                    }
                }
            }
        }
        if !self.divergences.is_empty() {
            let _ = writeln!(md, "\n## Declared divergences\n");
            let _ = writeln!(md, "| divergence | reason |\n|---|---|");
            for d in &self.divergences {
                let _ = writeln!(
                    md,
                    "| `{}` | {} |",
                    d.divergence,
                    d.reason.replace('|', "\\|")
                );
            }
        }
        md
    }

    pub fn junit(&self) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let failures: usize = self
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Different)
            .count();
        let _ = writeln!(
            x,
            "<testsuites name=\"parity\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
            self.cases.len(),
            self.elapsed_s
        );
        for (f, k) in self.counts() {
            let _ = writeln!(
                x,
                "  <testsuite name=\"parity.{}\" tests=\"{}\" failures=\"{}\">",
                esc(&f),
                k.cases,
                k.different
            );
            for c in self.cases.iter().filter(|c| c.function == f) {
                let _ = write!(
                    x,
                    "    <testcase classname=\"parity.{}\" name=\"{}\" file=\"{}\" time=\"{:.4}\"",
                    esc(&f),
                    esc(&c.case),
                    esc(&c.file),
                    c.duration_ms / 1000.0
                );
                if let Some(why) = &c.skipped {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(why)
                    );
                    continue;
                }
                let unexplained: Vec<&Difference> = c
                    .differences
                    .iter()
                    .filter(|d| d.class == Class::Unexplained)
                    .collect();
                let explained: Vec<&Difference> = c
                    .differences
                    .iter()
                    .filter(|d| d.class != Class::Unexplained)
                    .collect();
                if unexplained.is_empty() && explained.is_empty() {
                    x.push_str("/>\n");
                    continue;
                }
                x.push_str(">\n");
                if !unexplained.is_empty() {
                    let msg = unexplained
                        .iter()
                        .map(|d| d.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let body: String = unexplained
                        .iter()
                        .map(|d| {
                            format!(
                                "{} {:?}: python {} / rust {}\n",
                                d.path,
                                d.kind,
                                short(d.python.as_ref()),
                                short(d.rust.as_ref())
                            )
                        })
                        .collect();
                    let _ = writeln!(
                        x,
                        "      <failure message=\"{} unexplained difference(s): {}\" type=\"parity\">{}</failure>",
                        unexplained.len(),
                        esc(&msg),
                        esc(&body)
                    );
                }
                if !explained.is_empty() {
                    let out: String = explained
                        .iter()
                        .map(|d| {
                            let why = match &d.class {
                                Class::Accepted { reason, .. } => format!("accepted: {reason}"),
                                _ => "noise".into(),
                            };
                            format!("{} {:?} ({why})\n", d.path, d.kind)
                        })
                        .collect();
                    let _ = writeln!(x, "      <system-out>{}</system-out>", esc(&out));
                }
                x.push_str("    </testcase>\n");
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
        x
    }

    /// Write `parity-<ts>.{json,md,xml}` and the `parity-latest.*` copies; returns the paths.
    pub fn write(&self, dir: &Path, stamp: &str) -> std::io::Result<Vec<PathBuf>> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let md = self.markdown();
        let xml = self.junit();
        let mut written = Vec::new();
        for (ext, bytes) in [
            ("json", &json[..]),
            ("md", md.as_bytes()),
            ("xml", xml.as_bytes()),
        ] {
            let p = dir.join(format!("parity-{stamp}.{ext}"));
            crate::fsutil::write_atomic(&p, bytes)?;
            crate::fsutil::write_atomic(&dir.join(format!("parity-latest.{ext}")), bytes)?;
            written.push(p);
        }
        Ok(written)
    }
}

pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Identical => "identical",
        Verdict::Noise => "noise only",
        Verdict::Accepted => "accepted divergence",
        Verdict::Different => "DIFFERENT",
        Verdict::Skipped => "skipped",
    }
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "—".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 120 {
                format!("{}…", s.chars().take(120).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn indent(s: &str, pad: &str) -> String {
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// XML text/attribute escaping (also drops characters XML 1.0 forbids).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// "no state change", or how many entries each service changed.
fn state_summary(changes: &Value) -> String {
    let Some(m) = changes.as_object().filter(|m| !m.is_empty()) else {
        return "no state change".into();
    };
    m.iter()
        .map(|(svc, entries)| {
            let n = entries.as_object().map_or(0, |e| e.len());
            format!("{svc} {n} entr{}", if n == 1 { "y" } else { "ies" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}
