//! The Rust resources of the hybrid template: copied from `template-rust.yaml` as written, with
//! their API routes under `/rust` and the Rust-only global settings inline.

use super::yaml::{reindent_line, Node, Yaml};
use super::*;

/// A resource of the Rust template for the hybrid one: a function gets the Rust-only global
/// settings and its API paths under `/rust`; anything else is copied as it is.
pub(super) fn rust_resource(
    y: &Yaml,
    r: &Node,
    moved_globals: &[Node],
) -> Result<String, HybridError> {
    let is_function = y
        .child(r, "Type")
        .is_some_and(|t| yaml_unquote(y.inline(&t)) == "AWS::Serverless::Function");
    if !is_function {
        return Ok(y.text(r, 2));
    }
    let props = y
        .child(r, "Properties")
        .ok_or_else(|| rust_err(format!("Resources.{}", r.key), "no Properties"))?;
    let prop_children = y.children(&props);
    let prop_indent = prop_children.first().map_or(props.indent + 2, |n| n.indent);
    let mut insert = String::new();
    for g in moved_globals {
        if !prop_children.iter().any(|p| p.key == g.key) {
            insert.push_str(&y.text(g, prop_indent));
        }
    }
    let mut path_lines = BTreeMap::new();
    // Lines left out: event sources other than the API stay with the Python function here.
    let mut dropped: Vec<std::ops::Range<usize>> = Vec::new();
    if let Some(events) = y.child(&props, "Events") {
        let all = y.children(&events);
        let sources: Vec<&Node> = all
            .iter()
            .filter(|e| !super::python::is_api_event(y, e))
            .collect();
        if sources.len() == all.len() {
            dropped.push(events.start..events.end);
        } else {
            dropped.extend(sources.iter().map(|e| e.start..e.end));
        }
        for e in y.children(&events) {
            if let Some(p) = y.child(&e, "Properties").and_then(|p| y.child(&p, "Path")) {
                let old = yaml_unquote(y.inline(&p));
                let new = if old == "/" {
                    RUST_ROUTE_PREFIX.to_owned()
                } else {
                    format!("{RUST_ROUTE_PREFIX}{old}")
                };
                let line = format!("{}Path: {new}", " ".repeat(p.indent - r.indent + 2));
                path_lines.insert(p.start, line);
            }
        }
    }
    let mut out = String::new();
    for i in r.start..r.end {
        if dropped.iter().any(|d| d.contains(&i)) {
            continue;
        }
        match path_lines.get(&i) {
            Some(line) => out.push_str(line),
            None => out.push_str(&reindent_line(y.lines[i], r.indent, 2)),
        }
        out.push('\n');
        if i == props.start {
            // Indentation relative to the resource, as the copied lines are.
            for line in insert.lines() {
                out.push_str(&reindent_line(line, r.indent, 2));
                out.push('\n');
            }
        }
    }
    Ok(out)
}
