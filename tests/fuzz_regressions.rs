//! Hostile and fuzzer-found checkpoints: every file in `tests/fuzz_regressions/` is fed to the
//! whole loading path (`decode_checkpoint`) and must be refused with an error, never a panic,
//! an abort, a hang or a huge allocation.
//!
//! The directory holds two kinds of file:
//! - `hand-*.bin`: hostile inputs built by the recipes below, inside a *valid* envelope (right
//!   lengths, metadata and CRC-32C) so the payload decoder really sees them: length prefixes
//!   up to 2^64-1, nesting far past the depth limit, truncated and overlong varints, a bad
//!   char, trailing bytes; and a few that attack the envelope itself. The test
//!   `hand_made_files_match_their_recipes` keeps the files equal to the recipes; run it with
//!   `REGENERATE_FUZZ_REGRESSIONS=1` to rewrite them after a format change.
//! - anything else: inputs found by `cargo fuzz` (fuzz/README.md), copied here as they were.
//!
//! The state type is the fuzz targets' own (`fuzz/common/mod.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use resumable::__private::decode_checkpoint;

#[path = "../fuzz/common/mod.rs"]
mod common;

use common::{State, Tree};

/// How long one hostile input may take to be refused, in a debug build (they take microseconds
/// to milliseconds: a decoder that loops over a 2^60 length prefix would not).
const QUICK: Duration = Duration::from_secs(2);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions")
}

/// A postcard payload written field by field, so a hostile value can replace any one of them.
#[derive(Default, Clone)]
struct Payload(Vec<u8>);

impl Payload {
    fn varint(mut self, value: u128) -> Self {
        common::varint(&mut self.0, value);
        self
    }
    fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn string(mut self, text: &str) -> Self {
        common::string(&mut self.0, text);
        self
    }
    fn f64(self, value: f64) -> Self {
        self.bytes(&value.to_le_bytes())
    }
    /// `numbers`, `text` and `table` of a valid state: `[1, 300]`, `"hi"`, `{5: [0.5]}`.
    fn through_table() -> Self {
        Payload::default()
            .varint(2)
            .varint(1)
            .varint(300)
            .string("hi")
            .varint(1)
            .varint(5)
            .varint(1)
            .f64(0.5)
    }
    /// `tree` of a valid state: `Some(Node(Leaf, Value(-2)))` (variants in declaration order;
    /// i64 zigzag-encoded).
    fn through_tree() -> Self {
        Self::through_table().bytes(&[1, 2, 0, 1]).varint(3)
    }
    /// `tuple` of a valid state: `(9, -1, true, "t")`.
    fn through_tuple() -> Self {
        Self::through_tree()
            .bytes(&[9])
            .varint(1)
            .bytes(&[1])
            .string("t")
    }
    /// A whole valid state: [`valid_state`].
    fn whole() -> Self {
        Self::through_tuple().string("é").varint(1 << 100)
    }
    fn envelope(self) -> Vec<u8> {
        common::envelope(&self.0)
    }
}

/// The state [`Payload::whole`] encodes.
fn valid_state() -> State {
    State {
        numbers: vec![1, 300],
        text: "hi".into(),
        table: [(5, vec![0.5])].into(),
        tree: Some(Box::new(Tree::Node(
            Box::new(Tree::Leaf),
            Box::new(Tree::Value(-2)),
        ))),
        tuple: (9, -1, true, "t".into()),
        letter: 'é',
        big: 1 << 100,
    }
}

