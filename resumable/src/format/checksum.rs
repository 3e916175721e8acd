//! CRC-32C (Castagnoli), the checksum over every checkpoint file: the same polynomial as
//! iSCSI, ext4 and LevelDB use to catch torn and flipped bytes. Safe, portable Rust (no
//! `std::arch`), no dependency; the same result on every platform.
//!
//! Three ways to compute the same value, picked by length:
//!
//! - under [`STRIPE`] bytes: slicing-by-8, eight table lookups per 8 bytes (about 1.5 GB/s:
//!   each step waits for the previous one's lookups);
//! - from [`STRIPE`] bytes: four independent CRCs over the four quarters of each 2 KiB
//!   stripe, interleaved so that their lookups overlap, then joined (about 3.5 GB/s);
//! - from [`FOLD_MIN`] bytes: the input is first folded, with XORs and no tables, into a
//!   6.5 KiB remainder with the same CRC, which the striped code finishes (8 GB/s at 64 KiB,
//!   about 10 GB/s from 1 MiB, in cache or not). See [`fold`].
//!
//! (Speeds from `cargo bench --bench checksum` on the 2.8 GHz AMD EPYC the benchmarks run on.)
//!
//! The register arithmetic all three rest on: a CRC register `r` is a polynomial over GF(2)
//! (bit `i` is the coefficient of `x^(31-i)`, "reflected"), and a byte string `M` is one too.
//! Before the final inversion, running the register from state `r` over `M` gives
//! `(r·x^|M| + M·x^32) mod P`, with `|M|` in bits and `P` the CRC-32C polynomial. That is
//! linear, so the CRC of `A ‖ B` is `crc(A)·x^|B| ⊕ crc_from_zero(B)`: parts can be computed
//! independently and joined with one multiplication by a constant ([`SHIFT`]). And a start
//! state `r` is the same as a zero start with `r` XORed into the first four bytes.

/// The CRC-32C polynomial 0x1EDC6F41, bit-reflected.
const POLY: u32 = 0x82F6_3B78;

/// `TABLES[k][b]`: the register contribution of byte `b` followed by `k` zero bytes.
static TABLES: [[u32; 256]; 8] = build_tables();

/// Bytes per lane in the striped code.
const LANE: usize = 512;

/// Lanes per stripe: four CRCs in flight hide the latency of each one's lookups.
const LANES: usize = 4;

/// Bytes per stripe.
const STRIPE: usize = LANES * LANE;

/// `SHIFT[k][b]`: byte `k` (`b`) of a register, advanced over [`LANE`] zero bytes, that is,
/// multiplied by `x^(8·LANE)` mod P. Joins one lane's CRC to the next's.
static SHIFT: [[u32; 256]; 4] = build_shift_tables();

const fn build_tables() -> [[u32; 256]; 8] {
    let mut tables = [[0u32; 256]; 8];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][n] = crc;
        n += 1;
    }
    let mut n = 0;
    while n < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = tables[k - 1][n];
            tables[k][n] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            k += 1;
        }
        n += 1;
    }
    tables
}

const fn build_shift_tables() -> [[u32; 256]; 4] {
    let byte = build_tables();
    // The shift is linear: shift each of the 32 one-bit registers, then XOR per byte value.
    let mut basis = [0u32; 32];
    let mut bit = 0;
    while bit < 32 {
        let mut crc = 1u32 << bit;
        let mut n = 0;
        while n < LANE {
            crc = (crc >> 8) ^ byte[0][(crc & 0xFF) as usize];
            n += 1;
        }
        basis[bit] = crc;
        bit += 1;
    }
    let mut tables = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut b = 0;
        while b < 256 {
            let mut value = 0;
            let mut bit = 0;
            while bit < 8 {
                if (b >> bit) & 1 == 1 {
                    value ^= basis[8 * k + bit];
                }
                bit += 1;
            }
            tables[k][b] = value;
            b += 1;
        }
        k += 1;
    }
    tables
}

