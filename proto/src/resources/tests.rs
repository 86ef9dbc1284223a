use proptest::prelude::*;

use super::*;
use crate::mesos::Label;
use crate::values::Range;

fn parse(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

fn parse_error(text: &str) -> ResourcesError {
    Resources::parse(text, "*").unwrap_err()
}

fn scalar(value: f64) -> Value {
    Value::Scalar(Scalar::from_f64(value).unwrap())
}

fn dynamic(role: &str, principal: &str) -> ReservationInfo {
    ReservationInfo::new_dynamic(role, Some(principal.to_owned()))
}

fn resources(list: Vec<Resource>) -> Resources {
    Resources::try_from(list).unwrap()
}

// Parsing the text form.

#[test]
fn parses_the_agent_flag_text_form() {
    let parsed = parse("cpus:2;mem:1024;ports:[31000-32000];disk(ops):100;zones:{a,b}");
    assert_eq!(parsed.cpus(), Some(2.0));
    assert_eq!(parsed.mem(), Some(1024.0));
    assert_eq!(parsed.disk(), Some(100.0));
    assert_eq!(parsed.ports().unwrap().to_string(), "[31000-32000]");
    assert_eq!(parsed.get_set("zones").unwrap().to_string(), "{a, b}");
    assert_eq!(parsed.reserved(Some("ops")).disk(), Some(100.0));
    assert_eq!(parsed.unreserved().disk(), None);
    let disk = parsed.iter().find(|r| r.name == "disk").unwrap();
    assert_eq!(disk.reservations, vec![ReservationInfo::new_static("ops")]);
}

#[test]
fn parse_applies_the_default_role_to_resources_without_one() {
    let parsed = Resources::parse("cpus:2;mem(*):10;disk(b):5", "a").unwrap();
    assert_eq!(parsed.reserved(Some("a")).cpus(), Some(2.0));
    assert_eq!(parsed.unreserved().mem(), Some(10.0));
    assert_eq!(parsed.reserved(Some("b")).disk(), Some(5.0));
}

#[test]
fn parse_merges_repeated_names_and_tolerates_spacing() {
    let parsed = parse(" cpus : 1 ; cpus:0.5;; ports:[1-2, 5-6];ports:[3-4] ;");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed.cpus(), Some(1.5));
    assert_eq!(parsed.ports().unwrap().to_string(), "[1-6]");
    assert!(parse("").is_empty());
    assert!(parse("cpus:0").is_empty());
}

#[test]
fn parse_refuses_bad_syntax_naming_the_piece() {
    for (text, token) in [
        ("cpus", "cpus"),
        ("cpus:1:2", "cpus:1:2"),
        ("cpus(ops:1", "cpus(ops:1"),
        ("cpus(ops)x:1", "cpus(ops)x:1"),
        ("cpus((a)):1", "cpus((a)):1"),
    ] {
        match parse_error(text) {
            ResourcesError::Syntax { token: got, .. } => assert_eq!(got, token),
            other => panic!("{text}: unexpected {other:?}"),
        }
    }
}

#[test]
fn parse_refuses_invalid_values_naming_the_resource() {
    let invalid_value = |text| match parse_error(text) {
        ResourcesError::InvalidValue { name, source } => (name, source),
        other => panic!("{text}: unexpected {other:?}"),
    };
    assert!(matches!(
        invalid_value("cpus:nan"),
        (name, ValueError::NotFinite { .. }) if name == "cpus"
    ));
    assert!(matches!(
        invalid_value("mem:inf"),
        (name, ValueError::NotFinite { .. }) if name == "mem"
    ));
    assert!(matches!(
        invalid_value("ports:[9-1]"),
        (name, ValueError::InvertedRange { begin: 9, end: 1 }) if name == "ports"
    ));
    assert!(matches!(
        invalid_value("zones:{a,a}"),
        (_, ValueError::DuplicateSetItem { .. })
    ));
    assert!(matches!(
        invalid_value("os:linux"),
        (_, ValueError::Syntax { .. })
    ));
    assert_eq!(
        parse_error("cpus:-1"),
        ResourcesError::Negative {
            name: "cpus".into(),
            value: Scalar::from_units(-1),
        }
    );
    assert_eq!(parse_error(":1"), ResourcesError::EmptyName);
    assert_eq!(parse_error("(ops):1"), ResourcesError::EmptyName);
}

