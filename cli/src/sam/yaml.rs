//! A CloudFormation template as a tree that keeps what a YAML library's data model drops: the
//! short-form intrinsic tags (`!Ref`, `!Sub`, `!If` …) and every scalar's text as written (a
//! template's `50` and `"50"` are the same string to CloudFormation). saphyr-parser does the
//! YAML; this module only builds the tree from its events.
//!
//! Duplicate keys keep the last value, as CloudFormation's own YAML reading does (Manuel's
//! template defines `ProcessManualFunction` twice and SAM deploys the second).

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    /// A scalar's text as written, quoted or not (an unquoted `~`, `null` or empty scalar is
    /// [`Node::Null`] instead).
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys in document order.
    Map(Vec<(String, Node)>),
    /// A local tag (`!Ref X`): the tag's name without the `!`, and the node it tags.
    Tag(String, Box<Node>),
}

impl Node {
    /// The value of `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{0}")]
    Syntax(String),
    #[error("line {line}: {message}")]
    Shape { line: usize, message: String },
}

/// Parse the first document of `text`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut reader = Reader {
        events: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    loop {
        match reader.next()? {
            (Event::StreamStart | Event::DocumentStart(_), _) => continue,
            (Event::StreamEnd | Event::DocumentEnd, _) => return Ok(Node::Null),
            (event, line) => return reader.node(event, line),
        }
    }
}

struct Reader<'a> {
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, usize), YamlError> {
        match self.events.next() {
            Some(Ok((event, span))) => Ok((event, span.start.line())),
            Some(Err(e)) => Err(YamlError::Syntax(e.to_string())),
            None => Ok((Event::StreamEnd, 0)),
        }
    }

    fn node(&mut self, event: Event<'a>, line: usize) -> Result<Node, YamlError> {
        let (node, anchor, tag) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = if style == ScalarStyle::Plain
                    && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                    && tag.is_none()
                {
                    Node::Null
                } else {
                    Node::Scalar(text.into_owned())
                };
                (node, anchor, tag)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (e, l) => items.push(self.node(e, l)?),
                    }
                }
                (Node::Seq(items), anchor, tag)
            }
            Event::MappingStart(anchor, tag) => {
                let mut entries: Vec<(String, Node)> = Vec::new();
                loop {
                    let key = match self.next()? {
                        (Event::MappingEnd, _) => break,
                        (e, l) => match self.node(e, l)? {
                            Node::Scalar(k) => k,
                            Node::Null => String::new(),
                            _ => {
                                return Err(YamlError::Shape {
                                    line: l,
                                    message: "a mapping key that is not text".into(),
                                })
                            }
                        },
                    };
                    let (e, l) = self.next()?;
                    let value = self.node(e, l)?;
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                (Node::Map(entries), anchor, tag)
            }
            Event::Alias(id) => {
                return self.anchors.get(&id).cloned().ok_or(YamlError::Shape {
                    line,
                    message: "an alias to an unknown anchor".into(),
                })
            }
            other => {
                return Err(YamlError::Shape {
                    line,
                    message: format!("unexpected {other:?}"),
                })
            }
        };
        let node = match tag {
            // `!!str` and the other core-schema tags change nothing for CloudFormation.
            Some(tag) if tag.handle == "!" && !tag.suffix.is_empty() => {
                Node::Tag(tag.suffix.clone(), Box::new(node))
            }
            _ => node,
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(s: &str) -> Node {
        Node::Scalar(s.into())
    }

    #[test]
    fn short_form_tags_and_scalar_text_are_kept() {
        let doc = parse(
            "A: !Ref Stage\nB: 50\nC: \"50\"\nD: !If [Cond, !Sub 'x-${Stage}', !Ref AWS::NoValue]\nE:\nF: ~\n",
        )
        .unwrap();
        assert_eq!(
            doc.get("A"),
            Some(&Node::Tag("Ref".into(), Box::new(scalar("Stage"))))
        );
        assert_eq!(doc.get("B"), Some(&scalar("50")));
        assert_eq!(doc.get("C"), Some(&scalar("50")));
        let Some(Node::Tag(name, args)) = doc.get("D") else {
            panic!("D is not tagged: {:?}", doc.get("D"))
        };
        assert_eq!(name, "If");
        let Node::Seq(items) = args.as_ref() else {
            panic!("If's arguments are not a list")
        };
        assert_eq!(items[0], scalar("Cond"));
        assert_eq!(
            items[1],
            Node::Tag("Sub".into(), Box::new(scalar("x-${Stage}")))
        );
        assert_eq!(doc.get("E"), Some(&Node::Null));
        assert_eq!(doc.get("F"), Some(&Node::Null));
    }

    #[test]
    fn a_duplicate_key_keeps_the_last_value_in_the_first_place() {
        let doc = parse("R:\n  X: 1\n  Y: 2\n  X: 3\n").unwrap();
        let r = doc.get("R").unwrap();
        assert_eq!(
            r.entries(),
            &[
                ("X".to_string(), scalar("3")),
                ("Y".to_string(), scalar("2"))
            ]
        );
    }

    #[test]
    fn anchors_and_block_scalars() {
        let doc = parse("a: &x\n  k: v\nb: *x\nc: |\n  two\n  lines\n").unwrap();
        assert_eq!(doc.get("a"), doc.get("b"));
        assert_eq!(doc.get("c"), Some(&scalar("two\nlines\n")));
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err().to_string();
        assert!(err.contains("line"), "{err}");
    }
}
