//! `functions sync`: manuel-migrate.toml restates what backend/template.yaml deploys for each
//! Python function (memory, timeout, layers, environment, routes, routes without an
//! authorizer). This compares the two fact by fact and updates the file where they drift —
//! comments and layout kept (toml_edit) — except where an entry declares a deviation with its
//! reason (`[functions.NAME.template_deviations]`, `[sync.deviations]` for `[env]`).

use crate::config::{Config, FunctionConfig, Project, CONFIG_FILE};
use crate::exit;
use crate::sam::{self, FunctionFacts, Template, Value};
use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How one fact of the file compares with the template.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Same,
    /// The file says something else; `fix` is the value sync writes (`None`: remove the key).
    Differs {
        fix: Fix,
    },
    /// The template's value is known only once deployed (a reference `[sync.references]` does
    /// not map): sync cannot check it.
    Unknown,
    /// Differs, and the entry says why.
    Kept(String),
    /// A deviation is declared, but the file and the template agree.
    StaleDeviation(String),
    /// The template does not deploy the function: why.
    Absent(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Fix {
    Integer(i64),
    Strings(Vec<String>),
    Text(Option<String>),
}

#[derive(Debug, Clone)]
struct Finding {
    /// `functions.query`, or empty for `[env]` (the Globals).
    table: String,
    field: String,
    ours: String,
    theirs: String,
    /// `backend/template.yaml (QueryFunction)`.
    source: String,
    verdict: Verdict,
}

impl Finding {
    fn fails(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Differs { .. }
                | Verdict::Unknown
                | Verdict::StaleDeviation(_)
                | Verdict::Absent(_)
        )
    }

    /// `functions.query.memory_mb`, `env.REGION`.
    fn at(&self) -> String {
        if self.table.is_empty() {
            self.field.clone()
        } else {
            format!("{}.{}", self.table, self.field)
        }
    }

    fn line(&self) -> String {
        let at = self.at();
        match &self.verdict {
            Verdict::Differs { .. } => format!(
                "{at}: {CONFIG_FILE} has {}, {} deploys {}",
                self.ours, self.source, self.theirs
            ),
            Verdict::Unknown => format!(
                "{at}: {} sets {}, known only once deployed: map it in [sync.references]",
                self.source, self.theirs
            ),
            Verdict::StaleDeviation(reason) => format!(
                "{at}: declared as deviating ({reason}) but {} deploys the same {}: drop the declaration",
                self.source, self.theirs
            ),
            Verdict::Absent(why) => format!("{at}: {why} ({})", self.source),
            Verdict::Kept(reason) => format!("{at}: kept ({reason})"),
            Verdict::Same => format!("{at}: same"),
        }
    }
}

pub fn sync(
    project: &Project,
    templates: &[PathBuf],
    parameters: Option<&Path>,
    config_env: &str,
    check: bool,
    only: &[String],
) -> anyhow::Result<i32> {
    let config = &project.config;
    for name in only {
        project.function(name)?;
    }
    let overrides = match parameters {
        Some(p) => sam::read_parameters(p, config_env)?,
        None => BTreeMap::new(),
    };
    let mut references = sam::default_references();
    references.extend(config.sync.references.clone());
    let loaded: Vec<Template> = templates
        .iter()
        .map(|p| Template::load(p, &overrides, &references))
        .collect::<Result<_, _>>()?;
    if let Some(p) = parameters {
        if let Some(name) = overrides
            .keys()
            .find(|n| loaded.iter().all(|t| !t.declares(n)))
        {
            anyhow::bail!(
                "{}: parameter {name} is declared by none of the templates",
                p.display()
            );
        }
    }
    let findings = compare(config, &loaded, only)?;

    let failing: Vec<&Finding> = findings.iter().filter(|f| f.fails()).collect();
    let kept = findings
        .iter()
        .filter(|f| matches!(f.verdict, Verdict::Kept(_)))
        .count();
    let same = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Same)
        .count();
    print_table(&findings);
    let summary = format!(
        "{same} facts agree, {kept} differ on purpose, {} differ",
        failing.len()
    );
    if check {
        for f in &failing {
            println!("{}", f.line());
        }
        println!("{summary}");
        return Ok(if failing.is_empty() {
            exit::OK
        } else {
            exit::GATE_FAILED
        });
    }
    let fixes: Vec<&Finding> = failing
        .iter()
        .copied()
        .filter(|f| matches!(f.verdict, Verdict::Differs { .. }))
        .collect();
    if !fixes.is_empty() {
        let path = project.root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let updated = apply(&text, &fixes).with_context(|| path.display().to_string())?;
        // The result must still be a valid configuration before it replaces the file.
        toml::from_str::<Config>(&updated).map_err(|e| {
            anyhow::anyhow!(
                "{}: the update would not parse ({}); nothing written",
                path.display(),
                e.message()
            )
        })?;
        crate::fsutil::write_atomic(&path, updated.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        println!("{CONFIG_FILE}: updated {} facts", fixes.len());
    }
    let unfixable: Vec<&&Finding> = failing
        .iter()
        .filter(|f| !matches!(f.verdict, Verdict::Differs { .. }))
        .collect();
    for f in &unfixable {
        println!("{}", f.line());
    }
    println!("{summary}");
    Ok(if unfixable.is_empty() {
        exit::OK
    } else {
        exit::GATE_FAILED
    })
}

