//! Differential property tests against the Lambda runtime's Python (scripts/setup.sh makes
//! `.venv-lambda` and `.layers/file-security`): proptest draws file names and byte buffers of
//! the kinds an upload brings, one Python process answers them all, and every answer must be
//! the same.
//!
//! - `pymimetypes::MimeTypes::init().guess_type(name)` against `mimetypes.guess_type(name)[0]`
//!   (both read this machine's /etc/mime.types);
//! - `magic::Library` against python-magic's `magic.from_buffer(data, mime=True)` (both on this
//!   machine's libmagic).

use manuel_shared::magic::Library;
use manuel_shared::pymimetypes::MimeTypes;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run `script` on the runtime's Python with `input` on stdin; its stdout as JSON.
fn python(script: &str, input: &serde_json::Value) -> serde_json::Value {
    let py = root().join(".venv-lambda/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    let mut child = Command::new(py)
        .arg("-c")
        .arg(script)
        .env("PYTHONPATH", root().join(".layers/file-security/python"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn draw<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>, n: usize) -> Vec<T> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn file_names() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_ -]{0,8}(\\.[a-zA-Z0-9]{1,5}){0,3}",
        "[a-z./]{0,6}\\.(mp3|MP3|wav|WAV|m4a|ogg|oga|webm|mp4|tgz|TGZ|gz|GZ|Z|bz2|xz|br|svgz|tar\\.gz|tar\\.Z|json|pdf|png|jpg)",
        "(data|DATA|http|c):[a-z/=;.,]{0,14}",
        "\\.{0,3}[a-z]{0,3}\\.{0,3}[a-z]{0,3}",
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ]
}

#[test]
fn guess_type_matches_python_on_drawn_names() {
    let names = draw(file_names(), 3000);
    let script = "import json, sys, mimetypes\nprint(json.dumps([mimetypes.guess_type(n)[0] for n in json.load(sys.stdin)]))";
    let want = python(script, &serde_json::json!(names));
    let db = MimeTypes::init();
    let mut bad = Vec::new();
    for (name, want) in names.iter().zip(want.as_array().unwrap()) {
        let got = db.guess_type(name);
        if got.as_deref() != want.as_str() {
            bad.push(format!("{name:?}: rust {got:?}, python {want}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        names.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

/// Buffers as uploads come: a known signature (audio, documents, images, executables, scripts)
/// followed by random bytes, text, or random bytes alone, from empty to 2 KiB.
fn buffers() -> impl Strategy<Value = Vec<u8>> {
    let signatures: Vec<&'static [u8]> = vec![
        b"",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"ID3\x03\x00\x00\x00\x00\x00\x00",
        b"\xff\xfb\x90\x00",
        b"\xff\xf3",
        b"OggS\x00\x02",
        b"\x1a\x45\xdf\xa3",
        b"\x00\x00\x00\x20ftypM4A ",
        b"\x00\x00\x00\x18ftypmp42",
        b"fLaC",
        b"%PDF-1.4\n",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff\xe0",
        b"GIF89a",
        b"MZ",
        b"\x7fELF",
        b"PK\x03\x04",
        b"#!/bin/sh\n",
        b"<?php ",
        b"<script>",
        b"{\"a\": ",
    ];
    (
        proptest::sample::select(signatures),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            "[ -~\n]{0,300}".prop_map(String::into_bytes),
            proptest::collection::vec(0u8..2, 0..600),
        ],
    )
        .prop_map(|(sig, rest)| [sig, &rest[..]].concat())
}

#[test]
fn libmagic_names_types_as_python_magic_on_drawn_buffers() {
    let bufs = draw(buffers(), 1500);
    let hexes: Vec<String> = bufs.iter().map(hex::encode).collect();
    let script = "import json, sys, magic\nprint(json.dumps([magic.from_buffer(bytes.fromhex(h), mime=True) for h in json.load(sys.stdin)]))";
    let want = python(script, &serde_json::json!(hexes));
    let lib = Library::load().expect("libmagic");
    let m = lib.mime().expect("database");
    let mut bad = Vec::new();
    for (b, want) in bufs.iter().zip(want.as_array().unwrap()) {
        let got = m.from_buffer(b).unwrap();
        if Some(got.as_str()) != want.as_str() {
            bad.push(format!(
                "{}: rust {got}, python {want}",
                hex::encode(&b[..b.len().min(24)])
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        bufs.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}
