//! Resource values: scalars, ranges and sets (Mesos `Value`, `values.cpp`).
//!
//! Every value type keeps an invariant that makes equality structural:
//! a [`Scalar`] is a fixed-point count of thousandths, [`Ranges`] are sorted
//! and coalesced, a [`Set`] is sorted and duplicate-free. Arithmetic keeps the
//! invariant, so no caller ever normalizes by hand.
//!
//! - `text.rs`: the text form (`2.5`, `[1-2, 4-5]`, `{a, b}`) and its parser.
//! - `json.rs`: the JSON mapping and the binary wire form.

mod json;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use serde::{Deserialize, Serialize};

pub(crate) use json::ValueJson;
use json::{RangesRepr, SetRepr};

/// The most ranges one value may hold when it is decoded or parsed, so that a
/// hostile input cannot make later arithmetic expensive.
pub const MAX_RANGES: usize = 65_536;

/// The most items one set may hold when it is decoded or parsed.
pub const MAX_SET_ITEMS: usize = 65_536;

/// Scalars are kept in thousandths, as Mesos does, so that repeated addition
/// and subtraction of fractional cpus never drifts.
const MILLIS_PER_UNIT: i64 = 1000;

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// A scalar was NaN or infinite.
    #[error("scalar value {value} is not a finite number")]
    NotFinite {
        /// The value given.
        value: f64,
    },
    /// A scalar does not fit the fixed-point representation.
    #[error("scalar value {value} is too large")]
    ScalarOutOfRange {
        /// The value given.
        value: f64,
    },
    /// A range begins after it ends.
    #[error("range {begin}-{end} begins after it ends")]
    InvertedRange {
        /// The range's begin.
        begin: u64,
        /// The range's end.
        end: u64,
    },
    /// Two ranges of one value share a number.
    #[error("ranges {first} and {second} overlap")]
    OverlappingRanges {
        /// The range that starts first.
        first: Range,
        /// The range that overlaps it.
        second: Range,
    },
    /// More ranges than [`MAX_RANGES`].
    #[error("more than {limit} ranges")]
    TooManyRanges {
        /// The limit.
        limit: usize,
    },
    /// A set item is the empty string.
    #[error("a set item is empty")]
    EmptySetItem,
    /// A set item is given twice.
    #[error("set item '{item}' appears more than once")]
    DuplicateSetItem {
        /// The repeated item.
        item: String,
    },
    /// More items than [`MAX_SET_ITEMS`].
    #[error("more than {limit} set items")]
    TooManySetItems {
        /// The limit.
        limit: usize,
    },
    /// A type name that Mesos does not define.
    #[error("unknown value type '{name}'")]
    UnknownType {
        /// The name given.
        name: String,
    },
    /// `TEXT`: a Mesos value type, but not one a resource can have.
    #[error("value type TEXT cannot be used for a resource")]
    TextType,
    /// The fields present do not match the declared type.
    #[error("a {value_type} value needs exactly the '{}' field", value_type.field_name())]
    FieldsMismatch {
        /// The declared type.
        value_type: ValueType,
    },
    /// Text that is not a scalar, `[ranges]` or `{set}`.
    #[error("cannot parse '{text}': {reason}")]
    Syntax {
        /// The offending text.
        text: String,
        /// What was expected.
        reason: &'static str,
    },
}

/// The type of a resource value (Mesos `Value.Type` without `TEXT`, which no
/// resource may have).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// A number, `SCALAR`.
    Scalar,
    /// Intervals of integers, `RANGES`.
    Ranges,
    /// Distinct strings, `SET`.
    Set,
}

impl ValueType {
    /// The Mesos enum name: `SCALAR`, `RANGES` or `SET`.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "SCALAR",
            ValueType::Ranges => "RANGES",
            ValueType::Set => "SET",
        }
    }

    /// Reads a Mesos enum name.
    pub fn from_name(name: &str) -> Result<ValueType, ValueError> {
        match name {
            "SCALAR" => Ok(ValueType::Scalar),
            "RANGES" => Ok(ValueType::Ranges),
            "SET" => Ok(ValueType::Set),
            "TEXT" => Err(ValueError::TextType),
            _ => Err(ValueError::UnknownType {
                name: name.to_owned(),
            }),
        }
    }

    /// The JSON field that carries a value of this type.
    fn field_name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Ranges => "ranges",
            ValueType::Set => "set",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A number with three decimal digits (Mesos `Value.Scalar`), stored as a
