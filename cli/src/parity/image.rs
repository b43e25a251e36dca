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
fn decode(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("image too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => {
            return Err(format!(
                "unexpected colour type {other:?} after normalisation"
            ))
        }
    };
    Ok((info.width, info.height, rgba))
}

/// Compare two PNG images; `Err` says why they cannot be compared pixel by pixel (not PNG,
/// different sizes).
pub fn compare(a: &[u8], b: &[u8]) -> Result<PixelStats, String> {
    let (wa, ha, pa) = decode(a).map_err(|e| format!("python image: {e}"))?;
    let (wb, hb, pb) = decode(b).map_err(|e| format!("rust image: {e}"))?;
    if (wa, ha) != (wb, hb) {
        return Err(format!("sizes differ: python {wa}×{ha}, rust {wb}×{hb}"));
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
            max_differing_over_64: 0.02
        }));
        let small = encode(5, 5, &[0; 100], png::Compression::Fast);
        assert!(
            compare(&small, &encode(10, 10, &px, png::Compression::Fast))
                .unwrap_err()
                .contains("sizes differ")
        );
    }
}
