//! Parity fixtures: `parity-fixtures/<function>/<case>.json`, one captured request each with the
//! recorded Python response. A malformed fixture is an input error naming the file and the JSON
//! path of the problem.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("no fixtures for function '{function}' in {dir}")]
    NoFixtures { function: String, dir: String },
    #[error(
        "--case '{glob}' matches none of the {count} cases of function '{function}' (in {dir})"
    )]
    NoMatch {
        function: String,
        glob: String,
        count: usize,
        dir: String,
    },
}

/// The Python response as recorded (a Lambda proxy response dict).
pub type RecordedResponse = Value;

/// One captured request and the Python handler's recorded answer. File:
/// parity-fixtures/<function>/<name>.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "manuel-migrate parity fixture")]
pub struct Fixture {
    /// Case name; must equal the file name without .json.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What the case tests. Required when the event is not a JSON object or array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The API Gateway REST proxy event (any JSON value: direct invokes can send anything).
    pub event: Value,
    /// Environment overrides for this case (applied to both sides).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// State both sides start from (DynamoDB items, S3 objects, Redis keys), seeded into a
    /// freshly reset stack before each side runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<super::state::Setup>,
    /// The time the function processes start at (RFC 3339), for date-dependent answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// The recorded Python response; absent until `parity record` has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<RecordedResponse>,
    /// What the Python side changed in the shared state when it was recorded (stateful
    /// cases; `{}` for none), compared with what the Rust side changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
    /// Paths that differed between two runs of the Python handler when it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noise: Vec<String>,
    /// When and against what the recording was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<RecordMeta>,
}

/// When and against what a recording was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMeta {
    /// Unix seconds at the time of the recording (the reference for "epoch near now").
    pub at: i64,
    /// Values of the stack placeholders the Python side ran with (ports and names).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// What ran: handler, runtime.
    #[serde(default)]
    pub source: String,
}

/// A fixture and where it lives.
#[derive(Debug, Clone)]
pub struct Case {
    pub function: String,
    pub file: PathBuf,
    pub fixture: Fixture,
    /// The function reads or writes shared state: each side runs on a freshly reset, seeded
    /// stack, one case at a time.
    pub stateful: bool,
}

impl Case {
    /// `function/name`, the id reports use.
    pub fn id(&self) -> String {
        format!("{}/{}", self.function, self.fixture.name)
    }

    /// The recorded Python response, or the error that says how to record it.
    pub fn recorded_response(&self) -> Result<&Value, FixtureError> {
        self.fixture.python.as_ref().ok_or_else(|| FixtureError::Invalid {
            file: self.file.display().to_string(),
            message: "no recorded Python response (at $.python); run `manuel-migrate parity record --python-src DIR --yes`".into(),
        })
    }

    /// The pinned clock, if any (validated when the fixture was loaded).
    pub fn clock(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.fixture
            .clock
            .as_deref()
            .and_then(|c| super::state::parse_clock(c).ok())
    }

    /// "Now" for this case: its clock, or the real time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock().unwrap_or_else(chrono::Utc::now)
    }

    /// Must the stack be reset and seeded before each side runs this case?
    pub fn needs_state(&self) -> bool {
        self.stateful || self.fixture.setup.as_ref().is_some_and(|s| !s.is_empty())
    }

    /// Environment overrides of this case: its `env` plus what pins its clock.
    pub fn env_overrides(&self) -> Result<BTreeMap<String, String>, FixtureError> {
        let mut env = self.fixture.env.clone();
        if let Some(clock) = self.clock() {
            env.extend(super::state::clock_env(&clock).map_err(|message| {
                FixtureError::Invalid {
                    file: self.file.display().to_string(),
                    message: format!("{message} (at $.clock)"),
                }
            })?);
        }
        Ok(env)
    }

    /// Does this request change state (unsafe against real deployments)?
    pub fn writes(&self) -> bool {
        let method = self
            .fixture
            .event
            .get("httpMethod")
            .and_then(Value::as_str)
            .unwrap_or("GET");
        matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// The JSON Schema (draft 2020-12) of a fixture, generated from these types
/// (`parity-fixtures/schema.json`, written by `manuel-migrate parity schema`). A cross scenario's
/// schema is `$defs/CrossScenario`.
pub fn schema() -> Value {
    let mut root = schemars::schema_for!(Fixture).to_value();
    let mut cross = schemars::schema_for!(super::cross::Scenario).to_value();
    root["$id"] = Value::from("manuel-migrate/parity-fixture");
    let defs = root
        .as_object_mut()
        .expect("a schema is an object")
        .entry("$defs")
        .or_insert_with(|| Value::Object(Default::default()));
    if let (Some(defs), Some(cross)) = (defs.as_object_mut(), cross.as_object_mut()) {
        if let Some(Value::Object(more)) = cross.remove("$defs") {
            defs.extend(more);
        }
        cross.remove("$schema");
        defs.insert("CrossScenario".into(), Value::Object(cross.clone()));
    }
    root
}

pub fn parse(file: &Path, text: &str) -> Result<Fixture, FixtureError> {
    let invalid = |message: String| FixtureError::Invalid {
        file: file.display().to_string(),
        message,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let fixture: Fixture = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." {
            "$".to_string()
        } else {
            format!("$.{path}")
        };
        invalid(format!(
            "{} (at {at}, line {} column {})",
            strip_position(&inner.to_string()),
            inner.line(),
            inner.column()
        ))
    })?;
    if fixture.name.trim().is_empty() {
        return Err(invalid("`name` is empty (at $.name)".into()));
    }
    if let Some(clock) = &fixture.clock {
        super::state::parse_clock(clock).map_err(|m| invalid(format!("{m} (at $.clock)")))?;
    }
    if let Some(setup) = &fixture.setup {
        let fixtures_dir = file
            .parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| Path::new("."));
        super::state::validate(setup, fixtures_dir).map_err(|e| invalid(e.to_string()))?;
    }
    if !fixture.event.is_object() && !fixture.event.is_array() && fixture.notes.is_none() {
        // Non-object events are legal (direct invokes) but must say why they exist.
        return Err(invalid(
            "`event` is not an object; add `notes` saying what the case tests (at $.event)".into(),
        ));
    }
    Ok(fixture)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

