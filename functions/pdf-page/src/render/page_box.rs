//! The page box MuPDF renders and searches in — CropBox or MediaBox with MuPDF's corrections,
//! the rotation — and the pixmap size it gives at 2×.

use super::SCALE;
use pdfium_render::prelude::*;

/// A page box in PDF user space (y up), normalised: `x0 <= x1`, `y0 <= y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

/// MuPDF's stand-in for a missing or empty page box: US letter.
pub(crate) const LETTER: PageBox = PageBox {
    x0: 0.0,
    y0: 0.0,
    x1: 612.0,
    y1: 792.0,
};

/// The largest pixel coordinate MuPDF's `fz_round_rect` gives (larger ones are clamped).
pub(crate) const MAX_SAFE_INT: f32 = 16_777_216.0;

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
    pub(crate) fn to_page(self, x: f32, y: f32) -> (f32, f32) {
        (x - self.x0, self.y1 - y)
    }

    /// MuPDF's `fz_glyph_entirely_outside_box`: a glyph box touching an edge from outside is
    /// outside.
    pub(crate) fn excludes(&self, left: f32, bottom: f32, right: f32, top: f32) -> bool {
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
pub(crate) fn mupdf_page_box(page: &mut PdfPage) -> PageBox {
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
pub(crate) fn quarter_turns(page: &PdfPage) -> u8 {
    match page.rotation() {
        Ok(PdfPageRenderRotation::Degrees90) => 1,
        Ok(PdfPageRenderRotation::Degrees180) => 2,
        Ok(PdfPageRenderRotation::Degrees270) => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
