//! The payload decoder over arbitrary bytes: each input is wrapped in a valid envelope (right
//! lengths, metadata and CRC-32C), so every one gets past the envelope checks and is decoded
//! as a `State`, with the depth limit and the exact-length check. It must return, never panic,
//! abort, hang or allocate far beyond the input's size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable::__private::decode_checkpoint;

#[path = "../common/mod.rs"]
mod common;

use common::State;

fuzz_target!(|data: &[u8]| {
    let checkpoint = common::envelope(data);
    if let Ok((index, state)) = decode_checkpoint::<State>(&checkpoint) {
        assert_eq!(index, 7);
        // Exact length: a value that decoded used every byte, so encoding it again cannot be
        // longer than what it came from (postcard's encoding is the shortest one).
        let again = postcard::to_allocvec(&state).expect("a decoded state encodes");
        assert!(
            again.len() <= data.len(),
            "decoded more than the payload held"
        );
        let (_, decoded_again) = decode_checkpoint::<State>(&common::envelope(&again))
            .expect("a re-encoded state decodes");
        assert_eq!(
            decoded_again, state,
            "decoding is not stable under re-encoding"
        );
    }
});
