//! Python's `json.loads`: the same acceptance rules, the same errors and the same value model.
//!
//! The Python handlers start with `json.loads(event["body"])` and then branch on what came back:
//! a `dict` or not, `body.get("question")` being a `str`, `int`, `float`, `list` or `None`,
//! `len(question)` counted in code points, `question.encode()` failing on lone surrogates. serde_json
//! cannot stand in for that step: it rejects `NaN`, `Infinity`, lone `\ud800` escapes and integers
//! beyond 64 bits that CPython accepts, it drops the "first insertion position, last value" rule of
//! duplicate keys, and its error messages are not Python's. A port that answers "400: Expecting ','
//! delimiter: line 1 column 9 (char 8)" byte for byte needs a parser built on Python's rules, and
//! that is what this module is.
//!
//! What is mirrored (CPython 3.11, the C scanner `json.loads` uses by default):
//! - whitespace is only space, `\t`, `\n`, `\r`; a leading U+FEFF is rejected up front;
//! - numbers follow `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, matched greedily and backing off a
//!   dangling `.` or exponent (so `1.` and `1e` are `Extra data` at the `.`/`e`); a literal with a
//!   fraction or exponent is a `float` (correctly rounded, overflowing to `inf`), any other is an
//!   `int` of any size up to Python's 4300-digit conversion limit (beyond it: `ValueError`);
//! - `NaN`, `Infinity`, `-Infinity` are floats;
//! - strings reject raw control characters (`strict=True`), keep lone surrogate escapes as code
//!   points of their own and join a high+low escape pair into one code point;
//! - objects keep a repeated key at its first position with its last value;
//! - error messages, and positions counted in code points with 1-based line and column.
//!
//! The one documented difference is nesting depth. CPython raises `RecursionError` when the C
//! scanner's recursion guard trips, which depends on how many Python frames are already on the
//! stack (about `1000 - frames`, so roughly 990 inside a Lambda handler on 3.11). Here the limit is
//! the fixed [`MAX_DEPTH`], the error carries CPython's message, and the parser is iterative so no
//! input can overflow the Rust stack.

use crate::py::PyException;
use crate::pyjson::float_repr;
use std::collections::HashMap;
use std::fmt::{self, Write};

/// Deepest nesting of arrays/objects that [`loads`] accepts; one more level raises the
/// `RecursionError` CPython would raise. CPython's own threshold moves with the caller's stack
/// depth (995 from a bare `python3 -c`, a few less under the Lambda runtime's frames); 990 is our
/// fixed estimate for a handler calling `json.loads` directly. Parsing, [`dumps`] and
/// [`PyValue::to_json`] use explicit stacks; the derived `Clone`, `PartialEq`, `Debug` and drop
/// recurse, which is fine at this depth but not for arbitrarily deep values built by hand.
pub const MAX_DEPTH: usize = 990;

/// Python's default `sys.get_int_max_str_digits()`: `int` literals with more digits than this
/// make `json.loads` raise `ValueError` (not `JSONDecodeError`).
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// A value as Python's `json.loads` produces it.
#[derive(Clone, Debug, PartialEq)]
pub enum PyValue {
    /// `None` (JSON `null`).
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` literal.
    Int(PyInt),
    /// A `float`: literals with a fraction or exponent, `NaN`, `Infinity`, `-Infinity`.
    Float(f64),
    /// A `str`, possibly holding lone surrogates.
    Str(PyStr),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict` with `str` keys in insertion order.
    Dict(PyDict),
}

/// A Python `int` from a JSON literal: `I64` whenever the value fits, otherwise its canonical
/// decimal text (optional `-`, no leading zeros), so arbitrarily large literals survive unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PyInt {
    /// Fits in 64 signed bits.
    I64(i64),
    /// Outside the `i64` range: the decimal digits, with a leading `-` when negative.
    Big(String),
}

impl PyInt {
    /// Build from a JSON integer literal (`-?(0|[1-9][0-9]*)`); `None` for any other text.
    pub fn from_literal(text: &str) -> Option<PyInt> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let well_formed = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !well_formed {
            return None;
        }
        Some(match text.parse::<i64>() {
            Ok(i) => PyInt::I64(i),
            Err(_) => PyInt::Big(text.to_owned()),
        })
    }

    /// The value as `i64` when it fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PyInt::I64(i) => Some(*i),
            PyInt::Big(_) => None,
        }
    }

    /// Python truthiness: only zero is falsy (a `Big` is never zero).
    pub fn is_zero(&self) -> bool {
        matches!(self, PyInt::I64(0))
    }
}

impl fmt::Display for PyInt {
    /// Python's `str(int)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyInt::I64(i) => write!(f, "{i}"),
            PyInt::Big(s) => f.write_str(s),
        }
    }
}

/// A Python `str`: a sequence of code points in which surrogates (U+D800..U+DFFF) may appear on
/// their own, as `json.loads` produces them from lone `\udXXX` escapes.
///
/// Stored as UTF-8 extended so that each surrogate code point gets its own three-byte sequence
/// (`ED A0..BF 80..BF`). Every code point is encoded separately, so the bytes correspond one to
/// one to Python's code point sequence: byte equality is `str` equality, byte order is code point
/// order, and the bytes are plain UTF-8 exactly when no surrogate is present, which makes
/// [`PyStr::to_str`] (Python's `s.encode()`) a borrow in the common case.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PyStr {
    bytes: Vec<u8>,
}

impl PyStr {
    /// An empty string.
    pub fn new() -> PyStr {
        PyStr::default()
    }

    /// Build from code points; `None` when one is above U+10FFFF (Python's `chr` range).
    pub fn from_code_points<I: IntoIterator<Item = u32>>(code_points: I) -> Option<PyStr> {
        let mut s = PyStr::new();
        for cp in code_points {
            if cp > 0x10FFFF {
                return None;
            }
            s.push_code_point(cp);
        }
        Some(s)
    }

