//! The file security check process-manual runs on an uploaded manual (`file_security.py` of its
//! folder, with its configuration: malware scan and header validation on, quarantine off). It
//! decides one thing — quarantine or ingest — and only three threats decide it: `malware` (a
//! signature in the first KiB, or a hash listed in `MALICIOUS_HASHES`), `invalid_format` and
//! `forbidden_extension`. The others are reported in the log only.
//!
//! Kept bug for bug: the signature scan looks for its byte strings *anywhere* in the first
//! 1024 bytes, so a PDF whose first KiB holds the two bytes `MZ` (common in compressed
//! streams) is "a Windows executable" and quarantined. The MIME consistency check
//! (`content_mismatch`, from Python's `mimetypes` tables) is not reproduced: it never changes
//! the outcome, only a log line.

use sha2::{Digest, Sha256};

/// A threat `validate_file_upload` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threat {
    Malware,
    SuspiciousContent,
    InvalidFormat,
    SizeExceeded,
    ForbiddenExtension,
}

impl Threat {
    /// The Python enum's value.
    pub fn name(self) -> &'static str {
        match self {
            Threat::Malware => "malware",
            Threat::SuspiciousContent => "suspicious_content",
            Threat::InvalidFormat => "invalid_format",
            Threat::SizeExceeded => "size_exceeded",
            Threat::ForbiddenExtension => "forbidden_extension",
        }
    }

    fn is_critical(self) -> bool {
        matches!(
            self,
            Threat::Malware | Threat::InvalidFormat | Threat::ForbiddenExtension
        )
    }
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub valid: bool,
    pub threats: Vec<Threat>,
    pub mime: &'static str,
    pub sha256: String,
}

/// Byte strings whose presence in the first KiB counts as malware.
pub const SIGNATURES: [&[u8]; 6] = [
    b"MZ",
    b"\x7fELF",
    b"<?php",
    b"#!/bin/",
    b"<script",
    b"PK\x03\x04",
];

/// `_detect_file_type_fallback`: a type from the first 16 bytes (shorter files are
/// `application/octet-stream`).
pub fn detect(data: &[u8]) -> &'static str {
    if data.len() < 16 {
        return "application/octet-stream";
    }
    const TYPES: [(&[u8], &str); 10] = [
        (b"\xff\xfb", "audio/mpeg"),
        (b"ID3", "audio/mpeg"),
        (b"RIFF", "audio/wav"),
        (b"ftyp", "audio/mp4"),
        (b"OggS", "audio/ogg"),
        (b"\x1a\x45\xdf\xa3", "audio/webm"),
        (b"%PDF", "application/pdf"),
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
    ];
    TYPES
        .iter()
        .find(|(sig, _)| data.starts_with(sig))
        .map_or("application/octet-stream", |(_, mime)| mime)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn suspicious_patterns() -> &'static regex::bytes::RegexSet {
    static SET: std::sync::OnceLock<regex::bytes::RegexSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        // Python's bytes patterns with IGNORECASE: ASCII case folding, `\s` = [ \t\n\r\f\v].
        regex::bytes::RegexSet::new([
            r"(?i-u)eval[ \t\n\r\x0b\x0c]*\(",
            r"(?i-u)exec[ \t\n\r\x0b\x0c]*\(",
            r"(?i-u)system[ \t\n\r\x0b\x0c]*\(",
            r"(?i-u)shell_exec",
            r"(?i-u)base64_decode",
            r"(?i-u)<iframe",
            r"(?i-u)javascript:",
            r"(?i-u)vbscript:",
        ])
        .expect("suspicious patterns")
    })
}

