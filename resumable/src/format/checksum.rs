//! CRC-32C (Castagnoli), the checksum over every checkpoint file: the same polynomial as
//! iSCSI, ext4 and LevelDB use to catch torn and flipped bytes. Computed by the `crc32c`
//! crate (SSE 4.2's `crc32` instruction where the CPU has it, detected at run time; tables
//! elsewhere), which gives the same values on every platform, so files move between machines.

/// A running CRC-32C, so a file's parts can be checked without joining them. The result does
/// not depend on how the bytes are split across [`update`](Self::update) calls.
#[derive(Clone, Copy)]
pub(crate) struct Crc32c(u32);

impl Crc32c {
    pub(crate) fn new() -> Self {
        Crc32c(0)
    }

    /// Goes on from the CRC-32C `crc` of bytes before: the result is that of those bytes and
    /// the ones given to [`update`](Self::update) after.
    #[cfg(feature = "object-store")]
    pub(crate) fn continuing(crc: u32) -> Self {
        Crc32c(crc)
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0 = crc32c::crc32c_append(self.0, bytes);
    }

    pub(crate) fn finish(self) -> u32 {
        self.0
    }
}

/// The CRC-32C of `bytes`.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::rng::TestRng;

    /// The CRC-32C polynomial 0x1EDC6F41, bit-reflected.
    const POLY: u32 = 0x82F6_3B78;

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

    /// The values every file written so far carries: a change here would make them unreadable.
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
    fn agrees_with_the_bitwise_definition_at_every_length() {
        let data = random_bytes(70_000, 7);
        let lengths = (0..=600).chain([4095, 4096, 4097, 16_384, 65_536, data.len() - 3]);
        for len in lengths {
            for start in [0, 3] {
                let bytes = &data[start..start + len];
                assert_eq!(crc32c(bytes), bitwise(bytes), "len {len}, start {start}");
            }
        }
    }

    #[test]
    fn the_running_crc_does_not_depend_on_the_split() {
        let data = random_bytes(100_000, 11);
        let whole = bitwise(&data);
        let mut rng = TestRng(0x2545_F491_4F6C_DD1D);
        for round in 0..60 {
            let mut crc = Crc32c::new();
            let mut at = 0;
            while at < data.len() {
                let len = rng.below(if round % 3 == 0 { 40_000 } else { 5000 } + 1);
                let len = len.min(data.len() - at);
                crc.update(&data[at..at + len]);
                at += len;
            }
            assert_eq!(crc.finish(), whole, "round {round}");
        }
    }
}
