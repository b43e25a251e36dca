//! Property tests: any event gets an answer and never a panic (S3 at a closed port, as in an
//! outage), and PDFium survives damaged PDFs, odd page numbers and any search text.

use manuel_shared::pyvalue;
use pdf_page::render::{Engine, PageNumber};
use pdf_page::{handle, PdfPageEnv};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// PDFium as the local runs use it (scripts/setup.sh puts it there).
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let lib = root().join(format!(
            ".pdfium/{}/lib/libpdfium.so",
            std::env::consts::ARCH
        ));
        assert!(
            lib.is_file(),
            "{} missing: run scripts/setup.sh",
            lib.display()
        );
        std::env::set_var("PDFIUM_LIBRARY_PATH", &lib);
        let e = Engine::load();
        assert_eq!(e.available(), Ok(()));
        e
    })
}

fn fixture_pdf() -> Vec<u8> {
    std::fs::read(root().join("parity-fixtures/files/pdfpage-3p.pdf")).unwrap()
}

#[test]
fn renders_at_twice_the_page_size_and_finds_every_match() {
    let (img, rects) = engine().page(&fixture_pdf(), &PageNumber::Small(1), Some("coffee"));
    let img = img.unwrap();
    // 300×200 pt at 2×.
    assert_eq!((img.width, img.height), (600, 400));
    // Helvetica, "COFFEE", Times and Courier lines: one box each, top to bottom.
    assert_eq!(rects.len(), 4, "{rects:?}");
    assert!(rects.windows(2).all(|w| w[0].1 < w[1].1), "{rects:?}");
    // The page is not blank: some dark text pixels.
    assert!(img.pixels.chunks(3).any(|p| p[0] < 100));
    let (err, none) = engine().page(&fixture_pdf(), &PageNumber::Small(4), Some("coffee"));
    assert_eq!(
        err.unwrap_err().0,
        "Page 4 does not exist. PDF has 3 pages."
    );
    assert!(none.is_empty());
    let err = engine()
        .page(b"", &PageNumber::Small(1), None)
        .0
        .unwrap_err();
    assert_eq!(err.0, "Cannot open empty stream.");
    let img = engine().error_image(&PageNumber::Small(4), "Page 4 does not exist.");
    assert_eq!((img.width, img.height), (600, 800));
    // Pink background, red text drawn somewhere.
    assert_eq!(&img.pixels[..3], &[0xff, 0xee, 0xee]);
    assert!(img.pixels.chunks(3).any(|p| p[0] > 200 && p[1] < 100));
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!("https://b.s3.amazonaws.com/k.pdf")),
        Just(json!(["red"])),
        Just(json!({"a": 1})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered(
        method in prop_oneof![Just(json!("POST")), Just(json!("OPTIONS")), value()],
        url in value(), page in value(), text in value(), colour in value(),
        raw in prop_oneof![Just(None), "\\PC{0,20}".prop_map(Some), Just(Some("{\"page_number\": NaN}".to_owned()))],
        bucket in prop_oneof![Just(None), Just(Some("bucket".to_owned()))],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = common::closed_port_clients(&rt);
        let body = match raw {
            Some(r) => Value::String(r),
            None => Value::String(pyvalue::dumps(&pyvalue::PyValue::from_json(
                &json!({"pdf_url": url, "page_number": page, "highlight_text": text, "highlight_color": colour}),
            ))),
        };
        let event = json!({"httpMethod": method, "body": body});
        let out = rt.block_on(handle(&event, &PdfPageEnv { bucket }, &c, engine()));
        let status = out["statusCode"].as_u64().unwrap();
        prop_assert!([200, 400, 500].contains(&status), "{out}");
    }

    #[test]
    fn damaged_pdfs_and_any_needle_never_panic(
        cut in 0usize..3000, flips in proptest::collection::vec((0usize..3000, any::<u8>()), 0..20),
        page in -2i64..6, needle in "\\PC{0,8}",
    ) {
        let mut pdf = fixture_pdf();
        for (at, b) in flips {
            if let Some(x) = pdf.get_mut(at) { *x = b; }
        }
        pdf.truncate(cut.max(1));
        let (img, rects) = engine().page(&pdf, &PageNumber::Small(page), Some(&needle));
        if let Ok(img) = img {
            prop_assert_eq!(img.pixels.len(), (img.width * img.height * 3) as usize);
        }
        prop_assert!(rects.len() < 10_000);
    }
}
