//! Issue 14: the Rust token authorizer against moto's Cognito (real RS256 tokens minted with
//! AdminInitiateAuth), the user it allows compared with the one Python derives, its bench row,
//! and no token or signing key in anything the tool writes or prints.

mod common;

use common::{stderr, stdout, TempProject};
use serde_json::Value;
use std::path::Path;

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The user Python answered a recorded manuals fixture with (its body's `user_id`).
fn python_user(p: &TempProject, case: &str) -> String {
    let f = json_file(
        &p.path()
            .join("parity-fixtures/manuals")
            .join(format!("{case}.json")),
    );
    let body: Value = serde_json::from_str(f["python"]["body"].as_str().unwrap()).unwrap();
    body["user_id"].as_str().unwrap().to_owned()
}

/// Every JWT-shaped run in `text` (three base64url parts, the first two JSON objects).
fn jwts(text: &str) -> Vec<String> {
    let part = |s: &str| {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .count()
    };
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find("eyJ") {
        let start = at + i;
        let a = part(&text[start..]);
        let rest = &text[start + a..];
        if a > 8 && rest.starts_with(".eyJ") {
            let b = part(&rest[1..]);
            let rest2 = &rest[1 + b..];
            if rest2.starts_with('.') && part(&rest2[1..]) > 8 {
                let end = start + a + 1 + b + 1 + part(&rest2[1..]);
                found.push(text[start..end].to_owned());
                at = end;
                continue;
            }
        }
        at = start + 3;
    }
    found
}

/// Every file below `dir`, as text (binary files lossily).
fn texts_below(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_symlink() {
            continue;
        }
        if ft.is_dir() {
            texts_below(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

#[test]
fn the_authorizer_allows_real_tokens_denies_bad_ones_and_nothing_leaks_a_token() {
    let p = TempProject::new();
    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut printed = String::new();

    let invoke = |case: &str, printed: &mut String| -> Value {
        let ev = p
            .path()
            .join("parity-fixtures/authorizer")
            .join(format!("{case}.json"));
        let o = p.run(&[
            "-vv",
            "invoke",
            "--function",
            "authorizer",
            "--event",
            ev.to_str().unwrap(),
            "--profile",
            "debug",
        ]);
        printed.push_str(&stdout(&o));
        printed.push_str(&stderr(&o));
        assert_eq!(o.status.code(), Some(0), "{case}: {}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{case}: {e}: {}", stdout(&o)))
    };
    let statement = |v: &Value| v["policyDocument"]["Statement"][0].clone();
    let stage = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/Prod/*";

    // A valid id token and a valid access token: Allow, for the user Python derives from the
    // same token on the manuals routes (the recorded fixtures), with the claims in context.
    for (case, python_case, token_use) in [
        ("allow-id-token", "list-token-user-1", "id"),
        ("allow-access-token", "list-token-user-2", "access"),
    ] {
        let v = invoke(case, &mut printed);
        let user = python_user(&p, python_case);
        assert_eq!(v["principalId"], user.as_str(), "{case}: {v}");
        assert_eq!(statement(&v)["Effect"], "Allow", "{case}: {v}");
        assert_eq!(statement(&v)["Action"], "execute-api:Invoke");
        assert_eq!(statement(&v)["Resource"], stage);
        assert_eq!(v["context"]["sub"], user.as_str());
        assert_eq!(v["context"]["token_use"], token_use);
        // API Gateway takes only strings, numbers and booleans in context.
        for (k, x) in v["context"].as_object().unwrap() {
            assert!(x.is_string() || x.is_number() || x.is_boolean(), "{k}: {x}");
        }
    }
    // Signed by another key, expired, another pool, not a Bearer token, not a JWT: Deny.
    for case in [
        "deny-forged",
        "deny-expired",
        "deny-other-pool",
        "deny-not-bearer",
        "deny-garbage-token",
    ] {
        let v = invoke(case, &mut printed);
        assert_eq!(statement(&v)["Effect"], "Deny", "{case}: {v}");
        assert_eq!(v["principalId"], "anonymous", "{case}: {v}");
        assert!(v.get("context").is_none(), "{case}: {v}");
    }

    // Its bench row: cold start and p99 of a Rust-only function (no Python side).
    let reports = tempfile::tempdir().unwrap();
    let o = p.run(&[
        "-v",
        "bench",
        "--function",
        "authorizer",
        "--requests",
        "60",
        "--warmup",
        "5",
        "--cold-samples",
        "2",
        "--profile",
        "debug",
        "--reports",
        reports.path().to_str().unwrap(),
    ]);
    printed.push_str(&stdout(&o));
    printed.push_str(&stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("latency p99 (ms)") && table.contains("cold start"),
        "{table}"
    );
    let json = std::fs::read_dir(reports.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|f| f.extension().is_some_and(|x| x == "json"))
        .expect("bench JSON report");
    let r = json_file(&json);
    assert!(r["python"].is_null(), "no Python side: {}", r["python"]);
    assert_eq!(r["rust"]["errors"], 0, "{}", r["rust"]);
    assert!(r["rust"]["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(r["rust"]["cold"]["samples"], 2, "{}", r["rust"]["cold"]);
    assert_eq!(r["rust"]["cold"]["failures"], 0, "{}", r["rust"]["cold"]);

    // Parity of the manuals token cases, verbose, with its reports.
    let o = p.run(&[
        "-vv",
        "parity",
        "--function",
        "manuals",
        "--case",
        "*token*",
        "--profile",
        "debug",
        "--reports",
        reports.path().to_str().unwrap(),
    ]);
    printed.push_str(&stdout(&o));
    printed.push_str(&stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // No token and no signing key in anything printed or written: the reports, the project's
    // state folder (stack logs, stack description, journals) and the fixtures (placeholders).
    let mut files = Vec::new();
    texts_below(reports.path(), &mut files);
    texts_below(&p.path().join(".manuel-migrate"), &mut files);
    texts_below(&p.path().join("parity-fixtures"), &mut files);
    assert!(
        files.iter().any(|(f, _)| f.ends_with("/stack/moto.log")),
        "the stack's logs are among the files searched"
    );
    // The one JWT-shaped string of the fixtures is list-bearer-unverified's made-up token
    // (its signature is the word "signature"); it is not a credential.
    let made_up = "c2lnbmF0dXJl";
    let moto_key = std::process::Command::new(p.path().join(".venv/bin/python"))
        .args([
            "-c",
            "import gzip,json,moto,os;k=json.load(gzip.open(os.path.join(os.path.dirname(moto.__file__),'cognitoidp/resources/jwks-private.json.gz')));k=k.get('keys',[k])[0];print(k['d'])",
        ])
        .output()
        .unwrap();
    let moto_d = String::from_utf8_lossy(&moto_key.stdout).trim().to_owned();
    assert!(
        moto_d.len() > 100,
        "moto's private exponent: {}",
        stderr(&moto_key)
    );
    files.push(("(printed)".into(), printed));
    for (file, text) in &files {
        for t in jwts(text) {
            assert!(t.ends_with(made_up), "{file} holds a token: {}…", &t[..20]);
        }
        assert!(
            !text.contains(&moto_d[..40]),
            "{file} holds moto's signing key"
        );
        assert!(!text.contains("PRIVATE KEY"), "{file} holds a private key");
    }
}

/// The shape test of the scanner itself: a real-looking token is found, prose is not.
#[test]
fn the_token_scanner_finds_tokens() {
    let t = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    assert_eq!(jwts(&format!("Authorization: Bearer {t}\n")), [t]);
    assert!(jwts("eyJ alone, eyJabc.def and eyJhbGciOiJSUzI1NiJ9.notjson.x").is_empty());
}