#[test]
fn parse_refuses_invalid_roles() {
    assert!(matches!(
        parse_error("cpus(a//b):1"),
        ResourcesError::InvalidRole { name, .. } if name == "cpus"
    ));
    assert!(matches!(
        parse_error("cpus():1"),
        ResourcesError::InvalidRole { .. }
    ));
    assert!(matches!(
        Resources::parse("cpus:1", "-bad"),
        Err(ResourcesError::InvalidRole { .. })
    ));
}

#[test]
fn parse_refuses_one_name_with_two_types() {
    assert_eq!(
        parse_error("gpus:1;gpus:{a}"),
        ResourcesError::IncompatibleTypes {
            name: "gpus".into(),
            first: ValueType::Scalar,
            second: ValueType::Set,
        }
    );
    assert!(matches!(
        parse_error("gpus(a):1;gpus(b):[1-2]"),
        ResourcesError::IncompatibleTypes { .. }
    ));
}

#[test]
fn parse_refuses_too_many_resources() {
    let text = (0..=MAX_RESOURCES)
        .map(|n| format!("r{n}:1"))
        .collect::<Vec<_>>()
        .join(";");
    assert_eq!(
        parse_error(&text),
        ResourcesError::TooManyResources {
            limit: MAX_RESOURCES
        }
    );
}

#[test]
fn error_messages_name_the_offending_piece() {
    assert_eq!(
        parse_error("cpus:nan").to_string(),
        "resource 'cpus': scalar value NaN is not a finite number"
    );
    assert_eq!(
        parse_error("cpus:-2").to_string(),
        "resource 'cpus': negative value -2"
    );
    assert_eq!(
        parse_error("cpus").to_string(),
        "bad resource 'cpus': expected 'name:value'"
    );
    assert_eq!(
        parse_error(r#"[{"name":"p","type":"RANGES","ranges":{"range":[{"begin":1,"end":5},{"begin":4,"end":9}]}}]"#)
            .to_string(),
        "resource 'p': ranges 1-5 and 4-9 overlap"
    );
}

// Parsing the JSON form.

#[test]
fn parses_the_agent_flag_json_form() {
    let parsed = parse(
        r#"[
            {"name":"cpus","type":"SCALAR","scalar":{"value":2}},
            {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}},
            {"name":"x","type":"SET","set":{"item":["a"]}},
            {"name":"disk","type":"SCALAR","scalar":{"value":100},"role":"ops"},
            {"name":"mem","type":"SCALAR","scalar":{"value":64},
             "reservations":[{"type":"STATIC","role":"ops"}]}
        ]"#,
    );
    assert_eq!(
        parsed,
        parse("cpus:2;ports:[31000-32000];x:{a};disk(ops):100;mem(ops):64")
    );
}

#[test]
fn json_form_applies_the_default_role_only_without_role_or_reservations() {
    let text = r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1}},
                   {"name":"mem","type":"SCALAR","scalar":{"value":2},"role":"*"}]"#;
    let parsed = Resources::parse(text, "a").unwrap();
    assert_eq!(parsed.reserved(Some("a")).cpus(), Some(1.0));
    assert_eq!(parsed.unreserved().mem(), Some(2.0));
}

