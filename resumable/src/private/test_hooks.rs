//! What this project's own tests, benchmarks and fuzz targets call (the `test-hooks` feature,
//! which the root package and `fuzz/` turn on): never generated code, never programs.

use serde::de::DeserializeOwned;

/// The whole loading path — envelope or log, checksums, payload, depth limit, exact length — over
/// bytes in memory, for the fuzz target and property tests. Never panics, whatever `bytes` is.
pub fn decode_checkpoint<T: DeserializeOwned>(bytes: &[u8]) -> Result<(u64, T), crate::Error> {
    crate::format::checkpoint::decode_bytes(bytes)
}

/// The state decoder a resume uses (depth limit, exact length) over `payload` cut into pieces
/// of `piece_len` bytes, as a file's records cut it: for the fuzz target that checks the cuts
/// never change what decodes. Never panics, whatever the bytes.
pub fn decode_in_pieces<T: DeserializeOwned>(
    payload: &[u8],
    piece_len: usize,
) -> Result<T, crate::Error> {
    crate::format::checkpoint::decode_in_pieces(payload, piece_len)
}

/// The completed iterations of the newest checkpoint in the file `path`, unchecked; `None` if
/// there is none. For tests that look at what a run left on disk.
pub fn saved_index(path: &std::path::Path) -> Option<u64> {
    crate::inspect::inspect(path)
        .newest
        .map(|(_, record)| record.index)
}

/// What the store benchmarks measure (`scripts/bench_store.py`).
#[cfg(feature = "object-store")]
pub use crate::store::remote::measure::{fetch_file, upload_file, uploaded_bytes};
