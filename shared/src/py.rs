//! Small pieces of Python semantics that leak into response bodies: type names in error
//! messages, `repr()` of strings, `int()` parsing and `str.lower()`.

use serde_json::Value;

/// Python's `type(x).__name__` for a value decoded from JSON.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A Python exception as a handler's `except Exception as e` sees it: `type(e).__name__` and
/// `str(e)`. Ports carry these where Python's control flow depends on them (status mapping on
/// keywords of the message, `error_type` fields in bodies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyException {
    pub kind: String,
    pub message: String,
}

impl PyException {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
        }
    }

    /// `KeyError('NAME')`: `str()` of a KeyError is the repr of the key.
    pub fn key_error(key: &str) -> Self {
        Self::new("KeyError", repr_str(key))
    }

    /// The class as a traceback's last line names it: builtins bare, the `decimal` signals
    /// as `decimal.X`, botocore's own exceptions as `botocore.exceptions.X` and the classes it
    /// makes for modeled service errors as `botocore.errorfactory.X`.
    pub fn qualified_name(&self) -> String {
        const BOTOCORE: &[&str] = &[
            "ClientError",
            "ParamValidationError",
            "EndpointConnectionError",
            "ReadTimeoutError",
            "ConnectTimeoutError",
            "NoCredentialsError",
            "NoRegionError",
            "BotoCoreError",
        ];
        const DECIMAL: &[&str] = &[
            "InvalidOperation",
            "DivisionByZero",
            "Overflow",
            "Underflow",
            "Inexact",
            "Rounded",
            "Clamped",
        ];
        let k = self.kind.as_str();
        if BOTOCORE.contains(&k) {
            format!("botocore.exceptions.{k}")
        } else if DECIMAL.contains(&k) {
            format!("decimal.{k}")
        } else if k.ends_with("Exception") || k.ends_with("Fault") {
            format!("botocore.errorfactory.{k}")
        } else {
            k.to_owned()
        }
    }

    /// What a port puts where Python puts `traceback.format_exc()`: the header and the last
    /// line (`KeyError: 'NAME'`), without frames — a port has no Python frames, and the
    /// frames' file paths and code are nothing a client should be shown (README, kept/fixed).
    pub fn traceback(&self) -> String {
        if self.message.is_empty() {
            format!(
                "Traceback (most recent call last):\n{}\n",
                self.qualified_name()
            )
        } else {
            format!(
                "Traceback (most recent call last):\n{}: {}\n",
                self.qualified_name(),
                self.message
            )
        }
    }
}

impl std::fmt::Display for PyException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PyException {}

/// Python truthiness of a JSON-decoded value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `value[key]` with a str key, as Python evaluates it: `Ok(None)` is a KeyError (missing key),
/// `Err` the TypeError non-dicts raise.
pub fn subscript<'a>(value: &'a Value, key: &str) -> Result<Option<&'a Value>, PyException> {
    match value {
        Value::Object(map) => Ok(map.get(key)),
        Value::String(_) => Err(PyException::new(
            "TypeError",
            "string indices must be integers, not 'str'",
        )),
        Value::Array(_) => Err(PyException::new(
            "TypeError",
            "list indices must be integers or slices, not str",
        )),
        other => Err(PyException::new(
            "TypeError",
            format!("'{}' object is not subscriptable", type_name(other)),
        )),
    }
}

/// The records `for record in event.get("Records", [])` visits when each must be a dict (the
/// loop's first step is `record.get(…)` or `record[…]`): a list's items; nothing for a missing
/// key, `""` or `{}`. A non-empty string or dict is iterated as `str` characters or keys, and
/// the first one raises; an event that is not a dict, or a `Records` that is not iterable,
/// raises before the loop. Either way the `Err` is what escapes.
pub fn records(event: &Value) -> Result<&[Value], PyException> {
    let Value::Object(m) = event else {
        return Err(PyException::new(
            "AttributeError",
            format!("'{}' object has no attribute 'get'", type_name(event)),
        ));
    };
    match m.get("Records") {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(Value::String(s)) if s.is_empty() => Ok(&[]),
        Some(Value::Object(o)) if o.is_empty() => Ok(&[]),
        Some(Value::String(_) | Value::Object(_)) => Err(PyException::new(
            "AttributeError",
            "'str' object has no attribute 'get'",
        )),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!("'{}' object is not iterable", type_name(other)),
        )),
    }
}

/// `AttributeError: '<type>' object has no attribute '<attr>'` for a JSON-decoded value.
pub fn attribute_error(v: &Value, attr: &str) -> PyException {
    PyException::new(
        "AttributeError",
        format!("'{}' object has no attribute '{attr}'", type_name(v)),
    )
}

