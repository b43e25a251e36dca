//! MuPDF's text search on PDFium's text: its matching (ASCII-only case folding, whitespace runs),
//! its clipping to the page box, its line boxes for the base-14 fonts, and one rectangle per
//! run of matched characters on a line.

use super::{PageBox, PixelRect, SCALE};
use pdfium_render::prelude::*;

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

pub(crate) fn search(
    page: &PdfPage,
    needle: &str,
    used: &PageBox,
) -> Result<Vec<PixelRect>, PdfiumError> {
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
}
