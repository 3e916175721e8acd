//! A fast streaming 128-bit hash of a byte stream, to check that the part of a `Vec` that an
//! earlier checkpoint already saved has not changed since: the saved prefix's hash is
//! recorded, and the next save hashes the same prefix again and compares.
//!
//! What it guarantees:
//!
//! - **Not cryptographic.** It detects accidental changes — a program that edits or shrinks
//!   what it said it only appends to — not changes crafted to collide.
//! - **128 bits.** Two different streams give the same value with probability about 2^-128
//!   for changes that are not crafted. By construction, two streams of the same length that
//!   differ only inside one aligned 16-byte chunk always hash differently (every step below is
//!   a bijection of those bytes and of the state): changing one naturally aligned element of
//!   up to 8 bytes (a `u64` of a `Vec<u64>` after its 8-byte length, say) is always detected.
//!   The length is mixed in, so inserting or removing bytes changes the value too (with the
//!   2^-128 caveat).
//! - **Only the bytes count**, never how they were split across [`write`](Hasher::write)
//!   calls: partial blocks are buffered.
//! - **The same value on every run and platform**: words are read little-endian, there is no
//!   random seed, and the integer methods of [`Hasher`] (`write_u64`, …) write the
//!   little-endian bytes of the integer (`usize` and `isize` as 8 bytes). What a type's `Hash`
//!   impl feeds in is that impl's business: std's `hash_slice` for integer slices writes them
//!   as one block of native-endian bytes, so it agrees with the integer methods on
//!   little-endian targets only.
//! - **Fast**: about 10 GB/s on data in cache or in memory (`cargo bench --bench checksum`,
//!   2.8 GHz AMD EPYC): eight independent 64-bit lanes, bound by the two 64-bit multiplies
//!   per 8 bytes.
//!
//! How: the stream is cut into 64-byte blocks of eight little-endian words. Lane `i` absorbs
//! word `i`; the lanes go in pairs `(a, b)` with `a = F(a ^ w0) + b` then `b = F(b ^ w1) + a`,
//! a Feistel-like step that is a bijection of the pair and of each word, where
//! `F(x) = mul(xorshift(mul(x)))` has no input difference that always gives the same output
//! difference. (With one multiply and a rotation, flipping the top bit does, so a change in
//! one word would be cancelled by a fixed change in the next.) The last partial block is padded with zeros. The final
//! step absorbs the length and then each pair (128 bits at a time) into a 128-bit state, mixed
//! after each with a bijection built from murmur3's `fmix64`.

use std::hash::Hasher;

/// Bytes per block: one 8-byte word per lane.
const BLOCK: usize = 64;

/// The multipliers of [`mix_word`]: odd, so that multiplying is a bijection.
const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xD6E8_FEB8_6659_FD93;

/// Lane start values (hexadecimal digits of pi), so that zeros do not leave lanes at zero.
const SEEDS: [u64; 8] = [
    0x243F_6A88_85A3_08D3,
    0x1319_8A2E_0370_7344,
    0xA409_3822_299F_31D0,
    0x082E_FA98_EC4E_6C89,
    0x4528_21E6_38D0_1377,
    0xBE54_66CF_34E9_0C6C,
    0xC0AC_29B7_C97C_50DD,
    0x3F84_D5B5_B547_0917,
];

/// A streaming 128-bit hash; see [the module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct PrefixHasher {
    lanes: [u64; 8],
    /// A partial block: `pending[..pending_len]`.
    pending: [u8; BLOCK],
    pending_len: usize,
    /// Bytes written so far.
    len: u64,
}

impl Default for PrefixHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PrefixHasher {
    pub(crate) fn new() -> Self {
        PrefixHasher {
            lanes: SEEDS,
            pending: [0; BLOCK],
            pending_len: 0,
            len: 0,
        }
    }

    /// The 128-bit hash of everything written so far. Writing can go on afterwards.
    pub(crate) fn finish128(&self) -> u128 {
        let mut lanes = self.lanes;
        if self.pending_len > 0 {
            let mut last = [0; BLOCK];
            last[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            absorb(&mut lanes, &last);
        }
        let mut state = (0x9216_D5D9_8979_FB1B ^ self.len, 0xD131_0BA6_98DF_B5AC);
        mix(&mut state);
        for pair in lanes.as_chunks::<2>().0 {
            state.0 ^= pair[0];
            state.1 ^= pair[1];
            mix(&mut state);
        }
        mix(&mut state);
        (u128::from(state.0) << 64) | u128::from(state.1)
    }
}

/// A bijection of a 64-bit word, with no input difference that it passes on unchanged.
#[inline(always)]
fn mix_word(x: u64) -> u64 {
    let y = x.wrapping_mul(K1);
    (y ^ (y >> 32)).wrapping_mul(K2)
}

#[inline(always)]
fn absorb(lanes: &mut [u64; 8], block: &[u8; BLOCK]) {
    let (words, _) = block.as_chunks::<16>();
    let (pairs, _) = lanes.as_chunks_mut::<2>();
    for (pair, words) in pairs.iter_mut().zip(words) {
        let (w0, w1) = words.split_at(8);
        let w0 = u64::from_le_bytes(w0.try_into().unwrap());
        let w1 = u64::from_le_bytes(w1.try_into().unwrap());
        pair[0] = mix_word(pair[0] ^ w0).wrapping_add(pair[1]);
        pair[1] = mix_word(pair[1] ^ w1).wrapping_add(pair[0]);
    }
}

/// murmur3's 64-bit finalizer: a bijection with full avalanche.
fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^= x >> 33;
    x
}

