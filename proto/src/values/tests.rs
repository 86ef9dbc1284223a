use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn ranges(pairs: &[(u64, u64)]) -> Ranges {
    Ranges::new(pairs.iter().map(|&(begin, end)| Range::new(begin, end))).unwrap()
}

fn pairs(ranges: &Ranges) -> Vec<(u64, u64)> {
    ranges.as_slice().iter().map(|r| (r.begin, r.end)).collect()
}

fn set(items: &[&str]) -> Set {
    Set::new(items.iter().copied()).unwrap()
}

fn scalar(value: f64) -> Scalar {
    Scalar::from_f64(value).unwrap()
}

#[test]
fn scalars_round_to_thousandths_so_sums_do_not_drift() {
    assert_eq!(scalar(0.1) + scalar(0.2), scalar(0.3));
    assert_eq!(scalar(0.0004), Scalar::ZERO);
    assert_eq!(scalar(0.0005).millis(), 1);
    assert_eq!(scalar(2.5).value(), 2.5);
    let mut total = Scalar::ZERO;
    for _ in 0..10 {
        total += scalar(0.1);
    }
    assert_eq!(total, Scalar::from_units(1));
}

#[test]
fn scalars_refuse_nan_infinity_and_huge_values() {
    assert!(matches!(
        Scalar::from_f64(f64::NAN),
        Err(ValueError::NotFinite { .. })
    ));
    assert!(matches!(
        Scalar::from_f64(f64::NEG_INFINITY),
        Err(ValueError::NotFinite { .. })
    ));
    assert!(matches!(
        Scalar::from_f64(1e17),
        Err(ValueError::ScalarOutOfRange { .. })
    ));
    assert!(Scalar::from_f64(-1.5).unwrap().is_negative());
}

#[test]
fn scalar_arithmetic_saturates() {
    let max = Scalar::from_millis(i64::MAX);
    assert_eq!(max + Scalar::from_units(1), max);
    assert_eq!(
        Scalar::from_millis(i64::MIN) - Scalar::from_units(1),
        Scalar::from_millis(i64::MIN)
    );
}

#[test]
fn scalar_display_is_exact_without_trailing_zeros() {
    assert_eq!(scalar(2.0).to_string(), "2");
    assert_eq!(scalar(0.5).to_string(), "0.5");
    assert_eq!(scalar(1024.125).to_string(), "1024.125");
    assert_eq!(scalar(0.01).to_string(), "0.01");
    assert_eq!(scalar(-1.25).to_string(), "-1.25");
    assert_eq!(
        Scalar::from_millis(i64::MIN).to_string(),
        "-9223372036854775.808"
    );
}

