//! `parity-fixtures/rules.toml`: how differences are judged.
//!
//! ```toml
//! [headers]
//! ignore = ["date", "x-amzn-requestid"]      # header names, case-insensitive
//!
//! [[rule]]                                     # applies to the paths it matches
//! function = "health"                          # optional glob (default: every function)
//! case = "*"                                   # optional glob on the case name
//! path = "$.timestamp"                         # path pattern: `*` one segment, `[*]` any index, `**` anything
//! action = "normalize"                         # ignore | tolerance | unordered | normalize | pixels
//! normalizer = "epoch_near_now"                # epoch_near_now | iso_near_now | epoch_in_text | uuid | presigned_url | stack_var | traceback_last_line
//! reason = "wall clock"
//!
//! [[divergence]]                               # a difference we accept on purpose
//! function = "health"
//! case = "event-is-list"                       # optional glob
//! path = "$.error"                             # optional pattern (default: the whole case)
//! reason = "why this is accepted"              # mandatory
//! ```

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use std::path::Path;

/// What is wrong with one rule or divergence (`rule[2].path: …`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RulesError {
    pub file: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Ignore,
    Tolerance,
    Unordered,
    Normalize,
    /// PNG images (base64 bodies or `data:image/png;base64,` strings) within a pixel tolerance.
    Pixels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalizer {
    /// Unix seconds (or milliseconds) within `window_s` of when the side answered, plus
    /// `offset_s` when given (an expiry `now + 7 days`: `offset_s = 604800`).
    EpochNearNow,
    /// An ISO-8601 timestamp within `window_s` of when the side answered.
    IsoNearNow,
    /// Text in which every 10-digit Unix time within `window_s` of when the side answered is
    /// replaced (`req-1#1764590400`, a message quoting such an id).
    EpochInText,
    /// Any UUID.
    Uuid,
    /// An S3 presigned URL, reduced to `s3://bucket/key` (SigV2 and SigV4 alike).
    PresignedUrl,
    /// A value equal to a stack variable of the side's run (`var = "redis_port"`).
    StackVar,
    /// A Python traceback (`traceback.format_exc()`), reduced to its last line — the
    /// exception's qualified type and message; the frames (files, lines, code) are the
    /// implementation's.
    TracebackLastLine,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    function: Option<String>,
    case: Option<String>,
    path: String,
    action: Action,
    abs: Option<f64>,
    rel: Option<f64>,
    normalizer: Option<Normalizer>,
    window_s: Option<u64>,
    offset_s: Option<i64>,
    var: Option<String>,
    max_mean: Option<f64>,
    max_differing_over_64: Option<f64>,
    /// Highlight boxes (tinted regions) must match in number, each edge within this many px.
    max_box_shift: Option<u32>,
    reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDivergence {
    function: String,
    case: Option<String>,
    path: Option<String>,
    reason: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaders {
    #[serde(default)]
    ignore: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    headers: RawHeaders,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
    #[serde(default, rename = "divergence")]
    divergences: Vec<RawDivergence>,
}

/// A path pattern compiled to a matcher over difference paths.
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub text: String,
    re: regex::Regex,
}

impl PathPattern {
    pub fn new(text: &str) -> Result<Self, RuleError> {
        if !text.starts_with('$') {
            return Err(RuleError(format!("path '{text}' must start with '$'")));
        }
        let mut re = String::from("^");
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    re.push_str(".*");
                }
                '*' => re.push_str(r#"[^.\[]*"#),
                // Any index, and any state entry label (`$state.redis[*].ttl`).
                '[' if text_at(&mut chars, "*]") => re.push_str(r"\[[^\]]*\]"),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        // A pattern also covers everything below the node it names.
        re.push_str(r"(?:$|[.\[].*)");
        let re = regex::Regex::new(&re).map_err(|e| RuleError(format!("path '{text}': {e}")))?;
        Ok(Self {
            text: text.to_owned(),
            re,
        })
    }

    pub fn matches(&self, path: &str) -> bool {
        self.re.is_match(path)
    }
}

/// Consume `lit` from the iterator if it comes next.
fn text_at(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, lit: &str) -> bool {
    let ahead: String = chars.clone().take(lit.len()).collect();
    if ahead == lit {
        for _ in 0..lit.len() {
            chars.next();
        }
        true
    } else {
        false
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub function: Option<GlobMatcher>,
    pub case: Option<GlobMatcher>,
    pub path: PathPattern,
    pub action: Action,
    pub abs: Option<f64>,
    pub rel: Option<f64>,
    pub normalizer: Option<Normalizer>,
    pub window_s: u64,
    /// Seconds added to "now" before `epoch_near_now` compares (an expiry's lifetime).
    pub offset_s: i64,
    pub var: Option<String>,
    pub pixels: crate::parity::image::PixelTolerance,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Divergence {
    pub function: GlobMatcher,
    pub case: Option<GlobMatcher>,
    pub path: Option<PathPattern>,
    pub reason: String,
    /// How the divergence is written in the rules file (for reports).
    pub label: String,
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub ignore_headers: Vec<String>,
    pub rules: Vec<Rule>,
    pub divergences: Vec<Divergence>,
}

fn glob(s: &str, what: &str) -> Result<GlobMatcher, RuleError> {
    Glob::new(s)
        .map(|g| g.compile_matcher())
        .map_err(|e| RuleError(format!("{what}: invalid glob '{s}': {e}")))
}

impl Rules {
    pub fn load(file: &Path) -> Result<Self, RulesError> {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(RulesError {
                    file: file.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        Self::parse(&text).map_err(|e| RulesError {
            file: file.display().to_string(),
            message: e.0,
        })
    }

    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let de = toml::Deserializer::new(text);
        let raw: RawFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.message().trim().to_owned();
            let line = inner
                .span()
                .map(|s| {
                    format!(
                        ", line {}",
                        text[..s.start.min(text.len())].matches('\n').count() + 1
                    )
                })
                .unwrap_or_default();
            RuleError(format!("{path}: {msg}{line}"))
        })?;
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let at = format!("rule[{i}]");
            let path =
                PathPattern::new(&r.path).map_err(|e| RuleError(format!("{at}.path: {e}")))?;
            match r.action {
                Action::Tolerance if r.abs.is_none() && r.rel.is_none() => {
                    return Err(RuleError(format!(
                        "{at}: action \"tolerance\" needs `abs` or `rel`"
                    )))
                }
                Action::Normalize if r.normalizer.is_none() => {
                    return Err(RuleError(format!(
                        "{at}: action \"normalize\" needs `normalizer`"
                    )))
                }
                Action::Pixels if r.max_mean.is_none() && r.max_differing_over_64.is_none() => {
                    return Err(RuleError(format!(
                        "{at}: action \"pixels\" needs `max_mean` or `max_differing_over_64`"
                    )))
                }
                _ => {}
            }
            if r.offset_s.is_some() && r.normalizer != Some(Normalizer::EpochNearNow) {
                return Err(RuleError(format!(
                    "{at}: `offset_s` applies to the normalizer \"epoch_near_now\" only"
                )));
            }
            if r.normalizer == Some(Normalizer::StackVar) && r.var.is_none() {
                return Err(RuleError(format!(
                    "{at}: normalizer \"stack_var\" needs `var`"
                )));
            }
            rules.push(Rule {
                function: r
                    .function
                    .as_deref()
                    .map(|f| glob(f, &format!("{at}.function")))
                    .transpose()?,
                case: r
                    .case
                    .as_deref()
                    .map(|c| glob(c, &format!("{at}.case")))
                    .transpose()?,
                path,
                action: r.action,
                abs: r.abs,
                rel: r.rel,
                normalizer: r.normalizer,
                window_s: r.window_s.unwrap_or(300),
                offset_s: r.offset_s.unwrap_or(0),
                var: r.var,
                pixels: crate::parity::image::PixelTolerance {
                    max_mean: r.max_mean.unwrap_or(f64::INFINITY),
                    max_differing_over_64: r.max_differing_over_64.unwrap_or(1.0),
                    max_box_shift: r.max_box_shift,
                },
                reason: r.reason,
            });
        }
        let mut divergences = Vec::new();
        for (i, d) in raw.divergences.into_iter().enumerate() {
            let at = format!("divergence[{i}]");
            if d.reason.trim().is_empty() {
                return Err(RuleError(format!(
                    "{at}.reason: must say why the difference is accepted"
                )));
            }
            let label = format!(
                "{}{}{}",
                d.function,
                d.case
                    .as_deref()
                    .map(|c| format!("/{c}"))
                    .unwrap_or_default(),
                d.path
                    .as_deref()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default()
            );
            divergences.push(Divergence {
                function: glob(&d.function, &format!("{at}.function"))?,
                case: d
                    .case
                    .as_deref()
                    .map(|c| glob(c, &format!("{at}.case")))
                    .transpose()?,
                path: d
                    .path
                    .as_deref()
                    .map(PathPattern::new)
                    .transpose()
                    .map_err(|e| RuleError(format!("{at}.path: {e}")))?,
                reason: d.reason,
                label,
            });
        }
        Ok(Self {
            ignore_headers: raw
                .headers
                .ignore
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            rules,
            divergences,
        })
    }

    /// The rules that apply to one case.
    pub fn for_case<'a>(&'a self, function: &str, case: &str) -> Vec<&'a Rule> {
        self.rules
            .iter()
            .filter(|r| r.function.as_ref().is_none_or(|g| g.is_match(function)))
            .filter(|r| r.case.as_ref().is_none_or(|g| g.is_match(case)))
            .collect()
    }

    /// The divergence that accepts a difference at `path`, if any.
    pub fn divergence_for(&self, function: &str, case: &str, path: &str) -> Option<&Divergence> {
        self.divergences.iter().find(|d| {
            d.function.is_match(function)
                && d.case.as_ref().is_none_or(|g| g.is_match(case))
                && d.path.as_ref().is_none_or(|p| p.matches(path))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_paths_and_their_children() {
        let p = PathPattern::new("$.sources[*].score").unwrap();
        assert!(p.matches("$.sources[3].score"));
        assert!(!p.matches("$.sources[3].scores"));
        let p = PathPattern::new("$.checks").unwrap();
        assert!(p.matches("$.checks.redis_cache.port"));
        assert!(!p.matches("$.checksum"));
        let p = PathPattern::new("$.*.port").unwrap();
        assert!(p.matches("$.redis.port"));
        assert!(!p.matches("$.a.b.port"));
        assert!(PathPattern::new("$**port").unwrap().matches("$.a.b.port"));
        assert!(PathPattern::new("$headers.date")
            .unwrap()
            .matches("$headers.date"));
    }

    #[test]
    fn divergence_without_reason_is_rejected_with_its_index() {
        let err = Rules::parse("[[divergence]]\nfunction = \"health\"\n")
            .unwrap_err()
            .0;
        assert!(err.contains("divergence[0]"), "{err}");
        assert!(err.contains("reason"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let err = Rules::parse("[[rule]]\npath = \"$.a\"\naction = \"ignore\"\nbogus = 1\n")
            .unwrap_err()
            .0;
        assert!(err.contains("rule[0]"), "{err}");
        assert!(err.contains("bogus"), "{err}");
        let err = Rules::parse("[headerz]\n").unwrap_err().0;
        assert!(err.contains("headerz"), "{err}");
    }

    #[test]
    fn tolerance_needs_a_bound() {
        let err = Rules::parse("[[rule]]\npath = \"$.a\"\naction = \"tolerance\"\n")
            .unwrap_err()
            .0;
        assert!(err.contains("abs"), "{err}");
    }
}
