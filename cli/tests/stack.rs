//! The local stack's processes as a user meets them: restarts after a crash, commands killed
//! with `kill -9`, a project named from another folder, a service that fails to start.

mod common;

use common::{assert_service_error, stderr, TempProject};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn stack_json(p: &TempProject) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(p.path().join(".manuel-migrate/stack/stack.json")).unwrap(),
    )
    .unwrap()
}

fn pid_of(state: &serde_json::Value, service: &str) -> i32 {
    state[service]["pid"].as_i64().unwrap() as i32
}

fn gone(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty()
        || stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn private_stack_dirs(p: &TempProject) -> Vec<String> {
    std::fs::read_dir(p.path().join(".manuel-migrate"))
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("stack-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 22: `stack up`, kill redis, `stack up` used to rewrite stack.json and leave the old
/// moto and Bedrock replay running forever.
#[test]
fn a_second_up_after_a_service_died_stops_the_survivors() {
    let p = TempProject::new();
    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let old = stack_json(&p);
    let (redis, moto, bedrock) = (
        pid_of(&old, "redis"),
        pid_of(&old, "moto"),
        pid_of(&old, "bedrock"),
    );
    unsafe { libc::kill(redis, libc::SIGKILL) };
    wait_for("redis to die", Duration::from_secs(10), || gone(redis));
    // A command does not silently use a private stack instead of the broken one (issue 22).
    let ev = p.path().join("parity-fixtures/health/get-health.json");
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
        "--profile",
        "debug",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: the running stack is not healthy (redis (pid"),
        "{}",
        stderr(&o)
    );

    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("stopped moto (pid {moto})")), "{err}");
    assert!(
        err.contains(&format!("stopped bedrock (pid {bedrock})")),
        "{err}"
    );
    assert!(gone(moto) && gone(bedrock), "the old services survived");
    let new = stack_json(&p);
    assert_ne!(pid_of(&new, "moto"), moto);
    let o = p.run(&["stack", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
    let o = p.run(&["stack", "down"]);
    assert_eq!(o.status.code(), Some(0));
    for s in ["redis", "moto", "bedrock", "transcripts"] {
        assert!(gone(pid_of(&new, s)), "{s} survived stack down");
    }
}

/// Issue 22: `kill -9` of a command with a private stack left `.manuel-migrate/stack-<pid>/`
/// behind. Its services die with it (PR_SET_PDEATHSIG); the folder goes on the next start.
#[test]
fn a_private_stack_of_a_killed_command_is_cleaned_on_the_next_start() {
    let p = TempProject::new();
    let mut serve = Command::new(common::bin())
        .arg("--project")
        .arg(p.path())
        .args(["serve", "--function", "health", "--profile", "debug"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dir = p
        .path()
        .join(format!(".manuel-migrate/stack-{}", serve.id()));
    wait_for("the private stack", Duration::from_secs(60), || {
        dir.join("stack.json").is_file()
    });
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("stack.json")).unwrap()).unwrap();
    serve.kill().unwrap();
    serve.wait().unwrap();
    for s in ["redis", "moto", "bedrock", "transcripts"] {
        let pid = pid_of(&state, s);
        wait_for(
            &format!("{s} to die with its command"),
            Duration::from_secs(10),
            || gone(pid),
        );
    }
    assert!(
        dir.is_dir(),
        "kill -9 runs no cleanup: the folder is still there"
    );

    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        private_stack_dirs(&p).is_empty(),
        "{:?}",
        private_stack_dirs(&p)
    );
    let o = p.run(&["stack", "down"]);
    assert_eq!(o.status.code(), Some(0));
}

/// Issue 22: from another folder, `--project` used to reach the CLI but not the Bedrock replay
/// child, which looked for manuel-migrate.toml in the current folder.
#[test]
fn the_project_flag_reaches_every_child_process() {
    let p = TempProject::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(common::bin())
            .current_dir(elsewhere.path())
            .arg("--project")
            .arg(p.path())
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["stack", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
    // Logs keep no colour codes when stderr is not a terminal (issue 22).
    let ev = p.path().join("parity-fixtures/health/get-health.json");
    let o = run(&[
        "-v",
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
        "--profile",
        "debug",
    ]);
    let err = stderr(&o);
    assert!(err.contains("INFO") && !err.contains('\u{1b}'), "{err:?}");
    // `eval "$(stack env)"` must not replace the shell's PATH (issue 22).
    let o = run(&["stack", "env", "--function", "health"]);
    let env = common::stdout(&o);
    assert!(
        env.contains("export AWS_ENDPOINT_URL='http://127.0.0.1:"),
        "{env}"
    );
    assert!(
        !env.contains("export PATH=") && !env.contains("export TZ="),
        "{env}"
    );
    let o = run(&["stack", "down"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A service that dies at start: one line naming it, its last words, and a log that still
/// exists after the run folder is gone; nothing left running.
#[test]
fn a_failed_start_keeps_the_log_it_names() {
    let p = TempProject::new();
    let bin = p.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("redis-server");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'fatal: no memory for you' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(common::bin())
        .arg("--project")
        .arg(p.path())
        .args(["stack", "up"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert_service_error(
        &o,
        &["redis did not become healthy", "fatal: no memory for you"],
    );
    let err = stderr(&o);
    let log = err
        .rsplit("(log: ")
        .next()
        .and_then(|r| r.split(')').next())
        .unwrap();
    assert!(
        Path::new(log).is_file(),
        "the named log {log} is gone: {err}"
    );
    assert!(std::fs::read_to_string(log).unwrap().contains("no memory"));
    assert!(!p.path().join(".manuel-migrate/stack/stack.json").exists());
    assert!(
        common::processes_matching(&p.path().display().to_string()).is_empty(),
        "processes left behind"
    );
}

/// Issue 16: the stack serves the transcript moto's job points at (on amazonaws.com) through
/// its proxy and CA, to a client that only follows the standard variables — seeded audio gets
/// its transcript as application/json, other audio S3's 404, any other host 403.
#[test]
fn the_transcript_proxy_serves_what_was_seeded_for_the_audio_and_nothing_else() {
    let p = TempProject::new();
    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = p.run(&["stack", "env", "--function", "query"]);
    let env: Vec<(String, String)> = common::stdout(&o)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert!(get("HTTPS_PROXY").is_some_and(|v| v.starts_with("http://127.0.0.1:")));
    let ca = get("SSL_CERT_FILE").expect("SSL_CERT_FILE");
    assert!(
        ca.ends_with("local-ca.pem") && Path::new(&ca).is_file(),
        "{ca}"
    );
    let seeded = b"RIFF seeded test audio";
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(seeded))
    };
    let dir = p.path().join("parity-fixtures/transcripts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{sha}.json")),
        r#"{"results": {"transcripts": [{"transcript": "seeded words"}]}}"#,
    )
    .unwrap();
    let script = r#"
import boto3, os, urllib.request
s3, tr = boto3.client("s3"), boto3.client("transcribe")
bucket = os.environ["AUDIO_BUCKET"]
def fetch(name, audio):
    s3.put_object(Bucket=bucket, Key=f"t/{name}.wav", Body=audio)
    tr.start_transcription_job(TranscriptionJobName=name, Media={"MediaFileUri": f"s3://{bucket}/t/{name}.wav"}, MediaFormat="wav", LanguageCode="en-US")
    for _ in range(3):
        job = tr.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
    try:
        with urllib.request.urlopen(job["Transcript"]["TranscriptFileUri"], timeout=10) as r:
            print(name, r.status, r.getheader("Content-Type"), r.read().decode())
    except Exception as e:
        print(name, "error", e)
fetch("seeded", b"RIFF seeded test audio")
fetch("unseeded", b"RIFF other audio")
try:
    urllib.request.urlopen("https://example.com/", timeout=10)
except Exception as e:
    print("internet", "error", e)
"#;
    let o = Command::new(common::lambda_python())
        .arg("-c")
        .arg(script)
        .current_dir(p.path())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let out = common::stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(
        out.contains(
            r#"seeded 200 application/json {"results": {"transcripts": [{"transcript": "seeded words"}]}}"#
        ),
        "{out}"
    );
    assert!(out.contains("unseeded error HTTP Error 404"), "{out}");
    assert!(
        out.contains("internet error") && out.contains("403"),
        "{out}"
    );
    let log =
        std::fs::read_to_string(p.path().join(".manuel-migrate/stack/transcripts.log")).unwrap();
    assert!(log.contains("NoSuchKey") && log.contains("sha256"), "{log}");
}

fn worker_json(p: &TempProject) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(p.path().join(".manuel-migrate/stack/worker-1/stack.json")).unwrap(),
    )
    .unwrap()
}

/// Issue 19: `stack up --workers 2` runs a second, separate stack; `parity` spreads stateful
/// cases over both with the recorded verdicts (a case seeing another's writes would differ),
/// `status` lists both, `down` stops every service of both.
#[test]
fn workers_are_separate_stacks_that_parity_replays_on() {
    let p = TempProject::new();
    let o = p.run(&["stack", "up", "--workers", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (main, worker) = (stack_json(&p), worker_json(&p));
    assert_ne!(main["moto"]["port"], worker["moto"]["port"]);
    assert_ne!(main["redis"]["port"], worker["redis"]["port"]);
    let o = p.run(&["stack", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
    let out = common::stdout(&o);
    assert_eq!(out.matches("worker-1").count(), 4, "{out}");

    let debug = [("RUST_LOG", "manuel_migrate=debug")];
    let parity = ["parity", "--function", "usage", "--profile", "debug"];
    let o = p.run_with_env(&parity, &debug);
    let (out, err) = (common::stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("PASSED: 0 unexplained"), "{out}");
    for lane in ["stack=0", "stack=1"] {
        assert!(
            err.lines()
                .any(|l| l.contains("case done") && l.contains(lane)),
            "no case ran on {lane}: {err}"
        );
    }
    // `--stacks 1` keeps to the first stack.
    let o = p.run_with_env(&[&parity[..], &["--stacks", "1"]].concat(), &debug);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("stack=1"), "{}", stderr(&o));

    let o = p.run(&["stack", "down"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for state in [&main, &worker] {
        for s in ["redis", "moto", "bedrock", "transcripts"] {
            assert!(gone(pid_of(state, s)), "{s} survived stack down");
        }
    }
    // The alarm evaluator runs in the main stack only (no shift uses a worker).
    assert!(worker.get("alarms").is_none(), "{worker}");
    assert!(gone(pid_of(&main, "alarms")), "alarms survived stack down");
    assert!(!p.path().join(".manuel-migrate/stack/worker-1").exists());
}