    /// Python's `len(s)`: the number of code points (a lone surrogate counts one, and so does a
    /// character outside the BMP).
    pub fn len(&self) -> usize {
        self.bytes.iter().filter(|&&b| !is_continuation(b)).count()
    }

    /// `len(s) == 0`.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The string when it holds no surrogate, i.e. when Python's `s.encode()` would succeed.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// Python's `s.encode()` (UTF-8, `errors="strict"`): the text, or the `UnicodeEncodeError`
    /// Python raises for the first run of surrogates.
    pub fn to_str(&self) -> Result<&str, UnicodeEncodeError> {
        if let Some(s) = self.as_str() {
            return Ok(s);
        }
        let mut start = None;
        let mut first = 0;
        let mut end = 0;
        for (i, cp) in self.code_points().enumerate() {
            let surrogate = is_surrogate(cp);
            match (start, surrogate) {
                (None, true) => {
                    start = Some(i);
                    first = cp;
                    end = i + 1;
                }
                (Some(_), true) => end = i + 1,
                (Some(_), false) => break,
                (None, false) => {}
            }
        }
        Err(UnicodeEncodeError {
            start: start.unwrap_or(0),
            end,
            first,
        })
    }

    /// The code points, surrogates included.
    pub fn code_points(&self) -> CodePoints<'_> {
        CodePoints { bytes: &self.bytes }
    }

    /// The text with each lone surrogate replaced by U+FFFD (for logs, never for answers).
    pub fn to_string_lossy(&self) -> String {
        self.code_points()
            .map(|cp| char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    }

    fn push_code_point(&mut self, cp: u32) {
        let out = &mut self.bytes;
        if cp < 0x80 {
            out.push(cp as u8);
        } else if cp < 0x800 {
            out.push(0xC0 | (cp >> 6) as u8);
            out.push(0x80 | (cp & 0x3F) as u8);
        } else if cp < 0x10000 {
            out.push(0xE0 | (cp >> 12) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
            out.push(0x80 | (cp & 0x3F) as u8);
        } else {
            out.push(0xF0 | (cp >> 18) as u8);
            out.push(0x80 | ((cp >> 12) & 0x3F) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
            out.push(0x80 | (cp & 0x3F) as u8);
        }
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> PyStr {
        PyStr {
            bytes: s.as_bytes().to_vec(),
        }
    }
}

impl From<String> for PyStr {
    fn from(s: String) -> PyStr {
        PyStr {
            bytes: s.into_bytes(),
        }
    }
}

impl PartialEq<str> for PyStr {
    fn eq(&self, other: &str) -> bool {
        self.bytes == other.as_bytes()
    }
}

impl PartialEq<&str> for PyStr {
    fn eq(&self, other: &&str) -> bool {
        self.bytes == other.as_bytes()
    }
}

impl fmt::Debug for PyStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for cp in self.code_points() {
            match char::from_u32(cp) {
                Some(c) => {
                    for e in c.escape_debug() {
                        f.write_char(e)?;
                    }
                }
                None => write!(f, "\\u{{{cp:x}}}")?,
            }
        }
        f.write_char('"')
    }
}

/// Iterator over the code points of a [`PyStr`].
#[derive(Clone, Debug)]
pub struct CodePoints<'a> {
    bytes: &'a [u8],
}

impl Iterator for CodePoints<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (&lead, rest) = self.bytes.split_first()?;
        let (width, init) = match lead {
            0x00..=0x7F => (1, u32::from(lead)),
            0x80..=0xDF => (2, u32::from(lead & 0x1F)),
            0xE0..=0xEF => (3, u32::from(lead & 0x0F)),
            _ => (4, u32::from(lead & 0x07)),
        };
        let take = (width - 1).min(rest.len());
        let cp = rest[..take]
            .iter()
            .fold(init, |acc, &b| (acc << 6) | u32::from(b & 0x3F));
        self.bytes = &rest[take..];
        Some(cp)
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

fn is_surrogate(cp: u32) -> bool {
    (0xD800..=0xDFFF).contains(&cp)
}

/// What Python's `s.encode()` raises for a string holding surrogates: the first run of
/// consecutive surrogates, `start..end` in code points, and the first of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnicodeEncodeError {
    /// Code point index of the first surrogate (Python's `e.start`).
    pub start: usize,
    /// Index just past the run of consecutive surrogates (Python's `e.end`).
    pub end: usize,
    /// The surrogate at `start`.
    pub first: u32,
}

impl fmt::Display for UnicodeEncodeError {
    /// Python's `str(e)`: one character names it, a run gives the index range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.end == self.start + 1 {
            write!(
                f,
                "'utf-8' codec can't encode character '\\u{:04x}' in position {}: surrogates not allowed",
                self.first, self.start
            )
        } else {
            write!(
                f,
                "'utf-8' codec can't encode characters in position {}-{}: surrogates not allowed",
                self.start,
                self.end - 1
            )
        }
    }
}

impl std::error::Error for UnicodeEncodeError {}

/// A Python `dict` from JSON: `str` keys in order of first insertion. Inserting an existing key
/// replaces its value and keeps its position, as `d[k] = v` does.
#[derive(Clone, Default)]
pub struct PyDict {
    entries: Vec<(PyStr, PyValue)>,
    index: HashMap<PyStr, usize>,
}

impl PyDict {
    /// An empty dict.
    pub fn new() -> PyDict {
        PyDict::default()
    }

