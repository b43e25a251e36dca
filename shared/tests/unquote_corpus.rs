//! Differential test of `url::unquote` / `unquote_plus` against CPython's `urllib.parse`.
//!
//! `data/unquote_corpus.json` holds what CPython 3.11 returned for each input (regenerate with
//! `python3 shared/tests/data/gen_unquote_corpus.py`); every case must come out the same here.

use manuel_shared::url::{unquote, unquote_plus};
use proptest::prelude::*;
use serde_json::Value;

const CORPUS: &str = include_str!("data/unquote_corpus.json");

#[test]
fn unquote_matches_cpython_on_every_corpus_case() {
    let corpus: Value = serde_json::from_str(CORPUS).expect("corpus is JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 800, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let input = case["input"].as_str().expect("input");
        for (name, got) in [
            ("unquote", unquote(input).into_owned()),
            ("unquote_plus", unquote_plus(input).into_owned()),
        ] {
            let want = case[name].as_str().expect("expected text");
            if got != want {
                failures.push(format!("{name}({input:?}): python {want:?}, rust {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any string, any escapes: never a panic, and text without `%` comes back unchanged.
    #[test]
    fn unquote_never_panics(s in "(%|[0-9a-fA-F]|\\PC|\\+){0,40}") {
        let out = unquote(&s);
        if !s.contains('%') {
            prop_assert_eq!(out.as_ref(), s.as_str());
        }
        let _ = unquote_plus(&s);
    }
}