/// The hand-made hostile inputs: file name (without `hand-` and `.bin`) and bytes.
fn recipes() -> Vec<(String, Vec<u8>)> {
    const HUGE: [u128; 6] = [
        1 << 28,
        1 << 31,
        1 << 35,
        1 << 60,
        u64::MAX as u128,
        u128::MAX,
    ];
    let huge_names = ["2p28", "2p31", "2p35", "2p60", "u64max", "u128max"];
    let empty_vec = Payload::default().varint(0);
    let mut recipes = Vec::new();
    for (len, name) in HUGE.into_iter().zip(huge_names) {
        // `numbers`: a Vec<u64> announced as `len` long, then a few elements.
        let numbers = Payload::default().varint(len).varint(1).varint(2);
        // `text`: a String of `len` bytes.
        let text = empty_vec.clone().varint(len).bytes(b"abc");
        // `table`: a map of `len` entries, and an entry whose Vec<f64> is `len` long.
        let table = empty_vec.clone().string("").varint(len).varint(1);
        let inner = empty_vec
            .clone()
            .string("")
            .varint(1)
            .varint(1)
            .varint(len)
            .f64(1.0);
        // `tree`: a Forest of `len` trees.
        let forest = Payload::through_table()
            .bytes(&[1, 3])
            .varint(len)
            .bytes(&[0, 0]);
        // `tuple.3` and `letter`: strings of `len` bytes.
        let tuple = Payload::through_tree()
            .bytes(&[9, 2, 1])
            .varint(len)
            .bytes(b"t");
        let letter = Payload::through_tuple().varint(len).bytes(b"x");
        for (field, payload) in [
            ("vec", numbers),
            ("string", text),
            ("map", table),
            ("map-value-vec", inner),
            ("forest", forest),
            ("tuple-string", tuple),
            ("char", letter),
        ] {
            recipes.push((format!("len-{name}-{field}"), payload.envelope()));
        }
    }
    let deep = |unit: &[u8], times: usize| {
        Payload::through_table()
            .bytes(&[1])
            .bytes(&unit.repeat(times))
            .envelope()
    };
    let fixed: [(&str, Vec<u8>); 23] = [
        // Nesting: `Node(Node(Node(…` and friends, far past the depth limit of 128.
        ("deep-node", deep(&[2], 10_000)),
        ("deep-forest", deep(&[3, 1], 5_000)),
        ("deep-named", deep(&[4, 0, 1], 3_000)),
        ("deep-just-past-limit", deep(&[2], 200)),
        // Varints: cut short at the end of the payload, and longer than a u64/u128 can be.
        (
            "truncated-varint-vec-len",
            Payload::default().bytes(&[0xff, 0xff]).envelope(),
        ),
        (
            "truncated-varint-element",
            Payload::default()
                .varint(3)
                .varint(1)
                .bytes(&[0x80])
                .envelope(),
        ),
        (
            "truncated-varint-u128",
            Payload::through_tuple()
                .string("é")
                .bytes(&[0xff; 5])
                .envelope(),
        ),
        (
            "overlong-varint-u64",
            Payload::default()
                .varint(1)
                .bytes(&[0xff; 11])
                .bytes(&[1])
                .envelope(),
        ),
        (
            "overlong-varint-u128",
            Payload::through_tuple()
                .string("é")
                .bytes(&[0xff; 20])
                .bytes(&[1])
                .envelope(),
        ),
        // Values a type cannot hold.
        (
            "char-surrogate",
            Payload::through_tuple()
                .varint(3)
                .bytes(&[0xed, 0xa0, 0x80])
                .varint(0)
                .envelope(),
        ),
        (
            "char-two-chars",
            Payload::through_tuple().string("ab").varint(0).envelope(),
        ),
        (
            "string-invalid-utf8",
            Payload::default()
                .varint(0)
                .varint(2)
                .bytes(&[0xc3, 0x28])
                .envelope(),
        ),
        (
            "bool-two",
            Payload::through_tree()
                .bytes(&[9, 1, 2])
                .string("t")
                .envelope(),
        ),
        (
            "enum-unknown-variant",
            Payload::through_table().bytes(&[1, 5]).envelope(),
        ),
        (
            "option-tag-two",
            Payload::through_table().bytes(&[2]).envelope(),
        ),
        // Exact length: a whole state, then one more byte; and a state cut short.
        ("trailing-byte", Payload::whole().bytes(&[0]).envelope()),
        ("truncated-state", Payload::through_tuple().envelope()),
        ("empty-payload", Payload::default().envelope()),
        // The envelope itself.
        ("envelope-payload-len-u64max", {
            let mut bytes = Payload::whole().envelope();
            bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
            bytes
        }),
        ("envelope-meta-len-u32max", {
            let mut bytes = Payload::whole().envelope();
            bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
            bytes
        }),
        ("envelope-meta-label-len-2p60", {
            let mut meta = Vec::new();
            common::varint(&mut meta, 1);
            common::varint(&mut meta, 2);
            common::varint(&mut meta, 3);
            common::varint(&mut meta, 1 << 60);
            meta.extend_from_slice(b"label");
            common::envelope_with_meta(&meta, &Payload::whole().0)
        }),
        ("envelope-bad-crc", {
            let mut bytes = Payload::whole().envelope();
            *bytes.last_mut().unwrap() ^= 1;
            bytes
        }),
        ("envelope-header-only", b"RESUMABL\x01\0\0\0".to_vec()),
    ];
    recipes.extend(fixed.map(|(name, bytes)| (name.to_owned(), bytes)));
    recipes
}