    /// `len(d)`.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `len(d) == 0`.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `d.get(key)`.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        self.get_key(&PyStr::from(key))
    }

    /// `d.get(key)` for a key that may hold surrogates.
    pub fn get_key(&self, key: &PyStr) -> Option<&PyValue> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// `d[key] = value`; returns the value it replaced.
    pub fn insert(&mut self, key: PyStr, value: PyValue) -> Option<PyValue> {
        match self.index.get(&key) {
            Some(&i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
                None
            }
        }
    }

    /// `d.items()` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&PyStr, &PyValue)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl PartialEq for PyDict {
    /// Python's `==` on dicts: same keys with equal values, order ignored.
    fn eq(&self, other: &PyDict) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get_key(k) == Some(v))
    }
}

impl fmt::Debug for PyDict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PyValue {
    /// A `str` value.
    pub fn str(text: &str) -> PyValue {
        PyValue::Str(PyStr::from(text))
    }

    /// A `dict` with these entries, in this order (a Python dict literal).
    pub fn dict<'a>(entries: impl IntoIterator<Item = (&'a str, PyValue)>) -> PyValue {
        let mut d = PyDict::new();
        for (k, v) in entries {
            d.insert(PyStr::from(k), v);
        }
        PyValue::Dict(d)
    }

    /// Python's `str(x)` as code points (a `str` keeps its lone surrogates; everything else is
    /// its `repr`, which escapes them).
    pub fn py_str(&self) -> PyStr {
        match self {
            PyValue::Str(s) => s.clone(),
            other => PyStr::from(other.py_repr().as_str()),
        }
    }

    /// Python's `repr(x)`.
    pub fn py_repr(&self) -> String {
        fn float(f: f64) -> String {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if f > 0.0 { "inf" } else { "-inf" }.into()
            } else {
                float_repr(f)
            }
        }
        fn string(s: &PyStr) -> String {
            crate::py::repr_code_points(s.code_points())
        }
        match self {
            PyValue::None => "None".into(),
            PyValue::Bool(true) => "True".into(),
            PyValue::Bool(false) => "False".into(),
            PyValue::Int(i) => i.to_string(),
            PyValue::Float(f) => float(*f),
            PyValue::Str(s) => string(s),
            PyValue::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(PyValue::py_repr)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            PyValue::Dict(d) => format!(
                "{{{}}}",
                d.iter()
                    .map(|(k, v)| format!("{}: {}", string(k), v.py_repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Python's `type(x).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Dict(_) => "dict",
        }
    }

    /// Python's `x.get(key)`: the value (or `None`) on a dict; on anything else the
    /// `AttributeError`, e.g. `'list' object has no attribute 'get'`.
    pub fn get(&self, key: &str) -> Result<Option<&PyValue>, PyException> {
        match self {
            PyValue::Dict(d) => Ok(d.get(key)),
            other => Err(PyException::new(
                "AttributeError",
                format!("'{}' object has no attribute 'get'", other.type_name()),
            )),
        }
    }

    /// Python's `x[key]` with a str key: the value on a dict (`KeyError` when missing); the
    /// `TypeError` a str, list or scalar raises, e.g. `'int' object is not subscriptable`.
    pub fn item(&self, key: &str) -> Result<&PyValue, PyException> {
        match self {
            PyValue::Dict(d) => d.get(key).ok_or_else(|| PyException::key_error(key)),
            PyValue::Str(_) => Err(PyException::new(
                "TypeError",
                "string indices must be integers, not 'str'",
            )),
            PyValue::List(_) => Err(PyException::new(
                "TypeError",
                "list indices must be integers or slices, not str",
            )),
            other => Err(PyException::new(
                "TypeError",
                format!("'{}' object is not subscriptable", other.type_name()),
            )),
        }
    }

    /// Python's `base64.b64decode(x)` of a decoded JSON value: a `str` as
    /// [`crate::py::b64decode`] (one that is not ASCII, lone surrogates included, is the
    /// `ValueError`); anything else the `TypeError` of `_bytes_from_decode_data`.
    pub fn b64decode(&self) -> Result<Vec<u8>, PyException> {
        match self {
            PyValue::Str(s) => match s.as_str() {
                Some(t) => crate::py::b64decode(t),
                None => Err(PyException::new(
                    "ValueError",
                    "string argument should contain only ASCII characters",
                )),
            },
            other => Err(PyException::new(
                "TypeError",
                format!(
                    "argument should be a bytes-like object or ASCII string, not '{}'",
                    other.type_name()
                ),
            )),
        }
    }

    /// Python's `bool(x)`: `None`, `False`, `0`, `0.0`, `-0.0`, `""`, `[]`, `{}` are falsy; NaN is
    /// truthy.
    pub fn is_truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(i) => !i.is_zero(),
            PyValue::Float(f) => *f != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::List(l) => !l.is_empty(),
            PyValue::Dict(d) => !d.is_empty(),
        }
    }

    /// Python's `len(x)`: code points of a `str`, items of a `list` or `dict`; otherwise the
    /// `TypeError`, e.g. `object of type 'int' has no len()`.
    pub fn py_len(&self) -> Result<usize, PyException> {
        match self {
            PyValue::Str(s) => Ok(s.len()),
            PyValue::List(l) => Ok(l.len()),
            PyValue::Dict(d) => Ok(d.len()),
            other => Err(PyException::new(
                "TypeError",
                format!("object of type '{}' has no len()", other.type_name()),
            )),
        }
    }

    /// The `str` inside, if this is one.
    pub fn as_py_str(&self) -> Option<&PyStr> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The `dict` inside, if this is one.
    pub fn as_dict(&self) -> Option<&PyDict> {
        match self {
            PyValue::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The `list` inside, if this is one.
    pub fn as_list(&self) -> Option<&[PyValue]> {
        match self {
            PyValue::List(l) => Some(l),
            _ => None,
        }
    }

    /// The same value as serde_json holds it, or `None` when serde_json cannot: a NaN or infinite
    /// float, a string or key with a lone surrogate, or an int outside `i64::MIN..=u64::MAX`
    /// (the workspace builds serde_json without `arbitrary_precision`). Ints stay ints and floats
    /// stay floats, so `pyjson::dumps` of the result equals [`dumps`] of `self`.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        use serde_json::{Map, Value};
        /// A container being converted: what is built so far and the children still to do.
        enum Open<'a> {
            List(Vec<Value>, std::slice::Iter<'a, PyValue>),
            Dict(
                Map<String, Value>,
                std::slice::Iter<'a, (PyStr, PyValue)>,
                String,
            ),
        }
        // Iterative, like the parser, so the deepest value `loads` accepts converts on any stack.
        let mut stack: Vec<Open<'_>> = Vec::new();
        let mut current = self;
        loop {
            let mut done = match current {
                PyValue::List(items) => {
                    stack.push(Open::List(Vec::with_capacity(items.len()), items.iter()));
                    None
                }
                PyValue::Dict(d) => {
                    let map = Map::with_capacity(d.len());
                    stack.push(Open::Dict(map, d.entries.iter(), String::new()));
                    None
                }
                PyValue::None => Some(Value::Null),
                PyValue::Bool(b) => Some(Value::Bool(*b)),
                PyValue::Int(PyInt::I64(i)) => Some(Value::from(*i)),
                PyValue::Int(PyInt::Big(s)) => Some(Value::from(s.parse::<u64>().ok()?)),
                PyValue::Float(f) => Some(Value::Number(serde_json::Number::from_f64(*f)?)),
                PyValue::Str(s) => Some(Value::String(s.as_str()?.to_owned())),
            };
            // Hand finished values to their containers until one has a child left to convert.
            loop {
                let Some(top) = stack.last_mut() else {
                    return done;
                };
                let child = match top {
                    Open::List(out, rest) => {
                        out.extend(done.take());
                        rest.next()
                    }
                    Open::Dict(out, rest, key) => {
                        if let Some(v) = done.take() {
                            out.insert(std::mem::take(key), v);
                        }
                        match rest.next() {
                            Some((k, v)) => {
                                *key = k.as_str()?.to_owned();
                                Some(v)
                            }
                            None => None,
                        }
                    }
                };
                match child {
                    Some(child) => {
                        current = child;
                        break;
                    }
                    None => {
                        done = Some(match stack.pop()? {
                            Open::List(out, _) => Value::Array(out),
                            Open::Dict(out, _, _) => Value::Object(out),
                        });
                    }
                }
            }
        }
    }

    /// The value Python's `json.loads` would give for serde_json's rendering of `v`: integers
    /// stay `int` (beyond `i64` as [`PyInt::Big`]), floats stay `float`.
    pub fn from_json(v: &serde_json::Value) -> PyValue {
        use serde_json::Value;
        match v {
            Value::Null => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => PyValue::Int(PyInt::I64(i)),
                (None, Some(u), _) => PyValue::Int(PyInt::Big(u.to_string())),
                (None, None, f) => PyValue::Float(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyValue::Str(PyStr::from(s.as_str())),
            Value::Array(items) => PyValue::List(items.iter().map(PyValue::from_json).collect()),
            Value::Object(map) => {
                let mut d = PyDict::new();
                for (k, v) in map {
                    d.insert(PyStr::from(k.as_str()), PyValue::from_json(v));
                }
                PyValue::Dict(d)
            }
        }
    }
}

/// The exception class `json.loads` raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadsErrorKind {
    /// `json.JSONDecodeError` (a `ValueError` subclass): malformed input.
    JsonDecodeError,
    /// Plain `ValueError`: an `int` literal longer than [`INT_MAX_STR_DIGITS`] digits.
    ValueError,
    /// `RecursionError`: nesting deeper than [`MAX_DEPTH`] (a documented approximation).
    RecursionError,
}

