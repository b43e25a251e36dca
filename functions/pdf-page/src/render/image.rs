//! The images: the page rendered to 8-bit RGB, Pillow's highlight blend, the error image's
//! text, and PNG encoding.

use super::page_box::{quarter_turns, MAX_PIXMAP_BYTES};
use super::{PageBox, PageError};
use pdfium_render::prelude::*;

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

    /// PNG, 8-bit RGB, deflate level 1 with adaptive filters. Under Lambda's CPU share the
    /// encoder is a third of a page's cost: on the benchmark's US-letter page level 1 takes
    /// 12 ms for 365 kB where level 2 takes 29 ms for 323 kB and level 6 (Pillow's default)
    /// 62 ms for 308 kB; fdeflate's ultra-fast mode (7 ms) writes 774 kB, which every viewer
    /// then downloads (`--example phases` measures each).
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_deflate_compression(png::DeflateCompression::Level(1));
            // Writing to a Vec cannot fail; the header and data sizes match by construction.
            if let Ok(mut w) = enc.write_header() {
                let _ = w.write_image_data(&self.pixels);
            }
        }
        out
    }
}

pub(crate) fn render(page: &PdfPage, used: &PageBox) -> Result<Rgb, PageError> {
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

/// Draw `text` (lines split at `\n`) onto `img` like Pillow's `multiline_text((50, 200), …,
/// align="center")` with a 10 px sans-serif font: a one-page PDF with the text in Helvetica,
/// rendered at 1 px per point, composited where it is darker than white.
pub(crate) fn draw_text(
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
}
