//! The shift journal: `reports/shift-journal.jsonl`, append-only, one JSON object per line,
//! fsync'd after every append. An `intent` is written before each AWS call that changes routing
//! and an `outcome` after it, so that after a crash (even `kill -9`) `status` can say what was in
//! flight and `shift` can resume or refuse.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub ts: String,
    pub function: String,
    /// `start`, `intent`, `outcome`, `decision`, `end`.
    pub event: String,
    /// For intent/outcome: the router call (`set_weight`). For decisions: `promote`,
    /// `rollback`, `hold`, `stop`, `done`.
    pub action: String,
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
        event: &str,
        action: &str,
        percent: Option<f64>,
        ok: Option<bool>,
        detail: &str,
    ) -> std::io::Result<()> {
        let entry = Entry {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            function: function.to_owned(),
            event: event.to_owned(),
            action: action.to_owned(),
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
        let last_intent = entries.iter().rposition(|e| e.event == "intent")?;
        let answered = entries[last_intent + 1..]
            .iter()
            .any(|e| e.event == "outcome");
        (!answered).then(|| entries[last_intent].clone())
    }

    /// The last decision (promote/rollback/hold/stop/done), if any.
    pub fn last_decision(&self, function: &str) -> Option<Entry> {
        self.entries(function)
            .into_iter()
            .rev()
            .find(|e| e.event == "decision")
    }

    /// Did the last verdict roll back (and has nobody forced a new shift since)?
    pub fn rolled_back(&self, function: &str) -> bool {
        self.entries(function)
            .iter()
            .rev()
            .find(|e| e.event == "decision" && e.action != "hold")
            .is_some_and(|e| e.action == "rollback")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_outcomes_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("j.jsonl"));
        j.append("f", "intent", "set_weight", Some(5.0), None, "")
            .unwrap();
        assert_eq!(j.dangling_intent("f").unwrap().percent, Some(5.0));
        j.append("f", "outcome", "set_weight", Some(5.0), Some(true), "")
            .unwrap();
        assert!(j.dangling_intent("f").is_none());
        j.append("f", "decision", "rollback", Some(0.0), None, "errors")
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
}
