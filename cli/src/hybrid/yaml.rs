//! Just enough of block-style YAML for SAM templates: mappings nested by indentation, one key
//! per line, blocks copied byte for byte. Written here because no YAML crate keeps CloudFormation's
//! short tags (`!Ref`, `!Sub` …) and the original text of a copied block intact.

use std::fmt::Write as _;

/// A YAML double-quoted string.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A plain or quoted scalar's text.
pub(super) fn yaml_unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else {
        s.to_owned()
    }
}

/// A mapping entry of a block-style YAML text: its key line and the lines under it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node<'a> {
    pub(super) key: &'a str,
    pub(super) indent: usize,
    /// The key's line.
    pub(super) start: usize,
    /// One past its last line (trailing blank lines excluded).
    pub(super) end: usize,
}

/// The lines of a block-style YAML text, read as nested mappings.
pub(super) struct Yaml<'a> {
    pub(super) lines: Vec<&'a str>,
}

impl<'a> Yaml<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            lines: text.lines().collect(),
        }
    }

    /// The mapping entries among lines `from..to`: keys at the indentation of its first line.
    pub(super) fn entries(&self, from: usize, to: usize) -> Vec<Node<'a>> {
        let Some(indent) = self.lines[from..to]
            .iter()
            .find(|l| is_content(l))
            .map(|l| indent_of(l))
        else {
            return Vec::new();
        };
        let mut out: Vec<Node<'a>> = Vec::new();
        for i in from..to {
            let l = self.lines[i];
            if !is_content(l) || indent_of(l) != indent {
                continue;
            }
            if let Some(key) = key_of(l) {
                if let Some(last) = out.last_mut() {
                    last.end = self.trim_end(last.start, i);
                }
                out.push(Node {
                    key,
                    indent,
                    start: i,
                    end: to,
                });
            }
        }
        if let Some(last) = out.last_mut() {
            last.end = self.trim_end(last.start, to);
        }
        out
    }

    pub(super) fn trim_end(&self, start: usize, mut end: usize) -> usize {
        while end > start + 1 && !is_content(self.lines[end - 1]) {
            end -= 1;
        }
        end
    }

    pub(super) fn children(&self, n: &Node) -> Vec<Node<'a>> {
        self.entries(n.start + 1, n.end)
    }

    pub(super) fn child(&self, n: &Node, key: &str) -> Option<Node<'a>> {
        self.children(n).into_iter().find(|c| c.key == key)
    }

    /// The value written on the key's own line.
    pub(super) fn inline(&self, n: &Node) -> &'a str {
        let l = self.lines[n.start].trim_start();
        let after = &l[key_end(l).expect("a key line") + 1..];
        after.trim()
    }

    pub(super) fn is_multiline(&self, n: &Node) -> bool {
        n.end > n.start + 1
    }

    /// The entry's lines, moved to indentation `to`.
    pub(super) fn text(&self, n: &Node, to: usize) -> String {
        let mut out = String::new();
        for l in &self.lines[n.start..n.end] {
            out.push_str(&reindent_line(l, n.indent, to));
            out.push('\n');
        }
        out
    }
}

pub(super) fn reindent_line(line: &str, from: usize, to: usize) -> String {
    if line.trim().is_empty() {
        return String::new();
    }
    let strip = from.min(indent_of(line));
    format!("{}{}", " ".repeat(to), &line[strip..])
        .trim_end()
        .to_owned()
}

pub(super) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

pub(super) fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// Byte index of the `:` ending a mapping key at the start of `s` (already trimmed).
pub(super) fn key_end(s: &str) -> Option<usize> {
    if s.starts_with(['-', '#', '!', '[', '{', '>', '|']) {
        return None;
    }
    let b = s.as_bytes();
    (0..b.len()).find(|&i| b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' '))
}

pub(super) fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let end = key_end(t)?;
    let key = t[..end].trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key);
    (!key.is_empty() && !key.contains(' ')).then_some(key)
}
