//! Content-defined chunking of the registry's bytes, so that a store rewrites only
//! the chunks an operation touched.
//!
//! Fixed-size chunks would all shift when an agent leaves the middle of the list.
//! Instead a boundary falls wherever a rolling hash of the last 64 bytes has its top
//! bits clear (a "gear" hash, as FastCDC uses), so boundaries move with the content:
//! an edit changes the chunk it falls in and seldom its neighbour, and appending an
//! agent changes only the last chunks. Chunks are at least [`MIN_CHUNK`] bytes (but
//! the last) and at most [`MAX_CHUNK`]; they average about 80 KiB.

use std::ops::Range;

/// No boundary before this many bytes, which bounds the number of chunks.
pub(crate) const MIN_CHUNK: usize = 16 * 1024;

/// A boundary at this many bytes at the latest: half of ZooKeeper's default 1 MB
/// `jute.maxbuffer`, leaving room for the request's own framing.
pub(crate) const MAX_CHUNK: usize = 512 * 1024;

/// A boundary where the hash's top 16 bits are clear: one position in 65,536.
const BOUNDARY_MASK: u64 = 0xffff << 48;

/// The bytes a shifted-in byte stays in the hash: a boundary depends on these only.
const WINDOW: usize = 64;

/// One fixed pseudo-random value per byte, the same in every master, so that all
/// masters cut the same bytes the same way.
const GEAR: [u64; 256] = gear_table();

const fn gear_table() -> [u64; 256] {
    // splitmix64 from a fixed seed.
    let mut table = [0u64; 256];
    let mut state: u64 = 0x6d65_736f_732d_7273;
    let mut index = 0;
    while index < 256 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[index] = z ^ (z >> 31);
        index += 1;
    }
    table
}

/// Cuts `bytes` into consecutive chunks covering all of it.
pub fn split(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut chunks = Vec::with_capacity(bytes.len() / (MIN_CHUNK * 4) + 1);
    let mut start = 0;
    while start < bytes.len() {
        let end = start + chunk_length(&bytes[start..]);
        chunks.push(start..end);
        start = end;
    }
    chunks
}

/// The length of the chunk at the head of `rest`.
fn chunk_length(rest: &[u8]) -> usize {
    if rest.len() <= MIN_CHUNK {
        return rest.len();
    }
    let limit = rest.len().min(MAX_CHUNK);
    // The hash at MIN_CHUNK only depends on the WINDOW bytes before it.
    let mut hash = 0u64;
    for (offset, &byte) in rest[..limit].iter().enumerate().skip(MIN_CHUNK - WINDOW) {
        hash = (hash << 1).wrapping_add(GEAR[usize::from(byte)]);
        if offset + 1 >= MIN_CHUNK && hash & BOUNDARY_MASK == 0 {
            return offset + 1;
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Deterministic bytes that look like nothing in particular.
    fn noise(length: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..length)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    fn chunks_of(bytes: &[u8]) -> Vec<&[u8]> {
        split(bytes)
            .into_iter()
            .map(|range| &bytes[range])
            .collect()
    }

    #[test]
    fn chunks_cover_the_bytes_within_their_bounds() {
        let bytes = noise(5_000_000, 1);
        let ranges = split(&bytes);
        assert_eq!(ranges.first().map(|r| r.start), Some(0));
        assert_eq!(ranges.last().map(|r| r.end), Some(bytes.len()));
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        let (last, rest) = ranges.split_last().unwrap();
        assert!(rest
            .iter()
            .all(|r| (MIN_CHUNK..=MAX_CHUNK).contains(&r.len())));
        assert!(last.len() <= MAX_CHUNK);
        // About 80 KiB on average: neither one boundary per MIN_CHUNK nor per MAX_CHUNK.
        assert!(
            (20..=150).contains(&ranges.len()),
            "{} chunks",
            ranges.len()
        );
    }

    #[test]
    fn small_and_empty_inputs_are_one_chunk_or_none() {
        assert!(split(&[]).is_empty());
        assert_eq!(split(&noise(MIN_CHUNK, 2)), vec![0..MIN_CHUNK]);
        // Bytes without any boundary are cut at the maximum.
        let zeros = vec![0u8; MAX_CHUNK * 2 + 7];
        assert_eq!(
            split(&zeros),
            vec![
                0..MAX_CHUNK,
                MAX_CHUNK..2 * MAX_CHUNK,
                2 * MAX_CHUNK..zeros.len()
            ]
        );
    }

    #[test]
    fn an_edit_in_the_middle_changes_few_chunks() {
        let before = noise(4_000_000, 3);
        let mut after = before.clone();
        after.splice(2_000_000..2_000_300, noise(17, 4));
        let old: HashSet<&[u8]> = chunks_of(&before).into_iter().collect();
        let new = chunks_of(&after);
        let changed = new.iter().filter(|chunk| !old.contains(*chunk)).count();
        assert!(new.len() > 20);
        assert!(changed <= 2, "{changed} of {} chunks changed", new.len());
    }

    #[test]
    fn appending_changes_only_the_tail() {
        let before = noise(3_000_000, 5);
        let mut after = before.clone();
        after.extend(noise(1_000, 6));
        let old: HashSet<&[u8]> = chunks_of(&before).into_iter().collect();
        let changed = chunks_of(&after)
            .into_iter()
            .filter(|chunk| !old.contains(chunk))
            .count();
        assert!(changed <= 2, "{changed} chunks changed");
    }
}
