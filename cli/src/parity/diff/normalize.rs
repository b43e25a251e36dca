//! Normalisers: values reduced to a token both sides share when they mean the same (a presigned
//! URL's bucket, key and expiry; a time near now; a UUID; a stack variable).

use super::*;
use crate::parity::rules::{Normalizer, Rule};

/// Reduce a value to a token that is equal for both sides when the normalizer recognises it.
pub(super) fn normalize(n: Normalizer, rule: &Rule, v: &Value, ctx: &SideCtx) -> Option<String> {
    let window = rule.window_s as f64;
    match n {
        Normalizer::EpochNearNow => {
            let x = match v {
                Value::Number(num) => num.as_f64()?,
                Value::String(s) => s.trim().parse::<f64>().ok()?,
                _ => return None,
            };
            let at = (ctx.at + rule.offset_s) as f64;
            if (x - at).abs() <= window {
                Some("<epoch≈now>".into())
            } else if (x / 1000.0 - at).abs() <= window {
                Some("<epoch_ms≈now>".into())
            } else {
                None
            }
        }
        Normalizer::IsoNearNow => {
            let s = v.as_str()?;
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp())
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|d| d.and_utc().timestamp())
                })
                .ok()?;
            ((t - ctx.at).abs() as f64 <= window).then(|| "<iso≈now>".into())
        }
        Normalizer::EpochInText => {
            static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            let re = RE.get_or_init(|| regex::Regex::new(r"\b\d{10}\b").expect("epoch regex"));
            let s = v.as_str()?;
            let mut hit = false;
            let out = re.replace_all(s, |c: &regex::Captures<'_>| {
                let n: i64 = c[0].parse().unwrap_or(0);
                if ((n - ctx.at).abs() as f64) <= window {
                    hit = true;
                    "<epoch≈now>".to_owned()
                } else {
                    c[0].to_owned()
                }
            });
            hit.then(|| out.into_owned())
        }
        Normalizer::Uuid => {
            let s = v.as_str()?;
            let re = uuid_re();
            re.is_match(s)
                .then(|| re.replace_all(s, "<uuid>").into_owned())
        }
        Normalizer::PresignedUrl => presigned(v.as_str()?, ctx.at),
        Normalizer::StackVar => {
            let want = ctx.vars.get(rule.var.as_deref()?)?;
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            (&s == want).then(|| format!("<{}>", rule.var.as_deref().unwrap_or("")))
        }
        Normalizer::TracebackLastLine => {
            let s = v.as_str()?;
            let frames = s.strip_prefix("Traceback (most recent call last):\n")?;
            let last = frames.lines().rev().find(|l| !l.trim().is_empty())?;
            Some(format!("<traceback> {last}"))
        }
    }
}

pub(super) fn uuid_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        // A uuid in its text form, or `uuid.uuid4().hex` (version nibble 4, RFC 4122 variant).
        regex::Regex::new(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\b[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}\b",
        )
        .expect("uuid regex")
    })
}

/// `s3://bucket/key?expires=N` for SigV2 (`Expires=<epoch>`) and SigV4 (`X-Amz-Expires=<s>`)
/// presigned URLs, virtual-hosted or path-style.
pub(super) fn presigned(url: &str, at: i64) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let path = parsed.path().trim_start_matches('/');
    let (bucket, key) = match host.find(".s3") {
        Some(i) if i > 0 => (host[..i].to_owned(), path.to_owned()),
        _ => {
            let (b, k) = path.split_once('/')?;
            (b.to_owned(), k.to_owned())
        }
    };
    let key = manuel_shared::url::unquote(&key);
    let mut expires = None;
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "X-Amz-Expires" => expires = v.parse::<i64>().ok(),
            // SigV2 carries an absolute expiry, not the signing time: relative to "now", to the
            // nearest 5 minutes, because a warm handler's (pinned, then running) clock may be
            // a minute or two past the case's clock by the time it signs.
            "Expires" => {
                expires = v
                    .parse::<i64>()
                    .ok()
                    .map(|e| ((e - at) as f64 / 300.0).round() as i64 * 300)
            }
            _ => {}
        }
    }
    let mut out = format!("s3://{bucket}/{key}");
    if let Some(e) = expires {
        let _ = write!(out, "?expires={e}");
    }
    Some(out)
}
