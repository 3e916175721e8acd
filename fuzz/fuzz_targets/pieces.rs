//! The streamed decoder against itself and postcard: the first byte of each input is a piece
//! length (1 to 256), the rest a payload. Decoded in pieces of that length (a value's bytes cut
//! at arbitrary places, as a log's records cut them) it must give exactly what it gives in one
//! piece, and a value it accepts must be what `postcard::from_bytes` decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable::__private::decode_in_pieces;

#[path = "../common/mod.rs"]
mod common;

use common::State;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, payload)) = data.split_first() else {
        return;
    };
    let in_pieces = decode_in_pieces::<State>(payload, usize::from(cut) + 1);
    let whole = decode_in_pieces::<State>(payload, usize::MAX);
    match (&in_pieces, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the cuts changed the value"),
        (Err(_), Err(_)) => {}
        _ => panic!("the cuts changed the outcome: {in_pieces:?} vs {whole:?}"),
    }
    if let Ok(value) = whole {
        // Within the depth limit, so postcard's own recursion is bounded too.
        assert_eq!(postcard::from_bytes::<State>(payload).ok(), Some(value));
    }
});
