//! `hybrid-template --check`: which lines of the committed template differ from the generated
//! one, located by section and entry.

use super::yaml::{indent_of, is_content, key_of};
use super::HYBRID_TEMPLATE;
use std::fmt::Write as _;

/// One line that differs between the committed template and the generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// Line number: in the committed file for a removed line, in the generated text for an added one.
    pub line: usize,
    /// `Section.Entry` the line belongs to (`Resources.QueryFunction`).
    pub location: String,
    pub added: bool,
    pub text: String,
}

/// The lines by which `committed` differs from `generated`.
pub fn differences(committed: &str, generated: &str) -> Vec<LineChange> {
    let diff = similar::TextDiff::from_lines(committed, generated);
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        let (index, lines, added) = match change.tag() {
            similar::ChangeTag::Equal => continue,
            similar::ChangeTag::Delete => (change.old_index(), &old, false),
            similar::ChangeTag::Insert => (change.new_index(), &new, true),
        };
        let index = index.expect("a changed line has an index");
        out.push(LineChange {
            line: index + 1,
            location: location(lines, index),
            added,
            text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
        });
    }
    out
}

/// `Section.Entry` of line `index` (by the nearest keys above it at indentation 0 and 2).
fn location(lines: &[&str], index: usize) -> String {
    let mut entry = None;
    for i in (0..=index.min(lines.len().saturating_sub(1))).rev() {
        let l = lines.get(i).copied().unwrap_or("");
        if !is_content(l) {
            continue;
        }
        match (indent_of(l), key_of(l)) {
            (0, Some(section)) => {
                return match entry {
                    Some(e) => format!("{section}.{e}"),
                    None => section.to_owned(),
                };
            }
            (2, Some(k)) if entry.is_none() => entry = Some(k),
            _ => {}
        }
    }
    "(top of file)".into()
}

/// The `--check` report: which entries differ, then the lines (at most `limit`).
pub fn describe(changes: &[LineChange], limit: usize) -> String {
    let mut places: Vec<&str> = Vec::new();
    for c in changes {
        if !places.contains(&c.location.as_str()) {
            places.push(&c.location);
        }
    }
    let mut out = format!(
        "{HYBRID_TEMPLATE} is out of date in {}:\n",
        places.join(", ")
    );
    for c in changes.iter().take(limit) {
        writeln!(
            out,
            "  {} line {} ({}): {}",
            if c.added { "+" } else { "-" },
            c.line,
            c.location,
            c.text
        )
        .unwrap();
    }
    if changes.len() > limit {
        writeln!(out, "  … and {} more lines", changes.len() - limit).unwrap();
    }
    out.push_str("regenerate it with `manuel-migrate functions hybrid-template`");
    out
}