/// The `str` a string method (`method`) is called on, or the AttributeError a non-str raises.
pub fn str_receiver<'a>(v: &'a Value, method: &str) -> Result<&'a str, PyException> {
    v.as_str().ok_or_else(|| attribute_error(v, method))
}

/// `v.endswith(suffix)`, with the AttributeError of a value that is not a str.
pub fn ends_with(v: &Value, suffix: &str) -> Result<bool, PyException> {
    Ok(str_receiver(v, "endswith")?.ends_with(suffix))
}

/// `needle in v` for a JSON-decoded value: a substring of a str, a member of a list, a key of a
/// dict; the TypeError of anything else (`argument of type 'int' is not iterable`).
pub fn contains(v: &Value, needle: &str) -> Result<bool, PyException> {
    match v {
        Value::String(s) => Ok(s.contains(needle)),
        Value::Array(a) => Ok(a.iter().any(|x| x.as_str() == Some(needle))),
        Value::Object(o) => Ok(o.contains_key(needle)),
        other => Err(PyException::new(
            "TypeError",
            format!("argument of type '{}' is not iterable", type_name(other)),
        )),
    }
}

/// Python's `str(x)` (what an f-string shows) for a JSON-decoded value.
pub fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr_of(other),
    }
}

/// Python's `repr(x)` for a JSON-decoded value (dicts and lists as Python prints them).
pub fn repr_of(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => crate::pyjson::float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => repr_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(repr_of).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), repr_of(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `str.isprintable()` for one character (the space counts as printable).
pub fn is_printable(c: char) -> bool {
    let cp = c as u32;
    crate::unicode_tables::UNPRINTABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

/// The value of a decimal digit in any script (Unicode category Nd), as `int()` reads it.
pub fn digit_value(c: char) -> Option<u32> {
    let cp = c as u32;
    let i = crate::unicode_tables::DIGIT_ZEROS.partition_point(|z| *z <= cp);
    let zero = *crate::unicode_tables::DIGIT_ZEROS.get(i.checked_sub(1)?)?;
    (cp - zero < 10).then_some(cp - zero)
}

/// Python's `repr(s)` for a `str`.
pub fn repr_str(s: &str) -> String {
    repr_code_points(s.chars().map(|c| c as u32))
}

/// Python's `repr(s)` for a `str` given as code points (lone surrogates print as `\udXXX`).
pub fn repr_code_points<I: Iterator<Item = u32> + Clone>(cps: I) -> String {
    let (single, double) = (b'\'' as u32, b'"' as u32);
    let quote = if cps.clone().any(|c| c == single) && !cps.clone().any(|c| c == double) {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for cp in cps {
        let Some(c) = char::from_u32(cp) else {
            out.push_str(&format!("\\u{cp:04x}"));
            continue;
        };
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let cp = c as u32;
                if cp < 0x100 {
                    out.push_str(&format!("\\x{cp:02x}"));
                } else if cp < 0x10000 {
                    out.push_str(&format!("\\u{cp:04x}"));
                } else {
                    out.push_str(&format!("\\U{cp:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `base64.b64decode(s)` (non-validating): characters outside the alphabet are
/// skipped, decoding stops once a quantum is complete with padding, and a dangling partial
/// quantum is an error (`binascii.Error`; a non-ASCII `str` is a `ValueError`).
pub fn b64decode(s: &str) -> Result<Vec<u8>, PyException> {
    if !s.is_ascii() {
        return Err(PyException::new(
            "ValueError",
            "string argument should contain only ASCII characters",
        ));
    }
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len() * 3 / 4);
    let (mut quad, mut pads, mut left) = (0u8, 0u8, 0u8);
    for &c in s.as_bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = value(c) else { continue };
        pads = 0;
        match quad {
            0 => {
                quad = 1;
                left = v;
            }
            1 => {
                quad = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    match quad {
        0 => Ok(out),
        1 => Err(PyException::new(
            "Error",
            format!(
                "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
                out.len() / 3 * 4 + 1
            ),
        )),
        _ => Err(PyException::new("Error", "Incorrect padding")),
    }
}

/// `str.isspace()` of one character: Unicode's White_Space plus the ASCII separators U+001C–U+001F
/// (CPython counts bidirectional types B and S as space). `int()` and `float()` strip only
/// White_Space, `str.strip()` strips these.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `s.strip()` without arguments.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python's `int(s)` for a `str` in base 10: surrounding whitespace, an optional sign, digits
/// with single underscores between them. The error is the ValueError Python raises.
pub fn parse_int(s: &str) -> Result<i64, PyException> {
    let err = || {
        PyException::new(
            "ValueError",
            format!("invalid literal for int() with base 10: {}", repr_str(s)),
        )
    };
    let t = s.trim_matches(|c: char| c.is_whitespace());
    let (neg, digits) = match (t.strip_prefix('-'), t.strip_prefix('+')) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| digit_value(c).is_some() || c == '_')
    {
        return Err(err());
    }
    // Any script's decimal digits count (`int(" ５０ ")` is 50), as in CPython.
    let mut magnitude: i64 = 0;
    for d in digits.chars().filter_map(digit_value) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_sub(i64::from(d)))
            .ok_or_else(err)?;
    }
    if neg {
        Ok(magnitude)
    } else {
        magnitude.checked_neg().ok_or_else(err)
    }
}

/// Python's `float(s)` for a `str`: surrounding whitespace, single `_` between digits,
/// `inf`/`infinity`/`nan` in any case; `None` where Python raises ValueError.
pub fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let (sign, unsigned) = match lower.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, lower.strip_prefix('+').unwrap_or(&lower)),
    };
    match unsigned {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if !unsigned
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    let ok = |p: &str| !p.starts_with('_') && !p.ends_with('_') && !p.contains("__");
    if !unsigned
        .split(['.', 'e', '+', '-'])
        .all(|p| p.is_empty() || ok(p))
    {
        return None;
    }
    t.replace('_', "").parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_names() {
        assert_eq!(type_name(&json!(1)), "int");
        assert_eq!(type_name(&json!(1.5)), "float");
        assert_eq!(type_name(&json!("x")), "str");
        assert_eq!(type_name(&json!({})), "dict");
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr_str("tab\t"), "'tab\\t'");
        // Unprintable characters, as Python 3.11 escapes them (values from CPython).
        for (s, want) in [
            ("\u{a0}x", "'\\xa0x'"),
            ("\u{200b}", "'\\u200b'"),
            ("\u{e0001}", "'\\U000e0001'"),
            ("\u{7f}", "'\\x7f'"),
            ("é", "'é'"),
            ("\u{1F600}", "'\u{1F600}'"),
            ("\u{e000}", "'\\ue000'"),
            ("\u{378}", "'\\u0378'"),
            ("\u{2028}", "'\\u2028'"),
            ("a\tb\0", "'a\\tb\\x00'"),
        ] {
            assert_eq!(repr_str(s), want, "{s:?}");
        }
        assert_eq!(repr_code_points([0x61, 0xd800].into_iter()), "'a\\ud800'");
    }

    #[test]
    fn digits_of_every_script() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('\u{104A1}'), Some(1));
        assert_eq!(digit_value('\u{0662}'), Some(2));
        assert_eq!(digit_value('\u{FF19}'), Some(9));
        assert_eq!(digit_value('a'), None);
        assert_eq!(digit_value('\u{2F}'), None);
        assert_eq!(digit_value('\u{FF1A}'), None);
    }

    #[test]
    fn subscript_and_str_like_python() {
        assert_eq!(subscript(&json!({"a": 1}), "a").unwrap(), Some(&json!(1)));
        assert_eq!(subscript(&json!({}), "a").unwrap(), None);
        assert_eq!(
            subscript(&Value::Null, "a").unwrap_err().message,
            "'NoneType' object is not subscriptable"
        );
        assert_eq!(
            str_of(&json!({"a": [1, 2.5, null, true, "x'"]})),
            "{'a': [1, 2.5, None, True, \"x'\"]}"
        );
        assert!(!truthy(&json!(0.0)) && truthy(&json!(" ")) && !truthy(&json!({})));
        assert_eq!(PyException::key_error("X").message, "'X'");
    }

    #[test]
    fn float_parsing_matches_python() {
        assert_eq!(parse_float(" 1_000.5 "), Some(1000.5));
        assert_eq!(parse_float("1e-3"), Some(0.001));
        assert!(parse_float("-Infinity").unwrap().is_infinite());
        assert!(parse_float("nan").unwrap().is_nan());
        assert_eq!(parse_float("1__0"), None);
        assert_eq!(parse_float("x"), None);
        assert_eq!(parse_float(""), None);
    }

    #[test]
    fn int_parsing_matches_python() {
        assert_eq!(parse_int(" 6379\n"), Ok(6379));
        assert_eq!(parse_int("+1_000"), Ok(1000));
        assert_eq!(parse_int("-7"), Ok(-7));
        assert_eq!(
            parse_int("abc"),
            Err(PyException::new(
                "ValueError",
                "invalid literal for int() with base 10: 'abc'"
            ))
        );
        assert!(parse_int("1__0").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("6379.0").is_err());
        // Other scripts' decimal digits, and the i64 range at both ends.
        assert_eq!(parse_int(" ５０ "), Ok(50));
        assert_eq!(parse_int("١٢٣"), Ok(123));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_int("9223372036854775808").is_err());
        assert!(parse_int("²").is_err());
    }
}
