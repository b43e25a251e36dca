//! Python's `urllib.parse.unquote` and `unquote_plus` (encoding UTF-8, errors `replace`), the one
//! percent-decoder of the workspace: the functions decode path parameters and S3 keys with it,
//! the CLI decodes S3 keys of presigned URLs and Bedrock model ids with it.
//!
//! CPython unquotes each run of ASCII characters to bytes (`%` + two hex digits is a byte, any
//! other `%` stays literal), decodes those bytes as UTF-8 with U+FFFD for invalid sequences, and
//! passes non-ASCII characters through. A raw non-ASCII character begins with a UTF-8 lead byte,
//! which can neither complete an escaped prefix before it nor be continued by escaped bytes
//! after it, so decoding the whole byte string at once gives the same text; the decoding itself
//! is the `percent-encoding` crate's, the replacement Rust's `from_utf8_lossy`, which follows the
//! same "maximal subpart" practice as CPython's decoder (checked against CPython by
//! `tests/unquote_corpus.rs`). Nothing here slices a `str`, so no input can panic it.

use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// `urllib.parse.unquote(s)`.
pub fn unquote(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// `urllib.parse.unquote_plus(s)`: `+` is a space, then [`unquote`] (how S3 notifications carry
/// object keys).
pub fn unquote_plus(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(unquote(&s.replace('+', " ")).into_owned())
    } else {
        unquote(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_invalid_escapes_and_replacement() {
        assert_eq!(unquote("manuals%2Fuser-1%2Fx.pdf"), "manuals/user-1/x.pdf");
        assert_eq!(unquote("a%zzb%2"), "a%zzb%2");
        assert_eq!(unquote("%C3%BC%FF"), "ü\u{fffd}");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("%"), "%");
        assert_eq!(unquote("%%41"), "%A");
    }

    #[test]
    fn a_percent_before_non_ascii_stays_literal() {
        // The class that made the manuals function panic (a `&str` sliced inside `ü`).
        assert_eq!(unquote("%ü"), "%ü");
        assert_eq!(unquote("%aü"), "%aü");
        assert_eq!(unquote("x%\u{1F600}%41"), "x%\u{1F600}A");
        assert_eq!(unquote("%C3ü"), "\u{fffd}ü");
    }

    #[test]
    fn plus_is_a_space_only_in_unquote_plus() {
        assert_eq!(unquote("a+b%2B"), "a+b+");
        assert_eq!(unquote_plus("a+b%2B"), "a b+");
        assert_eq!(unquote_plus("My+Manual%28v2%29.pdf"), "My Manual(v2).pdf");
    }
}
