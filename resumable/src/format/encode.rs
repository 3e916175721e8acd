//! postcard's encoding, written by hand where the runtime builds its bytes itself: the
//! output flavor that appends to a reused buffer, and the varints (LEB128) of lengths and
//! integers, in exactly the bytes postcard writes.

/// A postcard output that appends to a borrowed `Vec`, so the buffer outlives one save.
pub(crate) struct VecFlavor<'a>(pub &'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for VecFlavor<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        // Varints come as slices of 1 to 10 bytes: a call to `memcpy` each would cost more
        // than the copy (measured: 16% of a checkpoint of a `Vec<u64>`).
        if data.len() <= 16 {
            self.0.extend(data.iter().copied());
        } else {
            self.0.extend_from_slice(data);
        }
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Postcard's varint (LEB128) of an unsigned integer: also the length before a sequence.
#[inline(always)]
pub(crate) fn push_varint(out: &mut Vec<u8>, mut value: u128) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Postcard's varints of `items` (each made a `u64` by `to_u64`), appended to `out`. They are
/// written into a buffer on the stack, a slot of 10 bytes (the longest varint) per value with
/// one bounds check, then copied to `out` at once: cheaper than zeroing room in `out` first.
#[inline(always)]
pub(crate) fn push_varints<T: Copy>(out: &mut Vec<u8>, items: &[T], to_u64: impl Fn(T) -> u64) {
    const CHUNK: usize = 128;
    let mut buf = [0u8; CHUNK * 10];
    for chunk in items.chunks(CHUNK) {
        let mut at = 0;
        for &item in chunk {
            let slot: &mut [u8; 10] = (&mut buf[at..at + 10]).try_into().expect("10 bytes");
            at += varint_into(slot, to_u64(item));
        }
        out.extend_from_slice(&buf[..at]);
    }
}

/// Writes `value`'s varint at the start of `slot` (bytes after it may be overwritten too) and
/// returns its length. No branch on the length: every group of 7 bits gets its continuation
/// bit, then the last one loses it. One branch on the size, which is the same for most values
/// of a sequence: below 2^56 (8 bytes of varint) the bytes are made in one word and written at
/// once, rather than one by one.
#[inline(always)]
fn varint_into(slot: &mut [u8; 10], value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    let len = bits.div_ceil(7);
    if value >> 56 == 0 {
        let word = (spread_groups(value) | 0x8080_8080_8080_8080) & !(0x80 << (8 * (len - 1)));
        slot[..8].copy_from_slice(&word.to_le_bytes());
    } else {
        for (group, byte) in slot.iter_mut().enumerate() {
            *byte = (value >> (7 * group)) as u8 | 0x80;
        }
        slot[len - 1] &= 0x7f;
    }
    len
}

/// The low 56 bits of `value` as 8 groups of 7, one in each byte (low group first), bit 7 of
/// each byte clear: halves of 28 bits into 32-bit lanes, quarters of 14 bits into 16-bit
/// lanes, then groups of 7 into bytes.
#[inline(always)]
fn spread_groups(value: u64) -> u64 {
    let x = value & ((1 << 56) - 1);
    let x = (x & 0x0FFF_FFFF) | ((x & 0x00FF_FFFF_F000_0000) << 4);
    let x = (x & 0x0000_3FFF_0000_3FFF) | ((x & 0x0FFF_C000_0FFF_C000) << 2);
    (x & 0x007F_007F_007F_007F) | ((x & 0x3F80_3F80_3F80_3F80) << 1)
}
