//! Port of Manuel's pdf-page function: `POST /api/pdf-page` with `pdf_url`, `page_number` and
//! optionally `highlight_text` / `highlight_color`. The page is rendered at 2×, the text
//! highlighted, the PNG cached in the manuals bucket under
//! `processed-pages/{md5(url|page|text)}.png` and answered as a presigned URL (or, without a
//! bucket, inline as a `data:` URL). A cached page is answered without touching the PDF.
//!
//! Behaviour kept from the Python handler on purpose, however odd: a page past the end (or a
//! PDF that cannot be opened) answers 200 with an error *image*; the cache key uses the page
//! number as `int()` made it but the texts as given; any failure outside the rendering answers
//! 500 with `details`.

pub mod render;
pub mod source;

use manuel_shared::apigw::{dict_get, PyGet, Response};
use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{self, PyDict, PyInt, PyStr, PyValue};
use md5::{Digest, Md5};
use render::{Engine, PageNumber, Rgb};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Lifetime of the presigned URLs (Python: `ExpiresIn=3600`).
const URL_EXPIRY: Duration = Duration::from_secs(3600);

/// What the function reads from its environment.
#[derive(Debug, Clone, Default)]
pub struct PdfPageEnv {
    /// `MANUALS_BUCKET`; unset or empty means "no cache, answer a data: URL".
    pub bucket: Option<String>,
}

impl PdfPageEnv {
    pub fn from_env() -> Self {
        Self {
            bucket: std::env::var("MANUALS_BUCKET")
                .ok()
                .filter(|b| !b.is_empty()),
        }
    }
}

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            s3: manuel_shared::aws::s3_client(conf),
        }
    }
}

fn json_headers(r: Response) -> Response {
    r.header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
}

fn error(status: u16, message: &str) -> Response {
    json_headers(Response::new(status)).json_body(&serde_json::json!({ "error": message }))
}

/// The handler: the proxy response as a JSON value. Any exception becomes Python's 500.
/// What a cold start loads (the bootstrap's init): settings, clients, PDFium.
pub async fn init() -> (PdfPageEnv, Clients, Engine) {
    (
        PdfPageEnv::from_env(),
        Clients::new(&manuel_shared::aws::load_config().await),
        Engine::load(),
    )
}

pub async fn handle(event: &Value, env: &PdfPageEnv, c: &Clients, engine: &Engine) -> Value {
    match handle_inner(event, env, c, engine).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("Error processing PDF page: {}", e.message);
            let body = PyValue::dict(vec![
                ("error", PyValue::str("Failed to process PDF page")),
                ("details", PyValue::str(&e.message)),
                (
                    "timestamp",
                    PyValue::Int(PyInt::I64(manuel_shared::runtime::now_secs())),
                ),
            ]);
            response(500, &body)
        }
    }
}

fn response(status: u16, body: &PyValue) -> Value {
    json_headers(Response::new(status))
        .text_body(pyvalue::dumps(body))
        .to_value()
}

fn attr_err(message: String) -> PyException {
    PyException::new("AttributeError", message)
}

/// `print(...)` of a text holding lone surrogates raises UnicodeEncodeError (stdout is
/// UTF-8, strict): the handler's log line of its parameters fails that way.
fn print_check(parts: &[&PyStr], line_prefixes: &[&str]) -> Result<(), PyException> {
    let mut offset = 0usize;
    for (part, prefix) in parts.iter().zip(line_prefixes) {
        offset += prefix.chars().count();
        if let Err(mut e) = part.to_str() {
            e.start += offset;
            e.end += offset;
            return Err(PyException::new("UnicodeEncodeError", e.to_string()));
        }
        offset += part.len();
    }
    Ok(())
}