fn file_name(recipe: &str) -> String {
    format!("hand-{recipe}.bin")
}

/// Decodes `bytes` on a thread of its own, so a panic is reported with the file's name and a
/// hang is caught by the time limit rather than by CI's.
fn refuse(name: &str, bytes: Vec<u8>) -> (String, Duration) {
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let start = Instant::now();
            let result = decode_checkpoint::<State>(&bytes);
            (
                result.map(|(index, state)| (index, format!("{state:?}"))),
                start.elapsed(),
            )
        })
        .expect("spawn a decoding thread");
    let (result, took) = match thread.join() {
        Ok(outcome) => outcome,
        Err(_) => panic!("{name}: decode_checkpoint panicked"),
    };
    match result {
        Ok((index, state)) => panic!("{name}: loaded as index {index}, {state}"),
        Err(err) => (err.to_string(), took),
    }
}

#[test]
fn the_hand_encoding_is_right() {
    // Without this, the hostile variants might fail for a reason other than the intended one.
    let (index, state) = decode_checkpoint::<State>(&Payload::whole().envelope()).unwrap();
    assert_eq!(index, 7);
    assert_eq!(state, valid_state());
}

#[test]
fn every_file_is_refused() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("read tests/fuzz_regressions")
        .map(|entry| entry.expect("list tests/fuzz_regressions").path())
        .collect();
    names.sort();
    assert!(
        names.len() >= recipes().len(),
        "missing files: regenerate them"
    );
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).expect("read a regression input");
        let (message, took) = refuse(&name, bytes);
        assert!(took < QUICK, "{name}: took {took:?}");
        assert!(message.contains("cannot be loaded"), "{name}: {message}");
    }
}

#[test]
fn hostile_payloads_reach_the_payload_decoder() {
    for (recipe, bytes) in recipes() {
        let (message, took) = refuse(&recipe, bytes);
        assert!(took < QUICK, "{recipe}: took {took:?}");
        let expected = if recipe.starts_with("envelope-") {
            "cannot be loaded"
        } else if recipe == "trailing-byte" {
            "1 bytes are left over"
        } else {
            "its state does not decode"
        };
        assert!(message.contains(expected), "{recipe}: {message}");
        if recipe.starts_with("deep-") {
            assert!(message.contains("nests deeper than"), "{recipe}: {message}");
        }
    }
}

/// Run on its own by `huge_lengths_stay_within_a_memory_limit`, under `ulimit -v`: a decoder
/// that believed a length prefix (8 × 2^28 bytes and up) would fail to allocate and abort.
#[test]
fn huge_length_prefixes_are_refused_quickly() {
    for (recipe, bytes) in recipes() {
        if recipe.starts_with("len-") {
            let (message, took) = refuse(&recipe, bytes);
            assert!(took < QUICK, "{recipe}: took {took:?}");
            assert!(
                message.contains("its state does not decode"),
                "{recipe}: {message}"
            );
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn huge_lengths_stay_within_a_memory_limit() {
    // 512 MiB of address space: the test harness and a thread or two need well under that,
    // and every `len-2p28-*` and larger input would need 256 MiB to 2^64 bytes if believed.
    const LIMIT_KIB: u32 = 512 * 1024;
    let exe = std::env::current_exe().expect("current_exe");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args([
            "huge_length_prefixes_are_refused_quickly",
            "--exact",
            "--test-threads=1",
        ])
        .output()
        .expect("run the test binary under ulimit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "under a {LIMIT_KIB} KiB address-space limit: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}

#[test]
fn hand_made_files_match_their_recipes() {
    let regenerate = std::env::var_os("REGENERATE_FUZZ_REGRESSIONS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (recipe, bytes) in recipes() {
        let path = dir().join(file_name(&recipe));
        if regenerate {
            std::fs::write(&path, &bytes).expect("write a regression input");
        } else if std::fs::read(&path).ok().as_ref() != Some(&bytes) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (rerun with REGENERATE_FUZZ_REGRESSIONS=1): {stale:#?}"
    );
}