#[test]
fn json_form_refuses_bad_input() {
    assert!(matches!(parse_error("[{"), ResourcesError::Json { .. }));
    assert!(matches!(
        parse_error(r#"[{"type":"SCALAR","scalar":{"value":1}}]"#),
        ResourcesError::Json { message } if message.contains("name")
    ));
    assert!(matches!(
        parse_error(r#"[{"name":"c","type":"FLOAT","scalar":{"value":1}}]"#),
        ResourcesError::InvalidValue { source: ValueError::UnknownType { name }, .. } if name == "FLOAT"
    ));
    assert!(matches!(
        parse_error(r#"[{"name":"c","type":"SCALAR","ranges":{"range":[]}}]"#),
        ResourcesError::InvalidValue {
            source: ValueError::FieldsMismatch { .. },
            ..
        }
    ));
    assert!(matches!(
        parse_error(r#"[{"name":"c","type":"SCALAR","scalar":{"value":"NaN"}}]"#),
        ResourcesError::InvalidValue {
            source: ValueError::NotFinite { .. },
            ..
        }
    ));
    assert!(matches!(
        parse_error(r#"[{"name":"c","type":"SCALAR","scalar":{"value":-3}}]"#),
        ResourcesError::Negative { .. }
    ));
}

#[test]
fn json_form_refuses_dynamic_reservations() {
    let modern = r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},
                      "reservations":[{"type":"DYNAMIC","role":"a","principal":"p"}]}]"#;
    let legacy = r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},
                      "role":"a","reservation":{"principal":"p"}}]"#;
    for text in [modern, legacy] {
        assert_eq!(
            parse_error(text),
            ResourcesError::DynamicReservation {
                name: "cpus".into()
            }
        );
    }
}

// Arithmetic.

#[test]
fn addition_merges_only_addable_resources() {
    let mut total = parse("cpus:1;cpus(a):1");
    total += &parse("cpus:0.5;mem:10");
    assert_eq!(total.len(), 3);
    assert_eq!(total.unreserved().cpus(), Some(1.5));
    assert_eq!(total.reserved(Some("a")).cpus(), Some(1.0));

    let mut allocated = parse("cpus:1");
    allocated.allocate("web");
    let sum = &allocated + &parse("cpus:1");
    assert_eq!(sum.len(), 2, "allocation keeps entries apart");
}

#[test]
fn subtraction_removes_from_the_matching_resource() {
    let total = parse("cpus:4;mem:1024;ports:[1-10];zones:{a,b,c};cpus(a):2");
    let left = total - parse("cpus:1;ports:[3-4];zones:{b};cpus(a):2");
    assert_eq!(left, parse("cpus:3;mem:1024;ports:[1-2,5-10];zones:{a,c}"));
}

#[test]
fn subtraction_drops_resources_that_reach_zero_or_below() {
    let left = parse("cpus:1;mem:10;ports:[1-2]") - parse("cpus:1;mem:20;ports:[1-2]");
    assert!(left.is_empty(), "{left}");
    let untouched = parse("cpus:1") - parse("cpus(a):1;mem:5");
    assert_eq!(untouched, parse("cpus:1"));
}

#[test]
fn operators_work_by_value_and_by_reference() {
    let a = parse("cpus:1");
    let b = parse("cpus:2");
    assert_eq!(&a + &b, parse("cpus:3"));
    assert_eq!(a.clone() + &b, parse("cpus:3"));
    assert_eq!(b.clone() - a.clone(), a);
    let mut c = a.clone();
    c += b.clone();
    c -= a;
    assert_eq!(c, b);
}

#[test]
fn adding_an_invalid_or_empty_resource_is_ignored() {
    let mut total = Resources::new();
    total += Resource::new("cpus", Value::Scalar(Scalar::from_units(-1)));
    total += Resource::new("", scalar(1.0));
    total += Resource::new("cpus", scalar(0.0));
    assert!(total.is_empty());
    total += Resource::new("cpus", scalar(1.0));
    total -= &Resource::new("cpus", Value::Scalar(Scalar::from_units(-5)));
    assert_eq!(total.cpus(), Some(1.0));
}

