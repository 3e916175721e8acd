//! PLACEHOLDER (replaced by the real implementation): a streaming 128-bit hash.

use std::hash::Hasher;

#[derive(Clone)]
pub(crate) struct PrefixHasher {
    a: u64,
    b: u64,
    len: u64,
}

impl Default for PrefixHasher {
    fn default() -> Self {
        PrefixHasher {
            a: 0xcbf2_9ce4_8422_2325,
            b: 0x8422_2325_cbf2_9ce4,
            len: 0,
        }
    }
}

impl PrefixHasher {
    pub(crate) fn finish128(&self) -> u128 {
        (u128::from(self.a ^ self.len) << 64) | u128::from(self.b)
    }
}

impl Hasher for PrefixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.a = (self.a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            self.b = (self.b ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        self.len += bytes.len() as u64;
    }

    fn finish(&self) -> u64 {
        self.finish128() as u64
    }
}
