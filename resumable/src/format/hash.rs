//! The crate's two hashes, both fixed by their specification, so that a value is the same on
//! every run, version and platform. Not cryptographic: they detect accidental changes, not ones
//! crafted to collide. Only the bytes count, never how they were split across
//! [`write`](Hasher::write) calls.
//!
//! [`Hash128`], XXH3-128 (the `xxhash-rust` crate, SIMD where the CPU has it: 18-20 GiB/s in
//! cache, against 9-10 for the hash we had written by hand), is the one to use: the growth
//! check of `append(...)` bindings (a restored `Vec`'s bytes are hashed as they are decoded,
//! and the same prefix again at the next save), the default checkpoint key (`run/arg_key`,
//! part of the file name), a line file's position (`io/split`), the watched bindings (compared
//! within one run). Integers are fed as their little-endian bytes (`usize` as 8).
//!
//! [`Fnv64`], FNV-1a byte by byte, is kept only because checkpoints already written hold its
//! values: the [`fingerprint`] of label and shape in every file's metadata, the next item's
//! fingerprint, a `key = …` value's and a long method name's hash in the file's name, a large
//! state's hash in its shape text. With another hash, a checkpoint written before would fail
//! its own fingerprint check (moved aside as damaged), be looked for under another name, or be
//! refused for a changed next item. Use it for nothing new.

use std::hash::Hasher;

use xxhash_rust::xxh3::Xxh3Default;

/// A streaming XXH3-128; see [the module docs](self).
#[derive(Clone, Default)]
pub(crate) struct Hash128(Xxh3Default);

impl Hash128 {
    pub(crate) fn new() -> Self {
        Hash128(Xxh3Default::new())
    }

    /// The 128-bit hash of everything written so far. Writing can go on afterwards.
    pub(crate) fn finish128(&self) -> u128 {
        self.0.digest128()
    }
}

impl Hasher for Hash128 {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The low 64 bits of [`finish128`](Hash128::finish128).
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

/// The XXH3-128 of `bytes`, in one call.
pub(crate) fn hash128(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// FNV-1a over `label`, a zero byte and `shape`: the fingerprint a checkpoint's metadata holds
/// (see [the module docs](self) for why FNV).
pub(crate) fn fingerprint(label: &str, shape: &str) -> u64 {
    let mut hasher = Fnv64::default();
    hasher.write(label.as_bytes());
    hasher.write(&[0]);
    hasher.write(shape.as_bytes());
    hasher.finish()
}

/// FNV-1a, 64 bits, byte by byte: only for the values checkpoints already hold (see
/// [the module docs](self)). Integers go in as std's defaults write them (native-endian).
pub(crate) struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::Hash;

    use super::*;

    fn hash(bytes: &[u8]) -> u128 {
        let mut hasher = Hash128::new();
        hasher.write(bytes);
        hasher.finish128()
    }

    use crate::testing::rng::TestRng as Rng;

    #[test]
    fn pinned_values() {
        // Part of checkpoint file names (the default key): they must not change between
        // versions or platforms. The first is XXH3-128's published value for no input.
        assert_eq!(hash(b""), 0x99AA_06D3_0147_98D8_6001_C324_468D_497F);
        assert_eq!(hash(b"a"), 0xA96F_AF70_5AF1_6834_E6C6_32B6_1E96_4E1F);
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(hash(&data), 0xF1F8_A93F_5084_9AC3_9408_A443_3B95_2D71);
    }

    #[test]
    fn fnv_pinned_values() {
        // Stored in checkpoints already written: they must never change. FNV-1a's published
        // values for "", "a" and "foobar".
        let fnv = |bytes: &[u8]| {
            let mut hasher = Fnv64::default();
            hasher.write(bytes);
            hasher.finish()
        };
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fingerprint("demo", "x"), fnv(b"demo\0x"));
    }

    #[test]
    fn only_the_bytes_count_not_the_split() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100, 1000, 3000] {
            let data = rng.bytes(len);
            let whole = hash(&data);
            for _ in 0..50 {
                let mut hasher = Hash128::new();
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
            let mut hasher = Hash128::new();
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
        let mut first = Hash128::new();
        first.write(&data[..123]);
        let mut second = first.clone();
        first.write(&data[123..]);
        assert_eq!(first.finish128(), hash(&data));
        second.write(&data[123..300]);
        assert_eq!(second.finish128(), hash(&data[..300]));
    }

    #[test]
    fn integers_are_their_little_endian_bytes() {
        let mut by_int = Hash128::new();
        let mut by_bytes = Hash128::new();
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
        let mut by_slice = Hash128::new();
        u64::hash_slice(&items, &mut by_slice);
        let mut one_by_one = Hash128::new();
        for item in &items {
            one_by_one.write_u64(*item);
        }
        let bytes: Vec<u8> = items.iter().flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(by_slice.finish128(), hash(&bytes));
        assert_eq!(one_by_one.finish128(), hash(&bytes));
        // A `Vec`'s own `Hash` adds its length first.
        let mut whole_vec = Hash128::new();
        items.hash(&mut whole_vec);
        let mut with_len = Hash128::new();
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
}
