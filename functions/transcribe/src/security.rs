//! The upload check of backend/src/shared/file_security.py as the transcribe handler configures
//! it (`FileUploadConfig(max_file_size_mb=int(MAX_AUDIO_SIZE_MB or 25), scan_for_malware,
//! validate_file_headers, quarantine_suspicious_files)`), answer for answer: the detected type
//! is libmagic's (shared::magic, as python-magic), the name check is Python's `mimetypes`
//! (shared::pymimetypes), and the threats come in Python's order.

pub use manuel_shared::file_security::Threat;
use manuel_shared::file_security::{
    audio_threats, fallback_type, has_malware_signature, has_suspicious_pattern, sha256_hex,
};
use manuel_shared::magic::Magic;
use manuel_shared::py::PyException;
use manuel_shared::pymimetypes::{splitext, MimeTypes};
use manuel_shared::pyvalue::PyValue;

/// `FileType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Audio,
    Document,
    Image,
    Unknown,
}

impl FileType {
    pub fn value(self) -> &'static str {
        match self {
            FileType::Audio => "audio",
            FileType::Document => "document",
            FileType::Image => "image",
            FileType::Unknown => "unknown",
        }
    }
}

/// `FileValidationResult`, with the decoded bytes a valid upload goes on with.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub is_valid: bool,
    pub file_type: FileType,
    pub size_bytes: usize,
    pub content_hash: String,
    pub threats: Vec<Threat>,
    pub error_message: Option<String>,
    /// The decoded upload (what quarantine would store).
    pub data: Vec<u8>,
}

impl Validation {
    fn failed(threats: Vec<Threat>, message: String) -> Self {
        Self {
            is_valid: false,
            file_type: FileType::Unknown,
            size_bytes: 0,
            content_hash: String::new(),
            threats,
            error_message: Some(message),
            data: Vec::new(),
        }
    }
}

/// What the check reads from the environment (per request in Python; fixed per process).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `MAX_AUDIO_DURATION_SECONDS` (default "300"), parsed per audio file.
    pub max_duration: Option<String>,
    /// `MALICIOUS_HASHES` split on commas (unset: `{""}`).
    pub malicious_hashes: Vec<String>,
}

/// Detection as `_detect_file_type`: libmagic, or on its exception the header table.
pub enum Detector<'a> {
    Magic(&'a Magic<'a>),
    /// `Magic(mime=True)` raised (the database did not load): every call falls back.
    Fallback,
}

impl Detector<'_> {
    fn detect(&self, data: &[u8]) -> String {
        match self {
            Detector::Magic(m) => m.from_buffer(data).unwrap_or_else(|_| fallback(data)),
            Detector::Fallback => fallback(data),
        }
    }
}

/// `_detect_file_type_fallback`.
pub fn fallback(data: &[u8]) -> String {
    fallback_type(data).to_owned()
}

fn classify(mime: &str) -> FileType {
    if mime.starts_with("audio/") {
        FileType::Audio
    } else if mime.starts_with("image/") {
        FileType::Image
    } else if matches!(
        mime,
        "application/pdf" | "text/plain" | "application/msword"
    ) {
        FileType::Document
    } else {
        FileType::Unknown
    }
}

fn allowed(mime: &str, t: FileType) -> bool {
    match t {
        FileType::Audio => matches!(
            mime,
            "audio/mp4" | "audio/wav" | "audio/webm" | "audio/mpeg" | "audio/ogg" | "audio/m4a"
        ),
        FileType::Image => matches!(
            mime,
            "image/jpeg" | "image/png" | "image/gif" | "image/webp"
        ),
        FileType::Document => matches!(
            mime,
            "application/pdf"
                | "text/plain"
                | "application/msword"
                | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ),
        FileType::Unknown => false,
    }
}