impl LoadsErrorKind {
    /// The Python class name, as `type(e).__name__` gives it.
    pub fn python_name(self) -> &'static str {
        match self {
            LoadsErrorKind::JsonDecodeError => "JSONDecodeError",
            LoadsErrorKind::ValueError => "ValueError",
            LoadsErrorKind::RecursionError => "RecursionError",
        }
    }

    /// Whether `except ValueError` catches it (true for `JSONDecodeError` too).
    pub fn is_value_error(self) -> bool {
        !matches!(self, LoadsErrorKind::RecursionError)
    }
}

/// Why [`loads`] failed, as Python reports it. For a `JSONDecodeError` (`kind`), `msg`, `pos`
/// (in code points), `lineno` and `colno` are Python's attributes of that name and `Display`
/// is `str(e)`, e.g. `Expecting value: line 1 column 1 (char 0)`. For the other kinds Python's
/// exception has no position: `Display` is the bare message, and `pos`/`lineno`/`colno` only tell
/// where the parser was (the number or the opening bracket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonDecodeError {
    /// The message without position (Python's `e.msg`).
    pub msg: String,
    /// Code point index in the input (Python's `e.pos`).
    pub pos: usize,
    /// 1-based line; only `\n` starts a line.
    pub lineno: usize,
    /// 1-based column in code points.
    pub colno: usize,
    /// Which Python exception this is.
    pub kind: LoadsErrorKind,
}

impl fmt::Display for JsonDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LoadsErrorKind::JsonDecodeError => write!(
                f,
                "{}: line {} column {} (char {})",
                self.msg, self.lineno, self.colno, self.pos
            ),
            _ => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for JsonDecodeError {}

/// What `except Exception as e` sees of a failed `json.loads`: `type(e).__name__`, `str(e)`.
impl From<JsonDecodeError> for PyException {
    fn from(e: JsonDecodeError) -> Self {
        PyException::new(e.kind.python_name(), e.to_string())
    }
}