/// count of thousandths. Arithmetic saturates instead of overflowing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scalar {
    millis: i64,
}

impl Scalar {
    /// Zero.
    pub const ZERO: Scalar = Scalar { millis: 0 };

    /// Rounds a double to the nearest thousandth, as Mesos does before every
    /// comparison and sum. Refuses NaN, infinities and values too large to
    /// count in thousandths.
    pub fn from_f64(value: f64) -> Result<Scalar, ValueError> {
        if !value.is_finite() {
            return Err(ValueError::NotFinite { value });
        }
        let millis = (value * MILLIS_PER_UNIT as f64).round();
        // `i64::MAX as f64` is 2^63, the first value that does not fit.
        if millis.abs() >= i64::MAX as f64 {
            return Err(ValueError::ScalarOutOfRange { value });
        }
        Ok(Scalar {
            millis: millis as i64,
        })
    }

    /// A scalar of `millis` thousandths.
    pub const fn from_millis(millis: i64) -> Scalar {
        Scalar { millis }
    }

    /// A whole number.
    pub const fn from_units(units: i64) -> Scalar {
        Scalar {
            millis: units.saturating_mul(MILLIS_PER_UNIT),
        }
    }

    /// The value in thousandths.
    pub const fn millis(self) -> i64 {
        self.millis
    }

    /// The value as a double, for JSON and for callers that compute with it.
    pub fn value(self) -> f64 {
        self.millis as f64 / MILLIS_PER_UNIT as f64
    }

    /// Whether the value is below zero (never true for a valid resource).
    pub const fn is_negative(self) -> bool {
        self.millis < 0
    }
}

impl Add for Scalar {
    type Output = Scalar;
    fn add(self, other: Scalar) -> Scalar {
        Scalar::from_millis(self.millis.saturating_add(other.millis))
    }
}

impl Sub for Scalar {
    type Output = Scalar;
    fn sub(self, other: Scalar) -> Scalar {
        Scalar::from_millis(self.millis.saturating_sub(other.millis))
    }
}

impl AddAssign for Scalar {
    fn add_assign(&mut self, other: Scalar) {
        *self = *self + other;
    }
}

impl SubAssign for Scalar {
    fn sub_assign(&mut self, other: Scalar) {
        *self = *self - other;
    }
}

impl fmt::Display for Scalar {
    /// The exact decimal, without trailing zeros: `2`, `0.5`, `1024.125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.millis < 0 { "-" } else { "" };
        let magnitude = self.millis.unsigned_abs();
        let (units, fraction) = (magnitude / 1000, magnitude % 1000);
        if fraction == 0 {
            return write!(f, "{sign}{units}");
        }
        let digits = format!("{fraction:03}");
        write!(f, "{sign}{units}.{}", digits.trim_end_matches('0'))
    }
}

/// An inclusive interval of integers, `begin-end` (Mesos `Value.Range`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Range {
    /// The first number in the range.
    pub begin: u64,
    /// The last number in the range.
    pub end: u64,
}

impl Range {
    /// The range `begin-end`.
    pub const fn new(begin: u64, end: u64) -> Range {
        Range { begin, end }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.begin, self.end)
    }
}

/// A set of integers as disjoint intervals (Mesos `Value.Ranges`), kept
/// sorted and coalesced: `[1-3]` and `[4-5]` are stored as `[1-5]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RangesRepr", into = "RangesRepr")]
pub struct Ranges {
    ranges: Vec<Range>,
}

