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

/// Python's `repr(s)` for a `str`.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `int(s)` for a `str` in base 10: surrounding whitespace, an optional sign, digits
/// with single underscores between them. The error is Python's ValueError message.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let err = || format!("invalid literal for int() with base 10: {}", repr_str(s));
    let t = s.trim_matches(|c: char| c.is_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Err(err());
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude: i64 = clean.parse().map_err(|_| err())?;
    Ok(if neg { -magnitude } else { magnitude })
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
    }

    #[test]
    fn int_parsing_matches_python() {
        assert_eq!(parse_int(" 6379\n"), Ok(6379));
        assert_eq!(parse_int("+1_000"), Ok(1000));
        assert_eq!(parse_int("-7"), Ok(-7));
        assert_eq!(
            parse_int("abc"),
            Err("invalid literal for int() with base 10: 'abc'".into())
        );
        assert!(parse_int("1__0").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("6379.0").is_err());
    }
}