#[test]
fn containment_respects_amounts_reservations_and_allocation() {
    let total = parse("cpus:4;ports:[1-10];zones:{a,b};cpus(a):1");
    assert!(total.contains(&parse("cpus:4;ports:[2-3];zones:{a}")));
    assert!(!total.contains(&parse("cpus:4.001")));
    assert!(!total.contains(&parse("ports:[10-11]")));
    assert!(!total.contains(&parse("cpus(a):2")));
    assert!(!total.contains(&parse("cpus(b):1")));
    assert!(!total.contains(&parse("gpus:1")));
    assert!(total.contains(&Resources::new()));

    let mut allocated = parse("cpus:1");
    allocated.allocate("web");
    assert!(!total.contains(&allocated));

    assert!(total.contains_resource(&Resource::new("cpus", scalar(3.0))));
    assert!(!total.contains_resource(&Resource::new(
        "cpus",
        Value::Scalar(Scalar::from_units(-1))
    )));
}

#[test]
fn equality_ignores_entry_order() {
    assert_eq!(parse("cpus:1;mem:2"), parse("mem:2;cpus:1"));
    assert_ne!(parse("cpus:1;mem:2"), parse("cpus:1"));
    assert_ne!(parse("cpus:1"), parse("cpus(a):1"));
}

// Reservations and roles.

#[test]
fn flatten_strips_every_reservation_and_merges() {
    let total = resources(vec![
        Resource::new("cpus", scalar(1.0)),
        Resource::new("cpus", scalar(2.0)).with_reservation(ReservationInfo::new_static("a")),
        Resource::new("cpus", scalar(3.0))
            .with_reservation(ReservationInfo::new_static("a"))
            .with_reservation(dynamic("a/b", "p")),
    ]);
    let flat = total.flatten();
    assert_eq!(flat, parse("cpus:6"));
    assert_eq!(flat.len(), 1);
}

#[test]
fn reserved_unreserved_and_reservations_by_role() {
    let total = resources(vec![
        Resource::new("cpus", scalar(1.0)),
        Resource::new("cpus", scalar(2.0)).with_reservation(ReservationInfo::new_static("a")),
        Resource::new("mem", scalar(3.0))
            .with_reservation(ReservationInfo::new_static("a"))
            .with_reservation(dynamic("a/b", "p")),
    ]);
    assert_eq!(total.unreserved(), parse("cpus:1"));
    assert_eq!(total.reserved(None).len(), 2);
    assert_eq!(total.reserved(Some("a")).cpus(), Some(2.0));
    assert_eq!(total.reserved(Some("a/b")).mem(), Some(3.0));
    let by_role = total.reservations();
    assert_eq!(by_role.keys().collect::<Vec<_>>(), ["a", "a/b"]);
    assert_eq!(by_role["a"], parse("cpus(a):2"));
}

#[test]
fn allocatable_to_includes_reservations_to_ancestor_roles() {
    let total = parse("cpus:1;cpus(a):2;cpus(b):4;mem(ab):8");
    assert_eq!(total.allocatable_to("a").cpus(), Some(3.0));
    assert_eq!(total.allocatable_to("a/x").cpus(), Some(3.0));
    assert_eq!(total.allocatable_to("a/x").mem(), None);
    assert_eq!(total.allocatable_to("c").cpus(), Some(1.0));

    let refined = Resource::new("cpus", scalar(1.0))
        .with_reservation(ReservationInfo::new_static("a"))
        .with_reservation(dynamic("a/b", "p"));
    assert!(refined.is_allocatable_to("a/b"));
    assert!(refined.is_allocatable_to("a/b/c"));
    assert!(!refined.is_allocatable_to("a"));
}

#[test]
fn validate_checks_the_reservation_stack() {
    let base = || Resource::new("cpus", scalar(1.0));
    let good = base()
        .with_reservation(ReservationInfo::new_static("a"))
        .with_reservation(dynamic("a/b", "p"))
        .with_reservation(dynamic("a/b/c", "p"));
    assert_eq!(good.validate(), Ok(()));

    let invalid_reservation = |resource: Resource| {
        matches!(
            resource.validate(),
            Err(ResourcesError::InvalidReservation { .. })
        )
    };
    assert!(invalid_reservation(
        base().with_reservation(ReservationInfo::new_static("*"))
    ));
    assert!(invalid_reservation(
        base()
            .with_reservation(dynamic("a", "p"))
            .with_reservation(ReservationInfo::new_static("a/b"))
    ));
    assert!(invalid_reservation(
        base()
            .with_reservation(dynamic("a", "p"))
            .with_reservation(dynamic("b", "p"))
    ));
    assert!(invalid_reservation(
        base()
            .with_reservation(dynamic("a", "p"))
            .with_reservation(dynamic("a", "p"))
    ));
    assert!(matches!(
        base().with_reservation(dynamic("a b", "p")).validate(),
        Err(ResourcesError::InvalidRole { .. })
    ));
}

