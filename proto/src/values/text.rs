//! The text form of values, as the agent's `--resources` flag writes them:
//! `2.5`, `[31000-32000, 40000-40010]`, `{a, b}`.

use super::{Range, Ranges, Scalar, Set, Value, ValueError, MAX_RANGES};

impl Value {
    /// Parses Mesos's text form of a value: a number, `[a-b, c-d]` or
    /// `{x, y}`. Whitespace is ignored. Overlapping ranges are merged, as
    /// Mesos's parser merges them.
    pub fn parse(text: &str) -> Result<Value, ValueError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let syntax = |reason| ValueError::Syntax {
            text: text.to_owned(),
            reason,
        };
        if compact.is_empty() {
            return Err(syntax("the value is empty"));
        }
        if let Some(inner) = compact.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| syntax("'[' is not closed"))?;
            return parse_ranges(inner).map(Value::Ranges);
        }
        if let Some(inner) = compact.strip_prefix('{') {
            let inner = inner
                .strip_suffix('}')
                .ok_or_else(|| syntax("'{' is not closed"))?;
            return parse_set(inner).map(Value::Set);
        }
        let number: f64 = compact
            .parse()
            .map_err(|_| syntax("expected a number, [ranges] or {set}"))?;
        Scalar::from_f64(number).map(Value::Scalar)
    }
}

/// Parses the inside of `[a-b,c-d]`.
fn parse_ranges(inner: &str) -> Result<Ranges, ValueError> {
    if inner.is_empty() {
        return Ok(Ranges::default());
    }
    let mut ranges = Vec::new();
    for piece in inner.split(',') {
        if ranges.len() == MAX_RANGES {
            return Err(ValueError::TooManyRanges { limit: MAX_RANGES });
        }
        ranges.push(parse_range(piece)?);
    }
    Ranges::merging(ranges)
}

/// Parses one `begin-end`.
fn parse_range(piece: &str) -> Result<Range, ValueError> {
    let bounds = piece
        .split_once('-')
        .and_then(|(begin, end)| Some(Range::new(begin.parse().ok()?, end.parse().ok()?)));
    bounds.ok_or_else(|| ValueError::Syntax {
        text: piece.to_owned(),
        reason: "expected a range 'begin-end' of non-negative integers",
    })
}

/// Parses the inside of `{x,y}`.
fn parse_set(inner: &str) -> Result<Set, ValueError> {
    if inner.is_empty() {
        return Ok(Set::default());
    }
    if let Some(item) = inner.split(',').find(|item| item.contains(['{', '}'])) {
        return Err(ValueError::Syntax {
            text: item.to_owned(),
            reason: "a set item cannot contain braces",
        });
    }
    Set::new(inner.split(','))
}
