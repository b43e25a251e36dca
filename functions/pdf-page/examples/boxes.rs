//! What the function would draw for a PDF: per page, the image size (or the error the image
//! would show) and the highlight boxes in image pixels, as `(x1, y1, x2, y2)` —
//! `cargo run -p pdf-page --example boxes -- FILE.pdf NEEDLE [PAGES]`. Compare with what
//! PyMuPDF 1.24 gives for the same file (`page.get_pixmap(matrix=Matrix(2, 2))` and
//! `int(2 * v)` of `page.search_for(NEEDLE)`) when measuring a new kind of page.

use pdf_page::render::{Engine, PageNumber};

fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if std::env::var_os("PDFIUM_LIBRARY_PATH").is_none() {
        std::env::set_var(
            "PDFIUM_LIBRARY_PATH",
            root.join(format!(".pdfium/{}/lib", std::env::consts::ARCH)),
        );
    }
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(needle)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: boxes FILE.pdf NEEDLE [PAGES]");
        std::process::exit(2);
    };
    let pdf = std::fs::read(file).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2);
    });
    let pages: i64 = args.get(3).and_then(|p| p.parse().ok()).unwrap_or(1);
    let engine = Engine::load();
    for n in 1..=pages {
        let (img, rects) = engine.page(&pdf, &PageNumber::Small(n), Some(needle));
        let size = match img {
            Ok(i) => format!("({}, {})", i.width, i.height),
            Err(e) => e.0,
        };
        println!("{} {size} {rects:?}", n - 1);
    }
}