fn print_table(findings: &[Finding]) {
    let rows: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.verdict != Verdict::Same)
        .collect();
    if rows.is_empty() {
        return;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "where",
        "field",
        CONFIG_FILE,
        "template",
        "verdict",
    ]);
    for f in rows {
        let verdict = match &f.verdict {
            Verdict::Same => "same".to_string(),
            Verdict::Differs { .. } => "differs".into(),
            Verdict::Unknown => "not known before deployment".into(),
            Verdict::Kept(reason) => format!("kept: {reason}"),
            Verdict::StaleDeviation(_) => "declared deviation, but the same".into(),
            Verdict::Absent(why) => why.clone(),
        };
        table.add_row(vec![
            if f.table.is_empty() {
                "[env]".to_string()
            } else {
                f.table.clone()
            },
            f.field.clone(),
            f.ours.clone(),
            format!("{} ({})", f.theirs, f.source),
            verdict,
        ]);
    }
    println!("{table}");
}

/// Every fact of the configured functions (and `[env]`) against the templates.
fn compare(
    config: &Config,
    templates: &[Template],
    only: &[String],
) -> anyhow::Result<Vec<Finding>> {
    let mut out = Vec::new();
    if only.is_empty() {
        if let Some(first) = templates.first() {
            let theirs = first.globals_env()?;
            let source = format!("{} (Globals)", first.path().display());
            env_findings(
                &mut out,
                "",
                &config.env,
                &theirs,
                &source,
                &config.sync.deviations,
            );
        }
    }
    for (name, f) in &config.functions {
        if f.python().is_none() || (!only.is_empty() && !only.contains(name)) {
            continue;
        }
        let table = format!("functions.{name}");
        let mut found = None;
        for (i, t) in templates.iter().enumerate() {
            if let Some(facts) = t.function(&f.template_resource)? {
                found = Some((i, t, facts));
                break;
            }
        }
        let Some((index, t, facts)) = found else {
            let listed = templates
                .iter()
                .map(|t| t.path().display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            out.push(judge(
                Finding {
                    table: table.clone(),
                    field: "template_resource".into(),
                    ours: f.template_resource.clone(),
                    theirs: "no such function".into(),
                    source: listed,
                    verdict: Verdict::Absent(format!(
                        "{} is not a function of the templates",
                        f.template_resource
                    )),
                },
                f.template_deviations.get("template_resource"),
            ));
            continue;
        };
        let source = format!("{} ({})", t.path().display(), f.template_resource);
        function_findings(&mut out, &table, f, &facts, &source);
        // What the function inherits: `[env]` mirrors the first template's Globals (compared
        // above); a function another template deploys inherits that template's.
        let inherited = if index == 0 {
            None
        } else {
            Some(t.globals_env()?)
        };
        function_env_findings(
            &mut out,
            &table,
            &config.env,
            f,
            &facts.env,
            inherited.as_ref(),
            !f.template_deviations.contains_key(INHERITED),
            &source,
        );
    }
    Ok(out)
}

fn function_findings(
    out: &mut Vec<Finding>,
    table: &str,
    f: &FunctionConfig,
    facts: &FunctionFacts,
    source: &str,
) {
    let deviations = &f.template_deviations;
    let mut push = |field: &str, ours: String, theirs: String, verdict: Verdict| {
        out.push(judge(
            Finding {
                table: table.into(),
                field: field.into(),
                ours,
                theirs,
                source: source.into(),
                verdict,
            },
            deviations.get(field),
        ))
    };
    if !facts.deployed {
        push(
            "template_resource",
            f.template_resource.clone(),
            "not deployed".into(),
            Verdict::Absent(format!(
                "{} is not deployed: its Condition is false with these parameters",
                f.template_resource
            )),
        );
    }
    for (field, ours, theirs) in [
        ("memory_mb", i64::from(f.memory_mb), &facts.memory_mb),
        (
            "timeout_s",
            i64::try_from(f.timeout_s).unwrap_or(i64::MAX),
            &facts.timeout_s,
        ),
    ] {
        let verdict = match theirs.text().map(|t| t.trim().parse::<i64>()) {
            Some(Ok(n)) if n == ours => Verdict::Same,
            Some(Ok(n)) => Verdict::Differs {
                fix: Fix::Integer(n),
            },
            _ => Verdict::Unknown,
        };
        push(field, ours.to_string(), theirs.describe(), verdict);
    }
    let layers: Option<Vec<String>> = facts
        .layers
        .iter()
        .map(|v| v.text().map(str::to_owned))
        .collect();
    let theirs_layers = Value::List(facts.layers.clone()).describe();
    match layers {
        Some(theirs) => push(
            "layers",
            list(&f.layers),
            list(&theirs),
            if theirs == f.layers {
                Verdict::Same
            } else {
                Verdict::Differs {
                    fix: Fix::Strings(theirs),
                }
            },
        ),
        None => push("layers", list(&f.layers), theirs_layers, Verdict::Unknown),
    }
    let routes: BTreeSet<String> = facts.routes.iter().map(|r| r.label()).collect();
    let public: BTreeSet<String> = facts
        .routes
        .iter()
        .filter(|r| r.public)
        .map(|r| r.label())
        .collect();
    for (field, ours, theirs) in [
        ("routes", &f.routes, routes),
        ("public_routes", &f.public_routes, public),
    ] {
        let ours_set: BTreeSet<String> = ours.iter().cloned().collect();
        let verdict = if ours_set == theirs {
            Verdict::Same
        } else {
            // Keep the file's order for the routes it has, then the new ones.
            let mut fixed: Vec<String> = ours
                .iter()
                .filter(|r| theirs.contains(*r))
                .cloned()
                .collect();
            fixed.extend(theirs.iter().filter(|r| !ours_set.contains(*r)).cloned());
            Verdict::Differs {
                fix: Fix::Strings(fixed),
            }
        };
        let theirs: Vec<String> = theirs.into_iter().collect();
        push(field, list(ours), list(&theirs), verdict);
    }
}

/// The deviation that leaves a function's inherited variables unchecked.
const INHERITED: &str = "inherited_env";

/// A function's variables as it gets them: its own over the inherited ones, on both sides.
/// Rows are the function's own keys (either side's); with `inherited` (the Globals of the
/// template that deploys it, when that is not the one `[env]` mirrors) and `all_inherited`,
/// every inherited key too.
#[allow(clippy::too_many_arguments)]
fn function_env_findings(
    out: &mut Vec<Finding>,
    table: &str,
    globals: &BTreeMap<String, String>,
    f: &FunctionConfig,
    theirs_own: &BTreeMap<String, Value>,
    inherited: Option<&BTreeMap<String, Value>>,
    all_inherited: bool,
    source: &str,
) {
    let mut keys: BTreeSet<&String> = f.env.keys().chain(theirs_own.keys()).collect();
    if let Some(inherited) = inherited.filter(|_| all_inherited) {
        keys.extend(globals.keys().chain(inherited.keys()));
    }
    let first_globals = BTreeMap::new();
    for key in keys {
        let field = format!("env.{key}");
        let ours = f.env.get(key).or_else(|| globals.get(key));
        let theirs = theirs_own
            .get(key)
            .or_else(|| inherited.unwrap_or(&first_globals).get(key));
        let theirs = match (theirs, inherited) {
            (Some(v), _) => Some(v.clone()),
            // Deployed by the first template: it inherits what `[env]` mirrors.
            (None, None) => globals.get(key).map(|v| Value::Str(v.clone())),
            (None, Some(_)) => None,
        };
        let show = |v: Option<&String>| v.map_or("(absent)".to_string(), |v| format!("{v:?}"));
        let verdict = match theirs.as_ref() {
            Some(v) => match v.text() {
                Some(t) if ours.map(String::as_str) == Some(t) => Verdict::Same,
                // The same as `[env]` gives it: the function's own key goes.
                Some(t) if globals.get(key).map(String::as_str) == Some(t) => Verdict::Differs {
                    fix: Fix::Text(None),
                },
                Some(t) => Verdict::Differs {
                    fix: Fix::Text(Some(t.to_owned())),
                },
                None => Verdict::Unknown,
            },
            None if ours.is_none() => Verdict::Same,
            None if f.env.contains_key(key) && !globals.contains_key(key) => Verdict::Differs {
                fix: Fix::Text(None),
            },
            None => Verdict::Absent(format!(
                "the template does not give it [env].{key}, which this file gives every function"
            )),
        };
        out.push(judge(
            Finding {
                table: table.into(),
                field: field.clone(),
                ours: show(ours),
                theirs: theirs.map_or("(absent)".into(), |v| v.describe()),
                source: source.into(),
                verdict,
            },
            f.template_deviations.get(&field),
        ));
    }
}

fn env_findings(
    out: &mut Vec<Finding>,
    table: &str,
    ours: &BTreeMap<String, String>,
    theirs: &BTreeMap<String, Value>,
    source: &str,
    deviations: &BTreeMap<String, String>,
) {
    let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        let field = format!("env.{key}");
        let mine = ours.get(key);
        let show = |v: Option<&String>| v.map_or("(absent)".to_string(), |v| format!("{v:?}"));
        let (theirs_text, verdict) = match theirs.get(key) {
            None => (
                "(absent)".to_string(),
                Verdict::Differs {
                    fix: Fix::Text(None),
                },
            ),
            Some(v) => match v.text() {
                Some(t) if mine.map(String::as_str) == Some(t) => (v.describe(), Verdict::Same),
                Some(t) => (
                    v.describe(),
                    Verdict::Differs {
                        fix: Fix::Text(Some(t.to_owned())),
                    },
                ),
                None => (v.describe(), Verdict::Unknown),
            },
        };
        out.push(judge(
            Finding {
                table: table.into(),
                field: field.clone(),
                ours: show(mine),
                theirs: theirs_text,
                source: source.into(),
                verdict,
            },
            deviations.get(&field),
        ));
    }
}

