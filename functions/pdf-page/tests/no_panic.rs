//! Property tests: any event gets an answer and never a panic (S3 at a closed port, as in an
//! outage), and PDFium survives damaged PDFs, odd page numbers and any search text, any
//! `/Rotate` and any page box numbers.

use manuel_shared::pyvalue;
use pdf_page::render::{Engine, PageNumber};
use pdf_page::{handle, PdfPageEnv};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// A one-page PDF written by hand, so that page boxes and `/Rotate` can hold anything: `page`
/// and `tree` are raw dictionary entries of the page and of the page tree's root (inherited).
fn raw_pdf(page: &str, tree: &str, text: &[(f32, f32, &str)]) -> Vec<u8> {
    let content: String = text
        .iter()
        .map(|(x, y, t)| format!("BT /F1 12 Tf 1 0 0 1 {x} {y} Tm ({t}) Tj ET\n"))
        .collect();
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [4 0 R] /Count 1{tree} >>"),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> \
             /Contents 5 0 R{page} >>"
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (n, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn rotated_and_offset_pages_put_boxes_where_mupdf_does() {
    // Measured with PyMuPDF 1.24.0: a 300×200 pt page with its MediaBox at (100, 50), CropBox
    // [120 60 350 230], "coffee" at (130, 200) in Helvetica 12: turned 90° the image is 340×460
    // and the box stays in the unrotated crop box, from its top-left corner.
    let text = [(130.0, 200.0, "coffee at 130,200")];
    for (rotate, size) in [
        (0, (460, 340)),
        (90, (340, 460)),
        (180, (460, 340)),
        (270, (340, 460)),
    ] {
        let pdf = raw_pdf(
            &format!(" /MediaBox [100 50 400 250] /CropBox [120 60 350 230] /Rotate {rotate}"),
            "",
            &text,
        );
        let (img, rects) = engine().page(&pdf, &PageNumber::Small(1), Some("coffee"));
        let img = img.unwrap();
        assert_eq!((img.width, img.height), size, "/Rotate {rotate}");
        assert_eq!(rects, vec![(20, 34, 85, 67)], "/Rotate {rotate}");
    }
    // A CropBox beyond the MediaBox is shown whole (MuPDF does not clip it to the MediaBox).
    let pdf = raw_pdf(
        " /MediaBox [0 0 300 200] /CropBox [-50 -50 500 500]",
        "",
        &text,
    );
    let (img, rects) = engine().page(&pdf, &PageNumber::Small(1), Some("coffee"));
    assert_eq!(img.map(|i| (i.width, i.height)), Ok((1100, 1100)));
    assert_eq!(rects, vec![(360, 574, 425, 607)]);
    // A page MuPDF cannot allocate: its malloc error, and no rendering attempted.
    let pdf = raw_pdf(" /MediaBox [0 0 100000 100000]", "", &text);
    let err = engine()
        .page(&pdf, &PageNumber::Small(1), None)
        .0
        .unwrap_err();
    assert_eq!(err.0, "code=2: malloc (120000000000 bytes) failed");
}

/// A number as a PDF writes it: small, fractional, negative, zero or far beyond any page.
fn pdf_number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-700i32..700).prop_map(|n| n.to_string()),
        (-700.0f32..700.0).prop_map(|n| format!("{n:.3}")),
        Just("0".to_owned()),
        Just("-0.0001".to_owned()),
        (5u32..38).prop_map(|e| format!("{}{}", "9".repeat(e as usize), ".5")),
        (5u32..38).prop_map(|e| format!("-1{}", "0".repeat(e as usize))),
        Just("1e6".to_owned()),
    ]
}

/// A page box entry: an array of any length, or not an array at all.
fn pdf_box() -> impl Strategy<Value = String> {
    let array = |len| {
        proptest::collection::vec(pdf_number(), len).prop_map(|v| format!("[{}]", v.join(" ")))
    };
    prop_oneof![
        4 => array(4..5),
        1 => array(0..7),
        1 => prop_oneof![Just("5"), Just("(box)"), Just("null"), Just("/MediaBox"), Just("<< >>")]
            .prop_map(str::to_owned),
    ]
}

/// A `/Rotate` value: multiples of 90, any integer, reals, huge numbers, other objects.
fn pdf_rotate() -> impl Strategy<Value = String> {
    prop_oneof![
        (-8i64..9).prop_map(|q| (q * 90).to_string()),
        Just("45".to_owned()),
        Just("-90".to_owned()),
        Just("450".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        (-1000.0f32..1000.0).prop_map(|n| format!("{n:.2}")),
        Just("99999999999999999999999".to_owned()),
        Just("/Ninety".to_owned()),
        Just("(90)".to_owned()),
        Just("[90]".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_rotation_and_page_box_never_panics(
        media in proptest::option::of(pdf_box()),
        crop in proptest::option::of(pdf_box()),
        rotate in proptest::option::of(pdf_rotate()),
        inherit in proptest::collection::vec(any::<bool>(), 3),
        x in -800.0f32..800.0, y in -800.0f32..800.0,
        needle in prop_oneof![Just("coffee"), Just("coffee at"), Just("e")],
    ) {
        let (mut page, mut tree) = (String::new(), String::new());
        for ((key, value), up) in [("MediaBox", &media), ("CropBox", &crop), ("Rotate", &rotate)]
            .into_iter()
            .zip(inherit)
        {
            if let Some(v) = value {
                let into = if up { &mut tree } else { &mut page };
                into.push_str(&format!(" /{key} {v}"));
            }
        }
        let pdf = raw_pdf(&page, &tree, &[(x, y, "coffee at x,y"), (30.0, 150.0, "coffee")]);
        let started = Instant::now();
        let (img, rects) = engine().page(&pdf, &PageNumber::Small(1), Some(needle));
        let took = started.elapsed();
        prop_assert!(took < Duration::from_secs(20), "{page} | {tree}: {took:?}");
        match img {
            Ok(img) => {
                prop_assert_eq!(img.pixels.len(), (img.width * img.height * 3) as usize);
                prop_assert!(
                    i64::from(img.width) * i64::from(img.height) * 3
                        <= pdf_page::render::MAX_PIXMAP_BYTES
                );
            }
            Err(e) => prop_assert!(e.0.starts_with("code=2: malloc ("), "{page} | {tree}: {}", e.0),
        }
        prop_assert!(rects.len() < 10, "{rects:?}");
    }
}
