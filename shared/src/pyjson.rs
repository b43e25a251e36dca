//! Byte-compatible rendering of Python's `json.dumps(obj)` with its default arguments.
//!
//! Python's encoder escapes every non-ASCII character (`ensure_ascii=True`, `\uXXXX` with
//! surrogate pairs, lowercase hex), separates items with `", "` and keys with `": "`, and renders
//! floats with `float.__repr__` (shortest round-trip digits, `1e-05`, `1e+16`, `5.0`). Clients
//! parse JSON, so parity compares bodies as values; producing the same bytes anyway keeps
//! `Content-Length`, ETags and log lines identical between the two implementations.

use serde_json::{Map, Number, Value};
use std::fmt::Write;

/// Serialise `value` exactly as Python's `json.dumps(value)` would (key order preserved).
pub fn dumps(value: &Value) -> String {
    let mut out = String::with_capacity(64);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(out, k);
        out.push_str(": ");
        write_value(out, v);
    }
    out.push('}');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&float_repr(f));
    }
}

/// Python's `repr(float)`: shortest digits that round-trip, positional notation when the decimal
/// exponent is in `-4 ..= 15`, scientific otherwise, `.0` appended to integral positional values.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let (negative, digits, exp10) = shortest_digits(f);
    // Value = 0.d1d2d3... × 10^decpt
    let decpt = exp10 + digits.len() as i32;
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            s.push_str("0.");
            for _ in 0..(-decpt) {
                s.push('0');
            }
            s.push_str(&digits);
        } else if decpt as usize >= digits.len() {
            s.push_str(&digits);
            for _ in 0..(decpt as usize - digits.len()) {
                s.push('0');
            }
            s.push_str(".0");
        } else {
            s.push_str(&digits[..decpt as usize]);
            s.push('.');
            s.push_str(&digits[decpt as usize..]);
        }
    } else {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(s, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    s
}

/// Shortest round-trip decimal digits of a finite non-zero float: (negative, digits, exponent)
/// such that |f| = digits × 10^exponent, digits without leading or trailing zeros.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f.abs());
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut exp10 = exp - frac_part.len() as i32;
    let leading = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading);
    while digits.ends_with('0') {
        digits.pop();
        exp10 += 1;
    }
    (f.is_sign_negative(), digits, exp10)
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_render_like_python_repr() {
        // Expected strings are what CPython 3.11 prints for repr(x).
        let cases = [
            (5.0, "5.0"),
            (0.1, "0.1"),
            (44.987, "44.987"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5, "-2.5"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.30000000000000004, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1234.5678, "1234.5678"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "repr({f:e})");
        }
    }

    #[test]
    fn dumps_uses_python_separators_and_ascii_escapes() {
        let v = json!({"a": [1, 2.0, null, true], "é": "naïve ☃ 𝄞\n\"q\"", "n": {"x": -3}});
        assert_eq!(
            dumps(&v),
            r#"{"a": [1, 2.0, null, true], "\u00e9": "na\u00efve \u2603 \ud834\udd1e\n\"q\"", "n": {"x": -3}}"#
        );
    }

    #[test]
    fn control_characters_and_del() {
        assert_eq!(dumps(&json!("\u{1}\u{7f}")), r#""\u0001\u007f""#);
    }
}