/// A bijection of the 128-bit state (two Feistel rounds) after which each half depends on
/// both.
fn mix(state: &mut (u64, u64)) {
    state.0 = fmix64(state.0).wrapping_add(state.1);
    state.1 = fmix64(state.1 ^ K1) ^ state.0;
}

impl Hasher for PrefixHasher {
    fn write(&mut self, mut bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u64);
        if self.pending_len > 0 {
            let take = (BLOCK - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < BLOCK {
                return;
            }
            absorb(&mut self.lanes, &self.pending);
            self.pending_len = 0;
        }
        let (blocks, rest) = bytes.as_chunks::<BLOCK>();
        let mut lanes = self.lanes;
        for block in blocks {
            absorb(&mut lanes, block);
        }
        self.lanes = lanes;
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The low 64 bits of [`finish128`](PrefixHasher::finish128).
    fn finish(&self) -> u64 {
        self.finish128() as u64
    }

    // Integers as their little-endian bytes (std's defaults write native-endian bytes).

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }

    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }

    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }

    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }

    /// As a `u64`, so that 32- and 64-bit platforms agree.
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    // The signed methods' defaults call the unsigned ones; spelled out so that they do not
    // depend on std's defaults.

    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }

    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }

    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }

    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }

    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::Hash;

    use super::*;

    fn hash(bytes: &[u8]) -> u128 {
        let mut hasher = PrefixHasher::new();
        hasher.write(bytes);
        hasher.finish128()
    }

    use crate::testing::rng::TestRng as Rng;

    #[test]
    fn pinned_values() {
        // The value is stored in checkpoints: it must not change between versions or
        // platforms. Changing the algorithm means changing these, and the file format.
        assert_eq!(hash(b""), 0x3276_45c5_8bc7_fc5c_e045_7164_8653_8414);
        assert_eq!(hash(b"a"), 0xd1fb_34a2_eb6e_bba0_9c0f_c9b2_abbf_3d22);
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(hash(&data), 0x1269_a041_6b36_b852_58cb_b27b_1a99_0e68);
    }

    #[test]
    fn only_the_bytes_count_not_the_split() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100, 1000, 3000] {
            let data = rng.bytes(len);
            let whole = hash(&data);
            for _ in 0..50 {
                let mut hasher = PrefixHasher::new();
                let mut at = 0;
                while at < len {
                    let piece = match rng.below(4) {
                        0 => 0,
                        1 => rng.below(8),
                        2 => rng.below(70),
                        _ => rng.below(len + 1),
                    }
                    .min(len - at);
                    hasher.write(&data[at..at + piece]);
                    at += piece;
                }
                assert_eq!(hasher.finish128(), whole, "len {len}");
            }
            // One byte at a time, and finishing midway does not disturb the stream.
            let mut hasher = PrefixHasher::new();
            for (i, &byte) in data.iter().enumerate() {
                if i % 7 == 0 {
                    assert_eq!(hasher.finish128(), hash(&data[..i]));
                }
                hasher.write_u8(byte);
            }
            assert_eq!(hasher.finish128(), whole);
            assert_eq!(hasher.finish(), whole as u64);
        }
    }

    #[test]
    fn a_clone_continues_independently() {
        let data = Rng(5).bytes(500);
        let mut first = PrefixHasher::new();
        first.write(&data[..123]);
        let mut second = first.clone();
        first.write(&data[123..]);
        assert_eq!(first.finish128(), hash(&data));
        second.write(&data[123..300]);
        assert_eq!(second.finish128(), hash(&data[..300]));
    }

    #[test]
    fn integers_are_their_little_endian_bytes() {
        let mut by_int = PrefixHasher::new();
        let mut by_bytes = PrefixHasher::new();
        by_int.write_u8(1);
        by_bytes.write(&[1]);
        by_int.write_u16(0x0203);
        by_bytes.write(&[3, 2]);
        by_int.write_u32(0x0405_0607);
        by_bytes.write(&[7, 6, 5, 4]);
        by_int.write_u64(0x0809_0A0B_0C0D_0E0F);
        by_bytes.write(&[0xF, 0xE, 0xD, 0xC, 0xB, 0xA, 9, 8]);
        by_int.write_u128(1);
        by_bytes.write(&1u128.to_le_bytes());
        by_int.write_usize(0x11);
        by_bytes.write(&0x11u64.to_le_bytes());
        by_int.write_i8(-1);
        by_bytes.write(&[0xFF]);
        by_int.write_i16(-2);
        by_bytes.write(&(-2i16).to_le_bytes());
        by_int.write_i32(-3);
        by_bytes.write(&(-3i32).to_le_bytes());
        by_int.write_i64(-4);
        by_bytes.write(&(-4i64).to_le_bytes());
        by_int.write_i128(-5);
        by_bytes.write(&(-5i128).to_le_bytes());
        by_int.write_isize(-6);
        by_bytes.write(&(-6i64).to_le_bytes());
        assert_eq!(by_int.finish128(), by_bytes.finish128());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn hash_slice_of_integers_is_their_bytes() {
        let items: Vec<u64> = (0..1000).map(|i| i * 0x0101_0101).collect();
        let mut by_slice = PrefixHasher::new();
        u64::hash_slice(&items, &mut by_slice);
        let mut one_by_one = PrefixHasher::new();
        for item in &items {
            one_by_one.write_u64(*item);
        }
        let bytes: Vec<u8> = items.iter().flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(by_slice.finish128(), hash(&bytes));
        assert_eq!(one_by_one.finish128(), hash(&bytes));
        // A `Vec`'s own `Hash` adds its length first.
        let mut whole_vec = PrefixHasher::new();
        items.hash(&mut whole_vec);
        let mut with_len = PrefixHasher::new();
        with_len.write_u64(items.len() as u64);
        with_len.write(&bytes);
        assert_eq!(whole_vec.finish128(), with_len.finish128());
    }

    #[test]
    fn every_single_bit_flip_changes_the_hash() {
        let data = Rng(17).bytes(1024);
        let original = hash(&data);
        let mut seen = HashSet::from([original]);
        let mut flipped = data.clone();
        for bit in 0..data.len() * 8 {
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(seen.insert(hash(&flipped)), "bit {bit}");
            flipped[bit / 8] ^= 1 << (bit % 8);
        }
        // And the halves separately: each is a 64-bit hash in its own right.
        let lows: HashSet<u64> = seen.iter().map(|&h| h as u64).collect();
        let highs: HashSet<u64> = seen.iter().map(|&h| (h >> 64) as u64).collect();
        assert_eq!((lows.len(), highs.len()), (seen.len(), seen.len()));
    }

    #[test]
    fn lengths_inserts_and_removals_change_the_hash() {
        // Zeros of every length: only the length tells them apart.
        let zeros = [0u8; 200];
        let by_length: HashSet<u128> = (0..=200).map(|len| hash(&zeros[..len])).collect();
        assert_eq!(by_length.len(), 201);
        // Every prefix of random data.
        let data = Rng(23).bytes(300);
        let prefixes: HashSet<u128> = (0..=300).map(|len| hash(&data[..len])).collect();
        assert_eq!(prefixes.len(), 301);
        // A byte inserted or removed anywhere.
        let original = hash(&data);
        for at in 0..data.len() {
            let mut inserted = data.clone();
            inserted.insert(at, data[at]);
            assert_ne!(hash(&inserted), original, "insert at {at}");
            let mut removed = data.clone();
            removed.remove(at);
            assert_ne!(hash(&removed), original, "remove at {at}");
            let mut swapped = data.clone();
            swapped.swap(at, (at + 8) % data.len());
            if swapped != data {
                assert_ne!(hash(&swapped), original, "swap at {at}");
            }
        }
    }

    #[test]
    fn any_change_inside_one_16_byte_chunk_changes_the_hash() {
        let mut rng = Rng(31);
        let data = rng.bytes(300);
        let original = hash(&data);
        for chunk in 0..data.len() / 16 {
            for _ in 0..50 {
                let mut changed = data.clone();
                let mask = rng.bytes(16);
                for (byte, mask) in changed[16 * chunk..16 * chunk + 16].iter_mut().zip(&mask) {
                    *byte ^= mask;
                }
                if changed != data {
                    assert_ne!(hash(&changed), original, "chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn word_changes_in_two_lanes_or_blocks_change_the_hash() {
        let data = Rng(29).bytes(256);
        let original = hash(&data);
        let mut seen = HashSet::from([original]);
        for first in (0..256).step_by(8) {
            for second in (first + 8..256).step_by(8) {
                let mut changed = data.clone();
                changed[first] ^= 0x80;
                changed[second + 7] ^= 1;
                assert!(seen.insert(hash(&changed)), "words at {first} and {second}");
            }
        }
    }
}
