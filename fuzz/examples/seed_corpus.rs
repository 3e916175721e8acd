//! Writes the seed corpus: real checkpoints of the sample states, saved with
//! `resumable::save`, into `fuzz/corpus/load/`, their payloads into `fuzz/corpus/payload/`, and
//! the payloads behind a piece length into `fuzz/corpus/pieces/`.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus
//! ```

use std::path::Path;

#[path = "../common/mod.rs"]
mod common;

fn main() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch =
        std::env::temp_dir().join(format!("resumable-seed-corpus-{}", std::process::id()));
    for target in ["load", "payload", "pieces"] {
        std::fs::create_dir_all(fuzz_dir.join("corpus").join(target)).expect("create corpus dir");
    }
    for (i, state) in common::samples().iter().enumerate() {
        let saved = scratch.join(format!("seed-{i}.ckpt"));
        resumable::save(&saved, state).expect("save a sample state");
        let back: Option<common::State> = resumable::load(&saved).expect("load it back");
        assert_eq!(back.as_ref(), Some(state), "sample {i} does not round-trip");
        let bytes = std::fs::read(&saved).expect("read the checkpoint");
        let load = fuzz_dir.join(format!("corpus/load/seed-{i}.ckpt"));
        let payload = fuzz_dir.join(format!("corpus/payload/seed-{i}.bin"));
        std::fs::write(&load, &bytes).expect("write a load seed");
        std::fs::write(&payload, common::payload_of(&bytes)).expect("write a payload seed");
        // Pieces of 1 to 8 bytes: every value of a sample cut somewhere.
        let pieces = fuzz_dir.join(format!("corpus/pieces/seed-{i}.bin"));
        let cut = [i as u8 % 8];
        std::fs::write(&pieces, [&cut[..], common::payload_of(&bytes)].concat())
            .expect("write a pieces seed");
        println!("{} ({} bytes)", load.display(), bytes.len());
    }
    std::fs::remove_dir_all(&scratch).expect("remove the scratch directory");
}