/// A running CRC-32C, so a file's parts can be checked without joining them. The result does
/// not depend on how the bytes are split across [`update`](Self::update) calls.
#[derive(Clone, Copy)]
pub(crate) struct Crc32c(u32);

impl Crc32c {
    pub(crate) fn new() -> Self {
        Crc32c(!0)
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0 = if bytes.len() >= FOLD_MIN {
            fold(self.0, bytes)
        } else {
            striped(self.0, bytes)
        };
    }

    pub(crate) fn finish(self) -> u32 {
        !self.0
    }
}

/// The CRC-32C of `bytes`.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(bytes);
    crc.finish()
}

/// One slicing-by-8 step: the register after 8 more bytes.
#[inline(always)]
fn step(crc: u32, bytes: &[u8; 8]) -> u32 {
    let lo = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) ^ crc;
    let hi = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    TABLES[7][(lo & 0xFF) as usize]
        ^ TABLES[6][((lo >> 8) & 0xFF) as usize]
        ^ TABLES[5][((lo >> 16) & 0xFF) as usize]
        ^ TABLES[4][(lo >> 24) as usize]
        ^ TABLES[3][(hi & 0xFF) as usize]
        ^ TABLES[2][((hi >> 8) & 0xFF) as usize]
        ^ TABLES[1][((hi >> 16) & 0xFF) as usize]
        ^ TABLES[0][(hi >> 24) as usize]
}

/// Slicing-by-8 (the register, not inverted).
fn sliced(mut crc: u32, bytes: &[u8]) -> u32 {
    let (words, rest) = bytes.as_chunks::<8>();
    for word in words {
        crc = step(crc, word);
    }
    for &byte in rest {
        crc = (crc >> 8) ^ TABLES[0][((crc ^ u32::from(byte)) & 0xFF) as usize];
    }
    crc
}

/// The register advanced over [`LANE`] zero bytes.
#[inline(always)]
fn shift(crc: u32) -> u32 {
    SHIFT[0][(crc & 0xFF) as usize]
        ^ SHIFT[1][((crc >> 8) & 0xFF) as usize]
        ^ SHIFT[2][((crc >> 16) & 0xFF) as usize]
        ^ SHIFT[3][(crc >> 24) as usize]
}

/// Each [`STRIPE`] as four lanes of [`LANE`] bytes: the first continues from `crc`, the others
/// start from zero, all four advance together, then they are joined. The rest: slicing-by-8.
fn striped(mut crc: u32, bytes: &[u8]) -> u32 {
    const WORDS: usize = LANE / 8;
    let mut stripes = bytes.chunks_exact(STRIPE);
    for stripe in &mut stripes {
        let (words, _) = stripe.as_chunks::<8>();
        let mut lanes = [crc, 0, 0, 0];
        for i in 0..WORDS {
            for (k, lane) in lanes.iter_mut().enumerate() {
                *lane = step(*lane, &words[k * WORDS + i]);
            }
        }
        crc = lanes[0];
        for lane in &lanes[1..] {
            crc = shift(crc) ^ lane;
        }
    }
    sliced(crc, stripes.remainder())
}

/// Inputs from this length are folded first (see [`fold`]); below it, the fold's fixed cost
/// (its 6.5 KiB remainder goes through the tables) outweighs what it saves.
const FOLD_MIN: usize = 16 * 1024;

/// Bytes per block of the fold: four `u64` words, which the compiler turns into SIMD XORs.
const BLOCK: usize = 32;

/// `Q(x) = x^209 + x^144 + x^54 + x^39 + x^14 + 1` is a multiple of the CRC-32C polynomial
/// (a test checks it), hence so is `Q(x^256)` (in GF(2), `Q(y^2) = Q(y)^2`): a sparse
/// multiple in steps of whole 32-byte blocks. Its degree, in blocks.
const FOLD_DEGREE: usize = 209;

