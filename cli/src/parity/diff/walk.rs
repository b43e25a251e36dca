//! The walk over two JSON values (and text, bytes, images), rules applied on the way.

use super::normalize::normalize;
use super::*;
use crate::parity::rules::{Action, Rule};

pub(super) struct Walker<'a, 'b> {
    pub(super) rules: &'a [&'a Rule],
    pub(super) input: &'a DiffInput<'b>,
    pub(super) out: Vec<Difference>,
    pub(super) path: String,
}

impl Walker<'_, '_> {
    pub(super) fn applicable(&self, path: &str) -> impl Iterator<Item = &&Rule> {
        let path = path.to_owned();
        self.rules.iter().filter(move |r| r.path.matches(&path))
    }

    pub(super) fn ignored(&self, path: &str) -> bool {
        self.applicable(path).any(|r| r.action == Action::Ignore)
    }

    pub(super) fn push_at(
        &mut self,
        path: &str,
        kind: Kind,
        python: Option<Value>,
        rust: Option<Value>,
        detail: Option<String>,
    ) {
        if self.ignored(path) {
            return;
        }
        let class = classify(self.input, path);
        self.out.push(Difference {
            path: path.to_owned(),
            kind,
            python,
            rust,
            detail,
            class,
        });
    }

    pub(super) fn leaf_at(&mut self, path: &str, a: &Value, b: &Value) {
        let saved = std::mem::replace(&mut self.path, path.to_owned());
        self.walk(a, b);
        self.path = saved;
    }

    pub(super) fn push(
        &mut self,
        kind: Kind,
        a: Option<&Value>,
        b: Option<&Value>,
        detail: Option<String>,
    ) {
        let path = self.path.clone();
        self.push_at(&path, kind, a.cloned(), b.cloned(), detail);
    }

    pub(super) fn walk(&mut self, a: &Value, b: &Value) {
        match (a, b) {
            (Value::Object(ma), Value::Object(mb)) => {
                let len = self.path.len();
                for (k, va) in ma {
                    push_key(&mut self.path, k);
                    match mb.get(k) {
                        Some(vb) => self.walk(va, vb),
                        None => self.push(Kind::Missing, Some(va), None, None),
                    }
                    self.path.truncate(len);
                }
                for (k, vb) in mb {
                    if !ma.contains_key(k) {
                        push_key(&mut self.path, k);
                        self.push(Kind::Extra, None, Some(vb), None);
                        self.path.truncate(len);
                    }
                }
            }
            (Value::Array(xa), Value::Array(xb)) => self.walk_array(xa, xb),
            _ => self.compare_leaf(a, b),
        }
    }

    pub(super) fn walk_array(&mut self, xa: &[Value], xb: &[Value]) {
        if xa == xb {
            return;
        }
        let path = self.path.clone();
        let unordered = self
            .applicable(&path)
            .any(|r| r.action == Action::Unordered);
        if xa.len() == xb.len() && multiset_eq(xa, xb) {
            if !unordered {
                self.push(
                    Kind::Order,
                    None,
                    None,
                    Some(format!("{} elements in another order", xa.len())),
                );
            }
            return;
        }
        if xa.len() != xb.len() {
            self.push(
                Kind::Length,
                Some(&Value::from(xa.len())),
                Some(&Value::from(xb.len())),
                None,
            );
        }
        let len = self.path.len();
        for (i, (va, vb)) in xa.iter().zip(xb.iter()).enumerate() {
            let _ = write!(self.path, "[{i}]");
            self.walk(va, vb);
            self.path.truncate(len);
        }
    }

    /// Compare two byte strings as PNG images when both are; `false` when they are not images.
    pub(super) fn compare_images(&mut self, path: &str, a: &[u8], b: &[u8]) -> bool {
        if !(crate::parity::image::is_png(a) && crate::parity::image::is_png(b)) {
            return false;
        }
        let tolerance = self
            .applicable(path)
            .find(|r| r.action == Action::Pixels)
            .map(|r| r.pixels)
            .unwrap_or_default();
        if let Some(shift) = tolerance.max_box_shift {
            match crate::parity::image::compare_boxes(a, b, shift) {
                Ok(None) => {}
                Ok(Some(why)) | Err(crate::parity::image::ImageError(why)) => {
                    self.push_at(path, Kind::Pixels, None, None, Some(why));
                    return true;
                }
            }
        }
        match crate::parity::image::compare(a, b) {
            Ok(stats) if stats.within(&tolerance) => {}
            Ok(stats) => self.push_at(path, Kind::Pixels, None, None, Some(stats.summary())),
            Err(why) => self.push_at(path, Kind::Pixels, None, None, Some(why.to_string())),
        }
        true
    }

    pub(super) fn compare_leaf(&mut self, a: &Value, b: &Value) {
        if a == b {
            return;
        }
        let path = self.path.clone();
        const DATA_PNG: &str = "data:image/png;base64,";
        if let (Some(x), Some(y)) = (
            a.as_str().and_then(|s| s.strip_prefix(DATA_PNG)),
            b.as_str().and_then(|s| s.strip_prefix(DATA_PNG)),
        ) {
            if self.compare_images(&path, &b64(x), &b64(y)) {
                return;
            }
        }
        let rules: Vec<&Rule> = self.applicable(&path).copied().collect();
        if rules.iter().any(|r| r.action == Action::Ignore) {
            return;
        }
        for r in rules.iter().filter(|r| r.action == Action::Normalize) {
            let (Some(n), ctx_a, ctx_b) = (r.normalizer, self.input.python, self.input.rust) else {
                continue;
            };
            let na = normalize(n, r, a, ctx_a);
            let nb = normalize(n, r, b, ctx_b);
            if na.is_some() && na == nb {
                return;
            }
        }
        if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
            for r in rules.iter().filter(|r| r.action == Action::Tolerance) {
                let diff = (x - y).abs();
                let abs_ok = r.abs.is_some_and(|t| diff <= t);
                let rel_ok = r.rel.is_some_and(|t| diff <= t * x.abs().max(y.abs()));
                if abs_ok || rel_ok {
                    return;
                }
            }
        }
        let kind = if type_name(a) == type_name(b) {
            Kind::Value
        } else {
            Kind::Type
        };
        self.push(kind, Some(a), Some(b), None);
    }
}

pub(super) fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_else(|_| s.as_bytes().to_vec())
}

pub(super) fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..8])
}

pub(super) fn push_key(path: &mut String, key: &str) {
    // State entries are named by their label, bracketed as it is, so that a path reads like
    // `$state.dynamodb[user_id=u1,date=2026-11-27].daily_count` and can be pasted into a rule.
    if matches!(
        path.as_str(),
        "$state.dynamodb" | "$state.s3" | "$state.redis"
    ) {
        path.push('[');
        path.push_str(key);
        path.push(']');
        return;
    }
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::to_string(key).unwrap_or_default());
        path.push(']');
    }
}

/// JSON type names, telling ints from floats as Python does.
pub fn type_name(v: &Value) -> &'static str {
    manuel_shared::py::type_name(v)
}

pub(super) fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    let key = |v: &Value| v.to_string();
    let mut ka: Vec<String> = a.iter().map(key).collect();
    let mut kb: Vec<String> = b.iter().map(key).collect();
    ka.sort_unstable();
    kb.sort_unstable();
    ka == kb
}
