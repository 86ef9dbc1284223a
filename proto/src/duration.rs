//! Durations in Mesos's syntax (stout `Duration`), used by flags and by the
//! `MESOS_*` variables executors read: a non-negative number followed by
//! one of the units `ns`, `us`, `ms`, `secs`, `mins`, `hrs`, `days` and `weeks`, as in
//! `15secs`, `500ms` or `1.5hrs`. A bare number is refused, because stout refuses it:
//! `--agent_ping_timeout=15` would otherwise silently mean something.
//!
//! `format_duration` writes a duration back the way Mesos prints it, so that
//! `/master/flags` shows `15secs`, not `15s`.

use std::time::Duration;

/// A text that is not a Mesos duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration '{value}': {reason}")]
pub struct DurationError {
    /// The text given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

const NANOS_PER_MICRO: u128 = 1_000;
const NANOS_PER_MILLI: u128 = 1_000 * NANOS_PER_MICRO;
const NANOS_PER_SEC: u128 = 1_000 * NANOS_PER_MILLI;
const NANOS_PER_MIN: u128 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u128 = 60 * NANOS_PER_MIN;
const NANOS_PER_DAY: u128 = 24 * NANOS_PER_HOUR;
const NANOS_PER_WEEK: u128 = 7 * NANOS_PER_DAY;

/// Every unit with its length in nanoseconds, smallest first.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", NANOS_PER_MICRO),
    ("ms", NANOS_PER_MILLI),
    ("secs", NANOS_PER_SEC),
    ("mins", NANOS_PER_MIN),
    ("hrs", NANOS_PER_HOUR),
    ("days", NANOS_PER_DAY),
    ("weeks", NANOS_PER_WEEK),
];

/// Parses a Mesos duration such as `15secs` or `1.5hrs`. Fractions below a nanosecond
/// are truncated, as stout does.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let invalid = |reason: String| DurationError {
        value: text.to_owned(),
        reason,
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| invalid("a unit is required (e.g. '15secs')".into()))?;
    let (number, unit) = text.split_at(split);
    let (_, nanos_per_unit) = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(|| {
            invalid(format!(
                "unknown unit '{unit}'; supported units are 'ns', 'us', 'ms', 'secs', \
                 'mins', 'hrs', 'days' and 'weeks'"
            ))
        })?;
    let nanos = to_nanos(number, *nanos_per_unit)
        .ok_or_else(|| invalid(format!("'{number}' is not a number")))?;
    // Stout keeps durations in a signed 64-bit count of nanoseconds; refuse what it cannot.
    if nanos > i64::MAX as u128 {
        return Err(invalid("too large".into()));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// `number` units in nanoseconds: exact for whole numbers, through `f64` for fractions
/// as stout does. `u128::MAX` stands for "too large"; `None` for not a number.
fn to_nanos(number: &str, nanos_per_unit: u128) -> Option<u128> {
    if let Ok(whole) = number.parse::<u128>() {
        return Some(whole.saturating_mul(nanos_per_unit));
    }
    let value: f64 = number.parse().ok()?;
    let nanos = value * nanos_per_unit as f64;
    // `as` saturates, so an overflowing product reads as "too large".
    Some(nanos as u128)
}

/// Writes a duration as Mesos does: in the largest unit it fills, as a whole number
/// when it is one there or one unit lower (`90secs` rather than `1.5mins`), else as a
/// fraction of the larger unit.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    // The largest unit the duration fills; `ns` for anything under a microsecond.
    let bucket = UNITS
        .iter()
        .rposition(|(_, length)| nanos >= *length)
        .unwrap_or(0);
    let (unit, length) = UNITS[bucket];
    if bucket == 0 || nanos % length == 0 {
        return format!("{}{unit}", nanos / length);
    }
    let (smaller_unit, smaller_length) = UNITS[bucket - 1];
    if nanos % smaller_length == 0 {
        return format!("{}{smaller_unit}", nanos / smaller_length);
    }
    format!("{}{unit}", nanos as f64 / length as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("7ns", Duration::from_nanos(7)),
            ("7us", Duration::from_micros(7)),
            ("500ms", Duration::from_millis(500)),
            ("15secs", Duration::from_secs(15)),
            ("10mins", Duration::from_secs(600)),
            ("1hrs", Duration::from_secs(3600)),
            ("2days", Duration::from_secs(2 * 86_400)),
            ("2weeks", Duration::from_secs(14 * 86_400)),
            ("1.5secs", Duration::from_millis(1500)),
            ("0secs", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn refuses_what_stout_refuses() {
        for text in [
            "15",
            "",
            "secs",
            "15s",
            "15 secs",
            "-1secs",
            "1.2.3secs",
            "15SECS",
            "1e3ns",
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(
                error.to_string().contains(&format!("'{text}'")),
                "the error names the value: {error}"
            );
        }
    }

    #[test]
    fn refuses_durations_beyond_stout_range() {
        assert!(parse_duration("100000000weeks").is_err());
    }

    #[test]
    fn formats_as_mesos_prints() {
        let cases = [
            (Duration::ZERO, "0ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_micros(5), "5us"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_secs(15), "15secs"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(90), "90secs"),
            (Duration::from_secs(600), "10mins"),
            (Duration::from_secs(5400), "90mins"),
            (Duration::from_secs(86_400), "1days"),
            (Duration::from_secs(36 * 3600), "36hrs"),
            (Duration::from_secs(14 * 86_400), "2weeks"),
            (Duration::from_secs(10 * 86_400), "10days"),
            (Duration::from_nanos(1_000_000_001), "1.000000001secs"),
        ];
        for (duration, expected) in cases {
            assert_eq!(format_duration(duration), expected, "{duration:?}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for text in [
            "15secs", "1500ms", "10mins", "2weeks", "10days", "36hrs", "7ns",
        ] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