/// For each lower term `x^c` of `Q`: `FOLD_DEGREE - c`, how many blocks later a folded block
/// lands.
const FOLD_TAPS: [usize; 5] = [209 - 144, 209 - 54, 209 - 39, 209 - 14, 209];

/// The history of folded blocks: a power of two above [`FOLD_DEGREE`], so that a block is
/// still there when the last block it lands on is processed.
const RING: usize = 256;

const _: () = assert!(FOLD_MIN / BLOCK > FOLD_DEGREE && RING > FOLD_DEGREE);

/// The CRC register over `bytes` (at least [`FOLD_MIN`] long), reduced modulo the sparse
/// multiple `Q` first (the idea of Sam Russell's "Chorba", 2024).
///
/// Reducing the message polynomial modulo `Q` does not change it modulo `P` (`P` divides
/// `Q`), so the CRC of the message is the CRC of the remainder. In blocks, with `z = x^256`:
/// block `k` stands for `B_k·z^(m-1-k)`, and `z^209 ≡ z^144 + z^54 + z^39 + z^14 + 1`
/// (mod Q), so every block but the last 209 can be replaced by XORing it into the blocks 65,
/// 155, 170, 195 and 209 places later. In pull form: the folded value of block `k` is the
/// input block XOR the folded values of blocks `k - 65`, …, `k - 209` (those that exist and
/// were folded themselves). The last 209 blocks, so updated, are the remainder: 6688 bytes
/// whose register (from zero) is that of the whole input. Five XORs per 32 bytes, no tables.
///
/// The start state goes into the first four bytes, as a zero-start CRC would see it.
fn fold(crc: u32, bytes: &[u8]) -> u32 {
    let (blocks, rest) = bytes.as_chunks::<BLOCK>();
    let folded = blocks.len() - FOLD_DEGREE;
    // Block k's folded value sits in slot k % RING. A source k - d < 0 wraps to slot
    // k - d + RING, which block k - d + RING > k will fill: still zero, as it should be.
    let mut ring = [[0u64; 4]; RING];
    for (k, block) in blocks[..folded].iter().enumerate() {
        let mut value = load(block);
        if k == 0 {
            value[0] ^= u64::from(crc);
        }
        for tap in FOLD_TAPS {
            xor_into(&mut value, &ring[k.wrapping_sub(tap) % RING]);
        }
        ring[k % RING] = value;
    }
    let mut remainder = [0u8; FOLD_DEGREE * BLOCK];
    let (out, _) = remainder.as_chunks_mut::<BLOCK>();
    for ((k, block), out) in blocks.iter().enumerate().skip(folded).zip(out) {
        let mut value = load(block);
        for tap in FOLD_TAPS {
            if let Some(source) = k.checked_sub(tap)
                && source < folded
            {
                xor_into(&mut value, &ring[source % RING]);
            }
        }
        let (words, _) = out.as_chunks_mut::<8>();
        for (word, value) in words.iter_mut().zip(value) {
            *word = value.to_le_bytes();
        }
    }
    striped(striped(0, &remainder), rest)
}

#[inline(always)]
fn load(block: &[u8; BLOCK]) -> [u64; 4] {
    let (words, _) = block.as_chunks::<8>();
    [
        u64::from_le_bytes(words[0]),
        u64::from_le_bytes(words[1]),
        u64::from_le_bytes(words[2]),
        u64::from_le_bytes(words[3]),
    ]
}

