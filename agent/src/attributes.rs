//! `--attributes`: `rack:r1;zone:west;level:10;slots:[1-4]` → agent attributes. A
//! number is a scalar, `[a-b,...]` ranges, `{a,b}` a set, anything else text.

use mesos_proto::mesos::{Attribute, AttributeValue};
use mesos_proto::Value;

/// Why `--attributes` does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid attribute '{piece}': {reason}")]
pub struct AttributeError {
    /// The `;`-separated piece.
    pub piece: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses `--attributes`.
pub fn parse_attributes(text: &str) -> Result<Vec<Attribute>, AttributeError> {
    text.split(';')
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .map(parse_attribute)
        .collect()
}

fn parse_attribute(piece: &str) -> Result<Attribute, AttributeError> {
    let fail = |reason: &str| AttributeError {
        piece: piece.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, value) = piece
        .split_once(':')
        .ok_or_else(|| fail("expected 'name:value'"))?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || value.is_empty() {
        return Err(fail("the name and the value must not be empty"));
    }
    let value = match value.chars().next() {
        Some('[' | '{') => match Value::parse(value).map_err(|e| fail(&e.to_string()))? {
            Value::Ranges(ranges) => AttributeValue::Ranges(ranges),
            Value::Set(set) => AttributeValue::Set(set),
            Value::Scalar(_) => return Err(fail("expected ranges or a set")),
        },
        _ => match value.parse::<f64>() {
            Ok(number) if number.is_finite() => AttributeValue::Scalar(number),
            _ => AttributeValue::Text(value.to_owned()),
        },
    };
    Ok(Attribute {
        name: name.to_owned(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_value_parses() {
        let attributes = parse_attributes("rack:r1; level:10;slots:[1-4];zones:{a,b}").unwrap();
        let values: Vec<String> = attributes
            .iter()
            .map(|a| format!("{}={}", a.name, a.value))
            .collect();
        assert_eq!(
            values,
            ["rack=r1", "level=10", "slots=[1-4]", "zones={a, b}"]
        );
        assert!(parse_attributes("").unwrap().is_empty());
    }

    #[test]
    fn bad_pieces_are_errors() {
        for bad in ["rack", ":x", "rack:", "slots:[4-1]", "slots:[1-"] {
            assert!(parse_attributes(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,64}") {
            let _ = parse_attributes(&text);
        }
    }
}
