//! What the two copies of Manuel's `file_security.py` have in common — process-manual's own copy
//! (its folder) and `backend/src/shared/file_security.py` (transcribe): the threat values, the
//! header table of `_detect_file_type_fallback`, the malware signatures of the first KiB, the
//! suspicious patterns of the first 64 KiB and the audio check. Each function keeps the parts
//! its copy does differently (the integrity check, the MIME consistency check, libmagic).

use sha2::{Digest, Sha256};

/// `SecurityThreat` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threat {
    Malware,
    SuspiciousContent,
    InvalidFormat,
    SizeExceeded,
    ForbiddenExtension,
    ContentMismatch,
}

impl Threat {
    /// The Python enum's value.
    pub fn value(self) -> &'static str {
        match self {
            Threat::Malware => "malware",
            Threat::SuspiciousContent => "suspicious_content",
            Threat::InvalidFormat => "invalid_format",
            Threat::SizeExceeded => "size_exceeded",
            Threat::ForbiddenExtension => "forbidden_extension",
            Threat::ContentMismatch => "content_mismatch",
        }
    }

    /// The threats that make an upload invalid.
    pub fn is_critical(self) -> bool {
        matches!(
            self,
            Threat::Malware | Threat::InvalidFormat | Threat::ForbiddenExtension
        )
    }
}

/// Byte strings whose presence *anywhere* in the first KiB counts as malware.
pub const MALWARE_SIGNATURES: [&[u8]; 6] = [
    b"MZ",
    b"\x7fELF",
    b"<?php",
    b"#!/bin/",
    b"<script",
    b"PK\x03\x04",
];

/// `_detect_file_type_fallback`: a type from the first 16 bytes (shorter files are
/// `application/octet-stream`).
pub fn fallback_type(data: &[u8]) -> &'static str {
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

/// The signature scan of `_scan_for_malware`.
pub fn has_malware_signature(data: &[u8]) -> bool {
    let head = &data[..data.len().min(1024)];
    MALWARE_SIGNATURES.iter().any(|sig| contains(head, sig))
}

/// The suspicious patterns of `_scan_for_malware` over the first 64 KiB: Python's bytes
/// patterns with IGNORECASE (ASCII case folding; `\s` is `[ \t\n\r\f\v]`, as `(?-u)\s` here).
pub fn has_suspicious_pattern(data: &[u8]) -> bool {
    static RE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?i-u)eval\s*\(|exec\s*\(|system\s*\(|shell_exec|base64_decode|<iframe|javascript:|vbscript:",
        )
        .expect("suspicious patterns")
    })
    .is_match(&data[..data.len().min(65536)])
}

/// `_validate_audio_file`: an estimated duration over the limit (`MAX_AUDIO_DURATION_SECONDS`,
/// read as `int()` reads it), and "suspicious metadata" (`script`, `exec`, `eval`, `<` or `>` in
/// the first 2 KiB). A limit `int()` refuses makes the Python skip both (it logs the error).
pub fn audio_threats(data: &[u8], mime: &str, max_seconds: &str) -> Vec<Threat> {
    let Ok(limit) = crate::py::parse_int(max_seconds) else {
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

/// `MALICIOUS_HASHES` holds the digest (split on commas, as Python's `split(',')`).
pub fn listed(malicious_hashes: &str, sha256: &str) -> bool {
    malicious_hashes.split(',').any(|h| h == sha256)
}

/// The hex SHA-256 of the upload (`content_hash`).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_count_in_the_first_kib_only() {
        assert!(has_malware_signature(b"%PDF-1.4 xx MZ yy"));
        let mut late = vec![b' '; 1023];
        late.extend_from_slice(b"MZ");
        assert!(!has_malware_signature(&late));
    }

    #[test]
    fn patterns_fold_ascii_case_and_python_whitespace_only() {
        assert!(has_suspicious_pattern(b"EvAl \x0b("));
        assert!(!has_suspicious_pattern(b"eval\xc2\xa0("));
        assert!(!has_suspicious_pattern(b"javascript\xc2\xa0:"));
    }

    #[test]
    fn the_fallback_needs_sixteen_bytes() {
        assert_eq!(fallback_type(b"%PDF-1.4"), "application/octet-stream");
        assert_eq!(fallback_type(b"%PDF-1.4 0123456789"), "application/pdf");
        assert_eq!(
            fallback_type(b"ID3\x04\0\0\0\0\0\0\0\0\0\0\0\0"),
            "audio/mpeg"
        );
    }

    #[test]
    fn audio_duration_and_metadata() {
        // 300 s of 128 kbit/s is 4.8 MB.
        assert_eq!(audio_threats(&[0; 100], "audio/mpeg", "300"), []);
        assert_eq!(
            audio_threats(&[0; 100], "audio/mpeg", "0"),
            [Threat::SizeExceeded]
        );
        assert_eq!(
            audio_threats(b"<tag>", "audio/mpeg", "300"),
            [Threat::SuspiciousContent]
        );
        assert_eq!(audio_threats(b"<tag>", "audio/mpeg", "five"), []);
        assert!(listed("aa,bb", "bb") && !listed("aa,bb", "b"));
    }
}
