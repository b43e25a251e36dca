//! How long the semantic diff takes on a large JSON body (goal: a 1 MB body in under 20 ms).
//!
//! `cargo bench -p manuel-migrate --bench diff`

use criterion::{criterion_group, criterion_main, Criterion};
use manuel_migrate::parity::diff::{diff_responses, DiffInput, SideCtx};
use manuel_migrate::parity::rules::Rules;
use serde_json::{json, Value};
use std::hint::black_box;

/// A query-like response body of about `bytes` bytes: sources with text, scores and metadata.
fn body(bytes: usize, variant: u32) -> Value {
    let mut sources = Vec::new();
    let mut size = 0;
    let mut i = 0u32;
    while size < bytes {
        let s = json!({
            "id": format!("doc-{i}"),
            "score": 0.5 + (i % 100) as f64 / 1000.0 + if i % 997 == 0 { variant as f64 * 1e-3 } else { 0.0 },
            "page": i % 300,
            "text": format!("Section {i}: {} ", "lorem ipsum dolor sit amet ".repeat(12)),
            "metadata": {"bucket": "manuel-manuals", "key": format!("manuals/u1/manual-{}.pdf", i % 17), "tags": ["a", "b", "c"]},
        });
        size += s.to_string().len();
        sources.push(s);
        i += 1;
    }
    json!({"answer": "The filter is under the front panel.", "sources": sources, "timestamp": 1_800_000_000 + variant})
}

fn bench(c: &mut Criterion) {
    let a = body(1 << 20, 0);
    let b = body(1 << 20, 1);
    let resp = |v: &Value| json!({"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": v.to_string()});
    let (ra, rb) = (resp(&a), resp(&b));
    eprintln!("body size: {} bytes", ra["body"].as_str().unwrap().len());
    let rules = Rules::parse(
        "[[rule]]\npath = \"$.timestamp\"\naction = \"normalize\"\nnormalizer = \"epoch_near_now\"\n\n[[rule]]\npath = \"$.sources[*].score\"\naction = \"tolerance\"\nabs = 1e-9\n",
    )
    .unwrap();
    let ctx = SideCtx {
        at: 1_800_000_000,
        vars: Default::default(),
    };
    let input = DiffInput {
        function: "query",
        case: "big",
        rules: &rules,
        noise: &[],
        python: &ctx,
        rust: &ctx,
    };
    let n = diff_responses(&input, &ra, &rb).len();
    eprintln!("differences found: {n}");
    c.bench_function("diff 1 MB JSON body (parse both + walk + rules)", |bench| {
        bench.iter(|| black_box(diff_responses(&input, black_box(&ra), black_box(&rb))))
    });
    c.bench_function(
        "diff identical 1 MB bodies (byte-equal fast path)",
        |bench| bench.iter(|| black_box(diff_responses(&input, black_box(&ra), black_box(&ra)))),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
