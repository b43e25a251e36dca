//! The shift's event-source preflight: alias weights route only what invokes the alias. An SQS
//! (or Kinesis, DynamoDB stream …) event source mapping that names the function unqualified
//! invokes `$LATEST` — which holds the Rust code once `functions publish --as-version-of` has
//! run — so it would send Rust 100 % of its events whatever the weights say.

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("lambda:ListEventSourceMappings: {0}")]
    Aws(String),
}

/// One mapping that invokes the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub uuid: String,
    pub source: String,
    /// What it invokes: `None` for the unqualified function, else the alias or version.
    pub qualifier: Option<String>,
}

/// The qualifier of a function ARN that names `function` (`None`: unqualified), or `Err` when
/// it names another function.
fn qualifier_of(function_arn: &str, function: &str) -> Result<Option<String>, ()> {
    let needle = format!(":function:{function}");
    let at = function_arn.find(&needle).ok_or(())?;
    let rest = &function_arn[at + needle.len()..];
    match rest.strip_prefix(':') {
        None if rest.is_empty() => Ok(None),
        Some(q) if !q.is_empty() && q != "$LATEST" => Ok(Some(q.to_owned())),
        Some(_) => Ok(None),
        None => Err(()),
    }
}

/// Every event source mapping of the account that invokes `function` (any qualifier).
pub async fn mappings_of(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Vec<Mapping>, SourceError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_event_source_mappings()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| SourceError::Aws(crate::stack::aws_message(&e)))?;
        for m in page.event_source_mappings() {
            let Some(arn) = m.function_arn() else {
                continue;
            };
            if let Ok(qualifier) = qualifier_of(arn, function) {
                out.push(Mapping {
                    uuid: m.uuid().unwrap_or_default().to_owned(),
                    source: m.event_source_arn().unwrap_or_default().to_owned(),
                    qualifier,
                });
            }
        }
        match page.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// What a mapping means for a shift of `alias` between `python` and `rust` versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Invokes the alias: its events follow the weights.
    Routed,
    /// Pinned to the Python version: the shift does not move it (a note).
    PinnedPython,
    /// Invokes `$LATEST` or the Rust version: Rust gets all of its events.
    AllRust,
    /// Another version or alias: not this shift's business (a note).
    Elsewhere,
}

pub fn judge(m: &Mapping, alias: &str, python: Option<&str>, rust: Option<&str>) -> Verdict {
    match m.qualifier.as_deref() {
        None => Verdict::AllRust,
        Some(q) if q == alias => Verdict::Routed,
        Some(q) if Some(q) == rust => Verdict::AllRust,
        Some(q) if Some(q) == python => Verdict::PinnedPython,
        Some(_) => Verdict::Elsewhere,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_are_read_off_the_arn() {
        let base = "arn:aws:lambda:eu-west-1:1:function:manuel-error-processor-dev";
        assert_eq!(qualifier_of(base, "manuel-error-processor-dev"), Ok(None));
        assert_eq!(
            qualifier_of(&format!("{base}:$LATEST"), "manuel-error-processor-dev"),
            Ok(None)
        );
        assert_eq!(
            qualifier_of(&format!("{base}:live"), "manuel-error-processor-dev"),
            Ok(Some("live".into()))
        );
        assert_eq!(qualifier_of(base, "manuel-error-processor"), Err(()));
        assert_eq!(qualifier_of(base, "other"), Err(()));
    }

    #[test]
    fn unqualified_and_rust_mappings_take_everything() {
        let m = |q: Option<&str>| Mapping {
            uuid: "u".into(),
            source: "arn:aws:sqs:eu-west-1:1:q".into(),
            qualifier: q.map(str::to_owned),
        };
        let j = |q| judge(&m(q), "live", Some("1"), Some("2"));
        assert_eq!(j(None), Verdict::AllRust);
        assert_eq!(j(Some("2")), Verdict::AllRust);
        assert_eq!(j(Some("live")), Verdict::Routed);
        assert_eq!(j(Some("1")), Verdict::PinnedPython);
        assert_eq!(j(Some("beta")), Verdict::Elsewhere);
    }
}
