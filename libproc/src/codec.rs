//! The one place that turns message bodies into bytes and back.
//!
//! postcard was chosen over bincode 2.0.1 after measuring both on Mesos-shaped messages
//! (`mesos-bench codec`, figures in `docs/PERFORMANCE.md`): it is maintained, compact
//! (varint integers) and as fast on our messages. Every decoder returns an error on bad
//! bytes and never panics; collection sizes are bounded by the frame that carries them.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a body could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("message '{name}' could not be {action}: {reason}")]
pub struct CodecError {
    /// The wire name of the message.
    pub name: String,
    /// `encoded` or `decoded`.
    pub action: &'static str,
    /// What the codec said.
    pub reason: String,
}

/// Appends the encoding of `message` to `out`.
pub fn encode_into<M: Serialize>(
    name: &str,
    message: &M,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let taken = std::mem::take(out);
    match postcard::to_extend(message, taken) {
        Ok(extended) => {
            *out = extended;
            Ok(())
        }
        Err(e) => Err(CodecError {
            name: name.to_owned(),
            action: "encoded",
            reason: e.to_string(),
        }),
    }
}

/// Encodes `message` into a fresh buffer.
pub fn encode<M: Serialize>(name: &str, message: &M) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_into(name, message, &mut out)?;
    Ok(out)
}

/// Decodes a body that was encoded by `encode`.
pub fn decode<M: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<M, CodecError> {
    postcard::from_bytes(bytes).map_err(|e| CodecError {
        name: name.to_owned(),
        action: "decoded",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: String,
        values: Vec<u64>,
        ratio: f64,
        tag: Option<String>,
    }

    fn sample() -> Sample {
        Sample {
            id: "framework-0001".into(),
            values: vec![1, 300, u64::MAX],
            ratio: 0.25,
            tag: Some("x".into()),
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode("Sample", &sample()).unwrap();
        assert_eq!(decode::<Sample>("Sample", &bytes).unwrap(), sample());
    }

    #[test]
    fn truncated_and_garbage_bodies_are_errors() {
        let bytes = encode("Sample", &sample()).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                decode::<Sample>("Sample", &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let err = decode::<Sample>("Sample", &[0xff; 32]).unwrap_err();
        assert_eq!(err.name, "Sample");
        assert_eq!(err.action, "decoded");
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode::<Sample>("Sample", &bytes);
        }
    }
}
