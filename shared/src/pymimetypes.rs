//! Python 3.11's `mimetypes.guess_type(url)[0]` (strict, the default), for the handlers that
//! compare a file name's type with a detected one (`file_security.py`'s MIME consistency check).
//!
//! `mimetypes.init()` starts from the interpreter's tables (shared/src/pymimetypes_table.rs,
//! generated from the runtime's Python) and then reads every file of `knownfiles` that exists —
//! `/etc/mime.types` among them — so the answer depends on the machine, and the port reads the
//! same files in the same order. Written here rather than taken from a crate: `mime_guess` and
//! the like have their own tables and none of Python's quirks (`.tgz` → `.tar.gz`, case-sensitive
//! encodings, `data:` URLs, extensions from the files kept as written and looked up lower-cased).

use crate::pymimetypes_table::{ENCODINGS, SUFFIXES, TYPES};
use std::collections::HashMap;
use std::path::Path;

/// `mimetypes.knownfiles` on Linux, in the order `init()` reads them.
pub const KNOWN_FILES: [&str; 9] = [
    "/etc/mime.types",
    "/etc/httpd/mime.types",
    "/etc/httpd/conf/mime.types",
    "/etc/apache/mime.types",
    "/etc/apache2/mime.types",
    "/usr/local/etc/httpd/conf/mime.types",
    "/usr/local/lib/netscape/mime.types",
    "/usr/local/etc/httpd/conf/mime.types",
    "/usr/local/etc/mime.types",
];

/// A `MimeTypes` database as `init()` leaves it (strict table only: `guess_type` with
/// `strict=True` never looks elsewhere).
#[derive(Debug, Clone)]
pub struct MimeTypes {
    types: HashMap<String, String>,
}

