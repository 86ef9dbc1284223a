//! How values are encoded: Mesos's JSON mapping and the binary wire form.
//!
//! Ranges and sets have the same shape in both (`{"range": [...]}`,
//! `{"item": [...]}`) and are checked on the way in. A scalar is
//! `{"value": 2.5}` in JSON and its exact count of thousandths in binary. A
//! value is `{"type": "SCALAR", "scalar": {...}}` in JSON and serde's enum
//! encoding in binary.

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::{Range, Ranges, Scalar, Set, Value, ValueError, ValueType};
use crate::encoding::lenient_f64;

/// The JSON shape of a scalar, `{"value": 2.5}`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ScalarJson {
    #[serde(deserialize_with = "lenient_f64")]
    pub(crate) value: f64,
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            ScalarJson {
                value: self.value(),
            }
            .serialize(serializer)
        } else {
            // Exact on the binary wire: no double round trip.
            serializer.serialize_i64(self.millis)
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let json = ScalarJson::deserialize(deserializer)?;
            Scalar::from_f64(json.value).map_err(de::Error::custom)
        } else {
            i64::deserialize(deserializer).map(Scalar::from_millis)
        }
    }
}

/// The shape of ranges on both encodings, `{"range": [{"begin": 1, "end": 2}]}`.
#[derive(Serialize, Deserialize)]
pub(crate) struct RangesRepr {
    #[serde(default)]
    pub(crate) range: Vec<Range>,
}

impl TryFrom<RangesRepr> for Ranges {
    type Error = ValueError;
    fn try_from(repr: RangesRepr) -> Result<Self, Self::Error> {
        Ranges::new(repr.range)
    }
}

impl From<Ranges> for RangesRepr {
    fn from(ranges: Ranges) -> Self {
        RangesRepr {
            range: ranges.ranges,
        }
    }
}

/// The shape of a set on both encodings, `{"item": ["a", "b"]}`.
#[derive(Serialize, Deserialize)]
pub(crate) struct SetRepr {
    #[serde(default)]
    pub(crate) item: Vec<String>,
}

impl TryFrom<SetRepr> for Set {
    type Error = ValueError;
    fn try_from(repr: SetRepr) -> Result<Self, Self::Error> {
        Set::new(repr.item)
    }
}

impl From<Set> for SetRepr {
    fn from(set: Set) -> Self {
        SetRepr {
            item: set.items.into_iter().collect(),
        }
    }
}

/// The JSON shape of a value: `{"type": "SCALAR", "scalar": {...}}`, with the
/// type kept as text so an unknown one gets our own error.
#[derive(Serialize, Deserialize)]
pub(crate) struct ValueJson {
    #[serde(rename = "type")]
    pub(crate) type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scalar: Option<ScalarJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ranges: Option<RangesRepr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) set: Option<SetRepr>,
}

impl TryFrom<ValueJson> for Value {
    type Error = ValueError;
    fn try_from(json: ValueJson) -> Result<Self, Self::Error> {
        let value_type = ValueType::from_name(&json.type_name)?;
        let mismatch = ValueError::FieldsMismatch { value_type };
        match (value_type, json.scalar, json.ranges, json.set) {
            (ValueType::Scalar, Some(scalar), None, None) => {
                Scalar::from_f64(scalar.value).map(Value::Scalar)
            }
            (ValueType::Ranges, None, Some(ranges), None) => {
                Ranges::try_from(ranges).map(Value::Ranges)
            }
            (ValueType::Set, None, None, Some(set)) => Set::try_from(set).map(Value::Set),
            _ => Err(mismatch),
        }
    }
}

impl From<&Value> for ValueJson {
    fn from(value: &Value) -> Self {
        let mut json = ValueJson {
            type_name: value.value_type().name().to_owned(),
            scalar: None,
            ranges: None,
            set: None,
        };
        match value {
            Value::Scalar(scalar) => {
                json.scalar = Some(ScalarJson {
                    value: scalar.value(),
                })
            }
            Value::Ranges(ranges) => json.ranges = Some(ranges.clone().into()),
            Value::Set(set) => json.set = Some(set.clone().into()),
        }
        json
    }
}

/// The binary shape of a value: serde's derived enum encoding.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Value")]
enum ValueBinary {
    Scalar(Scalar),
    Ranges(Ranges),
    Set(Set),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            ValueJson::from(self).serialize(serializer)
        } else {
            ValueBinary::serialize(self, serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let json = ValueJson::deserialize(deserializer)?;
            Value::try_from(json).map_err(de::Error::custom)
        } else {
            ValueBinary::deserialize(deserializer)
        }
    }
}
