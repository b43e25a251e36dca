//! The stack's Bedrock replay service as a process: an unknown request is refused naming its
//! key and saved as a miss; once that miss has a response, the same request — sent by boto3's
//! key order or the Rust SDK's — gets it.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Replay(Child);

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, misses: &std::path::Path) -> (Replay, u16) {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(common::bin())
        .args(["stack", "bedrock-replay", "--dir"])
        .arg(dir)
        .arg("--misses")
        .arg(misses)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "replay did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Replay(child), port)
}

#[tokio::test]
async fn unknown_requests_name_their_key_and_become_recordings() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, misses) = (tmp.path().join("bedrock"), tmp.path().join("misses"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = |port: u16| format!("http://127.0.0.1:{port}/knowledgebases/KB1/retrieve");
    let boto_body = r#"{"retrievalQuery": {"text": "How?"}, "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5}}}"#;
    let client = reqwest::Client::new();

    let (replay, port) = start(&dir, &misses);
    let r = client.post(url(port)).body(boto_body).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-amzn-errortype"], "ResourceNotFoundException");
    let text = r.text().await.unwrap();
    let saved: Vec<_> = std::fs::read_dir(&misses).unwrap().collect();
    assert_eq!(saved.len(), 1);
    let file = saved[0].as_ref().unwrap().path();
    let key = file.file_stem().unwrap().to_string_lossy().into_owned();
    assert!(
        text.contains(&format!("Retrieve request {key}")),
        "the error names the key: {text}"
    );
    drop(replay);

    // Fill in the response and serve it from the recordings folder.
    let mut miss: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    miss["response"] = serde_json::json!({"status": 200, "body": {"retrievalResults": []}});
    std::fs::write(dir.join("r.json"), miss.to_string()).unwrap();
    let (_replay, port) = start(&dir, &misses);
    // The Rust SDK's order and its defaulted `type` field reach the same recording.
    let rust_body = r#"{"retrievalConfiguration":{"vectorSearchConfiguration":{"numberOfResults":5}},"retrievalQuery":{"type":"TEXT","text":"How?"}}"#;
    let r = client.post(url(port)).body(rust_body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"retrievalResults":[]}"#);
    // One character more in the question is another request.
    let other = boto_body.replace("How?", "How? ");
    let r = client.post(url(port)).body(other).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
