//! Feeds arbitrary bytes to the frame decoder the way a connection does: the handshake,
//! then frames cut from a buffer that grows in arbitrary pieces, then each envelope.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use libproc::frame::{self, Envelope};

fuzz_target!(|data: &[u8]| {
    let Some((handshake, rest)) = data.split_first_chunk::<{ frame::HANDSHAKE_LEN }>() else {
        return;
    };
    let _ = frame::check_handshake(handshake);
    let mut buffer = BytesMut::new();
    // The first byte of each piece says how many of the next bytes arrive at once.
    let mut input = rest;
    while let Some((&size, tail)) = input.split_first() {
        let (piece, tail) = tail.split_at((size as usize).min(tail.len()));
        buffer.extend_from_slice(piece);
        input = tail;
        loop {
            match frame::take_payload(&mut buffer, 4096) {
                Ok(Some(payload)) => {
                    let _ = Envelope::decode(payload);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
