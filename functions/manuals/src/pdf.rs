//! The page count the Python function gets from PyMuPDF (`fitz.open(stream=…).page_count`,
//! 0 when the document cannot be opened).
//!
//! Read from the document's own objects: the largest `/Count` of a `/Type /Pages` node (the
//! root of the page tree), else the number of `/Type /Page` leaves. When the plain bytes hold no
//! page tree (PDF 1.5 object streams), the Flate-compressed streams are inflated (at most
//! 32 MiB in all) and searched the same way. Not a PDF engine: a document PyMuPDF would repair
//! or that uses other filters for its object streams can count differently.

fn is_delim(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'/' | b'<' | b'>' | b'[' | b']' | b'(' | b')' | b'%')
}

/// Positions right after each `/Type /NAME` (NAME exact, not a prefix of a longer name).
fn type_positions(doc: &[u8], name: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let pat = b"/Type";
    let mut i = 0;
    while i + pat.len() <= doc.len() {
        if &doc[i..i + pat.len()] == pat {
            let mut j = i + pat.len();
            while j < doc.len() && doc[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < doc.len() && doc[j] == b'/' {
                let start = j + 1;
                let end = start + name.len();
                if end <= doc.len()
                    && &doc[start..end] == name
                    && (end == doc.len() || is_delim(doc[end]))
                {
                    out.push(end);
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The dictionary (`<< … >>`) enclosing position `pos`, as a byte range.
fn enclosing_dict(doc: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut depth = 0i32;
    let mut i = pos;
    let start = loop {
        if i < 2 {
            return None;
        }
        i -= 1;
        if doc[i] == b'<' && doc[i - 1] == b'<' {
            if depth == 0 {
                break i - 1;
            }
            depth -= 1;
            i -= 1;
        } else if doc[i] == b'>' && doc[i - 1] == b'>' {
            depth += 1;
            i -= 1;
        }
    };
    let mut depth = 0i32;
    let mut j = start;
    while j + 1 < doc.len() {
        if doc[j] == b'<' && doc[j + 1] == b'<' {
            depth += 1;
            j += 2;
        } else if doc[j] == b'>' && doc[j + 1] == b'>' {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return Some((start, j));
            }
        } else {
            j += 1;
        }
    }
    None
}

fn count_in(dict: &[u8]) -> Option<i64> {
    let pat = b"/Count";
    let i = dict.windows(pat.len()).position(|w| w == pat)?;
    let rest = &dict[i + pat.len()..];
    let rest: Vec<u8> = rest
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .collect();
    std::str::from_utf8(&rest).ok()?.parse().ok()
}

/// The contents of the document's streams that inflate with zlib (object streams among them).
fn inflated_streams(doc: &[u8]) -> Vec<u8> {
    use std::io::Read;
    const BUDGET: u64 = 32 * 1024 * 1024;
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = find(&doc[i..], b"stream") {
        let mut start = i + off + b"stream".len();
        if doc[..i + off].ends_with(b"end") {
            i = start;
            continue;
        }
        if doc.get(start) == Some(&b'\r') {
            start += 1;
        }
        if doc.get(start) == Some(&b'\n') {
            start += 1;
        }
        let end = find(&doc[start..], b"endstream").map_or(doc.len(), |e| start + e);
        let left = BUDGET.saturating_sub(out.len() as u64);
        if left == 0 {
            break;
        }
        let mut dec = flate2::read::ZlibDecoder::new(&doc[start..end]).take(left);
        let mut buf = Vec::new();
        if dec.read_to_end(&mut buf).is_ok() || !buf.is_empty() {
            out.push(b' ');
            out.extend_from_slice(&buf);
        }
        i = end;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// PyMuPDF's page count for a stored object body.
pub fn page_count(doc: &[u8]) -> i64 {
    if doc.len() < 8 || !doc.windows(5).any(|w| w == b"%PDF-") {
        return 0;
    }
    match count_plain(doc) {
        0 => count_plain(&inflated_streams(doc)),
        n => n,
    }
}

fn count_plain(doc: &[u8]) -> i64 {
    let from_tree = type_positions(doc, b"Pages")
        .into_iter()
        .filter_map(|p| enclosing_dict(doc, p))
        .filter_map(|(s, e)| count_in(&doc[s..e]))
        .max();
    match from_tree {
        Some(n) if n > 0 => n,
        _ => type_positions(doc, b"Page").len() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pages() {
        let doc = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj << /Type/Page /Parent 2 0 R /Resources << /Font << >> >> >> endobj\n%%EOF";
        assert_eq!(page_count(doc), 2);
        assert_eq!(page_count(b"hello world, not a pdf"), 0);
        assert_eq!(page_count(b"%PDF-1.4 stub"), 0);
        assert_eq!(page_count(b""), 0);
        let leaves = b"%PDF-1.4\n<< /Type /Page >> << /Type /Page >> << /Type /Pages >>";
        assert_eq!(page_count(leaves), 2);
        // A page tree inside a compressed object stream.
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>")
            .unwrap();
        let packed = z.finish().unwrap();
        let mut doc =
            b"%PDF-1.5\n7 0 obj << /Type /ObjStm /Filter /FlateDecode >>\nstream\n".to_vec();
        doc.extend_from_slice(&packed);
        doc.extend_from_slice(b"\nendstream endobj\n%%EOF");
        assert_eq!(page_count(&doc), 3);
    }
}
