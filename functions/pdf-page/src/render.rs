//! The PDF work: open, render one page at 2× (144 dpi), find a text, paint highlights, draw the
//! error image, encode PNG.
//!
//! Python does this with PyMuPDF (MuPDF) and Pillow; here it is PDFium through `pdfium-render`
//! plus our own blending and PNG encoding. Two renderers never agree pixel for pixel
//! (anti-aliasing, substituted base-14 fonts), so parity compares these images with a pixel
//! tolerance and compares the highlight boxes with a tolerance in pixels (see rules.toml).
//! What is kept exactly: the page box and rotation as MuPDF reads them (see `mupdf_page_box`),
//! image size (MuPDF's rounding of the scaled page box), the highlight coordinates in the
//! unrotated page box from its top-left corner, MuPDF's search semantics (ASCII-only case
//! folding, whitespace runs match any whitespace, matches across lines), one rectangle per run
//! of adjacent matched characters on a line, `int()` truncation of the scaled coordinates,
//! Pillow's RGBA-over-RGB blend and inclusive rectangle corners, and the error image's size,
//! colours and message.

mod image;
mod page_box;
mod search;

pub use image::Rgb;
pub use page_box::{PageBox, MAX_PIXMAP_BYTES};
pub use search::{find_all, merge_hits};

use image::{draw_text, render};
use page_box::mupdf_page_box;
use pdfium_render::prelude::*;
use search::search;
use std::path::PathBuf;

/// Render scale of the page (PyMuPDF `Matrix(2.0, 2.0)`).
pub const SCALE: f32 = 2.0;

/// Highlight rectangles in image pixels: x1, y1, x2, y2 (inclusive, as Pillow draws them).
pub type PixelRect = (i64, i64, i64, i64);

/// Why a page could not be rendered: the text Python puts into its error image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub String);

/// The page number as Python holds it: any size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageNumber {
    Small(i64),
    /// Beyond `i64`: decimal digits (always positive here; smaller values were refused).
    Big(String),
}

impl std::fmt::Display for PageNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageNumber::Small(n) => write!(f, "{n}"),
            PageNumber::Big(s) => f.write_str(s),
        }
    }
}

impl PageNumber {
    /// The zero-based index when the page exists.
    fn index(&self, count: i64) -> Option<i32> {
        match self {
            PageNumber::Small(n) if *n >= 1 && *n <= count => i32::try_from(*n - 1).ok(),
            _ => None,
        }
    }
}

/// The PDFium library, bound once per process.
pub struct Engine {
    pdfium: Result<Pdfium, EngineLoadError>,
}

/// Why PDFium could not be bound: every library path tried, with what went wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("libpdfium not loadable: {}", .tried.join("; "))]
pub struct EngineLoadError {
    pub tried: Vec<String>,
}

/// Where libpdfium.so is looked for: `PDFIUM_LIBRARY_PATH` (a file or a directory), the task
/// root (`/var/task`, where the package ships it beside `bootstrap`), beside the executable,
/// then a layer's `/opt/lib`.
fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("PDFIUM_LIBRARY_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_dir() {
            out.push(Pdfium::pdfium_platform_library_name_at_path(&p));
        } else {
            out.push(p);
        }
    }
    if let Some(root) = std::env::var_os("LAMBDA_TASK_ROOT").filter(|p| !p.is_empty()) {
        out.push(Pdfium::pdfium_platform_library_name_at_path(
            &PathBuf::from(root),
        ));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
    {
        out.push(Pdfium::pdfium_platform_library_name_at_path(&dir));
    }
    out.push(PathBuf::from("/opt/lib/libpdfium.so"));
    out
}

impl Engine {
    pub fn load() -> Engine {
        let mut tried = Vec::new();
        for path in library_candidates() {
            if !path.is_file() {
                tried.push(format!("{} (missing)", path.display()));
                continue;
            }
            match Pdfium::bind_to_library(&path) {
                Ok(b) => {
                    tracing::info!("PDFium loaded from {}", path.display());
                    return Engine {
                        pdfium: Ok(Pdfium::new(b)),
                    };
                }
                Err(e) => tried.push(format!("{}: {e}", path.display())),
            }
        }
        let why = EngineLoadError { tried };
        tracing::error!("{why}");
        Engine { pdfium: Err(why) }
    }

    pub fn available(&self) -> Result<(), &EngineLoadError> {
        self.pdfium.as_ref().map(|_| ())
    }

    /// Render the page and, when `needle` is given, find it: the page image (or why not) and the
    /// highlight rectangles in image pixels. A document or page that cannot be opened gives no
    /// rectangles, as Python's search swallows the same errors.
    pub fn page(
        &self,
        pdf: &[u8],
        page: &PageNumber,
        needle: Option<&str>,
    ) -> (Result<Rgb, PageError>, Vec<PixelRect>) {
        let pdfium = match &self.pdfium {
            Ok(p) => p,
            Err(why) => return (Err(PageError(why.to_string())), Vec::new()),
        };
        if pdf.is_empty() {
            return (
                Err(PageError("Cannot open empty stream.".into())),
                Vec::new(),
            );
        }
        let doc = match pdfium.load_pdf_from_byte_slice(pdf, None) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("PDFium cannot open the document: {e}");
                // MuPDF's message for bytes it finds no PDF objects in.
                return (
                    Err(PageError("code=7: no objects found".into())),
                    Vec::new(),
                );
            }
        };
        let count = doc.pages().len() as i64;
        let Some(index) = page.index(count) else {
            return (
                Err(PageError(format!(
                    "Page {page} does not exist. PDF has {count} pages."
                ))),
                Vec::new(),
            );
        };
        let mut p = match doc.pages().get(index) {
            Ok(p) => p,
            Err(e) => return (Err(PageError(e.to_string())), Vec::new()),
        };
        let used = mupdf_page_box(&mut p);
        let image = render(&p, &used);
        let rects = match needle {
            Some(n) => search(&p, n, &used).unwrap_or_else(|e| {
                tracing::warn!("Error searching for text: {e}");
                Vec::new()
            }),
            None => Vec::new(),
        };
        (image, rects)
    }

    /// Python's error image: 600×800, #ffeeee, the message in red from (50, 200), lines centred
    /// on the widest. The text is drawn with PDFium's Helvetica (Pillow's default font is
    /// Aileron; the pixel tolerance covers the difference).
    pub fn error_image(&self, page: &PageNumber, message: &str) -> Rgb {
        let detail: String = message.chars().take(200).collect();
        let text = format!("Error Extracting Page {page}\n\n{detail}...");
        let mut img = Rgb::filled(600, 800, [0xff, 0xee, 0xee]);
        if let Ok(p) = &self.pdfium {
            if let Err(e) = draw_text(p, &mut img, &text, [255, 0, 0]) {
                tracing::warn!("error image text: {e}");
            }
        }
        img
    }
}