#[test]
fn try_from_refuses_the_first_invalid_resource() {
    let list = vec![
        Resource::new("cpus", scalar(1.0)),
        Resource::new("mem", Value::Scalar(Scalar::from_units(-1))),
    ];
    assert!(matches!(
        Resources::try_from(list),
        Err(ResourcesError::Negative { name, .. }) if name == "mem"
    ));
}

#[test]
fn allocate_and_unallocate_regroup_entries() {
    let mut total = parse("cpus:1");
    total.allocate("web");
    total += &parse("cpus:2");
    assert_eq!(total.len(), 2);
    assert_eq!(total.allocations()["web"].cpus(), Some(1.0));
    total.unallocate();
    assert_eq!(total.len(), 1);
    assert_eq!(total, parse("cpus:3"));
    assert!(total.allocations().is_empty());
}

#[test]
fn getters_sum_across_reservations() {
    let total =
        parse("cpus:1;cpus(a):2.5;gpus:1;ports:[1-2];ports(a):[3-4];zones:{a};zones(a):{b}");
    assert_eq!(total.cpus(), Some(3.5));
    assert_eq!(total.gpus(), Some(1.0));
    assert_eq!(total.mem(), None);
    assert_eq!(total.ports().unwrap().to_string(), "[1-4]");
    assert_eq!(total.get_set("zones").unwrap().to_string(), "{a, b}");
    assert_eq!(total.get_scalar("ports"), None);
    let scalars = total.scalars();
    assert_eq!(scalars.len(), 2);
    assert_eq!(scalars["cpus"], Scalar::from_millis(3500));
}

// Display.

#[test]
fn display_is_mesos_text_form() {
    assert_eq!(
        parse("cpus:2;mem:1024;ports:[31000-32000, 40000-40010]").to_string(),
        "cpus(*):2; mem(*):1024; ports(*):[31000-32000, 40000-40010]"
    );
    assert_eq!(parse("disk(ops):0.5").to_string(), "disk(ops):0.5");
    assert_eq!(Resources::new().to_string(), "{}");

    let mut allocated = parse("zones:{b,a}");
    allocated.allocate("web");
    assert_eq!(allocated.to_string(), "zones(*)(allocated: web):{a, b}");
}

#[test]
fn display_shows_stacks_the_role_cannot_describe() {
    let mut reservation = dynamic("a/b", "alice");
    reservation.labels = Some(Labels {
        labels: vec![Label::new("k", "v")],
    });
    let refined = Resource::new("disk", scalar(10.0))
        .with_reservation(ReservationInfo::new_static("a"))
        .with_reservation(reservation);
    assert_eq!(
        refined.to_string(),
        "disk(a/b)[(STATIC,a),(DYNAMIC,a/b,alice,{k: v})]:10"
    );
}

// Encodings.

