//! The shift journal: `reports/shift-journal.jsonl`, append-only, one JSON object per line,
//! fsync'd after every append. An `intent` is written before each AWS call that changes routing
//! and an `outcome` after it, so that after a crash (even `kill -9`) `status` can say what was in
//! flight and `shift` can resume or refuse. Events and actions are typed ([`EventKind`],
//! [`Action`]); their JSON names are the lowercase words older journals already hold.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a journal line records.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A shift or plan begins.
    Start,
    /// A routing call is about to be made.
    Intent,
    /// The routing call returned (`ok`).
    Outcome,
    /// The controller decided.
    Decision,
}

/// The routing call of an intent/outcome, or the decision taken.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `start`: a plan of steps.
    Plan,
    /// `start`: one weight.
    Percent,
    /// intent/outcome: the router's weight change.
    SetWeight,
    /// The window was healthy: on to the next step.
    Promote,
    /// Rust went back to 0 %.
    Rollback,
    /// The window was inconclusive or unreadable: watch again.
    Hold,
    /// The plan ended before 100 %: Rust keeps the weight it has.
    Stop,
    /// Rust reached 100 %.
    Done,
    /// A single weight was set by hand.
    Set,
    /// A shift up after a rollback, forced.
    Force,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Plan => "plan",
            Action::Percent => "percent",
            Action::SetWeight => "set_weight",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::Hold => "hold",
            Action::Stop => "stop",
            Action::Done => "done",
            Action::Set => "set",
            Action::Force => "force",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub ts: String,
    pub function: String,
    pub event: EventKind,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

pub struct Journal {
    path: PathBuf,
}

impl Journal {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(
        &self,
        function: &str,
        event: EventKind,
        action: Action,
        percent: Option<f64>,
        ok: Option<bool>,
        detail: &str,
    ) -> std::io::Result<()> {
        let entry = Entry {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            function: function.to_owned(),
            event,
            action,
            percent,
            ok,
            detail: detail.to_owned(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())?;
        f.sync_data()
    }

    /// Every readable entry of a function (a torn last line after a crash is skipped).
    pub fn entries(&self, function: &str) -> Vec<Entry> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
            .filter(|e| e.function == function)
            .collect()
    }

    /// An intent whose outcome was never written: the process died during that call.
    pub fn dangling_intent(&self, function: &str) -> Option<Entry> {
        let entries = self.entries(function);
        let last_intent = entries.iter().rposition(|e| e.event == EventKind::Intent)?;
        let answered = entries[last_intent + 1..]
            .iter()
            .any(|e| e.event == EventKind::Outcome);
        (!answered).then(|| entries[last_intent].clone())
    }

    /// The last decision, if any.
    pub fn last_decision(&self, function: &str) -> Option<Entry> {
        self.entries(function)
            .into_iter()
            .rev()
            .find(|e| e.event == EventKind::Decision)
    }

    /// Did the last verdict roll back (and has nobody forced a new shift since)?
    pub fn rolled_back(&self, function: &str) -> bool {
        self.entries(function)
            .iter()
            .rev()
            .find(|e| e.event == EventKind::Decision && e.action != Action::Hold)
            .is_some_and(|e| e.action == Action::Rollback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_outcomes_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.append(
            "f",
            EventKind::Intent,
            Action::SetWeight,
            Some(5.0),
            None,
            "",
        )
        .unwrap();
        assert_eq!(j.dangling_intent("f").unwrap().percent, Some(5.0));
        j.append(
            "f",
            EventKind::Outcome,
            Action::SetWeight,
            Some(5.0),
            Some(true),
            "",
        )
        .unwrap();
        assert!(j.dangling_intent("f").is_none());
        j.append(
            "f",
            EventKind::Decision,
            Action::Rollback,
            Some(0.0),
            None,
            "errors",
        )
        .unwrap();
        assert!(j.rolled_back("f"));
        assert!(!j.rolled_back("g"));
        // A crash mid-write leaves a torn line: it is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap()
            .write_all(b"{\"ts\": \"x\", \"func")
            .unwrap();
        assert_eq!(j.entries("f").len(), 3);
    }

    #[test]
    fn lines_keep_the_names_older_journals_hold() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.append(
            "f",
            EventKind::Intent,
            Action::SetWeight,
            Some(5.0),
            None,
            "x",
        )
        .unwrap();
        let text = std::fs::read_to_string(j.path()).unwrap();
        assert!(
            text.contains(r#""event":"intent","action":"set_weight""#),
            "{text}"
        );
        let old =
            r#"{"ts":"t","function":"f","event":"decision","action":"promote","percent":5.0}"#;
        let e: Entry = serde_json::from_str(old).unwrap();
        assert_eq!((e.event, e.action), (EventKind::Decision, Action::Promote));
    }
}