impl Ranges {
    /// Builds ranges as a resource must give them: none inverted, none
    /// overlapping (touching is fine, and is coalesced).
    pub fn new(ranges: impl IntoIterator<Item = Range>) -> Result<Ranges, ValueError> {
        let mut ranges = checked_ranges(ranges)?;
        ranges.sort_unstable();
        if let Some(pair) = ranges.windows(2).find(|pair| pair[1].begin <= pair[0].end) {
            return Err(ValueError::OverlappingRanges {
                first: pair[0],
                second: pair[1],
            });
        }
        Ok(Ranges::coalesced(ranges))
    }

    /// Builds ranges and merges any that overlap, as Mesos's text parser
    /// does for `--resources`. Inverted ranges are still refused.
    pub fn merging(ranges: impl IntoIterator<Item = Range>) -> Result<Ranges, ValueError> {
        let mut ranges = checked_ranges(ranges)?;
        ranges.sort_unstable();
        Ok(Ranges::coalesced(ranges))
    }

    /// Merges sorted, well-formed ranges that overlap or touch.
    fn coalesced(sorted: Vec<Range>) -> Ranges {
        let mut ranges: Vec<Range> = Vec::with_capacity(sorted.len());
        for range in sorted {
            match ranges.last_mut() {
                Some(last) if range.begin <= last.end.saturating_add(1) => {
                    last.end = last.end.max(range.end);
                }
                _ => ranges.push(range),
            }
        }
        Ranges { ranges }
    }

    /// The disjoint intervals, in increasing order.
    pub fn as_slice(&self) -> &[Range] {
        &self.ranges
    }

    /// Whether no number is in the ranges.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether every number of `other` is also in `self`.
    pub fn contains(&self, other: &Ranges) -> bool {
        let mut mine = self.ranges.iter().peekable();
        other.ranges.iter().all(|wanted| {
            while mine.next_if(|range| range.end < wanted.begin).is_some() {}
            mine.peek()
                .is_some_and(|range| range.begin <= wanted.begin && wanted.end <= range.end)
        })
    }
}

/// Collects ranges, refusing too many and inverted ones.
fn checked_ranges(ranges: impl IntoIterator<Item = Range>) -> Result<Vec<Range>, ValueError> {
    let mut checked = Vec::new();
    for range in ranges {
        if checked.len() == MAX_RANGES {
            return Err(ValueError::TooManyRanges { limit: MAX_RANGES });
        }
        if range.begin > range.end {
            return Err(ValueError::InvertedRange {
                begin: range.begin,
                end: range.end,
            });
        }
        checked.push(range);
    }
    Ok(checked)
}

impl AddAssign<&Ranges> for Ranges {
    /// Union.
    fn add_assign(&mut self, other: &Ranges) {
        let mut all = std::mem::take(&mut self.ranges);
        all.extend_from_slice(&other.ranges);
        all.sort_unstable();
        *self = Ranges::coalesced(all);
    }
}

impl SubAssign<&Ranges> for Ranges {
    /// Difference: removes every number of `other`.
    fn sub_assign(&mut self, other: &Ranges) {
        let mut remaining = Vec::with_capacity(self.ranges.len());
        // Both sides are sorted, so holes that end before one range also end
        // before every later one and can be dropped for good.
        let mut holes = other.ranges.as_slice();
        for range in &self.ranges {
            let passed = holes
                .iter()
                .take_while(|hole| hole.end < range.begin)
                .count();
            holes = &holes[passed..];
            let overlapping = holes.iter().take_while(|hole| hole.begin <= range.end);
            cut_out(*range, overlapping, &mut remaining);
        }
        self.ranges = remaining;
    }
}

/// Pushes what is left of `range` once the sorted `removed` ranges, which all
/// overlap it, are taken out.
fn cut_out<'a>(range: Range, removed: impl Iterator<Item = &'a Range>, out: &mut Vec<Range>) {
    let mut begin = range.begin;
    for hole in removed {
        if hole.begin > begin {
            out.push(Range::new(begin, hole.begin - 1));
        }
        if hole.end >= range.end {
            return;
        }
        begin = begin.max(hole.end + 1);
    }
    out.push(Range::new(begin, range.end));
}

impl fmt::Display for Ranges {
    /// Mesos's text form: `[31000-32000, 40000-40010]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, ('[', ']'), &self.ranges)
    }
}

