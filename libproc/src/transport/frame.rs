//! The wire format between two runtimes.
//!
//! A connection opens with a handshake, `LPRC` followed by the protocol version as a
//! big-endian `u32`, sent by the connecting side and echoed by the accepting side.
//! Then the connecting side writes frames, and nothing else travels on that connection:
//!
//! ```text
//! frame    := length:u32be payload            (length counts the payload only)
//! payload  := from to name body
//! from     := len:u16be utf8                  (the sender's pid, `id@ip:port`)
//! to       := len:u16be utf8                  (the receiving process id)
//! name     := len:u16be utf8                  (the message name)
//! body     := the rest of the payload         (the codec's encoding of the message)
//! ```
//!
//! The envelope is written by hand rather than through the codec so that it can be read
//! before the message type is known, with every length checked, and so that a frame
//! with a bad envelope can be skipped without losing the stream. A length prefix over
//! the configured maximum cannot be skipped safely, so it ends the connection before
//! anything is allocated for it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::pid::{Pid, ProcessId, MAX_PROCESS_ID_LEN};

/// The first four bytes of a libproc connection; never the start of an HTTP method.
pub const MAGIC: &[u8; 4] = b"LPRC";

/// The version of this wire format, exchanged in the handshake.
pub const VERSION: u32 = 1;

/// The handshake's length in bytes.
pub const HANDSHAKE_LEN: usize = 8;

/// The default bound on one frame's payload.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 64 * 1024 * 1024;

/// The longest message name accepted.
pub const MAX_NAME_LEN: usize = 1024;

const LENGTH_PREFIX: usize = 4;

/// A frame that cannot be read, so the stream cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is over the configured maximum.
    #[error("frame of {length} bytes is over the maximum of {max} bytes")]
    TooLarge {
        /// The announced payload length.
        length: u64,
        /// The configured maximum.
        max: usize,
    },
}

/// A frame whose envelope is malformed; the frame is skipped and the stream goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed envelope: {0}")]
pub struct EnvelopeError(pub String);

/// Why a handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The first bytes are not `LPRC`.
    #[error("not a libproc handshake (first bytes {0:02x?})")]
    NotLibproc(Vec<u8>),
    /// The peer speaks another version of the wire format.
    #[error("peer speaks wire version {peer}, this runtime speaks {ours}")]
    WrongVersion {
        /// The peer's version.
        peer: u32,
        /// Ours.
        ours: u32,
    },
}

/// One message as it travels between runtimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sending process.
    pub from: Pid,
    /// The receiving process, in the runtime at the other end of the connection.
    pub to: ProcessId,
    /// The message name.
    pub name: String,
    /// The encoded message.
    pub body: Bytes,
}

/// The handshake this runtime sends and expects.
pub fn handshake() -> [u8; HANDSHAKE_LEN] {
    let mut bytes = [0u8; HANDSHAKE_LEN];
    bytes[..4].copy_from_slice(MAGIC);
    bytes[4..].copy_from_slice(&VERSION.to_be_bytes());
    bytes
}

/// Checks a peer's handshake.
pub fn check_handshake(bytes: &[u8; HANDSHAKE_LEN]) -> Result<(), HandshakeError> {
    if &bytes[..4] != MAGIC {
        return Err(HandshakeError::NotLibproc(bytes[..4].to_vec()));
    }
    let peer = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if peer != VERSION {
        return Err(HandshakeError::WrongVersion {
            peer,
            ours: VERSION,
        });
    }
    Ok(())
}

/// Writes one frame: the envelope's header, then `body` appended by `write_body`,
/// then the length prefix patched in. Writing the body in place saves a copy.
pub fn encode<E>(
    from: &Pid,
    to: &ProcessId,
    name: &str,
    write_body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Bytes, E> {
    let from = from.to_string();
    let header = LENGTH_PREFIX + 6 + from.len() + to.as_str().len() + name.len();
    let mut out = Vec::with_capacity(header + 256);
    out.extend_from_slice(&[0; LENGTH_PREFIX]);
    for field in [from.as_str(), to.as_str(), name] {
        put_str(&mut out, field);
    }
    write_body(&mut out)?;
    let length = u32::try_from(out.len() - LENGTH_PREFIX).unwrap_or(u32::MAX);
    out[..LENGTH_PREFIX].copy_from_slice(&length.to_be_bytes());
    Ok(Bytes::from(out))
}

fn put_str(out: &mut Vec<u8>, field: &str) {
    // Names and pids are far below 64 KiB; a longer one is cut rather than mis-framed,
    // and the receiver rejects it as malformed.
    let bytes = &field.as_bytes()[..field.len().min(u16::MAX as usize)];
    out.put_u16(bytes.len() as u16);
    out.extend_from_slice(bytes);
}

/// Takes one whole frame's payload off the front of `buffer`, or `None` while the frame
/// is incomplete (then `buffer` is reserved for the rest). A length over `max` is an
/// error before any allocation.
pub fn take_payload(buffer: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    if buffer.len() < LENGTH_PREFIX {
        return Ok(None);
    }
    let length = u32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]) as usize;
    if length > max {
        return Err(FrameError::TooLarge {
            length: length as u64,
            max,
        });
    }
    if buffer.len() < LENGTH_PREFIX + length {
        buffer.reserve(LENGTH_PREFIX + length - buffer.len());
        return Ok(None);
    }
    buffer.advance(LENGTH_PREFIX);
    Ok(Some(buffer.split_to(length).freeze()))
}