/// Python's `json.loads(s)` for a `str` argument.
pub fn loads(s: &str) -> Result<PyValue, JsonDecodeError> {
    loads_with_max_depth(s, MAX_DEPTH)
}

/// [`loads`] with another nesting limit (`max_depth` containers accepted, one more fails).
pub fn loads_with_max_depth(s: &str, max_depth: usize) -> Result<PyValue, JsonDecodeError> {
    let to_error = |fail: Fail| {
        let (kind, msg, at) = match fail {
            Fail::Stop(at) => (
                LoadsErrorKind::JsonDecodeError,
                "Expecting value".into(),
                at,
            ),
            Fail::Raise(kind, msg, at) => (kind, msg, at),
        };
        make_error(s, kind, msg, at)
    };
    if s.starts_with('\u{feff}') {
        return Err(to_error(Fail::decode(
            "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            0,
        )));
    }
    let parser = Parser {
        b: s.as_bytes(),
        max_depth,
    };
    let start = parser.skip_ws(0);
    let (value, end) = parser.parse(start).map_err(to_error)?;
    let end = parser.skip_ws(end);
    if end != s.len() {
        return Err(to_error(Fail::decode("Extra data", end)));
    }
    Ok(value)
}

/// Python's `json.dumps(v)` with default arguments: ASCII only (`\uXXXX`, surrogate pairs for
/// astral characters, lone surrogates as themselves), `", "` and `": "`, `float.__repr__`, and
/// `NaN` / `Infinity` / `-Infinity` literals.
pub fn dumps(v: &PyValue) -> String {
    /// What is left to write, innermost last.
    enum Todo<'a> {
        Value(&'a PyValue),
        Key(&'a PyStr),
        Text(&'static str),
    }
    // Iterative so that the deepest value `loads` accepts renders on any stack.
    let mut out = String::with_capacity(64);
    let mut todo = vec![Todo::Value(v)];
    while let Some(item) = todo.pop() {
        match item {
            Todo::Text(t) => out.push_str(t),
            Todo::Key(k) => write_str(&mut out, k),
            Todo::Value(PyValue::None) => out.push_str("null"),
            Todo::Value(PyValue::Bool(true)) => out.push_str("true"),
            Todo::Value(PyValue::Bool(false)) => out.push_str("false"),
            Todo::Value(PyValue::Int(i)) => {
                let _ = write!(out, "{i}");
            }
            Todo::Value(PyValue::Float(f)) => out.push_str(&float_repr(*f)),
            Todo::Value(PyValue::Str(s)) => write_str(&mut out, s),
            Todo::Value(PyValue::List(items)) => {
                out.push('[');
                todo.push(Todo::Text("]"));
                for (i, item) in items.iter().enumerate().rev() {
                    todo.push(Todo::Value(item));
                    if i > 0 {
                        todo.push(Todo::Text(", "));
                    }
                }
            }
            Todo::Value(PyValue::Dict(d)) => {
                out.push('{');
                todo.push(Todo::Text("}"));
                for (i, (k, v)) in d.entries.iter().enumerate().rev() {
                    todo.push(Todo::Value(v));
                    todo.push(Todo::Text(": "));
                    todo.push(Todo::Key(k));
                    if i > 0 {
                        todo.push(Todo::Text(", "));
                    }
                }
            }
        }
    }
    out
}

/// Python's `json.dumps(v, indent=n)`: one item per line, indented `n` spaces per level, `","`
/// and `": "` as separators, empty containers as `[]` and `{}`; strings, numbers and literals
/// as [`dumps`] writes them. Recursive: callers pass values no deeper than [`MAX_DEPTH`].
pub fn dumps_indent(v: &PyValue, indent: usize) -> String {
    fn write(out: &mut String, v: &PyValue, indent: usize, level: usize) {
        let newline = |out: &mut String, level: usize| {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent * level));
        };
        match v {
            PyValue::List(items) if !items.is_empty() => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write(out, item, indent, level + 1);
                }
                newline(out, level);
                out.push(']');
            }
            PyValue::Dict(d) if !d.is_empty() => {
                out.push('{');
                for (i, (k, x)) in d.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write_str(out, k);
                    out.push_str(": ");
                    write(out, x, indent, level + 1);
                }
                newline(out, level);
                out.push('}');
            }
            scalar => out.push_str(&dumps(scalar)),
        }
    }
    let mut out = String::new();
    write(&mut out, v, indent, 0);
    out
}

fn write_str(out: &mut String, s: &PyStr) {
    out.push('"');
    for cp in s.code_points() {
        match cp {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x20..=0x7E => out.push(cp as u8 as char),
            0x10000.. => {
                let v = cp - 0x10000;
                let _ = write!(
                    out,
                    "\\u{:04x}\\u{:04x}",
                    0xD800 + (v >> 10),
                    0xDC00 + (v & 0x3FF)
                );
            }
            _ => {
                let _ = write!(out, "\\u{cp:04x}");
            }
        }
    }
    out.push('"');
}

/// Build the error at byte offset `at`, converting to Python's code point position, line and
/// column (`lineno` counts `\n` before `pos`; `colno` is `pos` minus the index of the last `\n`).
fn make_error(s: &str, kind: LoadsErrorKind, msg: String, at: usize) -> JsonDecodeError {
    let before = &s.as_bytes()[..at.min(s.len())];
    let count_chars = |bytes: &[u8]| bytes.iter().filter(|&&b| !is_continuation(b)).count();
    let pos = count_chars(before);
    let lineno = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let colno = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => count_chars(&before[nl + 1..]) + 1,
        None => pos + 1,
    };
    JsonDecodeError {
        msg,
        pos,
        lineno,
        colno,
        kind,
    }
}

