//! The whole loading path over arbitrary bytes: `decode_checkpoint` must return, never panic,
//! abort, hang or allocate far beyond the input's size. What it accepts must survive a
//! re-encoding: encoded again and wrapped in a fresh envelope, it decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable::__private::decode_checkpoint;

#[path = "../common/mod.rs"]
mod common;

use common::State;

fuzz_target!(|data: &[u8]| {
    if let Ok((_index, state)) = decode_checkpoint::<State>(data) {
        let payload = postcard::to_allocvec(&state).expect("a decoded state encodes");
        let (index, again) = decode_checkpoint::<State>(&common::envelope(&payload))
            .expect("a re-encoded state decodes");
        assert_eq!(index, 7);
        assert_eq!(again, state, "decoding is not stable under re-encoding");
    }
});