/// `validate_file_upload` of the file's bytes, with the size limit in bytes and the
/// `MALICIOUS_HASHES` setting (comma-separated SHA-256 digests).
pub fn scan(
    data: &[u8],
    max_bytes: i128,
    malicious_hashes: &str,
    max_audio_seconds: &str,
) -> Verdict {
    let sha256 = hex::encode(Sha256::digest(data));
    let mime = detect(data);
    let mut threats = Vec::new();
    if data.len() as i128 > max_bytes {
        threats.push(Threat::SizeExceeded);
        return Verdict {
            valid: false,
            threats,
            mime,
            sha256,
        };
    }
    // Every type the fallback detects is in the allowed lists: no forbidden_extension here.
    let head = &data[..data.len().min(1024)];
    if SIGNATURES.iter().any(|sig| contains(head, sig)) {
        threats.push(Threat::Malware);
    }
    if suspicious_patterns().is_match(&data[..data.len().min(65536)]) {
        threats.push(Threat::SuspiciousContent);
    }
    // Integrity: a PDF, JPEG or PNG was detected by the very header checked again, so only
    // short audio and non-PDF octet streams are flagged.
    if mime.starts_with("audio/") {
        if data.len() < 44 {
            threats.push(Threat::InvalidFormat);
        }
    } else if mime == "application/octet-stream" && !data.starts_with(b"%PDF") {
        threats.push(Threat::SuspiciousContent);
    }
    if mime.starts_with("audio/") {
        threats.extend(audio_threats(data, mime, max_audio_seconds));
    }
    if malicious_hashes.split(',').any(|h| h == sha256) {
        threats.push(Threat::Malware);
    }
    Verdict {
        valid: !threats.iter().any(|t| t.is_critical()),
        threats,
        mime,
        sha256,
    }
}

/// `_validate_audio_file`: an estimated duration over the limit, and "suspicious metadata"
/// (`script`, `exec`, `eval`, `<` or `>` in the first 2 KiB). A limit `int()` refuses makes the
/// Python skip both (it logs the error).
fn audio_threats(data: &[u8], mime: &str, max_seconds: &str) -> Vec<Threat> {
    let Ok(limit) = manuel_shared::py::parse_int(max_seconds) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let bitrate = match mime {
        "audio/wav" => 1_411_200.0,
        "audio/ogg" => 112_000.0,
        _ => 128_000.0,
    };
    if (data.len() as f64 * 8.0) / bitrate > limit as f64 {
        out.push(Threat::SizeExceeded);
    }
    let head = &data[..data.len().min(2048)];
    if [&b"script"[..], b"exec", b"eval", b"<", b">"]
        .iter()
        .any(|k| contains(head, k))
    {
        out.push(Threat::SuspiciousContent);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf(extra: &[u8]) -> Vec<u8> {
        let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn a_plain_pdf_passes_and_mz_in_its_first_kib_is_malware() {
        let ok = scan(&pdf(b"stream data"), 50 << 20, "", "300");
        assert!(ok.valid, "{ok:?}");
        assert_eq!(ok.mime, "application/pdf");
        let bad = scan(&pdf(b"xx MZ yy"), 50 << 20, "", "300");
        assert!(!bad.valid);
        assert_eq!(bad.threats, [Threat::Malware]);
        // Beyond the first KiB the bytes are not looked at.
        let mut late = pdf(&[b' '; 2000]);
        late.extend_from_slice(b"MZ");
        assert!(scan(&late, 50 << 20, "", "300").valid);
    }

    #[test]
    fn short_audio_is_invalid_and_small_files_are_octet_streams() {
        let mut wav = b"RIFF".to_vec();
        wav.extend_from_slice(&[0; 20]);
        let v = scan(&wav, 50 << 20, "", "300");
        assert!(!v.valid);
        assert!(v.threats.contains(&Threat::InvalidFormat));
        let tiny = scan(b"hello", 50 << 20, "", "300");
        assert!(tiny.valid);
        assert_eq!(tiny.mime, "application/octet-stream");
        assert_eq!(tiny.threats, [Threat::SuspiciousContent]);
    }

    #[test]
    fn listed_hashes_and_size_decide() {
        let data = pdf(b"");
        let digest = hex::encode(Sha256::digest(&data));
        assert!(!scan(&data, 50 << 20, &format!("aa,{digest}"), "300").valid);
        assert!(!scan(&data, 10, "", "300").valid);
        assert!(scan(&data, data.len() as i128, "", "300").valid);
    }

    #[test]
    fn patterns_fold_ascii_case_only() {
        assert!(scan(&pdf(b"EvAl \x0b("), 1 << 20, "", "300")
            .threats
            .contains(&Threat::SuspiciousContent));
        assert!(scan(&pdf(b"javascript\xc2\xa0:"), 1 << 20, "", "300")
            .threats
            .is_empty());
    }
}