#[test]
fn scalar_json_is_a_value_object_and_accepts_strings() {
    assert_eq!(
        serde_json::to_string(&scalar(2.0)).unwrap(),
        r#"{"value":2.0}"#
    );
    let read = |json| serde_json::from_str::<Scalar>(json);
    assert_eq!(read(r#"{"value":0.5}"#).unwrap(), scalar(0.5));
    assert_eq!(read(r#"{"value":"0.5"}"#).unwrap(), scalar(0.5));
    assert!(read(r#"{"value":"NaN"}"#).is_err());
    assert!(read(r#"{"value":"lots"}"#).is_err());
}

#[test]
fn scalar_binary_is_exact_thousandths() {
    let value = Scalar::from_millis(123_456_789_012);
    let bytes = postcard::to_allocvec(&value).unwrap();
    assert_eq!(bytes, postcard::to_allocvec(&123_456_789_012_i64).unwrap());
    assert_eq!(postcard::from_bytes::<Scalar>(&bytes).unwrap(), value);
}

#[test]
fn ranges_coalesce_touching_and_refuse_overlapping() {
    assert_eq!(pairs(&ranges(&[(4, 5), (1, 3)])), vec![(1, 5)]);
    assert_eq!(
        Ranges::new([Range::new(1, 5), Range::new(5, 8)]),
        Err(ValueError::OverlappingRanges {
            first: Range::new(1, 5),
            second: Range::new(5, 8),
        })
    );
    assert_eq!(
        Ranges::new([Range::new(9, 2)]),
        Err(ValueError::InvertedRange { begin: 9, end: 2 })
    );
    let merged = Ranges::merging([Range::new(1, 5), Range::new(3, 8), Range::new(20, 20)]);
    assert_eq!(pairs(&merged.unwrap()), vec![(1, 8), (20, 20)]);
    assert_eq!(
        pairs(&ranges(&[(u64::MAX, u64::MAX), (0, u64::MAX - 1)])),
        vec![(0, u64::MAX)]
    );
}

#[test]
fn ranges_refuse_too_many() {
    let many = (0..=MAX_RANGES as u64).map(|n| Range::new(n * 2, n * 2));
    assert_eq!(
        Ranges::new(many),
        Err(ValueError::TooManyRanges { limit: MAX_RANGES })
    );
}

#[test]
fn ranges_union_difference_and_containment() {
    let mut total = ranges(&[(1, 10), (20, 30)]);
    total += &ranges(&[(11, 12), (25, 40)]);
    assert_eq!(pairs(&total), vec![(1, 12), (20, 40)]);

    total -= &ranges(&[(3, 4), (12, 22), (40, 50)]);
    assert_eq!(pairs(&total), vec![(1, 2), (5, 11), (23, 39)]);

    assert!(total.contains(&ranges(&[(5, 6), (30, 39)])));
    assert!(!total.contains(&ranges(&[(10, 12)])));
    assert!(total.contains(&Ranges::default()));
    assert!(!Ranges::default().contains(&ranges(&[(1, 1)])));

    let mut edge = ranges(&[(0, u64::MAX)]);
    edge -= &ranges(&[(0, 0), (u64::MAX, u64::MAX)]);
    assert_eq!(pairs(&edge), vec![(1, u64::MAX - 1)]);
}

#[test]
fn ranges_display_and_json() {
    let ports = ranges(&[(31000, 32000), (40000, 40010)]);
    assert_eq!(ports.to_string(), "[31000-32000, 40000-40010]");
    assert_eq!(Ranges::default().to_string(), "[]");
    let json = serde_json::to_string(&ports).unwrap();
    assert_eq!(
        json,
        r#"{"range":[{"begin":31000,"end":32000},{"begin":40000,"end":40010}]}"#
    );
    assert_eq!(serde_json::from_str::<Ranges>(&json).unwrap(), ports);
    let overlapping = r#"{"range":[{"begin":1,"end":5},{"begin":3,"end":4}]}"#;
    let error = serde_json::from_str::<Ranges>(overlapping).unwrap_err();
    assert!(
        error.to_string().contains("ranges 1-5 and 3-4 overlap"),
        "{error}"
    );
}

#[test]
fn sets_refuse_empty_and_duplicate_items() {
    assert_eq!(Set::new(["a", ""]), Err(ValueError::EmptySetItem));
    assert_eq!(
        Set::new(["a", "b", "a"]),
        Err(ValueError::DuplicateSetItem { item: "a".into() })
    );
}

#[test]
fn sets_union_difference_and_containment() {
    let mut zones = set(&["b", "a"]);
    zones += &set(&["c", "a"]);
    assert_eq!(zones.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    zones -= &set(&["b", "z"]);
    assert_eq!(zones, set(&["a", "c"]));
    assert!(zones.contains(&set(&["c"])));
    assert!(!zones.contains(&set(&["b"])));
}

#[test]
fn sets_display_and_json() {
    let zones = set(&["b", "a"]);
    assert_eq!(zones.to_string(), "{a, b}");
    let json = serde_json::to_string(&zones).unwrap();
    assert_eq!(json, r#"{"item":["a","b"]}"#);
    assert_eq!(serde_json::from_str::<Set>(&json).unwrap(), zones);
    assert!(serde_json::from_str::<Set>(r#"{"item":["a","a"]}"#).is_err());
}

#[test]
fn values_parse_mesos_text_form() {
    assert_eq!(Value::parse("2.5"), Ok(Value::Scalar(scalar(2.5))));
    assert_eq!(Value::parse(" -1 "), Ok(Value::Scalar(scalar(-1.0))));
    assert_eq!(
        Value::parse("[31000-32000, 1-2]"),
        Ok(Value::Ranges(ranges(&[(1, 2), (31000, 32000)])))
    );
    assert_eq!(
        Value::parse("[1-5,3-8]"),
        Ok(Value::Ranges(ranges(&[(1, 8)])))
    );
    assert_eq!(Value::parse("[]"), Ok(Value::Ranges(Ranges::default())));
    assert_eq!(Value::parse("{b, a}"), Ok(Value::Set(set(&["a", "b"]))));
    assert_eq!(Value::parse("{}"), Ok(Value::Set(Set::default())));
}

#[test]
fn values_refuse_malformed_text() {
    let syntax = |text: &str| matches!(Value::parse(text), Err(ValueError::Syntax { .. }));
    for text in [
        "",
        " ",
        "abc",
        "[1-2",
        "[1-2]x",
        "[5]",
        "[1-2-3]",
        "[a-b]",
        "[-1-2]",
        "{a",
        "{a{b}",
        "1-2",
        "[99999999999999999999-1]",
    ] {
        assert!(syntax(text), "{text:?} should be a syntax error");
    }
    assert!(matches!(
        Value::parse("nan"),
        Err(ValueError::NotFinite { .. })
    ));
    assert!(matches!(
        Value::parse("[5-1]"),
        Err(ValueError::InvertedRange { .. })
    ));
    assert!(matches!(
        Value::parse("{a,,b}"),
        Err(ValueError::EmptySetItem)
    ));
    assert!(matches!(
        Value::parse("{a,a}"),
        Err(ValueError::DuplicateSetItem { .. })
    ));
}

#[test]
fn value_json_names_its_type() {
    let value = Value::Ranges(ranges(&[(1, 2)]));
    let json = serde_json::to_string(&value).unwrap();
    assert_eq!(
        json,
        r#"{"type":"RANGES","ranges":{"range":[{"begin":1,"end":2}]}}"#
    );
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);

    let read = |json| serde_json::from_str::<Value>(json).unwrap_err().to_string();
    assert!(read(r#"{"type":"FLOAT","scalar":{"value":1}}"#).contains("unknown value type 'FLOAT'"));
    assert!(read(r#"{"type":"TEXT","text":{"value":"x"}}"#).contains("TEXT"));
    assert!(read(r#"{"type":"SCALAR"}"#).contains("needs exactly the 'scalar' field"));
    assert!(
        read(r#"{"type":"SET","set":{"item":[]},"scalar":{"value":1}}"#)
            .contains("needs exactly the 'set' field")
    );
}

#[test]
fn value_binary_round_trips() {
    for value in [
        Value::Scalar(scalar(0.125)),
        Value::Ranges(ranges(&[(1, 2), (7, 9)])),
        Value::Set(set(&["x", "y"])),
    ] {
        let bytes = postcard::to_allocvec(&value).unwrap();
        assert_eq!(postcard::from_bytes::<Value>(&bytes).unwrap(), value);
    }
}

#[test]
fn values_of_different_types_do_not_combine() {
    let mut value = Value::Scalar(scalar(1.0));
    value += &Value::Set(set(&["a"]));
    value -= &Value::Ranges(ranges(&[(1, 1)]));
    assert_eq!(value, Value::Scalar(scalar(1.0)));
    assert!(!value.contains(&Value::Set(Set::default())));
}

/// Small ranges over `0..64`, so a `BTreeSet` of numbers can model them.
fn small_ranges() -> impl Strategy<Value = Ranges> {
    proptest::collection::vec((0u64..64, 0u64..8), 0..6).prop_map(|pieces| {
        Ranges::merging(
            pieces
                .into_iter()
                .map(|(begin, len)| Range::new(begin, begin + len)),
        )
        .unwrap()
    })
}

fn numbers(ranges: &Ranges) -> BTreeSet<u64> {
    ranges
        .as_slice()
        .iter()
        .flat_map(|r| r.begin..=r.end)
        .collect()
}

/// Whether the ranges are sorted, disjoint and not touching.
fn normalized(ranges: &Ranges) -> bool {
    ranges
        .as_slice()
        .windows(2)
        .all(|pair| pair[0].end + 1 < pair[1].begin)
}

proptest! {
    #[test]
    fn ranges_arithmetic_matches_a_set_of_numbers(a in small_ranges(), b in small_ranges()) {
        let mut union = a.clone();
        union += &b;
        let expected: BTreeSet<u64> = numbers(&a).union(&numbers(&b)).copied().collect();
        prop_assert_eq!(numbers(&union), expected);
        prop_assert!(normalized(&union));

        let mut difference = a.clone();
        difference -= &b;
        let expected: BTreeSet<u64> = numbers(&a).difference(&numbers(&b)).copied().collect();
        prop_assert_eq!(numbers(&difference), expected);
        prop_assert!(normalized(&difference));

        prop_assert_eq!(a.contains(&b), numbers(&b).is_subset(&numbers(&a)));
    }

    #[test]
    fn value_text_round_trips(a in small_ranges(), millis in 0i64..10_000_000) {
        let scalar = Value::Scalar(Scalar::from_millis(millis));
        prop_assert_eq!(Value::parse(&scalar.to_string()), Ok(scalar));
        let ranges = Value::Ranges(a);
        prop_assert_eq!(Value::parse(&ranges.to_string()), Ok(ranges));
    }

    #[test]
    fn value_parse_never_panics(text in "\\PC{0,40}") {
        let _ = Value::parse(&text);
    }
}