/// `_validate_mime_consistency`; `Err` is the AttributeError of `filename.lower()` for a truthy
/// file name that is not a str.
fn consistent(
    declared: &PyValue,
    detected: &str,
    filename: &PyValue,
    types: &MimeTypes,
) -> Result<bool, PyException> {
    let declared_str = declared.as_py_str().and_then(|s| s.as_str());
    if declared_str == Some(detected) {
        return Ok(true);
    }
    if filename.is_truthy() {
        let Some(name) = filename.as_py_str() else {
            return Err(PyException::new(
                "AttributeError",
                format!("'{}' object has no attribute 'lower'", filename.type_name()),
            ));
        };
        let name = name.to_string_lossy();
        let _ = splitext(&name.to_lowercase());
        if types.guess_type(&name).as_deref() == Some(detected) {
            return Ok(true);
        }
    }
    const VARIATIONS: [(&str, &str); 3] = [
        ("audio/mp4", "audio/m4a"),
        ("audio/mpeg", "audio/mp3"),
        ("image/jpeg", "image/jpg"),
    ];
    Ok(VARIATIONS.iter().any(|(a, b)| {
        (declared_str == Some(a) && detected == *b) || (declared_str == Some(b) && detected == *a)
    }))
}

/// `validate_file_upload(file_data, content_type, filename)` up to the quarantine step (which
/// the caller runs when `threats` is not empty).
pub fn validate(
    file_data: &PyValue,
    content_type: &PyValue,
    filename: &PyValue,
    max_file_size_mb: i64,
    detector: &Detector<'_>,
    types: &MimeTypes,
    settings: &Settings,
) -> Validation {
    let data = match file_data.b64decode() {
        Ok(d) => d,
        Err(e) => {
            return Validation::failed(
                vec![Threat::InvalidFormat],
                format!("Invalid base64 encoding: {}", e.message),
            )
        }
    };
    let size = data.len();
    let hash = sha256_hex(&data);
    let mut v = Validation {
        is_valid: true,
        file_type: FileType::Unknown,
        size_bytes: size,
        content_hash: hash,
        threats: Vec::new(),
        error_message: None,
        data: Vec::new(),
    };
    let max = i128::from(max_file_size_mb) * 1024 * 1024;
    if size as i128 > max {
        v.is_valid = false;
        v.threats.push(Threat::SizeExceeded);
        v.error_message = Some(format!("File size {size} exceeds maximum {max} bytes"));
        return v;
    }
    let detected = detector.detect(&data);
    v.file_type = classify(&detected);
    match consistent(content_type, &detected, filename, types) {
        Ok(true) => {}
        Ok(false) => {
            v.threats.push(Threat::ContentMismatch);
            v.error_message = Some(format!(
                "MIME type mismatch: declared={}, detected={detected}",
                content_type.py_str().to_string_lossy()
            ));
        }
        Err(e) => {
            // The whole check's `except Exception`: a fresh result, no threats.
            return Validation::failed(Vec::new(), format!("Validation error: {}", e.message));
        }
    }
    if !allowed(&detected, v.file_type) {
        v.is_valid = false;
        v.threats.push(Threat::ForbiddenExtension);
        v.error_message = Some(format!("File type {detected} not allowed"));
        return v;
    }
    if has_malware_signature(&data) {
        v.threats.push(Threat::Malware);
    }
    if has_suspicious_pattern(&data) {
        v.threats.push(Threat::SuspiciousContent);
    }
    // Header integrity (validate_file_headers is on).
    let invalid = if detected.starts_with("audio/") {
        size < 44
    } else if detected == "application/pdf" {
        !data.starts_with(b"%PDF")
    } else if detected == "image/jpeg" {
        !data.starts_with(b"\xff\xd8")
    } else if detected == "image/png" {
        !data.starts_with(b"\x89PNG")
    } else {
        false
    };
    if invalid {
        v.threats.push(Threat::InvalidFormat);
    }
    if v.file_type == FileType::Audio {
        let limit = settings.max_duration.as_deref().unwrap_or("300");
        v.threats.extend(audio_threats(&data, &detected, limit));
    }
    if settings.malicious_hashes.contains(&v.content_hash) {
        v.threats.push(Threat::Malware);
    }
    if v.threats.iter().any(|t| t.is_critical()) {
        v.is_valid = false;
    }
    v.data = data;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> PyValue {
        PyValue::str(t)
    }

    fn b64(data: &[u8]) -> PyValue {
        use base64::Engine as _;
        s(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    fn check(data: &PyValue, ct: &str, name: &PyValue) -> Validation {
        validate(
            data,
            &s(ct),
            name,
            25,
            &Detector::Fallback,
            &MimeTypes::default(),
            &Settings::default(),
        )
    }

    #[test]
    fn undecodable_data_is_invalid_format() {
        let v = check(
            &PyValue::Int(manuel_shared::pyvalue::PyInt::I64(5)),
            "audio/mpeg",
            &s("a"),
        );
        assert_eq!(v.threats, [Threat::InvalidFormat]);
        assert_eq!(
            v.error_message.as_deref(),
            Some("Invalid base64 encoding: argument should be a bytes-like object or ASCII string, not 'int'")
        );
        let v = check(&s("é"), "audio/mpeg", &s("a"));
        assert_eq!(
            v.error_message.as_deref(),
            Some("Invalid base64 encoding: string argument should contain only ASCII characters")
        );
    }

    #[test]
    fn a_name_that_is_not_a_str_fails_the_whole_check() {
        let mut mp3 = b"\xff\xfb\x90\x00".to_vec();
        mp3.extend([0u8; 60]);
        let v = check(
            &b64(&mp3),
            "audio/wav",
            &PyValue::Int(manuel_shared::pyvalue::PyInt::I64(7)),
        );
        assert!(!v.is_valid);
        assert!(v.threats.is_empty());
        assert_eq!(
            v.error_message.as_deref(),
            Some("Validation error: 'int' object has no attribute 'lower'")
        );
        // The same upload declared as what it is never reads the name.
        let v = check(
            &b64(&mp3),
            "audio/mpeg",
            &PyValue::Int(manuel_shared::pyvalue::PyInt::I64(7)),
        );
        assert!(v.is_valid, "{v:?}");
    }

    #[test]
    fn threats_come_in_pythons_order() {
        // Fallback detection: a RIFF header is audio/wav; "<" in the first 2 KiB is suspicious
        // metadata, "<script" a malware signature.
        let mut wav = b"RIFF\x00\x00\x00\x00WAVEfmt <script>".to_vec();
        wav.extend([0u8; 40]);
        let v = check(&b64(&wav), "audio/x-wav", &s("clip.wav"));
        assert_eq!(
            v.threats,
            [
                Threat::ContentMismatch,
                Threat::Malware,
                Threat::SuspiciousContent
            ]
        );
        assert!(!v.is_valid);
        assert_eq!(
            v.error_message.as_deref(),
            Some("MIME type mismatch: declared=audio/x-wav, detected=audio/wav")
        );
    }

    #[test]
    fn size_and_type_limits() {
        let v = validate(
            &b64(&[0u8; 2 * 1024 * 1024 + 1]),
            &s("audio/mpeg"),
            &s("a"),
            2,
            &Detector::Fallback,
            &MimeTypes::default(),
            &Settings::default(),
        );
        assert_eq!(v.threats, [Threat::SizeExceeded]);
        assert_eq!(
            v.error_message.as_deref(),
            Some("File size 2097153 exceeds maximum 2097152 bytes")
        );
        let v = check(&b64(b"plain text, long enough"), "text/plain", &s("a.txt"));
        assert_eq!(
            v.error_message.as_deref(),
            Some("File type application/octet-stream not allowed")
        );
        assert_eq!(
            v.threats,
            [Threat::ContentMismatch, Threat::ForbiddenExtension]
        );
    }
}
