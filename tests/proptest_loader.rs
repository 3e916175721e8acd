//! Property tests of the checkpoint loader (`decode_checkpoint`, `resumable::save`/`load`):
//!
//! - (a) arbitrary bytes never make it panic: plain noise, noise behind a real header with
//!   plausible lengths, and arbitrary metadata and payloads inside a valid envelope (right
//!   lengths and CRC-32C, computed here), so the metadata and payload decoders see them;
//! - (b) arbitrary states round-trip exactly through `save` and `load` (floats bit for bit);
//! - (c) a real checkpoint, mutated (bits flipped, truncated, bytes inserted, deleted or
//!   overwritten), is refused, or, only if the bytes came out unchanged, loads as the original:
//!   never as another value.
//!
//! Each test runs a fixed number of cases (a few seconds in all in a debug build);
//! `PROPTEST_CASES=N` runs N cases each instead. Failures are not persisted to files: proptest
//! prints the minimal failing input.

mod common;
#[path = "../fuzz/common/mod.rs"]
mod fuzz_common;

use common::Scratch;
use fuzz_common::{State, Tree};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use resumable::__private::decode_checkpoint;

/// `cases` cases, or `PROPTEST_CASES` if set.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// --- Strategies ---

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![Just(Tree::Leaf), any::<i64>().prop_map(Tree::Value)];
    leaf.prop_recursive(6, 40, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(left, right)| Tree::Node(Box::new(left), Box::new(right))),
            vec(inner.clone(), 0..4).prop_map(Tree::Forest),
            ("(?s).{0,8}", option::of(inner)).prop_map(|(name, child)| Tree::Named {
                name,
                child: child.map(Box::new),
            }),
        ]
    })
}

/// Every kind of f64, NaNs with any sign and payload, infinities, subnormals and -0.0 among
/// them (`any::<f64>()` has none of these but subnormals and zeros).
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::ANY | proptest::num::f64::SIGNALING_NAN,
        any::<u64>().prop_map(f64::from_bits),
    ]
}

fn state() -> impl Strategy<Value = State> {
    (
        vec(any::<u64>(), 0..24),
        "(?s).{0,24}",
        btree_map(any::<u32>(), vec(float(), 0..5), 0..5),
        option::of(tree().prop_map(Box::new)),
        (any::<u8>(), any::<i32>(), any::<bool>(), "(?s).{0,12}"),
        any::<char>(),
        any::<u128>(),
    )
        .prop_map(|(numbers, text, table, tree, tuple, letter, big)| State {
            numbers,
            text,
            table,
            tree,
            tuple,
            letter,
            big,
        })
}

/// One change to a byte string; positions are chosen relative to its length at the time.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Overwrite(Index, Vec<u8>),
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), vec(any::<u8>(), 1..8)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => (any::<Index>(), 1..16usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        2 => (any::<Index>(), vec(any::<u8>(), 1..12))
            .prop_map(|(at, b)| Mutation::Overwrite(at, b)),
        1 => vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ]
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Mutation::FlipBit(at, bit) if len > 0 => bytes[at.index(len)] ^= 1 << bit,
            Mutation::FlipBit(..) => {}
            Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Mutation::Insert(at, new) => {
                let at = at.index(len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Delete(at, n) => {
                let at = at.index(len + 1);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Overwrite(at, new) => {
                let at = at.index(len + 1);
                let end = (at + new.len()).min(len);
                bytes[at..end].copy_from_slice(&new[..end - at]);
            }
            Mutation::Append(new) => bytes.extend_from_slice(new),
        }
    }
}

// --- Files ---

/// The bytes `resumable::save` writes for `state`.
fn checkpoint_of(scratch: &Scratch, state: &State) -> Vec<u8> {
    let path = scratch.path("state.ckpt");
    resumable::save(&path, state).expect("save");
    std::fs::read(&path).expect("read the checkpoint back")
}