#[test]
fn json_is_mesos_endpoint_format() {
    let to_json = |resource: &Resource| serde_json::to_string(resource).unwrap();
    assert_eq!(
        to_json(&Resource::new("cpus", scalar(2.0))),
        r#"{"name":"cpus","type":"SCALAR","scalar":{"value":2.0},"role":"*"}"#
    );
    let ports = Value::Ranges(Ranges::new([Range::new(31000, 32000)]).unwrap());
    assert_eq!(
        to_json(&Resource::new("ports", ports).with_reservation(ReservationInfo::new_static("a"))),
        r#"{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"role":"a","reservations":[{"type":"STATIC","role":"a"}]}"#
    );
    let mut dynamic_mem = Resource::new("mem", scalar(1.0)).with_reservation(dynamic("a", "p"));
    dynamic_mem.allocation_info = Some(AllocationInfo { role: "a".into() });
    assert_eq!(
        to_json(&dynamic_mem),
        r#"{"name":"mem","type":"SCALAR","scalar":{"value":1.0},"role":"a","reservation":{"principal":"p"},"reservations":[{"type":"DYNAMIC","role":"a","principal":"p"}],"allocation_info":{"role":"a"}}"#
    );
    let refined = Resource::new("x", Value::Set(Set::new(["a"]).unwrap()))
        .with_reservation(dynamic("a", "p"))
        .with_reservation(dynamic("a/b", "p"));
    let json = to_json(&refined);
    assert!(
        json.starts_with(r#"{"name":"x","type":"SET","set":{"item":["a"]},"reservations":["#),
        "{json}"
    );
}

#[test]
fn json_reads_legacy_role_and_reservation() {
    let read = |json| serde_json::from_str::<Resource>(json);
    let legacy = read(
        r#"{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"a",
            "reservation":{"principal":"p","labels":{"labels":[{"key":"k"}]}}}"#,
    )
    .unwrap();
    assert_eq!(legacy.reservations.len(), 1);
    assert_eq!(legacy.reservations[0].r#type, ReservationType::Dynamic);
    assert_eq!(legacy.reservations[0].principal.as_deref(), Some("p"));
    assert!(legacy.reservations[0].labels.is_some());

    let unreserved = read(r#"{"name":"cpus","type":"SCALAR","scalar":{"value":1}}"#).unwrap();
    assert!(unreserved.is_unreserved());

    let error =
        read(r#"{"name":"c","type":"SCALAR","scalar":{"value":1},"role":"*","reservation":{}}"#)
            .unwrap_err();
    assert!(
        error.to_string().contains("cannot be dynamically reserved"),
        "{error}"
    );
}

#[test]
fn resource_deserialization_leaves_validity_to_validate() {
    let negative: Resource =
        serde_json::from_str(r#"{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}"#).unwrap();
    assert!(negative.validate().is_err());
    let list = r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]"#;
    assert!(serde_json::from_str::<Resources>(list).is_err());
}

#[test]
fn flat_json_is_the_state_endpoint_form() {
    let total =
        parse("cpus:2;mem:1024;ports:[31000-32000,40000-40010];cpus(a):1;zones:{b,a};bogomips:3.5");
    assert_eq!(
        total.to_flat_json(),
        serde_json::json!({
            "cpus": 3.0, "gpus": 0.0, "mem": 1024.0, "disk": 0.0, "bogomips": 3.5,
            "ports": "[31000-32000, 40000-40010]", "zones": "{a, b}",
        })
    );
    assert_eq!(
        Resources::new().to_flat_json().to_string(),
        r#"{"cpus":0.0,"disk":0.0,"gpus":0.0,"mem":0.0}"#
    );
}

// Properties, over resources made of a few names with fixed types, so that
// generated pairs are addable as often as not.

/// The ranges and set items each side of a pair may use: `a + b - b == a`
/// only holds when `b` adds nothing `a` already had, because ranges and sets
/// add by union.
#[derive(Clone, Copy, Debug)]
enum Side {
    Left,
    Right,
}

fn role() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("a")),
        Just(Some("a/b")),
        Just(Some("b"))
    ]
}

fn value(name: &'static str, side: Side) -> BoxedStrategy<Value> {
    let (offset, prefix) = match side {
        Side::Left => (0, "l"),
        Side::Right => (1000, "r"),
    };
    match name {
        "ports" => proptest::collection::vec((0u64..900, 0u64..50), 0..4)
            .prop_map(move |pieces| {
                let pieces = pieces
                    .into_iter()
                    .map(|(begin, len)| Range::new(offset + begin, offset + begin + len));
                Value::Ranges(Ranges::merging(pieces).unwrap())
            })
            .boxed(),
        "zones" => proptest::collection::btree_set("[a-d]{1,2}", 0..4)
            .prop_map(move |items| {
                Value::Set(Set::new(items.into_iter().map(|i| format!("{prefix}{i}"))).unwrap())
            })
            .boxed(),
        _ => (0i64..100_000)
            .prop_map(|millis| Value::Scalar(Scalar::from_millis(millis)))
            .boxed(),
    }
}