/// Apply a declared deviation to a finding.
fn judge(finding: Finding, deviation: Option<&String>) -> Finding {
    let Some(reason) = deviation else {
        return finding;
    };
    let verdict = match finding.verdict {
        Verdict::Same => Verdict::StaleDeviation(reason.clone()),
        _ => Verdict::Kept(reason.clone()),
    };
    Finding { verdict, ..finding }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// The configuration text with the fixes applied, its comments and layout kept.
fn apply(text: &str, fixes: &[&Finding]) -> anyhow::Result<String> {
    use toml_edit::{value, Array, DocumentMut, Item, Table};
    let mut doc: DocumentMut = text.parse().context("not TOML")?;
    for f in fixes {
        let Verdict::Differs { fix } = &f.verdict else {
            continue;
        };
        // The table the finding is about: `env` or `functions.NAME`.
        let mut table: &mut Table = doc.as_table_mut();
        for part in f.table.split('.').filter(|p| !p.is_empty()) {
            let item = table.entry(part).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            table = item
                .as_table_mut()
                .with_context(|| format!("{}: not a table", f.table))?;
        }
        let (table, key) = match f.field.split_once('.') {
            Some((env, key)) => {
                let item = table
                    .entry(env)
                    .or_insert_with(|| Item::Table(Table::new()));
                let t = item
                    .as_table_mut()
                    .with_context(|| format!("{}.{env}: not a table", f.table))?;
                (t, key)
            }
            None => (table, f.field.as_str()),
        };
        let new = match fix {
            Fix::Integer(n) => value(*n),
            Fix::Strings(items) => {
                let mut arr = Array::new();
                for i in items {
                    arr.push(i.as_str());
                }
                value(arr)
            }
            Fix::Text(Some(t)) => value(t.as_str()),
            Fix::Text(None) => {
                table.remove(key);
                continue;
            }
        };
        // Replace the value in place: the key's comment lines and the value's trailing
        // comment stay where they were.
        let decor = table
            .get(key)
            .and_then(Item::as_value)
            .map(|v| v.decor().clone());
        let slot = &mut table[key];
        *slot = new;
        if let (Some(decor), Some(v)) = (decor, slot.as_value_mut()) {
            *v.decor_mut() = decor;
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_keeps_comments_and_removes_and_adds_keys() {
        let text = "# top\n[env]\nA = \"1\" # why\nB = \"2\"\n\n[functions.f]\n# memory\nmemory_mb = 256 # MB\nlayers = []\n";
        let finding = |table: &str, field: &str, fix: Fix| Finding {
            table: table.into(),
            field: field.into(),
            ours: String::new(),
            theirs: String::new(),
            source: String::new(),
            verdict: Verdict::Differs { fix },
        };
        let fixes = [
            finding("", "env.B", Fix::Text(None)),
            finding("", "env.C", Fix::Text(Some("3".into()))),
            finding("functions.f", "memory_mb", Fix::Integer(512)),
            finding("functions.f", "layers", Fix::Strings(vec!["redis".into()])),
            finding("functions.f", "env.X", Fix::Text(Some("y".into()))),
        ];
        let refs: Vec<&Finding> = fixes.iter().collect();
        let out = apply(text, &refs).unwrap();
        assert!(out.contains("# top"), "{out}");
        assert!(out.contains("A = \"1\" # why"), "{out}");
        assert!(!out.contains("B ="), "{out}");
        assert!(out.contains("C = \"3\""), "{out}");
        assert!(out.contains("# memory\nmemory_mb = 512 # MB"), "{out}");
        assert!(out.contains("layers = [\"redis\"]"), "{out}");
        let doc: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(doc["functions"]["f"]["env"]["X"].as_str(), Some("y"));
    }
}
