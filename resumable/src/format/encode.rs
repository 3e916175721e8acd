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

/// Postcard's varints of `values`, appended to `out`: room for the longest is made once, then
/// each is written in place (a `push` per byte costs twice as much).
#[inline(always)]
pub(crate) fn push_varints(out: &mut Vec<u8>, values: impl ExactSizeIterator<Item = u64>) {
    let start = out.len();
    out.resize(start + values.len() * 10, 0);
    let mut at = start;
    for value in values {
        // One bounds check per value (the 10 bytes the longest varint takes), and no branch
        // on the value: every group of 7 bits is written with its continuation bit, then the
        // length decides where the next value starts and the last byte loses its bit.
        let slot: &mut [u8; 10] = (&mut out[at..at + 10]).try_into().expect("10 bytes");
        for (group, byte) in slot.iter_mut().enumerate() {
            *byte = (value >> (7 * group)) as u8 | 0x80;
        }
        let bits = 64 - (value | 1).leading_zeros() as usize;
        let len = bits.div_ceil(7);
        slot[len - 1] &= 0x7f;
        at += len;
    }
    out.truncate(at);
}