fn resource(side: Side) -> impl Strategy<Value = Resource> {
    prop_oneof![Just("cpus"), Just("mem"), Just("ports"), Just("zones")]
        .prop_flat_map(move |name| (Just(name), value(name, side), role()))
        .prop_map(|(name, value, role)| {
            let resource = Resource::new(name, value);
            match role {
                Some(role) => resource.with_reservation(ReservationInfo::new_static(role)),
                None => resource,
            }
        })
}

fn bag(side: Side) -> impl Strategy<Value = Resources> {
    proptest::collection::vec(resource(side), 0..8).prop_map(resources)
}

/// Whether every entry is valid and non-empty, so nothing negative survived.
fn well_formed(resources: &Resources) -> bool {
    resources
        .iter()
        .all(|r| r.validate().is_ok() && !r.is_empty())
}

proptest! {
    #[test]
    fn adding_then_subtracting_gives_back_the_original(a in bag(Side::Left), b in bag(Side::Right)) {
        prop_assert_eq!(&(&a + &b) - &b, a);
    }

    #[test]
    fn a_sum_contains_its_parts(a in bag(Side::Left), b in bag(Side::Left)) {
        let sum = &a + &b;
        prop_assert!(sum.contains(&a));
        prop_assert!(sum.contains(&b));
        prop_assert!(a.contains(&a));
    }

    #[test]
    fn subtraction_never_goes_negative(a in bag(Side::Left), b in bag(Side::Left)) {
        let difference = &a - &b;
        prop_assert!(well_formed(&difference));
        prop_assert!(a.contains(&difference));
    }

    #[test]
    fn addition_is_commutative(a in bag(Side::Left), b in bag(Side::Left)) {
        prop_assert_eq!(&a + &b, &b + &a);
        prop_assert!(well_formed(&(&a + &b)));
    }

    #[test]
    fn text_form_round_trips(a in bag(Side::Left)) {
        prop_assume!(!a.is_empty());
        prop_assert_eq!(Resources::parse(&a.to_string(), "*"), Ok(a));
    }

    #[test]
    fn json_and_binary_round_trip(a in bag(Side::Left)) {
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<Resources>(&json).unwrap(), a.clone());
        prop_assert_eq!(Resources::parse(&json, "*"), Ok(a.clone()));
        let bytes = postcard::to_allocvec(&a).unwrap();
        prop_assert_eq!(postcard::from_bytes::<Resources>(&bytes).unwrap(), a);
    }

    #[test]
    fn parse_never_panics(text in "[a-z0-9()*:;,{}\\[\\] .\\-/]{0,60}") {
        let _ = Resources::parse(&text, "*");
    }

    #[test]
    fn parse_never_panics_on_any_text(text in "\\PC{0,60}") {
        let _ = Resources::parse(&text, "*");
        let _ = serde_json::from_str::<Resources>(&text);
    }
}

#[test]
fn binary_round_trips_every_field() {
    let mut reservation = dynamic("a/b", "p");
    reservation.labels = Some(Labels {
        labels: vec![Label::new("k", "v")],
    });
    let mut resource = Resource::new("zones", Value::Set(Set::new(["x"]).unwrap()))
        .with_reservation(ReservationInfo::new_static("a"))
        .with_reservation(reservation);
    resource.allocation_info = Some(AllocationInfo { role: "a/b".into() });
    let bytes = postcard::to_allocvec(&resource).unwrap();
    assert_eq!(postcard::from_bytes::<Resource>(&bytes).unwrap(), resource);
    let json = serde_json::to_string(&resource).unwrap();
    assert_eq!(serde_json::from_str::<Resource>(&json).unwrap(), resource);
}