/// How a scan fails. `Stop` is CPython's `StopIteration(idx)` ("no value starts here"), which
/// surfaces as `Expecting value` at that index however deep it happened. Offsets are in bytes
/// until [`make_error`] converts them.
enum Fail {
    Stop(usize),
    Raise(LoadsErrorKind, String, usize),
}

impl Fail {
    fn decode(msg: &str, at: usize) -> Fail {
        Fail::Raise(LoadsErrorKind::JsonDecodeError, msg.to_owned(), at)
    }
}

/// An open container while parsing: the items so far, or the dict so far and the key whose
/// value is being parsed.
enum Frame {
    List(Vec<PyValue>),
    Dict(PyDict, PyStr),
}

/// The scanner works on bytes. Every structural character is ASCII, so byte offsets stay on
/// character boundaries and map to CPython's code point offsets when an error is reported; the
/// bounds checks CPython makes in code points ("4 more characters after `\u`", "a character after
/// the `.`") only differ from byte checks when a non-ASCII character sits where an ASCII one is
/// required, and then both fail with the same error at the same place.
struct Parser<'a> {
    b: &'a [u8],
    max_depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    /// One JSON value starting at `idx` (no leading whitespace skipped, as in CPython's
    /// `scan_once`); returns it with the offset just past it. Containers are handled with an
    /// explicit stack instead of recursion.
    fn parse(&self, mut idx: usize) -> Result<(PyValue, usize), Fail> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // Scan a value at `idx`, or open a container and go on with its first value.
            let (mut value, mut next) = match self.b.get(idx) {
                None => return Err(Fail::Stop(idx)),
                Some(b'"') => {
                    let (s, next) = self.scan_string(idx)?;
                    (PyValue::Str(s), next)
                }
                Some(b'[') => {
                    self.enter(stack.len(), "array", idx)?;
                    let i = self.skip_ws(idx + 1);
                    if self.b.get(i) == Some(&b']') {
                        (PyValue::List(Vec::new()), i + 1)
                    } else {
                        stack.push(Frame::List(Vec::new()));
                        idx = i;
                        continue;
                    }
                }
                Some(b'{') => {
                    self.enter(stack.len(), "object", idx)?;
                    let i = self.skip_ws(idx + 1);
                    if self.b.get(i) == Some(&b'}') {
                        (PyValue::Dict(PyDict::new()), i + 1)
                    } else {
                        let (key, i) = self.scan_key(i)?;
                        stack.push(Frame::Dict(PyDict::new(), key));
                        idx = i;
                        continue;
                    }
                }
                Some(_) => self.scan_scalar(idx)?,
            };
            // Hand the value to the innermost open container; close containers as they end.
            loop {
                let Some(frame) = stack.pop() else {
                    return Ok((value, next));
                };
                let i = self.skip_ws(next);
                let delimiter = self.b.get(i).copied();
                match frame {
                    Frame::List(mut items) => {
                        items.push(value);
                        match delimiter {
                            Some(b']') => {
                                value = PyValue::List(items);
                                next = i + 1;
                            }
                            Some(b',') => {
                                stack.push(Frame::List(items));
                                idx = self.skip_ws(i + 1);
                                break;
                            }
                            _ => return Err(Fail::decode("Expecting ',' delimiter", i)),
                        }
                    }
                    Frame::Dict(mut dict, key) => {
                        dict.insert(key, value);
                        match delimiter {
                            Some(b'}') => {
                                value = PyValue::Dict(dict);
                                next = i + 1;
                            }
                            Some(b',') => {
                                let (key, after) = self.scan_key(self.skip_ws(i + 1))?;
                                stack.push(Frame::Dict(dict, key));
                                idx = after;
                                break;
                            }
                            _ => return Err(Fail::decode("Expecting ',' delimiter", i)),
                        }
                    }
                }
            }
        }
    }

    /// CPython's recursion guard on entering a container, with its message.
    fn enter(&self, open: usize, what: &str, at: usize) -> Result<(), Fail> {
        if open >= self.max_depth {
            return Err(Fail::Raise(
                LoadsErrorKind::RecursionError,
                format!("maximum recursion depth exceeded while decoding a JSON {what} from a unicode string"),
                at,
            ));
        }
        Ok(())
    }

    /// `"key"`, whitespace, `:`, whitespace; returns the key and the offset of its value.
    fn scan_key(&self, i: usize) -> Result<(PyStr, usize), Fail> {
        if self.b.get(i) != Some(&b'"') {
            return Err(Fail::decode(
                "Expecting property name enclosed in double quotes",
                i,
            ));
        }
        let (key, after) = self.scan_string(i)?;
        let colon = self.skip_ws(after);
        if self.b.get(colon) != Some(&b':') {
            return Err(Fail::decode("Expecting ':' delimiter", colon));
        }
        Ok((key, self.skip_ws(colon + 1)))
    }

    /// Literals and numbers; anything else is `Stop` (Expecting value) at `idx`.
    fn scan_scalar(&self, idx: usize) -> Result<(PyValue, usize), Fail> {
        let rest = &self.b[idx..];
        let constants: [(&[u8], PyValue); 6] = [
            (b"null", PyValue::None),
            (b"true", PyValue::Bool(true)),
            (b"false", PyValue::Bool(false)),
            (b"NaN", PyValue::Float(f64::NAN)),
            (b"Infinity", PyValue::Float(f64::INFINITY)),
            (b"-Infinity", PyValue::Float(f64::NEG_INFINITY)),
        ];
        for (literal, value) in constants {
            if rest.starts_with(literal) {
                return Ok((value, idx + literal.len()));
            }
        }
        self.scan_number(idx)
    }

    /// Longest match of `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?` at `start`; a `.` or exponent not
    /// followed by digits is left for the caller (it becomes `Extra data` or a delimiter error).
    fn scan_number(&self, start: usize) -> Result<(PyValue, usize), Fail> {
        let b = self.b;
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'1'..=b'9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some(b'0') => i += 1,
            _ => return Err(Fail::Stop(start)),
        }
        let mut is_float = false;
        if b.get(i) == Some(&b'.') && digit(i + 1) {
            is_float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(b.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if digit(j) {
                while digit(j) {
                    j += 1;
                }
                is_float = true;
                i = j;
            }
        }
        // The matched text is ASCII by construction.
        let text = std::str::from_utf8(&b[start..i]).unwrap_or("0");
        if is_float {
            // Rust's float parser rounds correctly, like CPython's; out of range gives ±inf/±0.
            return Ok((PyValue::Float(text.parse().unwrap_or(f64::NAN)), i));
        }
        let digits = text.len() - usize::from(text.starts_with('-'));
        if digits > INT_MAX_STR_DIGITS {
            return Err(Fail::Raise(
                LoadsErrorKind::ValueError,
                format!(
                    "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
                ),
                start,
            ));
        }
        let int = PyInt::from_literal(text).unwrap_or(PyInt::I64(0));
        Ok((PyValue::Int(int), i))
    }

    /// A string whose opening quote is at `quote`; returns it and the offset past the closing
    /// quote.
    fn scan_string(&self, quote: usize) -> Result<(PyStr, usize), Fail> {
        let b = self.b;
        let unterminated = || Fail::decode("Unterminated string starting at", quote);
        let mut out = PyStr::new();
        let mut end = quote + 1;
        loop {
            // Copy the run up to the next quote or backslash, refusing raw control characters.
            let mut next = end;
            loop {
                match b.get(next) {
                    None => return Err(unterminated()),
                    Some(b'"' | b'\\') => break,
                    Some(&c) if c <= 0x1F => {
                        return Err(Fail::decode("Invalid control character at", next))
                    }
                    Some(_) => next += 1,
                }
            }
            out.bytes.extend_from_slice(&b[end..next]);
            if b[next] == b'"' {
                return Ok((out, next + 1));
            }
            let backslash = next;
            let Some(&esc) = b.get(backslash + 1) else {
                return Err(unterminated());
            };
            if esc != b'u' {
                let c = match esc {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 0x08,
                    b'f' => 0x0C,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    _ => return Err(Fail::decode("Invalid \\escape", backslash)),
                };
                out.bytes.push(c);
                end = backslash + 2;
                continue;
            }
            // `\uXXXX`: CPython wants the four digits and at least one more character (the
            // closing quote at the earliest), and points at the `u` when it is unhappy.
            let u = backslash + 1;
            let invalid = |at: usize| Fail::decode("Invalid \\uXXXX escape", at);
            if u + 5 >= b.len() {
                return Err(invalid(u));
            }
            let mut cp = hex4(&b[u + 1..u + 5]).ok_or_else(|| invalid(u))?;
            end = u + 5;
            // A high surrogate directly followed by `\u` + low surrogate is one code point; if
            // the second escape is not a low surrogate it is scanned again on its own.
            if (0xD800..=0xDBFF).contains(&cp)
                && end + 6 < b.len()
                && b[end] == b'\\'
                && b[end + 1] == b'u'
            {
                let low = hex4(&b[end + 2..end + 6]).ok_or_else(|| invalid(end + 1))?;
                if (0xDC00..=0xDFFF).contains(&low) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    end += 6;
                }
            }
            out.push_code_point(cp);
        }
    }
}

