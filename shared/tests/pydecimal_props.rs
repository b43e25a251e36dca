//! Property test: every `pydecimal` operation a handler performs on DynamoDB numbers returns
//! (a value or Python's exception) and never panics, over DynamoDB's whole range — 1 to 38
//! significant digits, magnitudes from 1E-130 to 9.99…E+125, either sign, zeros — and over text
//! DynamoDB would refuse (any string, huge exponents, specials). Also a few invariants Python
//! guarantees, so that "no panic" is not bought with wrong answers.

use manuel_shared::pydecimal::{int_add, int_sub, int_truediv, py_max, PyDecimal, PyNumber};
use manuel_shared::pyvalue::PyInt;
use proptest::prelude::*;
use std::cmp::Ordering;

/// Number text DynamoDB accepts, written the ways clients write it.
fn dynamodb_number() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("-"), Just("+")],
        "[1-9][0-9]{0,37}",
        -130i32..=125,
        0u8..4,
    )
        .prop_map(|(sign, digits, adjusted, style)| {
            let exp = adjusted - (digits.len() as i32 - 1);
            match style {
                0 => format!("{sign}{digits}E{exp:+}"),
                1 => format!("{sign}{}.{}e{}", &digits[..1], &digits[1..], adjusted),
                2 if exp >= 0 && digits.len() as i32 + exp <= 38 => {
                    format!("{sign}{digits}{}", "0".repeat(exp as usize))
                }
                2 if exp < 0 && exp > -60 => {
                    let e = (-exp) as usize;
                    if digits.len() > e {
                        let (i, f) = digits.split_at(digits.len() - e);
                        format!("{sign}{i}.{f}")
                    } else {
                        format!("{sign}0.{}{digits}", "0".repeat(e - digits.len()))
                    }
                }
                _ => format!("{sign}{digits}E{exp}"),
            }
        })
}

/// Anything a table could hand over as `N` text, valid or not.
fn any_number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => dynamodb_number(),
        1 => Just("0".to_owned()),
        1 => Just("-0".to_owned()),
        1 => "-?[0-9]{1,60}(\\.[0-9]{0,60})?([eE][-+]?[0-9]{1,25})?",
        1 => prop_oneof![
            Just("NaN"), Just("-NaN"), Just("sNaN"), Just("Infinity"), Just("-Infinity"),
            Just("1_0"), Just(" 3"), Just("0E-200"), Just("1E+999999999999"), Just("1E-999999999999"),
            Just("NaN12345678901234567890123456789012345678901"), Just(""),
        ]
        .prop_map(str::to_owned),
        1 => ".{0,40}",
    ]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        Just(5e-324),
        -1e3f64..1e3,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn operations_never_panic(
        a in any_number_text(),
        b in any_number_text(),
        i in any::<i64>(),
        j in any::<i64>(),
        f in any_f64(),
        ndigits in prop_oneof![-40i32..40, any::<i32>()],
    ) {
        let x = PyDecimal::from_dynamodb(&a);
        let y = PyDecimal::from_dynamodb(&b);
        let int = PyDecimal::from(i);
        let nums: Vec<PyNumber> = [&x, &y]
            .into_iter()
            .filter_map(|r| r.as_ref().ok().copied().map(PyNumber::Decimal))
            .chain([PyNumber::from(i), PyNumber::Float(f), PyNumber::from(0)])
            .collect();
        for d in [&x, &y].into_iter().filter_map(|r| r.as_ref().ok()) {
            let _ = d.to_dynamodb();
            let _ = d.to_f64();
            let _ = d.to_int();
            let _ = d.round(ndigits);
            let _ = d.round(1);
            let _ = d.to_string();
            for other in [y.as_ref().ok(), Some(&int)].into_iter().flatten() {
                let results = [
                    d.add(other),
                    d.sub(other),
                    d.mul(other),
                    d.div(other),
                    other.sub(d),
                    other.div(d),
                ];
                for r in results.into_iter().flatten() {
                    let _ = r.to_dynamodb();
                    let _ = r.round(1);
                    let _ = r.to_f64();
                    let _ = r.to_int();
                }
            }
            if let (Ok(p), Ok(q)) = (d.to_int(), int.to_int()) {
                let _ = int_add(&p, &q);
                let _ = int_sub(&p, &q);
            }
        }
        for p in &nums {
            for q in &nums {
                let _ = p.py_cmp(q);
                let _ = p.ge(q);
                let _ = py_max(p, q);
                let _ = p.to_f64();
            }
        }
        let _ = int_truediv(i, j);
        let _ = int_sub(&PyInt::I64(i), &PyInt::I64(j));
    }

    /// DynamoDB numbers boto3 reads without rounding come back as the same number; `+ 1` is
    /// exact below 28 digits and the counter text boto3 writes reads back as that sum.
    #[test]
    fn counters_round_trip(text in dynamodb_number()) {
        let Ok(d) = PyDecimal::from_dynamodb(&text) else {
            // Only numbers DYNAMODB_CONTEXT would have to round are refused, with the signal
            // boto3 traps: Underflow for subnormal digits below 1E-165, Rounded when only
            // trailing zeros fall below it (10…0E-166, as CPython and boto3 answer).
            let refused = PyDecimal::from_dynamodb(&text).unwrap_err();
            prop_assert!(["Underflow", "Rounded"].contains(&refused.kind.as_str()), "{}: {:?}", text, refused);
            return Ok(());
        };
        let again = PyDecimal::from_dynamodb(&d.to_string()).unwrap();
        prop_assert_eq!(PyNumber::Decimal(again).py_cmp(&PyNumber::Decimal(d)).unwrap(), Some(Ordering::Equal));
        let plus = d.add(&PyDecimal::from(1)).unwrap();
        let written = plus.to_dynamodb().unwrap();
        let read = PyDecimal::from_dynamodb(&written).unwrap();
        prop_assert_eq!(read.to_string(), plus.to_string());
        // ordering with ints is exact: d < floor(d) + 1
        let floor_plus_one = PyNumber::Int(int_add(&d.to_int().unwrap(), &PyInt::I64(1)).unwrap());
        let dn = PyNumber::Decimal(d);
        if !d.is_negative() {
            prop_assert!(floor_plus_one.gt(&dn).unwrap());
        }
    }
}
