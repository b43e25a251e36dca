//! A package without PDFium answers 500 naming the missing engine (not Python's blank
//! placeholder page with status 200, which would hide a broken deployment from the shift).
//! Its own test binary: PDFium is bound once per process.

use pdf_page::render::Engine;
use pdf_page::{handle, PdfPageEnv};
use serde_json::json;

mod common;

#[test]
fn without_pdfium_the_answer_is_500() {
    std::env::set_var("PDFIUM_LIBRARY_PATH", "/nonexistent/libpdfium.so");
    std::env::remove_var("LAMBDA_TASK_ROOT");
    let engine = Engine::load();
    let why = engine.available().unwrap_err().to_string();
    assert!(why.contains("/nonexistent/libpdfium.so (missing)"), "{why}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = common::closed_port_clients(&rt);
    let event = json!({
        "httpMethod": "POST",
        "body": "{\"pdf_url\": \"https://b.s3.amazonaws.com/m.pdf\", \"page_number\": 1}",
    });
    let out = rt.block_on(handle(&event, &PdfPageEnv { bucket: None }, &c, &engine));
    assert_eq!(out["statusCode"], 500, "{out}");
    let body: serde_json::Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"], "Failed to process PDF page");
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .starts_with("PDF engine unavailable: libpdfium not loadable"),
        "{body}"
    );
}