/// Distinct strings (Mesos `Value.Set`), kept sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SetRepr", into = "SetRepr")]
pub struct Set {
    items: BTreeSet<String>,
}

impl Set {
    /// Builds a set as a resource must give it: no empty item, no item twice.
    pub fn new<I>(items: I) -> Result<Set, ValueError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let mut set = BTreeSet::new();
        for item in items {
            let item = item.into();
            if set.len() == MAX_SET_ITEMS {
                return Err(ValueError::TooManySetItems {
                    limit: MAX_SET_ITEMS,
                });
            }
            if item.is_empty() {
                return Err(ValueError::EmptySetItem);
            }
            if set.contains(&item) {
                return Err(ValueError::DuplicateSetItem { item });
            }
            set.insert(item);
        }
        Ok(Set { items: set })
    }

    /// The items, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }

    /// Whether the set has no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether every item of `other` is also in `self`.
    pub fn contains(&self, other: &Set) -> bool {
        other.items.is_subset(&self.items)
    }
}

impl AddAssign<&Set> for Set {
    /// Union.
    fn add_assign(&mut self, other: &Set) {
        self.items.extend(other.items.iter().cloned());
    }
}

impl SubAssign<&Set> for Set {
    /// Difference.
    fn sub_assign(&mut self, other: &Set) {
        self.items.retain(|item| !other.items.contains(item));
    }
}

impl fmt::Display for Set {
    /// Mesos's text form: `{a, b}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, ('{', '}'), &self.items)
    }
}

/// Writes `open item, item close`, the list form of Mesos's `operator<<`.
fn write_list<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    (open, close): (char, char),
    items: impl IntoIterator<Item = T>,
) -> fmt::Result {
    write!(f, "{open}")?;
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    write!(f, "{close}")
}

/// The value of a resource (Mesos `Value` restricted to the resource types).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// `cpus:2.5`.
    Scalar(Scalar),
    /// `ports:[31000-32000]`.
    Ranges(Ranges),
    /// `zones:{a, b}`.
    Set(Set),
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar(_) => ValueType::Scalar,
            Value::Ranges(_) => ValueType::Ranges,
            Value::Set(_) => ValueType::Set,
        }
    }

    /// Whether the value is zero, or holds no range or item.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Scalar(scalar) => *scalar == Scalar::ZERO,
            Value::Ranges(ranges) => ranges.is_empty(),
            Value::Set(set) => set.is_empty(),
        }
    }

    /// Whether `other` fits in `self`: a smaller or equal scalar, a subset of
    /// ranges or items. Values of different types never contain each other.
    pub fn contains(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Scalar(mine), Value::Scalar(theirs)) => theirs <= mine,
            (Value::Ranges(mine), Value::Ranges(theirs)) => mine.contains(theirs),
            (Value::Set(mine), Value::Set(theirs)) => mine.contains(theirs),
            _ => false,
        }
    }
}
impl AddAssign<&Value> for Value {
    /// Sum, union of ranges or union of sets. A value of another type is
    /// ignored: callers only combine resources of the same type.
    fn add_assign(&mut self, other: &Value) {
        match (self, other) {
            (Value::Scalar(mine), Value::Scalar(theirs)) => *mine += *theirs,
            (Value::Ranges(mine), Value::Ranges(theirs)) => *mine += theirs,
            (Value::Set(mine), Value::Set(theirs)) => *mine += theirs,
            _ => {}
        }
    }
}

impl SubAssign<&Value> for Value {
    /// Difference; a scalar may go negative. A value of another type is
    /// ignored, as in `+=`.
    fn sub_assign(&mut self, other: &Value) {
        match (self, other) {
            (Value::Scalar(mine), Value::Scalar(theirs)) => *mine -= *theirs,
            (Value::Ranges(mine), Value::Ranges(theirs)) => *mine -= theirs,
            (Value::Set(mine), Value::Set(theirs)) => *mine -= theirs,
            _ => {}
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar(scalar) => scalar.fmt(f),
            Value::Ranges(ranges) => ranges.fmt(f),
            Value::Set(set) => set.fmt(f),
        }
    }
}