/// Four hex digits (either case) as a number; `None` if any is not a hex digit.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        Some((acc << 4) | v)
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn dumps_indent_matches_cpython() {
        // json.dumps(v, indent=2) of CPython 3.11.
        for (src, want) in [
            (
                r#"{"a": [1, {"b": null}], "c": {}}"#,
                "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}",
            ),
            ("[]", "[]"),
            ("{}", "{}"),
            (
                r#"[1.5e16, NaN, "\u00e9\ud800", true]"#,
                "[\n  1.5e+16,\n  NaN,\n  \"\\u00e9\\ud800\",\n  true\n]",
            ),
            (r#"{"x": [[]]}"#, "{\n  \"x\": [\n    []\n  ]\n}"),
        ] {
            assert_eq!(dumps_indent(&loads(src).unwrap(), 2), want, "{src}");
        }
    }
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> String {
        loads(s).expect_err(s).to_string()
    }

    fn ok(s: &str) -> String {
        dumps(&loads(s).expect(s))
    }

    #[test]
    fn python_error_texts_and_positions() {
        // Expected strings are CPython 3.11's str(e).
        assert_eq!(err(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("[1,]"), "Expecting value: line 1 column 4 (char 3)");
        assert_eq!(
            err("{\"a\":1,}"),
            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"
        );
        assert_eq!(
            err("\u{feff}{}"),
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"
        );
        assert_eq!(err("1\n\n x"), "Extra data: line 3 column 2 (char 4)");
        assert_eq!(
            err("\"é\\u12\""),
            "Invalid \\uXXXX escape: line 1 column 4 (char 3)"
        );
        assert_eq!(
            err("[\"😀\" 1]"),
            "Expecting ',' delimiter: line 1 column 6 (char 5)"
        );
        assert_eq!(err("1."), "Extra data: line 1 column 2 (char 1)");
        assert_eq!(err("1e+"), "Extra data: line 1 column 2 (char 1)");
        assert_eq!(err(".5"), "Expecting value: line 1 column 1 (char 0)");
    }

    #[test]
    fn python_values() {
        assert_eq!(ok("1E5"), "100000.0");
        assert_eq!(ok("-0"), "0");
        assert_eq!(ok("-0.0"), "-0.0");
        assert_eq!(ok("1e400"), "Infinity");
        assert_eq!(ok("[NaN, -Infinity]"), "[NaN, -Infinity]");
        assert_eq!(
            ok("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(ok("{\"b\":1,\"a\":2,\"b\":3}"), "{\"b\": 3, \"a\": 2}");
        assert_eq!(ok("\"\\ud83d\\ude00\\ud800\""), "\"\\ud83d\\ude00\\ud800\"");
    }

    #[test]
    fn str_len_and_encode_follow_python() {
        let v = loads(r#""x\ud83d\ude00\udc00\ud800y\udfff""#).unwrap();
        let s = v.as_py_str().unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(
            s.to_str().unwrap_err().to_string(),
            "'utf-8' codec can't encode characters in position 2-3: surrogates not allowed"
        );
        let one = PyStr::from_code_points([0x61, 0xDFFF]).unwrap();
        assert_eq!(
            one.to_str().unwrap_err().to_string(),
            "'utf-8' codec can't encode character '\\udfff' in position 1: surrogates not allowed"
        );
        assert_eq!(PyStr::from("héllo").to_str(), Ok("héllo"));
    }

    #[test]
    fn python_helpers() {
        let v = loads(r#"{"question": [1, 0.0], "n": -0.0, "nan": NaN}"#).unwrap();
        let q = v.get("question").unwrap().unwrap();
        assert_eq!(q.py_len(), Ok(2));
        assert!(!q.as_list().unwrap()[1].is_truthy());
        assert!(!v.get("n").unwrap().unwrap().is_truthy());
        assert!(v.get("nan").unwrap().unwrap().is_truthy());
        assert_eq!(v.get("missing"), Ok(None));
        assert_eq!(
            q.get("x").unwrap_err(),
            PyException::new("AttributeError", "'list' object has no attribute 'get'")
        );
        assert_eq!(
            PyValue::Int(PyInt::I64(3)).py_len().unwrap_err(),
            PyException::new("TypeError", "object of type 'int' has no len()")
        );
        assert_eq!(v.to_json(), None, "NaN has no serde_json form");
        assert_eq!(
            loads("[18446744073709551615, 1.5]").unwrap().to_json(),
            Some(serde_json::json!([18446744073709551615u64, 1.5]))
        );
        assert_eq!(loads("18446744073709551616").unwrap().to_json(), None);
        assert_eq!(loads(r#"{"\ud800": 1}"#).unwrap().to_json(), None);
    }

    #[test]
    fn nesting_limit_is_an_error_not_a_crash() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let v = loads(&deep(MAX_DEPTH)).expect("MAX_DEPTH levels parse");
        // Rendering and converting the deepest accepted value must not overflow either.
        assert_eq!(dumps(&v).len(), 2 * MAX_DEPTH);
        assert!(v.to_json().is_some());
        let e = loads(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(e.kind, LoadsErrorKind::RecursionError);
        assert_eq!(
            e.to_string(),
            "maximum recursion depth exceeded while decoding a JSON array from a unicode string"
        );
        assert_eq!(e.pos, MAX_DEPTH);
        for text in [
            "[".repeat(100_000),
            "{\"a\":".repeat(100_000),
            "[{\"a\":".repeat(100_000),
            deep(100_000),
        ] {
            let e = loads(&text).unwrap_err();
            assert_eq!(e.kind, LoadsErrorKind::RecursionError);
        }
        // Which container trips the limit decides the message, as in CPython.
        let mixed = "[{\"a\":".repeat(1000);
        let want = if MAX_DEPTH % 2 == 0 {
            "array"
        } else {
            "object"
        };
        assert!(loads(&mixed).unwrap_err().msg.contains(want));
        assert!(loads_with_max_depth("[[]]", 1).is_err());
        assert!(loads_with_max_depth("[[]]", 2).is_ok());
    }

    #[test]
    fn long_ints_raise_value_error() {
        let e = loads(&"9".repeat(4301)).unwrap_err();
        assert_eq!(e.kind, LoadsErrorKind::ValueError);
        assert!(e.kind.is_value_error());
        assert!(e.to_string().starts_with("Exceeds the limit (4300 digits)"));
        assert!(loads(&format!("-{}", "9".repeat(4300))).is_ok());
    }

    /// A serde_json value with finite floats only, shallow enough for serde_json to re-read.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Mostly JSON-ish characters so the scanner gets deep into its states.
    fn jsonish() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(vec![
                    "[", "]", "{", "}", "\"", ",", ":", " ", "\n", "\\", "\\u", "\\ud800",
                    "\\udc00", "0", "1", "9", "-", "+", ".", "e", "E", "null", "true", "NaN",
                    "Infinity", "-Infinity", "é", "😀", "\u{1}", "\u{feff}", "\"a\":", "u", "d8",
                ])
                .prop_map(str::to_owned),
                1 => any::<char>().prop_map(String::from),
            ],
            0..48,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_and_reparses_its_own_dumps(s in prop_oneof![jsonish(), any::<String>()]) {
            if let Ok(v) = loads(&s) {
                // Python's json.loads(json.dumps(v)) gives v back; so must we.
                let text = dumps(&v);
                let again = loads(&text).expect("dumps output parses");
                prop_assert_eq!(dumps(&again), text);
            }
        }

        #[test]
        fn serde_json_output_loads_to_the_same_value(v in json_value()) {
            for text in [serde_json::to_string(&v).unwrap(), serde_json::to_string_pretty(&v).unwrap()] {
                let loaded = loads(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back = loaded.to_json();
                prop_assert_eq!(back.as_ref(), Some(&v));
                // Same key order and number kinds too, not only map equality.
                prop_assert_eq!(crate::pyjson::dumps(&back.unwrap()), dumps(&loaded));
                prop_assert_eq!(&loaded, &PyValue::from_json(&v));
            }
        }
    }
}
