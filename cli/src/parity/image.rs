//! PNG bodies compared by decoded pixels: two renderers never agree byte for byte (encoder
//! settings, anti-aliasing), so parity measures how far apart the pixels are and judges that
//! against a declared tolerance.

use serde::Serialize;

/// How far two images are apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PixelStats {
    pub width: u32,
    pub height: u32,
    /// Mean absolute difference per channel (0–255), over all pixels and RGBA channels.
    pub mean_abs: f64,
    /// Largest difference of any channel of any pixel.
    pub max_abs: u8,
    /// Share of pixels with any channel differing.
    pub differing: f64,
    /// Share of pixels with a channel differing by more than 64 levels.
    pub differing_over_64: f64,
}

/// What a `pixels` rule allows. The default allows nothing (pixel-identical images).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PixelTolerance {
    pub max_mean: f64,
    pub max_differing_over_64: f64,
    /// When set, the highlight boxes of both images are compared too: the same number of
    /// boxes, each edge within this many pixels. Mean and share of differing pixels cannot see
    /// a misplaced highlight on a large page; this can.
    pub max_box_shift: Option<u32>,
}

impl PixelStats {
    pub fn within(&self, t: &PixelTolerance) -> bool {
        self.mean_abs <= t.max_mean && self.differing_over_64 <= t.max_differing_over_64
    }

    pub fn summary(&self) -> String {
        format!(
            "{}×{}: mean |Δ| {:.3}/channel, max |Δ| {}, {:.2}% of pixels differ, {:.3}% by more than 64",
            self.width,
            self.height,
            self.mean_abs,
            self.max_abs,
            self.differing * 100.0,
            self.differing_over_64 * 100.0
        )
    }
}

pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

/// Decode to 8-bit RGBA.
/// Why two images cannot be compared pixel by pixel (not PNG, different sizes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ImageError(pub String);

fn decode(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), ImageError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = decoder.read_info().map_err(|e| ImageError(e.to_string()))?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| ImageError("image too large".into()))?
    ];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| ImageError(e.to_string()))?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => {
            return Err(ImageError(format!(
                "unexpected colour type {other:?} after normalisation"
            )))
        }
    };
    Ok((info.width, info.height, rgba))
}

/// A highlight box: x0, y0, x1, y1 (inclusive pixel coordinates).
pub type PixelBox = [u32; 4];