impl Envelope {
    /// Reads the envelope of one frame's payload.
    pub fn decode(mut payload: Bytes) -> Result<Envelope, EnvelopeError> {
        let from = take_str(&mut payload, "from", MAX_PROCESS_ID_LEN + 64)?;
        let from: Pid = from
            .parse()
            .map_err(|e| EnvelopeError(format!("bad sender pid: {e}")))?;
        let to = take_str(&mut payload, "to", MAX_PROCESS_ID_LEN)?;
        if to.is_empty() {
            return Err(EnvelopeError("empty receiver id".into()));
        }
        let name = take_str(&mut payload, "name", MAX_NAME_LEN)?;
        if name.is_empty() {
            return Err(EnvelopeError("empty message name".into()));
        }
        Ok(Envelope {
            from,
            to: ProcessId::from(to),
            name,
            body: payload,
        })
    }
}

fn take_str(payload: &mut Bytes, field: &str, max: usize) -> Result<String, EnvelopeError> {
    if payload.len() < 2 {
        return Err(EnvelopeError(format!(
            "truncated before the '{field}' length"
        )));
    }
    let length = payload.get_u16() as usize;
    if length > max {
        return Err(EnvelopeError(format!(
            "'{field}' of {length} bytes is over {max}"
        )));
    }
    if payload.len() < length {
        return Err(EnvelopeError(format!("truncated inside '{field}'")));
    }
    let bytes = payload.split_to(length);
    String::from_utf8(bytes.to_vec()).map_err(|_| EnvelopeError(format!("'{field}' is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn sample() -> Bytes {
        let from: Pid = "client(1)@127.0.0.1:4000".parse().unwrap();
        encode::<Infallible>(&from, &ProcessId::new("server(1)"), "ping", |out| {
            out.extend_from_slice(b"abc");
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn round_trips_one_frame() {
        let mut buffer = BytesMut::from(&sample()[..]);
        let payload = take_payload(&mut buffer, 1024).unwrap().unwrap();
        assert!(buffer.is_empty());
        let envelope = Envelope::decode(payload).unwrap();
        assert_eq!(envelope.from.to_string(), "client(1)@127.0.0.1:4000");
        assert_eq!(envelope.to.as_str(), "server(1)");
        assert_eq!(envelope.name, "ping");
        assert_eq!(&envelope.body[..], b"abc");
    }

    #[test]
    fn incomplete_is_not_an_error() {
        let frame = sample();
        for cut in 0..frame.len() {
            let mut buffer = BytesMut::from(&frame[..cut]);
            assert_eq!(take_payload(&mut buffer, 1024), Ok(None), "cut at {cut}");
            assert_eq!(buffer.len(), cut);
        }
    }

    #[test]
    fn two_frames_back_to_back() {
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&sample());
        buffer.extend_from_slice(&sample());
        assert!(take_payload(&mut buffer, 1024).unwrap().is_some());
        assert!(take_payload(&mut buffer, 1024).unwrap().is_some());
        assert_eq!(take_payload(&mut buffer, 1024), Ok(None));
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut buffer = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 1][..]);
        let capacity = buffer.capacity();
        assert_eq!(
            take_payload(&mut buffer, 1024),
            Err(FrameError::TooLarge {
                length: u32::MAX as u64,
                max: 1024
            })
        );
        assert_eq!(buffer.capacity(), capacity);
    }

    #[test]
    fn malformed_envelopes_are_errors() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 5, b'a'],
            vec![0, 0],
            [&[0u8, 3][..], b"a@b"].concat(),
            [&[0u8, 9][..], b"x@1.2.3.4", &[0, 0]].concat(),
            [&[0u8, 13][..], b"x@1.2.3.4:5\xff\xfe"].concat(),
            [&[0u8, 11][..], b"x@1.2.3.4:5", &[0, 1], b"t", &[0, 0]].concat(),
        ];
        for case in cases {
            assert!(
                Envelope::decode(Bytes::from(case.clone())).is_err(),
                "{case:?}"
            );
        }
    }

    #[test]
    fn handshake_checks_magic_and_version() {
        assert_eq!(check_handshake(&handshake()), Ok(()));
        let mut other = handshake();
        other[7] = 9;
        assert_eq!(
            check_handshake(&other),
            Err(HandshakeError::WrongVersion { peer: 9, ours: 1 })
        );
        assert!(matches!(
            check_handshake(b"GET / HT"),
            Err(HandshakeError::NotLibproc(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let mut buffer = BytesMut::from(&bytes[..]);
            while let Ok(Some(payload)) = take_payload(&mut buffer, 256) {
                let _ = Envelope::decode(payload);
            }
        }
    }
}