#[inline(always)]
fn xor_into(value: &mut [u64; 4], other: &[u64; 4]) {
    for (a, b) in value.iter_mut().zip(other) {
        *a ^= b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::rng::TestRng;

    /// The definition, one bit at a time.
    fn bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = TestRng(seed | 1);
        (0..len).map(|_| (rng.next() >> 24) as u8).collect()
    }

    #[test]
    fn matches_the_published_check_value() {
        // The standard check value for CRC-32C over the ASCII digits 1..9.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 (iSCSI), B.4: 32 bytes of zeros, of ones, incrementing, decrementing.
        assert_eq!(crc32c(&[0; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFF; 32]), 0x62A8_AB43);
        let up: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&up), 0x46DD_794E);
        let down: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&down), 0x113F_DB5C);
    }

    #[test]
    fn the_fold_polynomial_is_a_multiple_of_the_crc_polynomial() {
        // x^e mod P, reflected: x^0 is the top bit, and multiplying by x shifts right.
        let x_to = |e: usize| {
            (0..e).fold(1u32 << 31, |r, _| {
                if r & 1 == 1 { (r >> 1) ^ POLY } else { r >> 1 }
            })
        };
        let terms = [FOLD_DEGREE]
            .into_iter()
            .chain(FOLD_TAPS.map(|tap| FOLD_DEGREE - tap));
        // In blocks of 256 bits, and in bits: the same polynomial works at every power of two.
        for unit in [1, 8, 256] {
            let sum = terms.clone().fold(0, |sum, e| sum ^ x_to(e * unit));
            assert_eq!(sum, 0, "unit {unit}");
        }
    }

    #[test]
    fn agrees_with_the_bitwise_definition_at_every_length_and_path() {
        let data = random_bytes(3 * FOLD_MIN + 4321, 7);
        let mut lengths: Vec<usize> = (0..=600).collect();
        for edge in [
            STRIPE,
            2 * STRIPE,
            FOLD_DEGREE * BLOCK,
            FOLD_MIN,
            FOLD_MIN + BLOCK,
            (FOLD_DEGREE + RING) * BLOCK,
            2 * FOLD_MIN,
            data.len(),
        ] {
            lengths.extend(edge.saturating_sub(9)..(edge + 9).min(data.len() + 1));
        }
        for len in lengths {
            for start in [0, 3] {
                let Some(bytes) = data.get(start..start + len) else {
                    continue;
                };
                assert_eq!(crc32c(bytes), bitwise(bytes), "len {len}, start {start}");
            }
        }
    }

    #[test]
    fn large_inputs_agree_with_the_tables() {
        for (len, seed) in [(1 << 20, 1), ((1 << 20) + 77, 2), (3_000_017, 3)] {
            let data = random_bytes(len, seed);
            assert_eq!(crc32c(&data), !sliced(!0, &data), "len {len}");
            assert_eq!(crc32c(&data), !striped(!0, &data), "len {len}");
        }
        assert_eq!(crc32c(&[0; 1 << 20]), bitwise(&[0; 1 << 20]));
        assert_eq!(crc32c(&[0xA5; 100_000]), bitwise(&[0xA5; 100_000]));
    }

    #[test]
    fn slicing_agrees_with_bytewise_at_every_split() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = crc32c(&data);
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let mut crc = Crc32c::new();
            crc.update(&data[..split]);
            crc.update(&data[split..]);
            assert_eq!(crc.finish(), whole, "split at {split}");
        }
    }

    #[test]
    fn the_running_crc_does_not_depend_on_the_split() {
        let data = random_bytes(5 * FOLD_MIN + 99, 11);
        let whole = bitwise(&data);
        let mut rng = TestRng(0x2545_F491_4F6C_DD1D);
        let mut next = |bound: usize| rng.below(bound);
        for round in 0..60 {
            let mut crc = Crc32c::new();
            let mut at = 0;
            while at < data.len() {
                // Mostly small pieces, some past the fold threshold.
                let most = if round % 3 == 0 { 3 * FOLD_MIN } else { 5000 };
                let len = next(most + 1).min(data.len() - at);
                crc.update(&data[at..at + len]);
                at += len;
            }
            assert_eq!(crc.finish(), whole, "round {round}");
        }
        for split in [1, 4, 31, FOLD_MIN - 1, FOLD_MIN, data.len() - FOLD_MIN - 1] {
            let mut crc = Crc32c::new();
            crc.update(&data[..split]);
            crc.update(&data[split..]);
            assert_eq!(crc.finish(), whole, "split at {split}");
        }
    }
}
