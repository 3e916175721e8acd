//! The state type the loader is fuzzed and property-tested with, and a checkpoint envelope
//! built by hand (header, metadata, CRC-32C), independent of the library's own writer.
//!
//! Shared with `#[path]` by the fuzz targets (`fuzz/fuzz_targets/*.rs`), the seed-corpus
//! generator (`fuzz/examples/seed_corpus.rs`) and the loader tests
//! (`tests/fuzz_regressions.rs`, `tests/proptest_loader.rs`), so they all decode the same type.
//! Not every user needs every item.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A recursive enum: every kind of variant (unit, newtype, tuple, struct), boxed and in a
/// sequence, so decoding nests through each of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tree {
    Leaf,
    Value(i64),
    Node(Box<Tree>, Box<Tree>),
    Forest(Vec<Tree>),
    Named {
        name: String,
        child: Option<Box<Tree>>,
    },
}

/// The fuzzed state: sequences, a string, a map of sequences of floats, an optional recursive
/// value, a tuple, a char and a u128.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub numbers: Vec<u64>,
    pub text: String,
    pub table: BTreeMap<u32, Vec<f64>>,
    pub tree: Option<Box<Tree>>,
    pub tuple: (u8, i32, bool, String),
    pub letter: char,
    pub big: u128,
}

/// Exact equality: floats are compared bit for bit, so a NaN equals itself and `-0.0` differs
/// from `0.0`. A round trip must give back exactly these bits.
impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        let bits = |table: &BTreeMap<u32, Vec<f64>>| {
            table
                .iter()
                .map(|(key, values)| (*key, values.iter().map(|v| v.to_bits()).collect()))
                .collect::<BTreeMap<u32, Vec<u64>>>()
        };
        self.numbers == other.numbers
            && self.text == other.text
            && bits(&self.table) == bits(&other.table)
            && self.tree == other.tree
            && self.tuple == other.tuple
            && self.letter == other.letter
            && self.big == other.big
    }
}

/// `depth` nested `Node`s around a leaf, with a sibling at every level.
pub fn deep_tree(depth: usize) -> Tree {
    (0..depth).fold(Tree::Leaf, |inner, i| {
        Tree::Node(Box::new(inner), Box::new(Tree::Value(i as i64)))
    })
}

/// A few states covering every field, for the seed corpus and the tests.
pub fn samples() -> Vec<State> {
    let empty = State {
        numbers: Vec::new(),
        text: String::new(),
        table: BTreeMap::new(),
        tree: None,
        tuple: (0, 0, false, String::new()),
        letter: '\0',
        big: 0,
    };
    let typical = State {
        numbers: (0..50).map(|i| i * i).collect(),
        text: "hello, checkpoint".into(),
        table: BTreeMap::from([
            (1, vec![0.5, -1.25, 3.0]),
            (7, vec![]),
            (4_000_000_000, vec![1e300, f64::MIN_POSITIVE]),
        ]),
        tree: Some(Box::new(Tree::Named {
            name: "root".into(),
            child: Some(Box::new(Tree::Forest(vec![
                Tree::Leaf,
                Tree::Value(-42),
                Tree::Node(Box::new(Tree::Leaf), Box::new(Tree::Value(7))),
            ]))),
        })),
        tuple: (255, -17, true, "tuple".into()),
        letter: 'x',
        big: 12_345_678_901_234_567_890_123_456_789,
    };
    let extremes = State {
        numbers: vec![0, 1, 127, 128, 16_383, 16_384, u64::MAX - 1, u64::MAX],
        text: "ünïcödé ✓ 🦀 \u{10FFFF}".into(),
        table: BTreeMap::from([
            (
                0,
                vec![f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
            ),
            (u32::MAX, vec![-0.0, 0.0, f64::MAX, f64::MIN, 5e-324]),
        ]),
        tree: Some(Box::new(deep_tree(40))),
        tuple: (1, i32::MIN, false, "\u{0}\u{7f}\u{80}".into()),
        letter: '🦀',
        big: u128::MAX,
    };
    let large = State {
        numbers: (0..300).map(|i| i * 0x0123_4567_89ab).collect(),
        text: "abc".repeat(100),
        table: (0..40)
            .map(|k| (k * 1000, vec![k as f64 / 3.0; 5]))
            .collect(),
        tree: Some(Box::new(Tree::Forest(
            (0..30)
                .map(|i| Tree::Named {
                    name: format!("n{i}"),
                    child: (i % 2 == 0).then(|| Box::new(Tree::Value(i))),
                })
                .collect(),
        ))),
        tuple: (42, i32::MAX, true, "é".repeat(50)),
        letter: '\u{D7FF}',
        big: 1 << 64,
    };
    vec![empty, typical, extremes, large]
}

// --- The checkpoint envelope, built by hand from the format documented in envelope.rs ---

/// The label `resumable::save` writes.
pub const SAVE_LABEL: &str = "resumable::save";
/// Header size: magic, version, metadata length, payload length.
pub const HEADER_LEN: usize = 24;

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: slow and obviously
/// right, independent of the library's table-driven one.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// postcard's unsigned varint (LEB128): seven bits a byte, low first.
pub fn varint(out: &mut Vec<u8>, mut value: u128) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// postcard's string: varint length, then the UTF-8 bytes.
pub fn string(out: &mut Vec<u8>, text: &str) {
    varint(out, text.len() as u128);
    out.extend_from_slice(text.as_bytes());
}

/// The checkpoint fingerprint: FNV-1a over label, a zero byte, shape.
pub fn fingerprint(label: &str, shape: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.bytes().chain([0]).chain(shape.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A metadata record: fingerprint, index, saved_at_ms, label, shape, next_item (`None`).
pub fn meta(index: u64, label: &str, shape: &str) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, fingerprint(label, shape).into());
    varint(&mut out, index.into());
    varint(&mut out, 1_700_000_000_000); // saved_at_ms: fixed, so built files are reproducible
    string(&mut out, label);
    string(&mut out, shape);
    out.push(0); // next_item: None
    out
}

/// A whole checkpoint: header, `meta`, `payload`, and the CRC-32C of all of it.
pub fn envelope_with_meta(meta: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + meta.len() + payload.len() + 4);
    out.extend_from_slice(b"RESUMABL");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(meta);
    out.extend_from_slice(payload);
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A valid envelope (index 7) around `payload`: whatever `payload` is, the loader's checks all
/// pass and the payload decoder sees it.
pub fn envelope(payload: &[u8]) -> Vec<u8> {
    envelope_with_meta(&meta(7, "fuzz", "state: State"), payload)
}

/// The payload of a checkpoint whose header is well formed (as `resumable::save` writes it).
pub fn payload_of(checkpoint: &[u8]) -> &[u8] {
    let meta_len = u32::from_le_bytes(checkpoint[12..16].try_into().unwrap()) as usize;
    &checkpoint[HEADER_LEN + meta_len..checkpoint.len() - 4]
}
