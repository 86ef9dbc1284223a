//! Serde helpers for types that travel in two encodings.
//!
//! The same types go out as Mesos JSON (HTTP endpoints, the v1 APIs) and
//! through the binary wire codec between actors. JSON follows Mesos's mapping
//! of protobuf: unset optional fields and empty repeated fields are omitted. A
//! binary codec has no field tags, so there every field must always be written
//! or the reader loses its place. `Serializer::is_human_readable` tells the
//! two apart.

use serde::de::{self, Deserializer};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

/// Writes an optional field: omitted when unset in JSON, always present in
/// binary.
pub(crate) fn optional_field<S, T>(
    state: &mut S,
    human_readable: bool,
    key: &'static str,
    value: &Option<T>,
) -> Result<(), S::Error>
where
    S: SerializeStruct,
    T: Serialize,
{
    if human_readable && value.is_none() {
        state.skip_field(key)
    } else {
        state.serialize_field(key, value)
    }
}

/// Writes a repeated field: omitted when empty in JSON, always present in
/// binary.
pub(crate) fn repeated_field<S, T>(
    state: &mut S,
    human_readable: bool,
    key: &'static str,
    values: &[T],
) -> Result<(), S::Error>
where
    S: SerializeStruct,
    T: Serialize,
{
    if human_readable && values.is_empty() {
        state.skip_field(key)
    } else {
        state.serialize_field(key, values)
    }
}

/// Reads a JSON double that may also be written as a string, as Mesos's JSON
/// mapping accepts (`2`, `"2"`, `"NaN"`). Only for JSON-only mirror types: it
/// needs a self-describing format.
pub(crate) fn lenient_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(f64),
        String(String),
    }
    match NumberOrString::deserialize(deserializer)? {
        NumberOrString::Number(number) => Ok(number),
        NumberOrString::String(text) => text
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("'{text}' is not a number"))),
    }
}