/// Python's `int(x)` for the page number, with the exception it raises.
fn py_int(v: &PyValue) -> Result<PageNumber, PyException> {
    let value_error = |m: String| PyException::new("ValueError", m);
    match v {
        PyValue::Bool(b) => Ok(PageNumber::Small(*b as i64)),
        PyValue::Int(PyInt::I64(n)) => Ok(PageNumber::Small(*n)),
        PyValue::Int(PyInt::Big(digits)) => Ok(big(digits)),
        PyValue::Float(f) if f.is_nan() => {
            Err(value_error("cannot convert float NaN to integer".into()))
        }
        PyValue::Float(f) if f.is_infinite() => Err(PyException::new(
            "OverflowError",
            "cannot convert float infinity to integer",
        )),
        PyValue::Float(f) => {
            let t = f.trunc();
            if t.abs() < 9.0e18 {
                Ok(PageNumber::Small(t as i64))
            } else {
                Ok(big(&exact_integer(t)))
            }
        }
        PyValue::Str(text) => {
            let t = text.to_string_lossy();
            parse_int_text(&t).ok_or_else(|| {
                value_error(format!(
                    "invalid literal for int() with base 10: {}",
                    PyValue::Str(text.clone()).py_repr()
                ))
            })
        }
        other => Err(PyException::new(
            "TypeError",
            format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

fn big(digits: &str) -> PageNumber {
    match digits.parse::<i64>() {
        Ok(n) => PageNumber::Small(n),
        Err(_) if digits.starts_with('-') => PageNumber::Small(i64::MIN),
        Err(_) => PageNumber::Big(digits.to_owned()),
    }
}

/// The exact decimal digits of an integral double (`int(1e300)` in Python).
fn exact_integer(f: f64) -> String {
    let negative = f < 0.0;
    let bits = f.abs().to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mant = (bits & ((1 << 52) - 1)) | (1 << 52);
    // Base 1e9 limbs, little end first.
    let mut limbs: Vec<u64> = vec![mant % 1_000_000_000, mant / 1_000_000_000];
    for _ in 0..exp.max(0) {
        let mut carry = 0;
        for l in limbs.iter_mut() {
            let v = *l * 2 + carry;
            *l = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&limbs.last().copied().unwrap_or(0).to_string());
    for l in limbs.iter().rev().skip(1) {
        out.push_str(&format!("{l:09}"));
    }
    out
}

/// `int(str)` in base 10: whitespace around, a sign, digits (any script) with single
/// underscores between them, at most 4300 of them. `None` where Python raises ValueError.
fn parse_int_text(t: &str) -> Option<PageNumber> {
    let t = t.trim_matches(|c: char| c.is_whitespace());
    let (negative, body) = match (t.strip_prefix('-'), t.strip_prefix('+')) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => (false, t),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let mut digits = String::new();
    for c in body.chars() {
        if c == '_' {
            continue;
        }
        digits.push(char::from_digit(manuel_shared::py::digit_value(c)?, 10)?);
    }
    // sys.get_int_max_str_digits(): more digits (leading zeros included) is a ValueError.
    if digits.len() > pyvalue::INT_MAX_STR_DIGITS {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    let digits = if trimmed.is_empty() { "0" } else { trimmed };
    Some(if negative && digits != "0" {
        big(&format!("-{digits}"))
    } else {
        big(digits)
    })
}

async fn handle_inner(
    event: &Value,
    env: &PdfPageEnv,
    c: &Clients,
    engine: &Engine,
) -> Result<Value, PyException> {
    let method = dict_get(event, "httpMethod")?;
    if method == PyGet::Present(&Value::String("OPTIONS".into())) {
        return Ok(manuel_shared::apigw::preflight("POST,OPTIONS").to_value());
    }

    let body_data = match dict_get(event, "body")? {
        PyGet::Missing => PyValue::Dict(PyDict::new()),
        PyGet::Present(Value::String(text)) => match pyvalue::loads(text) {
            Ok(v) => v,
            // `except json.JSONDecodeError` only: the 4300-digit int limit is a plain
            // ValueError and escapes to the 500 handler, like a RecursionError.
            Err(e) if e.kind == pyvalue::LoadsErrorKind::JsonDecodeError => {
                return Ok(error(400, "Invalid JSON in request body").to_value())
            }
            Err(e) => return Err(e.into()),
        },
        PyGet::Present(other) => PyValue::from_json(other),
    };
    // print(f"Request body: {body_data}"): a dict or list prints its repr (surrogates escaped),
    // a str prints itself and fails on a lone surrogate.
    if let PyValue::Str(text) = &body_data {
        print_check(&[text], &["Request body: "])?;
    }
    let get = |k: &str, default: PyValue| -> Result<PyValue, PyException> {
        match &body_data {
            PyValue::Dict(d) => Ok(d.get(k).cloned().unwrap_or(default)),
            other => Err(attr_err(format!(
                "'{}' object has no attribute 'get'",
                other.type_name()
            ))),
        }
    };
    let pdf_url = get("pdf_url", PyValue::None)?;
    let page_number = get("page_number", PyValue::None)?;
    let highlight_text = get("highlight_text", PyValue::str(""))?;
    let highlight_color = get("highlight_color", PyValue::str("yellow"))?;

    let (url_s, page_s, text_s) = (
        pdf_url.py_str(),
        page_number.py_str(),
        highlight_text.py_str(),
    );
    print_check(
        &[&url_s, &page_s, &text_s],
        &[
            "Parameters: pdf_url=",
            ", page_number=",
            ", highlight_text=",
        ],
    )?;
    tracing::info!(
        "Parameters: pdf_url={}, page_number={}, highlight_text={}",
        url_s.to_string_lossy(),
        page_s.to_string_lossy(),
        text_s.to_string_lossy()
    );

    if !pdf_url.is_truthy() || !page_number.is_truthy() {
        return Ok(error(400, "pdf_url and page_number are required").to_value());
    }
    let page_num = match py_int(&page_number) {
        Ok(PageNumber::Small(n)) if n < 1 => {
            return Ok(error(400, "Invalid page number").to_value())
        }
        Ok(p) => p,
        Err(e) if e.kind == "ValueError" => return Ok(error(400, "Invalid page number").to_value()),
        Err(e) => return Err(e),
    };

    let cache_key = {
        let input = format!(
            "{}|{page_num}|{}",
            url_s.to_string_lossy(),
            text_s.to_string_lossy()
        );
        hex::encode(Md5::digest(input.as_bytes()))
    };
    let cache_path = format!("processed-pages/{cache_key}.png");
    let page_value = match &page_num {
        PageNumber::Small(n) => PyValue::Int(PyInt::I64(*n)),
        PageNumber::Big(d) => PyValue::Int(PyInt::Big(d.clone())),
    };

    if let Some(bucket) = &env.bucket {
        let hit =
            c.s3.head_object()
                .bucket(bucket)
                .key(&cache_path)
                .send()
                .await;
        if hit.is_ok() {
            if let Ok(url) = presign(c, bucket, &cache_path).await {
                tracing::info!("Cache hit: {url}");
                return Ok(response(
                    200,
                    &PyValue::dict(vec![
                        ("page_image_url", PyValue::str(&url)),
                        ("page_number", page_value),
                        ("highlight_text", highlight_text),
                        ("highlight_color", highlight_color),
                        ("cached", PyValue::Bool(true)),
                        ("processing_time_ms", PyValue::Int(PyInt::I64(0))),
                    ]),
                ));
            }
        }
        tracing::info!("Cache miss, proceeding with processing");
    }

    let start = Instant::now();
    // Python answers a blank placeholder page when PyMuPDF cannot be imported. A Rust package
    // without its PDFium is a broken deployment: answer 500 before touching S3, so that the
    // shift's error-rate watch sees it and rolls back, instead of serving blank pages.
    engine
        .available()
        .map_err(|why| PyException::new("ImportError", format!("PDF engine unavailable: {why}")))?;
    let pdf_bytes = download(c, &pdf_url).await?;

    let needle = match &highlight_text {
        PyValue::Str(t) if !t.is_empty() => Some(t.to_string_lossy()),
        // A truthy non-str makes PyMuPDF's search raise, which the handler swallows.
        _ => None,
    };
    let (image, rects) = engine.page(&pdf_bytes, &page_num, needle.as_deref());
    let mut image: Rgb = match image {
        Ok(img) => img,
        Err(e) => {
            tracing::warn!("Error extracting PDF page: {}", e.0);
            engine.error_image(&page_num, &e.0)
        }
    };
    if !rects.is_empty() {
        tracing::info!("Highlighting {} text instances", rects.len());
        let rgba = highlight_rgba(&highlight_color)?;
        for r in &rects {
            image.blend_rect(*r, rgba);
        }
    }

    let page_image_url = match &env.bucket {
        Some(bucket) => {
            let png = image.png();
            tracing::info!("Image size: {} bytes", png.len());
            let now = manuel_shared::runtime::now_secs();
            c.s3.put_object()
                .bucket(bucket)
                .key(&cache_path)
                .body(png.into())
                .content_type("image/png")
                .cache_control("max-age=3600")
                .metadata("processed-at", now.to_string())
                .metadata("cache-key", &cache_key)
                .send()
                .await
                .map_err(|e| manuel_shared::aws::to_py(&e, "s3", "PutObject"))?;
            presign(c, bucket, &cache_path).await?
        }
        None => {
            use base64::Engine as _;
            let png = image.png();
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            )
        }
    };
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    let processing_time = manuel_shared::pyround::py_round(elapsed_ms, 2);
    tracing::info!("Processing completed in {processing_time}ms");
    Ok(response(
        200,
        &PyValue::dict(vec![
            ("page_image_url", PyValue::str(&page_image_url)),
            ("page_number", page_value),
            ("highlight_text", highlight_text),
            ("highlight_color", highlight_color),
            ("cached", PyValue::Bool(false)),
            ("processing_time_ms", PyValue::Float(processing_time)),
        ]),
    ))
}

/// The colour map of the Python handler; anything else is yellow, an unhashable value raises.
fn highlight_rgba(colour: &PyValue) -> Result<[u8; 4], PyException> {
    match colour {
        PyValue::List(_) | PyValue::Dict(_) => Err(PyException::new(
            "TypeError",
            format!("unhashable type: '{}'", colour.type_name()),
        )),
        PyValue::Str(c) => Ok(match c.as_str() {
            Some("blue") => [0, 0, 255, 100],
            Some("green") => [0, 255, 0, 100],
            Some("red") => [255, 0, 0, 100],
            _ => [255, 255, 0, 100],
        }),
        _ => Ok([255, 255, 0, 100]),
    }
}

async fn presign(c: &Clients, bucket: &str, key: &str) -> Result<String, PyException> {
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(URL_EXPIRY)
        .map_err(|e| PyException::new("ClientError", e.to_string()))?;
    c.s3.get_object()
        .bucket(bucket)
        .key(key)
        .presigned(cfg)
        .await
        .map(|r| r.uri().to_owned())
        .map_err(|e| manuel_shared::aws::to_py(&e, "s3", "GetObject"))
}

/// `get_pdf_from_s3(pdf_url)`: the object's bytes, or the exception Python raises.
async fn download(c: &Clients, pdf_url: &PyValue) -> Result<Vec<u8>, PyException> {
    let url = match pdf_url {
        PyValue::Str(u) => u.to_string_lossy(),
        // urlparse() of a non-str tries `.decode()` on it.
        other => {
            return Err(attr_err(format!(
                "'{}' object has no attribute 'decode'",
                other.type_name()
            )))
        }
    };
    let loc = source::s3_location(&url)?;
    source::validate(&loc)?;
    tracing::info!(
        "Downloading from S3: bucket={}, key={}",
        loc.bucket,
        loc.key
    );
    let got =
        c.s3.get_object()
            .bucket(&loc.bucket)
            .key(&loc.key)
            .send()
            .await
            .map_err(|e| manuel_shared::aws::to_py(&e, "s3", "GetObject"))?;
    let bytes = got
        .body
        .collect()
        .await
        .map_err(|e| PyException::new("ResponseStreamingError", e.to_string()))?
        .into_bytes();
    tracing::info!("Downloaded PDF: {} bytes", bytes.len());
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_of_page_numbers_like_python() {
        let p = |v: PyValue| py_int(&v);
        assert_eq!(p(PyValue::Bool(true)).unwrap(), PageNumber::Small(1));
        assert_eq!(p(PyValue::Float(2.9)).unwrap(), PageNumber::Small(2));
        assert_eq!(p(PyValue::str(" 0012 ")).unwrap(), PageNumber::Small(12));
        assert_eq!(p(PyValue::str("1_0")).unwrap(), PageNumber::Small(10));
        assert_eq!(p(PyValue::str("１２")).unwrap(), PageNumber::Small(12));
        assert_eq!(p(PyValue::str("\u{104A1}")).unwrap(), PageNumber::Small(1));
        // 4300 digits are read, 4301 (leading zeros count) are a ValueError.
        assert_eq!(
            p(PyValue::str(&format!("{}1", "0".repeat(4299)))).unwrap(),
            PageNumber::Small(1)
        );
        assert_eq!(
            p(PyValue::str(&format!("{}1", "0".repeat(4300))))
                .unwrap_err()
                .kind,
            "ValueError"
        );
        assert_eq!(p(PyValue::str("-3")).unwrap(), PageNumber::Small(-3));
        assert_eq!(
            p(PyValue::str("123456789012345678901234567890")).unwrap(),
            PageNumber::Big("123456789012345678901234567890".into())
        );
        assert_eq!(
            p(PyValue::Float(1e20)).unwrap(),
            PageNumber::Big("100000000000000000000".into())
        );
        assert_eq!(p(PyValue::str("2.0")).unwrap_err().kind, "ValueError");
        assert_eq!(p(PyValue::str("1__0")).unwrap_err().kind, "ValueError");
        assert_eq!(p(PyValue::Float(f64::NAN)).unwrap_err().kind, "ValueError");
        assert_eq!(
            p(PyValue::Float(f64::INFINITY)).unwrap_err().kind,
            "OverflowError"
        );
        assert_eq!(
            p(PyValue::List(vec![])).unwrap_err().message,
            "int() argument must be a string, a bytes-like object or a real number, not 'list'"
        );
    }

    #[test]
    fn exact_integer_of_large_doubles() {
        assert_eq!(exact_integer(2f64.powi(70)), "1180591620717411303424");
        assert_eq!(exact_integer(1e300).len(), 301);
    }

    #[test]
    fn colour_map() {
        assert_eq!(
            highlight_rgba(&PyValue::str("blue")).unwrap(),
            [0, 0, 255, 100]
        );
        assert_eq!(
            highlight_rgba(&PyValue::str("purple")).unwrap(),
            [255, 255, 0, 100]
        );
        assert_eq!(highlight_rgba(&PyValue::None).unwrap(), [255, 255, 0, 100]);
        assert_eq!(
            highlight_rgba(&PyValue::List(vec![])).unwrap_err().message,
            "unhashable type: 'list'"
        );
    }
}
