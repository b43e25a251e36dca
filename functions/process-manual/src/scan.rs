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

use manuel_shared::file_security::{
    audio_threats, has_malware_signature, has_suspicious_pattern, listed, sha256_hex,
};
pub use manuel_shared::file_security::{
    fallback_type as detect, Threat, MALWARE_SIGNATURES as SIGNATURES,
};

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub valid: bool,
    pub threats: Vec<Threat>,
    pub mime: &'static str,
    pub sha256: String,
}

/// `validate_file_upload` of the file's bytes, with the size limit in bytes and the
/// `MALICIOUS_HASHES` setting (comma-separated SHA-256 digests).
pub fn scan(
    data: &[u8],
    max_bytes: i128,
    malicious_hashes: &str,
    max_audio_seconds: &str,
) -> Verdict {
    let sha256 = sha256_hex(data);
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
    if has_malware_signature(data) {
        threats.push(Threat::Malware);
    }
    if has_suspicious_pattern(data) {
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
    if listed(malicious_hashes, &sha256) {
        threats.push(Threat::Malware);
    }
    Verdict {
        valid: !threats.iter().any(|t| t.is_critical()),
        threats,
        mime,
        sha256,
    }
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
        let digest = sha256_hex(&data);
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
