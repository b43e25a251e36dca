//! How much the load generator itself costs: drive a trivial local HTTP server (one thread,
//! answers `{"ok": true}`) through bench's HTTP path (event → request → response → histogram) on
//! one core, and report requests/s and the latency percentiles, which are all overhead.
//!
//! `cargo run --release -p manuel-migrate --example loadgen_overhead -- [requests] [concurrency]`

use manuel_migrate::bench::load::{self, LoadConfig};
use manuel_migrate::exec::remote::HttpTarget;
use manuel_migrate::exec::Runner;
use manuel_migrate::fixtures::{parse, Case};
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let requests: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);

    // The trivial server, on its own thread and single-threaded runtime.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new()
                .fallback(|| async { ([("content-type", "application/json")], "{\"ok\": true}") });
            axum::serve(l, app).await.unwrap();
        });
    });

    // The load generator, on one core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let target = HttpTarget::new(&format!("http://{addr}"), Duration::from_secs(10)).unwrap();
        let runner = Runner::Http(target);
        let fixture = parse(
            std::path::Path::new("overhead.json"),
            r#"{"name": "overhead", "event": {"httpMethod": "GET", "path": "/health", "headers": {"Accept": "application/json"}},
               "python": {"statusCode": 200, "headers": {}, "body": "{\"ok\": true}"}}"#,
        )
        .unwrap();
        let cases = vec![Case { function: "overhead".into(), file: "overhead.json".into(), fixture, stateful: false }];
        let cfg = LoadConfig { concurrency, requests: Some(requests), duration: None, rate: None, warmup: 2000 };
        let r = load::run(&runner, &cases, &cfg, &|_| {}).await.unwrap();
        println!(
            "{} requests, concurrency {concurrency}, {} errors: {:.0} req/s; latency p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
            r.total(),
            r.errors,
            r.throughput(),
            r.histogram.value_at_quantile(0.5) as f64,
            r.histogram.value_at_quantile(0.99) as f64,
            r.histogram.value_at_quantile(0.999) as f64,
            r.histogram.max() as f64
        );
        // Baseline: the same round trip with a minimal client (one keep-alive connection, a
        // fixed request, read until the body is complete). What our generator adds on top of it
        // is its overhead.
        let raw = raw_round_trips(addr, (requests / 4) as usize).await;
        println!(
            "minimal client, concurrency 1: latency p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs",
            raw.value_at_quantile(0.5) as f64,
            raw.value_at_quantile(0.99) as f64,
            raw.value_at_quantile(0.999) as f64
        );
        // One request at a time: every microsecond of latency is generator + loopback overhead.
        let cfg = LoadConfig { concurrency: 1, requests: Some(requests / 4), duration: None, rate: None, warmup: 1000 };
        let r = load::run(&runner, &cases, &cfg, &|_| {}).await.unwrap();
        println!(
            "closed loop, concurrency 1: {:.0} req/s; latency p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs",
            r.throughput(),
            r.histogram.value_at_quantile(0.5) as f64,
            r.histogram.value_at_quantile(0.99) as f64,
            r.histogram.value_at_quantile(0.999) as f64
        );
        println!(
            "added by the generator: p50 {:+.1} µs, p99 {:+.1} µs",
            r.histogram.value_at_quantile(0.5) as f64 - raw.value_at_quantile(0.5) as f64,
            r.histogram.value_at_quantile(0.99) as f64 - raw.value_at_quantile(0.99) as f64
        );
        // Open loop well below saturation: the added latency at a realistic rate.
        let cfg = LoadConfig { concurrency, requests: Some(requests / 4), duration: None, rate: Some(5000.0), warmup: 0 };
        let r = load::run(&runner, &cases, &cfg, &|_| {}).await.unwrap();
        println!(
            "open loop at 5000 req/s: {:.0} req/s achieved; latency from intended send time p50 {:.1} µs, p99 {:.1} µs",
            r.throughput(),
            r.histogram.value_at_quantile(0.5) as f64,
            r.histogram.value_at_quantile(0.99) as f64
        );
    });
}

/// Round trips of a fixed `GET /health` over one keep-alive connection, in microseconds.
async fn raw_round_trips(addr: std::net::SocketAddr, n: usize) -> hdrhistogram::Histogram<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let req = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n");
    let mut h = load::new_histogram();
    let mut buf = vec![0u8; 4096];
    for i in 0..n + 1000 {
        let t = std::time::Instant::now();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        loop {
            let k = s.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..k]);
            if got.windows(12).any(|w| w == b"{\"ok\": true}") {
                break;
            }
        }
        if i >= 1000 {
            h.record(t.elapsed().as_micros().max(1) as u64).unwrap();
        }
    }
    h
}