// --- (a) Arbitrary bytes never panic ---

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn arbitrary_bytes_are_refused_without_panicking(bytes in vec(any::<u8>(), 0..400)) {
        // Not a header: cannot load.
        prop_assert!(decode_checkpoint::<State>(&bytes).is_err());
    }

    #[test]
    fn bytes_behind_a_real_header_never_panic(
        meta in vec(any::<u8>(), 0..80),
        payload in vec(any::<u8>(), 0..200),
        meta_len_delta in prop_oneof![4 => Just(0i64), 1 => -3..3i64, 1 => any::<u32>().prop_map(i64::from)],
        payload_len_delta in prop_oneof![4 => Just(0i64), 1 => -3..3i64, 1 => any::<i64>()],
        checksum in any::<u32>(),
        version in prop_oneof![8 => Just(1u32), 1 => any::<u32>()],
    ) {
        let mut bytes = b"RESUMABL".to_vec();
        bytes.extend_from_slice(&version.to_le_bytes());
        let meta_len = (meta.len() as i64).wrapping_add(meta_len_delta) as u32;
        let payload_len = (payload.len() as i64).wrapping_add(payload_len_delta) as u64;
        bytes.extend_from_slice(&meta_len.to_le_bytes());
        bytes.extend_from_slice(&payload_len.to_le_bytes());
        bytes.extend_from_slice(&meta);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        let _ = decode_checkpoint::<State>(&bytes);
    }

    #[test]
    fn arbitrary_metadata_with_a_right_checksum_never_panics(
        meta in vec(any::<u8>(), 0..80),
        payload in vec(any::<u8>(), 0..64),
    ) {
        let _ = decode_checkpoint::<State>(&fuzz_common::envelope_with_meta(&meta, &payload));
    }

    #[test]
    fn arbitrary_payloads_with_a_right_checksum_never_panic(
        payload in vec(any::<u8>(), 0..400),
    ) {
        let _ = decode_checkpoint::<State>(&fuzz_common::envelope(&payload));
    }

    /// Payloads of mostly small bytes (lengths, tags, `Some`s, short varints) with some
    /// continuation bytes: the decoder gets deep into a `State` before it fails.
    #[test]
    fn plausible_payloads_with_a_right_checksum_never_panic(
        payload in vec(any::<u8>(), 0..200).prop_map(|raw| {
            raw.into_iter()
                .map(|byte| match byte {
                    0..=191 => byte % 4,
                    192..=223 => 0x80 | (byte % 4),
                    _ => byte,
                })
                .collect::<Vec<u8>>()
        }),
    ) {
        let _ = decode_checkpoint::<State>(&fuzz_common::envelope(&payload));
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// A real state's payload, mutated and sealed again with a right checksum: the decoder
    /// sees nearly valid data. It may load as some other state (the checksum is right), but it
    /// must not panic, and what it loads must decode again from its own encoding.
    #[test]
    fn mutated_payloads_with_a_right_checksum_never_panic(
        state in state(),
        mutations in vec(mutation(), 1..6),
    ) {
        let scratch = Scratch::new("payload");
        let checkpoint = checkpoint_of(&scratch, &state);
        let mut payload = fuzz_common::payload_of(&checkpoint).to_vec();
        for mutation in &mutations {
            mutation.apply(&mut payload);
        }
        if let Ok((index, loaded)) = decode_checkpoint::<State>(&fuzz_common::envelope(&payload)) {
            prop_assert_eq!(index, 7);
            let again = checkpoint_of(&scratch, &loaded);
            prop_assert_eq!(decode_checkpoint::<State>(&again).unwrap(), (0, loaded));
        }
    }
}

// --- (b) Round trips ---

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn states_round_trip_through_save_and_load(state in state()) {
        let scratch = Scratch::new("round-trip");
        let path = scratch.path("state.ckpt");
        resumable::save(&path, &state).expect("save");
        let loaded: Option<State> = resumable::load(&path).expect("load");
        prop_assert_eq!(loaded.as_ref(), Some(&state));
        // The in-memory loader agrees with the file API; `save` records index 0.
        let bytes = std::fs::read(&path).unwrap();
        prop_assert_eq!(decode_checkpoint::<State>(&bytes).unwrap(), (0, state));
    }

    /// The hand-built envelope (`fuzz/common`) is what the tests above rely on to reach the
    /// payload decoder: around a real payload, it must load.
    #[test]
    fn the_hand_built_envelope_loads(state in state()) {
        let scratch = Scratch::new("envelope");
        let checkpoint = checkpoint_of(&scratch, &state);
        let rebuilt = fuzz_common::envelope(fuzz_common::payload_of(&checkpoint));
        prop_assert_eq!(decode_checkpoint::<State>(&rebuilt).unwrap(), (7, state));
    }
}

// --- (c) Mutated checkpoints ---

proptest! {
    #![proptest_config(config(150))]

    #[test]
    fn mutated_checkpoints_are_refused_or_unchanged(
        state in state(),
        // Several independent mutation sequences per saved checkpoint.
        sequences in vec(vec(mutation(), 1..5), 1..8),
    ) {
        let scratch = Scratch::new("mutate");
        let original = checkpoint_of(&scratch, &state);
        let mutated_path = scratch.path("mutated.ckpt");
        for mutations in &sequences {
            let mut bytes = original.clone();
            for mutation in mutations {
                mutation.apply(&mut bytes);
            }
            let decoded = decode_checkpoint::<State>(&bytes);
            // The public API over the same bytes, from a file.
            std::fs::write(&mutated_path, &bytes).unwrap();
            let loaded = resumable::load::<State>(&mutated_path);
            if bytes == original {
                prop_assert_eq!(decoded.unwrap(), (0, state.clone()));
                prop_assert_eq!(loaded.unwrap(), Some(state.clone()));
            } else {
                prop_assert!(decoded.is_err(), "{:?} loaded: {:?}", mutations, decoded);
                prop_assert!(loaded.is_err(), "{:?} loaded: {:?}", mutations, loaded);
            }
        }
    }
}