pub fn load_file(function: &str, file: &Path) -> Result<Case, FixtureError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| FixtureError::Io(file.display().to_string(), e))?;
    let fixture = parse(file, &text)?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if fixture.name != stem {
        return Err(FixtureError::Invalid {
            file: file.display().to_string(),
            message: format!(
                "`name` is '{}' but the file is {stem}.json; they must match (at $.name)",
                fixture.name
            ),
        });
    }
    Ok(Case {
        function: function.to_owned(),
        file: file.to_path_buf(),
        fixture,
        stateful: false,
    })
}

/// Compile `--case GLOB`.
pub fn case_matcher(glob: Option<&str>) -> Result<Option<globset::GlobMatcher>, FixtureError> {
    glob.map(|g| {
        globset::Glob::new(g)
            .map(|g| g.compile_matcher())
            .map_err(|e| FixtureError::Invalid {
                file: "--case".into(),
                message: e.to_string(),
            })
    })
    .transpose()
}

/// All fixtures of a function, sorted by name, filtered by an optional glob on the case name.
pub fn load_function(
    dir: &Path,
    function: &str,
    case_glob: Option<&globset::GlobMatcher>,
) -> Result<Vec<Case>, FixtureError> {
    let fdir = dir.join(function);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&fdir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut cases = Vec::new();
    let count = files.len();
    for f in files {
        let case = load_file(function, &f)?;
        if case_glob.is_none_or(|g| g.is_match(&case.fixture.name)) {
            cases.push(case);
        }
    }
    match (cases.is_empty(), case_glob) {
        (true, Some(g)) if count > 0 => Err(FixtureError::NoMatch {
            function: function.to_owned(),
            glob: g.glob().glob().to_owned(),
            count,
            dir: fdir.display().to_string(),
        }),
        (true, _) => Err(FixtureError::NoFixtures {
            function: function.to_owned(),
            dir: fdir.display().to_string(),
        }),
        (false, _) => Ok(cases),
    }
}

/// Write a fixture atomically, pretty-printed with a trailing newline.
pub fn save(case: &Case) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(&case.fixture).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::fsutil::write_atomic(&case.file, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_event_names_file_and_path() {
        let err = parse(Path::new("f/x.json"), r#"{"name": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f/x.json: missing field `event`"), "{err}");
        assert!(err.contains("at $"), "{err}");
    }

    #[test]
    fn wrong_type_is_located() {
        let err = parse(
            Path::new("f/x.json"),
            r#"{"name": "x", "event": {}, "env": {"A": 1}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at $.env.A"), "{err}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = parse(
            Path::new("f/x.json"),
            r#"{"name": "x", "event": {}, "evnt": {}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `evnt`"), "{err}");
    }

    #[test]
    fn bad_clock_and_bad_seed_are_located() {
        let err = parse(
            Path::new("f/x.json"),
            r#"{"name": "x", "event": {}, "clock": "yesterday"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("(at $.clock)"), "{err}");
        let err = parse(
            Path::new("f/x.json"),
            r#"{"name": "x", "event": {}, "setup": {"dynamodb": [{"table": "t", "item": {"n": {"N": 1}}}]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("$.setup.dynamodb[0].item.n: `N` takes a string"),
            "{err}"
        );
    }

    #[test]
    fn write_methods_are_detected() {
        let case = Case {
            function: "f".into(),
            file: "f/x.json".into(),
            fixture: parse(
                Path::new("x"),
                r#"{"name": "x", "event": {"httpMethod": "DELETE"}}"#,
            )
            .unwrap(),
            stateful: false,
        };
        assert!(case.writes());
    }
}