/// The boxes of tinted pixels (channel spread over 40: a colour, not a grey), one per
/// 8-connected region. On a black-and-white page these are the translucent highlights.
pub fn highlight_boxes(width: u32, height: u32, rgba: &[u8]) -> Vec<PixelBox> {
    let (w, h) = (width as usize, height as usize);
    let tinted: Vec<bool> = rgba
        .chunks_exact(4)
        .map(|p| {
            let (lo, hi) = (p[..3].iter().min(), p[..3].iter().max());
            matches!((lo, hi), (Some(lo), Some(hi)) if hi - lo > 40)
        })
        .collect();
    let mut seen = vec![false; tinted.len()];
    let mut boxes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..tinted.len() {
        if !tinted[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut b = [u32::MAX, u32::MAX, 0, 0];
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            b = [
                b[0].min(x as u32),
                b[1].min(y as u32),
                b[2].max(x as u32),
                b[3].max(y as u32),
            ];
            for dy in [-1isize, 0, 1] {
                for dx in [-1isize, 0, 1] {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if tinted[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        boxes.push(b);
    }
    boxes.sort_by_key(|b| (b[1], b[0]));
    boxes
}

/// The most frequent tinted colour inside a box: the highlight over the page background.
fn dominant_tint(width: u32, rgba: &[u8], b: &PixelBox) -> [u8; 3] {
    let mut counts: std::collections::HashMap<[u8; 3], usize> = Default::default();
    for y in b[1]..=b[3] {
        for x in b[0]..=b[2] {
            let i = ((y * width + x) * 4) as usize;
            let p = [rgba[i], rgba[i + 1], rgba[i + 2]];
            let (lo, hi) = (p.iter().min(), p.iter().max());
            if matches!((lo, hi), (Some(lo), Some(hi)) if hi - lo > 40) {
                *counts.entry(p).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .max_by_key(|(p, n)| (*n, *p))
        .map(|(p, _)| p)
        .unwrap_or_default()
}

/// `None` when the highlight boxes agree within `shift` pixels, else what differs.
pub fn compare_boxes(a: &[u8], b: &[u8], shift: u32) -> Result<Option<String>, ImageError> {
    let (wa, ha, pa) = decode(a).map_err(|e| ImageError(format!("python image: {e}")))?;
    let (wb, hb, pb) = decode(b).map_err(|e| ImageError(format!("rust image: {e}")))?;
    let (ba, bb) = (highlight_boxes(wa, ha, &pa), highlight_boxes(wb, hb, &pb));
    let close = ba.len() == bb.len()
        && ba
            .iter()
            .zip(&bb)
            .all(|(x, y)| x.iter().zip(y).all(|(p, q)| p.abs_diff(*q) <= shift));
    if close {
        for (x, y) in ba.iter().zip(&bb) {
            let (ca, cb) = (dominant_tint(wa, &pa, x), dominant_tint(wb, &pb, y));
            if ca.iter().zip(&cb).any(|(p, q)| p.abs_diff(*q) > 2) {
                return Ok(Some(format!(
                    "highlight colour differs: python rgb{ca:?} at ({},{}), rust rgb{cb:?}",
                    x[0], x[1]
                )));
            }
        }
    }
    let show = |v: &[PixelBox]| {
        v.iter()
            .map(|b| format!("({},{})-({},{})", b[0], b[1], b[2], b[3]))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok((!close).then(|| {
        format!(
            "highlight boxes differ by more than {shift} px: python [{}], rust [{}]",
            show(&ba),
            show(&bb)
        )
    }))
}

/// Compare two PNG images; `Err` says why they cannot be compared pixel by pixel (not PNG,
/// different sizes).
pub fn compare(a: &[u8], b: &[u8]) -> Result<PixelStats, ImageError> {
    let (wa, ha, pa) = decode(a).map_err(|e| ImageError(format!("python image: {e}")))?;
    let (wb, hb, pb) = decode(b).map_err(|e| ImageError(format!("rust image: {e}")))?;
    if (wa, ha) != (wb, hb) {
        return Err(ImageError(format!(
            "sizes differ: python {wa}×{ha}, rust {wb}×{hb}"
        )));
    }
    let pixels = (wa as usize) * (ha as usize);
    let (mut sum, mut max, mut differing, mut over) = (0u64, 0u8, 0usize, 0usize);
    for (x, y) in pa.chunks_exact(4).zip(pb.chunks_exact(4)) {
        let mut px_max = 0u8;
        for c in 0..4 {
            let d = x[c].abs_diff(y[c]);
            sum += d as u64;
            px_max = px_max.max(d);
        }
        max = max.max(px_max);
        differing += (px_max > 0) as usize;
        over += (px_max > 64) as usize;
    }
    let n = pixels.max(1) as f64;
    Ok(PixelStats {
        width: wa,
        height: ha,
        mean_abs: sum as f64 / (n * 4.0),
        max_abs: max,
        differing: differing as f64 / n,
        differing_over_64: over as f64 / n,
    })
}

#[cfg(test)]
pub(crate) fn encode(
    width: u32,
    height: u32,
    rgba: &[u8],
    compression: png::Compression,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(compression);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(rgba).unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pixels_in_different_encodings_are_identical() {
        let px: Vec<u8> = (0..16 * 8)
            .flat_map(|i| [i as u8, (i * 2) as u8, 7, 255])
            .collect();
        let a = encode(16, 8, &px, png::Compression::Fast);
        let b = encode(16, 8, &px, png::Compression::High);
        assert_ne!(a, b, "different bytes");
        let s = compare(&a, &b).unwrap();
        assert_eq!((s.mean_abs, s.max_abs, s.differing), (0.0, 0, 0.0));
    }

    #[test]
    fn differences_are_measured() {
        let px = vec![100u8; 10 * 10 * 4];
        let mut other = px.clone();
        other[0] = 200; // one pixel, one channel, +100
        other[4] = 110; // another pixel, +10
        let s = compare(
            &encode(10, 10, &px, png::Compression::Fast),
            &encode(10, 10, &other, png::Compression::Fast),
        )
        .unwrap();
        assert_eq!(s.max_abs, 100);
        assert!((s.differing - 0.02).abs() < 1e-9);
        assert!((s.differing_over_64 - 0.01).abs() < 1e-9);
        assert!((s.mean_abs - 110.0 / 400.0).abs() < 1e-9);
        assert!(!s.within(&PixelTolerance::default()));
        assert!(s.within(&PixelTolerance {
            max_mean: 1.0,
            max_differing_over_64: 0.02,
            max_box_shift: None,
        }));
        let small = encode(5, 5, &[0; 100], png::Compression::Fast);
        assert!(
            compare(&small, &encode(10, 10, &px, png::Compression::Fast))
                .unwrap_err()
                .0
                .contains("sizes differ")
        );
    }

    /// A white 40×20 page with yellow-tinted rectangles and some grey "text".
    fn page(boxes: &[PixelBox]) -> Vec<u8> {
        let (w, h) = (40u32, 20u32);
        let mut px = vec![255u8; (w * h * 4) as usize];
        for i in (0..px.len()).step_by(4 * 7) {
            px[i..i + 3].copy_from_slice(&[90, 90, 90]);
        }
        for b in boxes {
            for y in b[1]..=b[3] {
                for x in b[0]..=b[2] {
                    let i = ((y * w + x) * 4) as usize;
                    px[i + 2] = px[i + 2].saturating_sub(100);
                }
            }
        }
        encode(w, h, &px, png::Compression::Fast)
    }

    #[test]
    fn highlight_boxes_are_found_and_compared_with_a_shift() {
        let a = page(&[[2, 2, 10, 5], [20, 10, 30, 14]]);
        let (w, h, rgba) = decode(&a).unwrap();
        assert_eq!(
            highlight_boxes(w, h, &rgba),
            vec![[2, 2, 10, 5], [20, 10, 30, 14]]
        );
        let moved = page(&[[2, 3, 11, 6], [20, 10, 30, 14]]);
        assert_eq!(compare_boxes(&a, &moved, 1).unwrap(), None);
        let why = compare_boxes(&a, &moved, 0).unwrap().unwrap();
        assert!(
            why.contains("python [(2,2)-(10,5) (20,10)-(30,14)]"),
            "{why}"
        );
        // Another colour in the same place is seen too.
        let (w2, h2, mut px) = decode(&a).unwrap();
        for p in px.chunks_exact_mut(4) {
            if p[2] < p[0] - 40 {
                p[0] = p[0].saturating_sub(100);
                p[2] = 255;
            }
        }
        let blue = encode(w2, h2, &px, png::Compression::Fast);
        let why = compare_boxes(&a, &blue, 1).unwrap().unwrap();
        assert!(why.starts_with("highlight colour differs"), "{why}");
        // A missing highlight is seen although few pixels differ.
        let one = page(&[[2, 2, 10, 5]]);
        assert!(compare_boxes(&a, &one, 5).unwrap().is_some());
        assert!(compare(&a, &one).unwrap().differing < 0.15);
    }
}
