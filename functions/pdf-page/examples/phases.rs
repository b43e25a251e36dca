//! Where a page request spends its time, and what each deflate level costs:
//! `cargo run --release -p pdf-page --example phases` (PDFium from `.pdfium/<arch>/lib`, the
//! benchmark's 20-page US-letter PDF, page 10, highlight "filter").

use pdf_page::render::{Engine, PageNumber};
use std::time::Instant;

fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::set_var(
        "PDFIUM_LIBRARY_PATH",
        root.join(format!(".pdfium/{}/lib", std::env::consts::ARCH)),
    );
    let t = Instant::now();
    let engine = Engine::load();
    println!("bind PDFium: {:?}", t.elapsed());
    let pdf = std::fs::read(root.join("parity-fixtures/files/pdfpage-20p.pdf"))
        .expect("parity-fixtures/files/pdfpage-20p.pdf");
    for round in 0..3 {
        let t = Instant::now();
        let (img, rects) = engine.page(&pdf, &PageNumber::Small(10), Some("filter"));
        let mut img = img.expect("page 10 renders");
        let t_page = t.elapsed();
        let t = Instant::now();
        for r in &rects {
            img.blend_rect(*r, [255, 255, 0, 100]);
        }
        let t_blend = t.elapsed();
        let t = Instant::now();
        let png = img.png();
        println!(
            "round {round}: open+render+search {t_page:?} ({} boxes), blend {t_blend:?}, png {:?} ({} B)",
            rects.len(),
            t.elapsed(),
            png.len()
        );
    }
    let (img, _) = engine.page(&pdf, &PageNumber::Small(10), None);
    let img = img.expect("page 10 renders");
    {
        let t = Instant::now();
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, img.width, img.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_deflate_compression(png::DeflateCompression::FdeflateUltraFast);
            let mut w = enc.write_header().expect("header");
            w.write_image_data(&img.pixels).expect("data");
        }
        println!(
            "fdeflate (ultra fast), filter Adaptive: {:?}, {} B",
            t.elapsed(),
            out.len()
        );
    }
    for (level, filter) in [
        (1u8, png::Filter::Adaptive),
        (2, png::Filter::Adaptive),
        (2, png::Filter::Up),
        (2, png::Filter::Sub),
        (2, png::Filter::Paeth),
        (3, png::Filter::Adaptive),
        (6, png::Filter::Adaptive),
        (9, png::Filter::Adaptive),
    ] {
        let t = Instant::now();
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, img.width, img.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_deflate_compression(png::DeflateCompression::Level(level));
            enc.set_filter(filter);
            let mut w = enc.write_header().expect("header");
            w.write_image_data(&img.pixels).expect("data");
        }
        println!(
            "deflate level {level}, filter {filter:?}: {:?}, {} B",
            t.elapsed(),
            out.len()
        );
    }
}
