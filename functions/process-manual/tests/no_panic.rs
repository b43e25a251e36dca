//! Property tests: any event shape gets an answer and never a panic (S3 and DynamoDB at a
//! closed port, as in an outage), and the security check decides on any bytes exactly by the
//! Python's rules: a signature in the first KiB, short audio, size.

use process_manual::scan::{detect, scan, SIGNATURES};
use process_manual::{process, Clients};
use proptest::prelude::*;
use serde_json::{json, Value};

fn clients(rt: &tokio::runtime::Runtime) -> Clients {
    rt.block_on(async {
        let conf = manuel_shared::aws::config_for_endpoint("http://127.0.0.1:9", "eu-west-1").await;
        Clients {
            s3: aws_sdk_s3::Client::new(&conf),
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
            agent: aws_sdk_bedrockagent::Client::new(&conf),
        }
    })
}

fn s3_record() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        "manuals/[a-zA-Z0-9 +%()é/._-]{0,30}".prop_map(Value::from),
        "[a-z%+]{0,10}".prop_map(Value::from),
        Just(json!(5)),
        Just(json!(null)),
    ];
    let bucket = prop_oneof![
        Just(json!("b")),
        Just(json!("")),
        Just(json!(7)),
        Just(json!([]))
    ];
    (key, bucket).prop_map(|(k, b)| {
        json!({"eventSource": "aws:s3", "s3": {"bucket": {"name": b}, "object": {"key": k}}})
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_event_is_answered(event in prop_oneof![
        manuel_shared::testkit::json_value(),
        prop::collection::vec(s3_record(), 0..4).prop_map(|r| json!({"Records": r})),
    ]) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = clients(&rt);
        let answer = rt.block_on(process_manual::answer(&event, &c));
        let status = answer["statusCode"].as_u64().unwrap();
        prop_assert!(status == 200 || status == 500);
        let _ = rt.block_on(process(&event, &c));
    }

    #[test]
    fn the_check_decides_by_signatures_short_audio_and_size(
        head in prop::collection::vec(any::<u8>(), 0..64),
        pad in 0usize..1200,
        sig in prop::option::of(0usize..6),
        max in 0i128..5000,
    ) {
        let mut data = head;
        data.extend(std::iter::repeat_n(b'.', pad));
        if let Some(i) = sig {
            data.extend_from_slice(SIGNATURES[i]);
        }
        let v = scan(&data, max, "", "300");
        let first_kib = &data[..data.len().min(1024)];
        let signed = SIGNATURES.iter().any(|s| first_kib.windows(s.len()).any(|w| w == *s));
        let short_audio = detect(&data).starts_with("audio/") && data.len() < 44;
        let expected = (data.len() as i128) <= max && !signed && !short_audio;
        prop_assert_eq!(v.valid, expected, "{:?}", v.threats);
    }
}