impl Default for MimeTypes {
    fn default() -> Self {
        Self {
            types: TYPES
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

impl MimeTypes {
    /// `mimetypes.init()`: the defaults, then each known file that is a file.
    pub fn init() -> Self {
        let mut db = Self::default();
        for f in KNOWN_FILES {
            let p = Path::new(f);
            if p.is_file() {
                if let Ok(text) = std::fs::read_to_string(p) {
                    db.read_str(&text);
                }
            }
        }
        db
    }

    /// `MimeTypes.readfp`: per line, words split on whitespace, a word starting with `#` ends
    /// the line, then `add_type(words[0], "." + suffix)` for every other word.
    pub fn read_str(&mut self, text: &str) {
        for line in text.split("\r\n").flat_map(|l| l.split(['\r', '\n'])) {
            let mut words: Vec<&str> = line
                .split(crate::py::is_space)
                .filter(|w| !w.is_empty())
                .collect();
            if let Some(i) = words.iter().position(|w| w.starts_with('#')) {
                words.truncate(i);
            }
            let Some((ty, suffixes)) = words.split_first() else {
                continue;
            };
            for s in suffixes {
                self.types.insert(format!(".{s}"), (*ty).to_owned());
            }
        }
    }

    /// `guess_type(url)[0]`.
    pub fn guess_type(&self, url: &str) -> Option<String> {
        let (scheme, rest) = split_type(url);
        if scheme.as_deref() == Some("data") {
            let comma = rest.find(',')?;
            let head = &rest[..comma];
            let ty = match head.find(';') {
                Some(semi) => &head[..semi],
                None => head,
            };
            return Some(if ty.contains('=') || !ty.contains('/') {
                "text/plain".into()
            } else {
                ty.to_owned()
            });
        }
        let (mut base, mut ext) = splitext(rest);
        loop {
            let lower = ext.to_lowercase();
            let Some((_, to)) = SUFFIXES.iter().find(|(k, _)| *k == lower) else {
                break;
            };
            let joined = format!("{base}{to}");
            let (b, e) = splitext(&joined);
            (base, ext) = (b.to_owned(), e.to_owned());
        }
        if ENCODINGS.iter().any(|(k, _)| *k == ext) {
            let (b, e) = splitext(&base);
            (base, ext) = (b.to_owned(), e.to_owned());
        }
        let _ = base;
        self.types.get(&ext.to_lowercase()).cloned()
    }
}

/// `urllib.parse._splittype`: `([^/:]+):(.*)` at the start gives (scheme lower-cased, rest).
fn split_type(url: &str) -> (Option<String>, &str) {
    match url.find([':', '/']) {
        Some(i) if i > 0 && url.as_bytes()[i] == b':' => {
            (Some(url[..i].to_lowercase()), &url[i + 1..])
        }
        _ => (None, url),
    }
}

/// `posixpath.splitext`: the extension is the last dot's suffix of the last component, unless
/// the component is only leading dots before it.
pub fn splitext(p: &str) -> (String, String) {
    let sep = p.rfind('/').map(|i| i as isize).unwrap_or(-1);
    if let Some(dot) = p.rfind('.') {
        if dot as isize > sep {
            let start = (sep + 1) as usize;
            if p[start..dot].bytes().any(|b| b != b'.') {
                return (p[..dot].to_owned(), p[dot..].to_owned());
            }
        }
    }
    (p.to_owned(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> MimeTypes {
        MimeTypes::default()
    }

    #[test]
    fn extensions_suffix_maps_and_encodings() {
        let d = db();
        assert_eq!(d.guess_type("song.mp3").as_deref(), Some("audio/mpeg"));
        assert_eq!(d.guess_type("SONG.MP3").as_deref(), Some("audio/mpeg"));
        assert_eq!(d.guess_type("a.wav").as_deref(), Some("audio/x-wav"));
        assert_eq!(
            d.guess_type("x.tar.gz").as_deref(),
            Some("application/x-tar")
        );
        assert_eq!(d.guess_type("x.tgz").as_deref(), Some("application/x-tar"));
        assert_eq!(d.guess_type("x.TGZ").as_deref(), Some("application/x-tar"));
        // Encodings are case-sensitive: ".GZ" is an unknown type, not gzip.
        assert_eq!(d.guess_type("x.tar.GZ"), None);
        assert_eq!(d.guess_type("audio_upload"), None);
        assert_eq!(d.guess_type(".mp3"), None);
        assert_eq!(d.guess_type("..mp3"), None);
        assert_eq!(d.guess_type("a/.b.mp3").as_deref(), Some("audio/mpeg"));
        assert_eq!(d.guess_type("dir.mp3/file"), None);
    }

    #[test]
    fn schemes_and_data_urls() {
        let d = db();
        assert_eq!(
            d.guess_type("data:audio/ogg;base64,AAAA").as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(d.guess_type("DATA:x,1").as_deref(), Some("text/plain"));
        assert_eq!(d.guess_type("data:a=b/c,1").as_deref(), Some("text/plain"));
        assert_eq!(d.guess_type("data:audio/ogg"), None);
        assert_eq!(
            d.guess_type("http://h/x.pdf").as_deref(),
            Some("application/pdf")
        );
        assert_eq!(d.guess_type("c:x.mp3").as_deref(), Some("audio/mpeg"));
        assert_eq!(d.guess_type("/a:b.png").as_deref(), Some("image/png"));
    }

    #[test]
    fn files_add_types_as_written() {
        let mut d = db();
        d.read_str("audio/x-test tst TST # comment wav\r\naudio/other\tot2\rimage/q q1 #q2\n# all comment\n");
        assert_eq!(d.guess_type("a.tst").as_deref(), Some("audio/x-test"));
        assert_eq!(d.guess_type("a.ot2").as_deref(), Some("audio/other"));
        assert_eq!(d.guess_type("a.q1").as_deref(), Some("image/q"));
        assert_eq!(d.guess_type("a.q2"), None);
        // ".TST" was added as written, and lookups lower-case: the later upper-case entry
        // never matches, and "wav" after the comment is not added.
        assert_eq!(d.guess_type("a.wav").as_deref(), Some("audio/x-wav"));
        assert_eq!(d.guess_type("a.TST").as_deref(), Some("audio/x-test"));
    }
}
