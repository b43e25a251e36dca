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

use pdfium_render::prelude::*;
use std::path::PathBuf;

/// Render scale of the page (PyMuPDF `Matrix(2.0, 2.0)`).
pub const SCALE: f32 = 2.0;

/// An 8-bit RGB image.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Rgb {
    pub fn filled(width: u32, height: u32, colour: [u8; 3]) -> Rgb {
        Rgb {
            width,
            height,
            pixels: colour
                .iter()
                .copied()
                .cycle()
                .take(width as usize * height as usize * 3)
                .collect(),
        }
    }

    /// Pillow's `ImageDraw.Draw(img, "RGBA").rectangle([x1, y1, x2, y2], fill=(r, g, b, a))` on
    /// an RGB image: both corners inclusive, clipped to the image, each channel blended as
    /// `DIV255(old * (255 - a) + new * a)` with Pillow's rounding.
    pub fn blend_rect(&mut self, rect: (i64, i64, i64, i64), rgba: [u8; 4]) {
        let (x1, y1, x2, y2) = rect;
        let (w, h) = (self.width as i64, self.height as i64);
        let (x0, x1c) = (x1.max(0), x2.min(w - 1));
        let (y0, y1c) = (y1.max(0), y2.min(h - 1));
        if x0 > x1c || y0 > y1c {
            return;
        }
        let a = rgba[3] as u32;
        for y in y0..=y1c {
            for x in x0..=x1c {
                let i = ((y * w + x) * 3) as usize;
                for (px, ink) in self.pixels[i..i + 3].iter_mut().zip(&rgba[..3]) {
                    let v = *px as u32 * (255 - a) + *ink as u32 * a;
                    let t = v + 128;
                    *px = (((t >> 8) + t) >> 8) as u8;
                }
            }
        }
    }

    /// PNG, 8-bit RGB, deflate level 2 with adaptive filters: on text pages smaller than
    /// Pillow's default output (level 6) and 2.5× faster to write; level 9 (Pillow's
    /// `optimize=True`) would cost 145 ms on a US-letter page for 5% fewer bytes
    /// (`--example phases` measures every level).
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_deflate_compression(png::DeflateCompression::Level(2));
            // Writing to a Vec cannot fail; the header and data sizes match by construction.
            if let Ok(mut w) = enc.write_header() {
                let _ = w.write_image_data(&self.pixels);
            }
        }
        out
    }
}

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
    pdfium: Result<Pdfium, String>,
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
        let why = format!("libpdfium not loadable: {}", tried.join("; "));
        tracing::error!("{why}");
        Engine { pdfium: Err(why) }
    }

    pub fn available(&self) -> Result<(), &str> {
        self.pdfium.as_ref().map(|_| ()).map_err(|e| e.as_str())
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
            Err(why) => return (Err(PageError(why.clone())), Vec::new()),
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

/// A page box in PDF user space (y up), normalised: `x0 <= x1`, `y0 <= y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

/// MuPDF's stand-in for a missing or empty page box: US letter.
const LETTER: PageBox = PageBox {
    x0: 0.0,
    y0: 0.0,
    x1: 612.0,
    y1: 792.0,
};

/// The largest pixel coordinate MuPDF's `fz_round_rect` gives (larger ones are clamped).
const MAX_SAFE_INT: f32 = 16_777_216.0;

/// The largest pixmap rendered, in bytes as MuPDF counts them (width × 3 × height, RGB).
/// MuPDF allocates whatever the page asks for and answers `malloc (N bytes) failed` only when
/// the machine cannot give it (on the function's 1024 MB Python is killed long before). Rust
/// answers that message at once above this size instead of rendering for seconds and running
/// out of memory: rendering holds 7 bytes a pixel (PDFium's BGRA bitmap and the RGB image),
/// 630 MB at the limit. 256 MiB is 89 million pixels: a 4,700 pt square page at 2×; A0
/// (2,384 × 3,370 pt) needs 96 MB.
pub const MAX_PIXMAP_BYTES: i64 = 256 << 20;

impl PageBox {
    /// What MuPDF makes of a box array's four numbers (`pdf_to_rect`, then the checks of
    /// `pdf_page_obj_transform_box`): corners sorted, an empty box (zero width or height) is US
    /// letter, a box under 1 pt either way is the unit square. The box stays finite: infinite
    /// numbers (overlong digit strings) count as ±`f32::MAX`, NaN as 1.
    pub fn mupdf(raw: [f32; 4]) -> PageBox {
        let v = raw.map(|n| {
            if n.is_nan() {
                1.0
            } else {
                n.clamp(-f32::MAX, f32::MAX)
            }
        });
        let b = PageBox {
            x0: v[0].min(v[2]),
            y0: v[1].min(v[3]),
            x1: v[0].max(v[2]),
            y1: v[1].max(v[3]),
        };
        if b.x0 >= b.x1 || b.y0 >= b.y1 {
            LETTER
        } else if b.x1 - b.x0 < 1.0 || b.y1 - b.y0 < 1.0 {
            PageBox {
                x0: 0.0,
                y0: 0.0,
                x1: 1.0,
                y1: 1.0,
            }
        } else {
            b
        }
    }

    /// PDFium's reading of a MediaBox: corners sorted, an empty one is US letter.
    fn pdfium_media(raw: [f32; 4]) -> [f32; 4] {
        let (x0, x1) = (raw[0].min(raw[2]), raw[0].max(raw[2]));
        let (y0, y1) = (raw[1].min(raw[3]), raw[1].max(raw[3]));
        if x0 >= x1 || y0 >= y1 {
            [0.0, 0.0, 612.0, 792.0]
        } else {
            [x0, y0, x1, y1]
        }
    }

    fn as_raw(&self) -> [f32; 4] {
        [self.x0, self.y0, self.x1, self.y1]
    }

    /// MuPDF's pixmap size for this box at 2× on a page turned by `quarter_turns` × 90°:
    /// `fz_round_rect` of the scaled page bounds, which start at (0, 0) — `ceil(2·w − 0.001)`
    /// in `f32`, clamped like MuPDF's pixel coordinates.
    pub fn pixmap_size(&self, quarter_turns: u8) -> (i64, i64) {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        let (w, h) = if quarter_turns % 2 == 1 {
            (h, w)
        } else {
            (w, h)
        };
        let px = |v: f32| (v * SCALE - 0.001).ceil().clamp(0.0, MAX_SAFE_INT) as i64;
        (px(w), px(h))
    }

    /// The top-left page coordinates of MuPDF's search (the text page is made with the page's
    /// rotation removed): x from the box's left edge, y down from its top edge.
    fn to_page(self, x: f32, y: f32) -> (f32, f32) {
        (x - self.x0, self.y1 - y)
    }

    /// MuPDF's `fz_glyph_entirely_outside_box`: a glyph box touching an edge from outside is
    /// outside.
    fn excludes(&self, left: f32, bottom: f32, right: f32, top: f32) -> bool {
        right <= self.x0 || left >= self.x1 || top <= self.y0 || bottom >= self.y1
    }
}

fn raw_box(b: Result<PdfPageBoundaryBox, PdfiumError>) -> Option<[f32; 4]> {
    b.ok().map(|b| {
        [
            b.bounds.left().value,
            b.bounds.bottom().value,
            b.bounds.right().value,
            b.bounds.top().value,
        ]
    })
}

/// The page box MuPDF renders and searches in, and PDFium's page made to agree with it.
///
/// MuPDF 1.24 takes the CropBox as it stands (not clipped to the MediaBox, which PDFium does),
/// else the MediaBox, with the corrections of [`PageBox::mupdf`]; the image is that box turned
/// by `/Rotate`, the search coordinates are in the *unrotated* box (PyMuPDF's `get_textpage`
/// sets the rotation to 0 while it reads the text). PDFium reports the page dictionary's own
/// boxes but not inherited ones; for those its effective box (CropBox ∩ MediaBox, both
/// inheritable) is the best reading there is.
fn mupdf_page_box(page: &mut PdfPage) -> PageBox {
    let bounds = page.boundaries();
    let (crop, media, effective) = (
        raw_box(bounds.crop()),
        raw_box(bounds.media()),
        raw_box(bounds.bounding()),
    );
    let used = match (crop, media, effective) {
        (Some(c), _, _) => PageBox::mupdf(c),
        // No CropBox of its own; one inherited from the page tree shows as an effective box
        // other than the MediaBox.
        (None, Some(m), Some(e)) if e != PageBox::pdfium_media(m) => PageBox::mupdf(e),
        (None, Some(m), _) => PageBox::mupdf(m),
        // An inherited MediaBox (or none: PDFium's letter, as MuPDF's).
        (None, None, Some(e)) => PageBox::mupdf(e),
        (None, None, None) => LETTER,
    };
    if effective != Some(used.as_raw()) {
        let rect = PdfRect::new_from_values(used.y0, used.x0, used.y1, used.x1);
        let b = page.boundaries_mut();
        if let Err(e) = b.set_media(rect).and_then(|_| b.set_crop(rect)) {
            tracing::warn!("cannot set the page box: {e}");
        }
    }
    used
}

/// PDFium's page rotation in quarter turns. For multiples of 90° it is MuPDF's; other values
/// differ (PDFium truncates to the quarter turn below, MuPDF rounds to the nearest), and the
/// raw number is not visible through PDFium.
fn quarter_turns(page: &PdfPage) -> u8 {
    match page.rotation() {
        Ok(PdfPageRenderRotation::Degrees90) => 1,
        Ok(PdfPageRenderRotation::Degrees180) => 2,
        Ok(PdfPageRenderRotation::Degrees270) => 3,
        _ => 0,
    }
}

fn render(page: &PdfPage, used: &PageBox) -> Result<Rgb, PageError> {
    let (w, h) = used.pixmap_size(quarter_turns(page));
    // MuPDF allocates `width × 3 × height` bytes (RGB, no alpha).
    let bytes = w * h * 3;
    if bytes > MAX_PIXMAP_BYTES || w == 0 || h == 0 {
        return Err(PageError(format!("code=2: malloc ({bytes} bytes) failed")));
    }
    let cfg = PdfRenderConfig::new()
        .set_format(PdfBitmapFormat::BGRA)
        .set_fixed_size(w as i32, h as i32)
        .set_clear_color(PdfColor::WHITE)
        .render_annotations(true)
        .render_form_data(true);
    let bitmap = page
        .render_with_config(&cfg)
        .map_err(|e| PageError(e.to_string()))?;
    // BGRA rows are width × 4 bytes (no padding): one pass to RGB.
    let bgra = bitmap.as_raw_bytes();
    let mut pixels = Vec::with_capacity(w as usize * h as usize * 3);
    for px in bgra.chunks_exact(4) {
        pixels.extend_from_slice(&[px[2], px[1], px[0]]);
    }
    Ok(Rgb {
        width: bitmap.width() as u32,
        height: bitmap.height() as u32,
        pixels,
    })
}

/// Ascender and descender (as positive fractions of the font size) MuPDF uses for the base-14
/// fonts (its bundled URW fonts; measured with PyMuPDF 1.24.0, ZapfDingbats normalised to a
/// height of 1 as MuPDF does for fonts shorter than that).
fn base14_metrics(font_name: &str) -> Option<(f32, f32)> {
    let name = match font_name.split_once('+') {
        Some((prefix, rest)) if prefix.len() == 6 => rest,
        _ => font_name,
    };
    Some(match name {
        "Helvetica" | "Arial" | "ArialMT" => (1.075, 0.299),
        "Helvetica-Oblique" | "Arial,Italic" | "Arial-ItalicMT" => (1.07, 0.284),
        "Helvetica-Bold" | "Arial,Bold" | "Arial-BoldMT" => (1.07, 0.307),
        "Helvetica-BoldOblique" | "Arial,BoldItalic" | "Arial-BoldItalicMT" => (1.073, 0.309),
        "Times-Roman" | "TimesNewRoman" | "TimesNewRomanPSMT" => (1.053, 0.281),
        "Times-Italic" | "TimesNewRoman,Italic" | "TimesNewRomanPS-ItalicMT" => (0.951, 0.27),
        "Times-Bold" | "TimesNewRoman,Bold" | "TimesNewRomanPS-BoldMT" => (1.044, 0.341),
        "Times-BoldItalic" | "TimesNewRoman,BoldItalic" | "TimesNewRomanPS-BoldItalicMT" => {
            (0.972, 0.324)
        }
        "Courier" | "CourierNew" | "CourierNewPSMT" => (0.932, 0.317),
        "Courier-Oblique" | "CourierNew,Italic" | "CourierNewPS-ItalicMT" => (0.92, 0.317),
        "Courier-Bold" | "CourierNew,Bold" | "CourierNewPS-BoldMT" => (1.007, 0.393),
        "Courier-BoldOblique" | "CourierNew,BoldItalic" | "CourierNewPS-BoldItalicMT" => {
            (0.997, 0.393)
        }
        "Symbol" => (1.01, 0.293),
        "ZapfDingbats" => (0.8505, 0.1495),
        _ => return None,
    })
}

/// MuPDF's `canon()`: ASCII letters fold to lower case, line breaks, tabs and no-break or
/// line/paragraph separators become a space. Nothing else folds (`Ü` does not match `ü`).
fn canon(c: char) -> char {
    match c {
        '\u{a0}' | '\u{2028}' | '\u{2029}' | '\r' | '\n' | '\t' => ' ',
        'A'..='Z' => c.to_ascii_lowercase(),
        c => c,
    }
}

/// MuPDF's `match_string`: the end (exclusive) of a match of `needle` starting at `start` in
/// `hay`; runs of spaces on either side match each other.
fn match_at(hay: &[char], start: usize, needle: &[char]) -> Option<usize> {
    let at = |s: &[char], i: usize| s.get(i).copied().map(canon).unwrap_or('\0');
    let (mut h, mut n) = (start, 0usize);
    let mut hc = at(hay, h);
    h += 1;
    let mut nc = at(needle, n);
    n += 1;
    let mut end = start;
    while hc == nc && nc != '\0' {
        end = h;
        loop {
            let was_space = hc == ' ';
            hc = at(hay, h);
            h += 1;
            if !(was_space && hc == ' ') {
                break;
            }
        }
        loop {
            let was_space = nc == ' ';
            nc = at(needle, n);
            n += 1;
            if !(was_space && nc == ' ') {
                break;
            }
        }
    }
    (nc == '\0').then_some(end)
}

/// All non-overlapping matches, each search resuming where the previous match ended.
pub fn find_all(hay: &[char], needle: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    let mut s = 0;
    while s < hay.len() {
        match match_at(hay, s, needle) {
            Some(e) if e > s => {
                out.push((s, e));
                s = e;
            }
            _ => s += 1,
        }
    }
    out
}

/// Merge the matched glyphs into MuPDF-style hit rectangles: one per run of glyphs that
/// continue each other on a line (gap under 0.2 × font size, same line within 0.1 × size).
pub fn merge_hits(glyphs: &[(f32, f32, f32, f32, f32)]) -> Vec<(f32, f32, f32, f32)> {
    let mut out: Vec<(f32, f32, f32, f32)> = Vec::new();
    let mut last_size = 0.0f32;
    for &(x0, y0, x1, y1, size) in glyphs {
        if let Some(r) = out.last_mut() {
            let hfuzz = size.max(last_size) * 0.2;
            let vfuzz = size.max(last_size) * 0.1;
            if (x0 - r.2).abs() < hfuzz && (y1 - r.3).abs() < vfuzz && (y0 - r.1).abs() < vfuzz {
                r.2 = r.2.max(x1);
                r.1 = r.1.min(y0);
                r.3 = r.3.max(y1);
                last_size = size;
                continue;
            }
        }
        out.push((x0, y0, x1, y1));
        last_size = size;
    }
    out
}

fn search(page: &PdfPage, needle: &str, used: &PageBox) -> Result<Vec<PixelRect>, PdfiumError> {
    let text = page.text()?;
    let chars = text.chars();
    // The haystack first, with each character's loose box (read once: the highlight needs it
    // for the matched ones). `index` maps a haystack position back to PDFium's character.
    let mut hay = Vec::new();
    let mut index = Vec::new();
    let mut bounds = Vec::new();
    for ch in chars.iter() {
        let c = ch.unicode_char().unwrap_or('\u{fffd}');
        // PDFium marks a hyphen at a line end (the word goes on on the next line) with U+0002
        // and joins the lines; MuPDF's search dehyphenates: "exam-⏎ple" is "example".
        if c == '\u{2}' {
            continue;
        }
        // MuPDF clips text to the page box: a glyph whose own box lies wholly outside it (or
        // touches it from outside) is not searched; a space has no box, its origin counts.
        // The spaces and line breaks PDFium inserts have no glyph and are kept.
        let outside = if !c.is_whitespace() {
            ch.tight_bounds().ok().is_some_and(|r| {
                used.excludes(
                    r.left().value,
                    r.bottom().value,
                    r.right().value,
                    r.top().value,
                )
            })
        } else if !ch.is_generated().unwrap_or(true) {
            ch.origin()
                .ok()
                .is_some_and(|(x, y)| used.excludes(x.value, y.value, x.value, y.value))
        } else {
            false
        };
        if outside {
            continue;
        }
        hay.push(c);
        index.push(ch.index());
        bounds.push(ch.loose_bounds().ok());
    }
    let needle: Vec<char> = needle.chars().collect();
    let mut rects = Vec::new();
    for (s, e) in find_all(&hay, &needle) {
        let mut hit = Vec::new();
        for (i, c) in hay.iter().enumerate().take(e).skip(s) {
            let ch = chars.get(index[i])?;
            if c.is_whitespace() && ch.is_generated().unwrap_or(false) {
                continue; // a line break or gap PDFium inserted: no glyph, no box
            }
            let Some(r) = &bounds[i] else { continue };
            let size = ch.scaled_font_size().value;
            let (mut top, mut bottom) = (r.top().value, r.bottom().value);
            // MuPDF's line box: baseline ± the font's ascender/descender. PDFium's loose box
            // uses its own (substituted) font's metrics; for the base-14 fonts MuPDF's values
            // are known, so the box is rebuilt from the baseline.
            if let (Some((asc, desc)), Ok(oy)) = (base14_metrics(&ch.font_name()), ch.origin_y()) {
                top = oy.value + asc * size;
                bottom = oy.value - desc * size;
            }
            // PDFium's boxes are in PDF user space; MuPDF's in the unrotated page box, origin
            // top left.
            let (x0, y0) = used.to_page(r.left().value, top);
            let (x1, y1) = used.to_page(r.right().value, bottom);
            hit.push((x0, y0, x1, y1, size));
        }
        rects.extend(merge_hits(&hit));
    }
    // `int(rect.x0 * 2)`: truncation toward zero.
    Ok(rects
        .into_iter()
        .map(|(x0, y0, x1, y1)| {
            let t = |v: f32| (v * SCALE).trunc() as i64;
            (t(x0), t(y0), t(x1), t(y1))
        })
        .collect())
}

/// Draw `text` (lines split at `\n`) onto `img` like Pillow's `multiline_text((50, 200), …,
/// align="center")` with a 10 px sans-serif font: a one-page PDF with the text in Helvetica,
/// rendered at 1 px per point, composited where it is darker than white.
fn draw_text(
    pdfium: &Pdfium,
    img: &mut Rgb,
    text: &str,
    colour: [u8; 3],
) -> Result<(), PdfiumError> {
    const SIZE: f32 = 10.0;
    const LINE: f32 = 16.0;
    let (w, h) = (img.width as f32, img.height as f32);
    let mut doc = pdfium.create_new_pdf()?;
    let mut page = doc
        .pages_mut()
        .create_page_at_end(PdfPagePaperSize::Custom(
            PdfPoints::new(w),
            PdfPoints::new(h),
        ))?;
    let font = doc.fonts_mut().helvetica();
    let lines: Vec<&str> = text.split('\n').collect();
    // Widths first, to centre each line on the widest.
    let mut placed = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let baseline = h - (200.0 + i as f32 * LINE + SIZE * 0.9);
        let mut obj = page.objects_mut().create_text_object(
            PdfPoints::new(50.0),
            PdfPoints::new(baseline),
            *line,
            font,
            PdfPoints::new(SIZE),
        )?;
        obj.set_fill_color(PdfColor::new(0, 0, 0, 255))?;
        let width = obj.width().map(|p| p.value).unwrap_or(0.0);
        placed.push((obj, width, baseline));
    }
    let widest = placed.iter().map(|p| p.1).fold(0.0f32, f32::max);
    for (obj, width, _) in placed.iter_mut() {
        obj.translate(PdfPoints::new((widest - *width) / 2.0), PdfPoints::ZERO)?;
    }
    let bitmap = page.render_with_config(
        &PdfRenderConfig::new()
            .set_fixed_size(img.width as i32, img.height as i32)
            .set_clear_color(PdfColor::WHITE),
    )?;
    // The rendering is black on white: its darkness is the text's coverage.
    for (i, px) in bitmap.as_rgba_bytes().chunks_exact(4).enumerate() {
        let coverage = 255 - px[0] as u32;
        if coverage == 0 {
            continue;
        }
        for (px, ink) in img.pixels[i * 3..i * 3 + 3].iter_mut().zip(&colour) {
            let old = *px as u32;
            *px = ((old * (255 - coverage) + *ink as u32 * coverage + 127) / 255) as u8;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn search_semantics_follow_mupdf() {
        let hay = chars("Descale the COFFEE machine.\r\nCoffee  grounds");
        assert_eq!(find_all(&hay, &chars("coffee")), vec![(12, 18), (29, 35)]);
        // A line break matches a space; a run of spaces matches one.
        assert_eq!(find_all(&hay, &chars("machine. coffee grounds")).len(), 1);
        // Only ASCII folds.
        assert!(find_all(&chars("Küche"), &chars("KÜCHE")).is_empty());
        assert_eq!(find_all(&chars("Küche"), &chars("kü")), vec![(0, 2)]);
        // Matches do not overlap.
        assert_eq!(find_all(&chars("aaaa"), &chars("aa")), vec![(0, 2), (2, 4)]);
        assert!(find_all(&hay, &chars("")).is_empty());
    }

    #[test]
    fn hits_merge_per_line() {
        let g = [
            (10.0, 5.0, 16.0, 20.0, 11.0),
            (16.0, 5.0, 22.0, 20.0, 11.0),
            // Next line.
            (10.0, 35.0, 16.0, 50.0, 11.0),
        ];
        assert_eq!(
            merge_hits(&g),
            vec![(10.0, 5.0, 22.0, 20.0), (10.0, 35.0, 16.0, 50.0)]
        );
    }

    #[test]
    fn blend_matches_pillow() {
        let mut img = Rgb::filled(4, 3, [255, 255, 255]);
        img.blend_rect((1, 1, 2, 1), [255, 255, 0, 100]);
        // White under 100/255 yellow: (255, 255, 155); corners inclusive, the rest untouched.
        assert_eq!(&img.pixels[(4 + 1) * 3..(4 + 1) * 3 + 3], &[255, 255, 155]);
        assert_eq!(&img.pixels[(4 + 2) * 3..(4 + 2) * 3 + 3], &[255, 255, 155]);
        assert_eq!(&img.pixels[(4 + 3) * 3..(4 + 3) * 3 + 3], &[255, 255, 255]);
        assert_eq!(&img.pixels[0..3], &[255, 255, 255]);
        // Black under it: (100, 100, 0). Off-image rectangles are clipped.
        let mut dark = Rgb::filled(2, 2, [0, 0, 0]);
        dark.blend_rect((-5, -5, 0, 0), [255, 255, 0, 100]);
        assert_eq!(&dark.pixels[0..6], &[100, 100, 0, 0, 0, 0]);
    }

    #[test]
    fn page_box_follows_mupdf() {
        let b = |x0, y0, x1, y1| PageBox { x0, y0, x1, y1 };
        // Corners sorted; empty is letter; under 1 pt is the unit square.
        assert_eq!(
            PageBox::mupdf([300.0, 200.0, 0.0, 0.0]),
            b(0.0, 0.0, 300.0, 200.0)
        );
        assert_eq!(PageBox::mupdf([10.0, 10.0, 10.0, 200.0]), LETTER);
        assert_eq!(PageBox::mupdf([0.0, 0.0, 300.0, 0.0]), LETTER);
        assert_eq!(PageBox::mupdf([0.0, 0.0, 1.5, 0.7]), b(0.0, 0.0, 1.0, 1.0));
        assert_eq!(
            PageBox::mupdf([f32::NEG_INFINITY, f32::NAN, f32::INFINITY, 5.0]),
            b(-f32::MAX, 1.0, f32::MAX, 5.0)
        );
        // Pixmap sizes (measured with PyMuPDF 1.24.0 at Matrix(2, 2)).
        assert_eq!(b(0.0, 0.0, 300.0, 200.0).pixmap_size(0), (600, 400));
        assert_eq!(b(0.0, 0.0, 300.0, 200.0).pixmap_size(1), (400, 600));
        assert_eq!(b(0.3, 0.6, 300.55, 200.25).pixmap_size(0), (601, 400));
        assert_eq!(b(10.4, 10.7, 200.2, 150.9).pixmap_size(2), (380, 281));
        assert_eq!(b(0.0, 0.0, 612.25, 792.0).pixmap_size(0), (1225, 1584));
        assert_eq!(b(0.0, 0.0, 612.0004, 792.0).pixmap_size(3), (1584, 1224));
        assert_eq!(b(0.0, 0.0, 1.0, 1.0).pixmap_size(0), (2, 2));
        // Clamped like MuPDF's pixel coordinates: 2^24 × 2^24 × 3 bytes in its malloc error.
        let (w, h) = b(0.0, 0.0, 1e8, 1e8).pixmap_size(0);
        assert_eq!(w * h * 3, 844_424_930_131_968);
        assert_eq!(b(-f32::MAX, 0.0, f32::MAX, 1.0).pixmap_size(1).1, 1 << 24);
        // Search coordinates: from the box's top-left corner.
        assert_eq!(
            b(100.0, 50.0, 400.0, 250.0).to_page(130.0, 200.0),
            (30.0, 50.0)
        );
        // A glyph touching the box from outside is outside.
        let page = b(0.0, 0.0, 300.0, 150.0);
        assert!(page.excludes(42.84, 150.0, 45.8, 158.7));
        assert!(!page.excludes(30.5, 149.8, 35.8, 156.5));
        assert!(page.excludes(320.0, 10.0, 330.0, 20.0));
    }
}
