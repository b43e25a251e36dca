//! Property tests of the transcribe port: any event gets an answer of the handler's shape (never
//! a panic) with AWS unreachable, and the upload check's verdict follows from its threats for any
//! bytes, declared type and file name.

use manuel_shared::magic::Library;
use manuel_shared::pymimetypes::MimeTypes;
use manuel_shared::pyvalue::PyValue;
use manuel_shared::testkit::{any_body, offline, proxy_event, request_string};
use proptest::prelude::*;
use serde_json::{json, Value};
use transcribe::security::{validate, Detector, Settings, Threat};
use transcribe::{handle, Clients, Detection, Env};

fn lib() -> &'static Library {
    static LIB: std::sync::OnceLock<Library> = std::sync::OnceLock::new();
    LIB.get_or_init(|| Library::load().expect("libmagic (scripts/setup.sh)"))
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| {
            use base64::Engine as _;
            Value::from(json!({"audio_data": base64::engine::general_purpose::STANDARD.encode(b), "content_type": "audio/mpeg"}).to_string())
        }),
        any_body(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered_in_the_handlers_shape(
        event in proxy_event(&["POST", "OPTIONS"], Just(json!("/api/transcribe")), body()),
    ) {
        let d = Detection { magic: lib().mime().ok(), types: MimeTypes::default() };
        let r = offline(async |conf| handle(&event, &Env::default(), &Clients::new(conf), &d).await);
        let status = r["statusCode"].as_u64().unwrap();
        prop_assert!([200, 400, 401, 429, 500].contains(&status), "{r}");
        prop_assert_eq!(r["headers"]["Access-Control-Allow-Origin"].as_str(), Some("*"));
        let parsed: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        prop_assert!(parsed.is_object(), "{r}");
        if status == 200 {
            prop_assert_eq!(event["httpMethod"].as_str(), Some("OPTIONS"));
        }
    }

    #[test]
    fn the_verdict_follows_from_the_threats(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        declared in prop_oneof![Just("audio/mpeg".to_owned()), Just("audio/wav".to_owned()), request_string()],
        name in prop_oneof![Just(PyValue::str("audio_upload")), request_string().prop_map(|s| PyValue::str(&s)), Just(PyValue::None)],
    ) {
        use base64::Engine as _;
        let magic = lib().mime().unwrap();
        let v = validate(
            &PyValue::str(&base64::engine::general_purpose::STANDARD.encode(&data)),
            &PyValue::str(&declared),
            &name,
            25,
            &Detector::Magic(&magic),
            &MimeTypes::default(),
            &Settings::default(),
        );
        let critical = v.threats.iter().any(|t| matches!(t, Threat::Malware | Threat::InvalidFormat | Threat::ForbiddenExtension));
        prop_assert_eq!(v.is_valid, !critical, "{:?}", v);
        prop_assert_eq!(v.size_bytes, data.len());
        if v.is_valid {
            prop_assert_eq!(v.data, data);
        }
    }
}
