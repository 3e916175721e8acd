//! The check, at a run's first checkpoint, that each state binding comes back from its bytes
//! as it was saved: a `#[serde(skip)]` field (back as its default), a `skip_serializing_if`
//! (bytes a resume cannot decode), a list too deep for the depth limit — each would make
//! every later checkpoint useless, and is refused at the first one instead of at the resume
//! hours later.
//!
//! The value is serialized, decoded through the very path a resume takes (the payload
//! reader, the bulk decoder, the depth limit, no byte left over) and compared with the value
//! saved: through `PartialEq` if the type has it (and the value equals itself: a NaN inside
//! does not), else its `Debug` text, else the decoded value's bytes. Bytes come last because a
//! field serde skips is missing from both encodings alike; `PartialEq` and `Debug` see it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::format::depth_limit::{self, MAX_DEPTH};
use crate::format::hash::Hash128;
use crate::format::shape;
use crate::format::source::{self, Source};
use crate::format::stream::{DecodeError, Payload, Piece};
use crate::run::hash_into::HashInto;
use crate::run::outputs;
use crate::store::spill::Spill;

/// How a state binding's type can be compared with its decoded copy, found by autoref
/// specialization at the binding (see `__private::RoundTrip`).
pub struct Comparison<T> {
    pub(crate) eq: Option<fn(&T, &T) -> bool>,
    pub(crate) debug: Option<fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result>,
}

impl<T> Comparison<T> {
    /// Through `PartialEq` and/or `Debug`; bytes with neither.
    pub(crate) fn new(
        eq: Option<fn(&T, &T) -> bool>,
        debug: Option<fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result>,
    ) -> Self {
        Comparison { eq, debug }
    }
}

/// What is wrong with a binding's round trip, in words, if anything: `None` when the value
/// comes back as it was (or does not serialize at all: the save itself reports that). The
/// encoded copy of a big value goes to a file beside `checkpoint` ([`Spill`]): in memory are
/// only the value and the decoded one.
pub(crate) fn problem<T: Serialize + DeserializeOwned>(
    value: &T,
    compare: &Comparison<T>,
    checkpoint: &Path,
) -> Option<String> {
    let encoded = match postcard::serialize_with_flavor(value, Spill::new(checkpoint)) {
        Ok(encoded) => Ok(encoded),
        // The file could not take the bytes: in memory, then.
        Err(postcard::Error::SerializeBufferFull) => {
            postcard::to_allocvec(value).map(|bytes| Arc::new(bytes) as Arc<dyn Source>)
        }
        Err(err) => Err(err),
    };
    let bytes = match encoded {
        Ok(bytes) => bytes,
        Err(_) => {
            // The save reports it (an `io::Output` that cannot flush says why again then).
            outputs::take_failure();
            return None;
        }
    };
    let len = bytes.size();
    let payload = Payload::new(bytes.clone(), vec![Piece::At(0..len)]);
    let mut reader = payload.reader();
    let decoded: T = match reader.value() {
        Ok(decoded) => decoded,
        Err(DecodeError::Value(depth_limit::Error::TooDeep)) => {
            return Some(format!(
                "it nests deeper than the {MAX_DEPTH} levels a resume decodes (a linked list or \
                 tree that deep, an `Option<Box<Node>>` chain): keep its nodes in a `Vec` and \
                 link them by index"
            ));
        }
        Err(err) => {
            let err = match (outputs::take_failure(), err) {
                // An `io::Output` that refused its file says why; postcard's error cannot.
                (Some(refused), _) => refused.to_string(),
                (None, DecodeError::Value(err)) => err.to_string(),
                (None, DecodeError::Read(err)) => err.to_string(),
            };
            return Some(format!(
                "its bytes do not decode ({err}){}",
                skipped_hint(value)
            ));
        }
    };
    let left = reader.remaining();
    if left != 0 {
        return Some(format!(
            "{left} of its bytes are left over after decoding it{}",
            skipped_hint(value)
        ));
    }
    drop(reader);
    drop(payload);
    let how = match same(value, &decoded, compare, &*bytes) {
        (true, _) => return None,
        // Two equal hash tables list their entries in orders of their own: their `Debug`
        // texts and bytes tell nothing (`PartialEq` does; the decode above still counts).
        (false, Compared::Shown | Compared::Bytes) if shape::may_hold_hash_table(value) => {
            return None;
        }
        (false, how) => how.text(),
    };
    let field = compare
        .debug
        .and_then(|debug| differing_field(value, &decoded, debug))
        .map_or_else(String::new, |field| format!(", in {field}"));
    Some(format!(
        "it decodes to another value than the one saved ({how}){field}: a field serde skips \
         (`#[serde(skip)]`) comes back as its default{}",
        skipped_hint(value)
    ))
}

/// How a decoded value was compared with the value saved.
#[derive(Clone, Copy)]
enum Compared {
    Eq,
    Shown,
    Bytes,
}

impl Compared {
    fn text(self) -> &'static str {
        match self {
            Compared::Eq => "compared with `PartialEq`",
            Compared::Shown => "compared by its `Debug` text",
            Compared::Bytes => "compared by the bytes it encodes to again",
        }
    }
}

/// Whether `decoded` is `value`, and how that was found: by `PartialEq` where it holds for
/// `value` itself, else by `Debug` text, else by the bytes the decoded value encodes to.
fn same<T: Serialize>(
    value: &T,
    decoded: &T,
    compare: &Comparison<T>,
    bytes: &dyn Source,
) -> (bool, Compared) {
    if let Some(eq) = compare.eq
        && eq(value, value)
    {
        return (eq(value, decoded), Compared::Eq);
    }
    if let Some(debug) = compare.debug {
        let same = debug_hash(value, debug) == debug_hash(decoded, debug);
        return (same, Compared::Shown);
    }
    let mut saved = Hash128::default();
    let read = source::for_each_chunk(bytes, 0..bytes.size(), |chunk| {
        std::hash::Hasher::write(&mut saved, chunk);
        true
    });
    if read.is_err() {
        // The copy cannot be read back: nothing to tell the values apart with.
        return (true, Compared::Bytes);
    }
    let mut again = Hash128::default();
    let same = postcard::serialize_with_flavor(decoded, HashInto::new(&mut again, usize::MAX))
        .is_ok()
        && again.finish128() == saved.finish128();
    (same, Compared::Bytes)
}

/// `value` shown through `debug`, a `fmt::Debug::fmt`.
struct Shown<'a, T>(&'a T, fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result);

impl<T> fmt::Display for Shown<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

/// The hash of `value`'s `Debug` text, made without a copy of it: the text goes to the hasher
/// 64 KiB at a time (`Debug` writes a few bytes per call, and a hasher's call costs more).
fn debug_hash<T>(value: &T, debug: fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result) -> u128 {
    struct Buffered {
        hasher: Hash128,
        buf: Vec<u8>,
    }
    impl fmt::Write for Buffered {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            if self.buf.len() + text.len() > self.buf.capacity() {
                std::hash::Hasher::write(&mut self.hasher, &self.buf);
                self.buf.clear();
            }
            if text.len() > self.buf.capacity() {
                std::hash::Hasher::write(&mut self.hasher, text.as_bytes());
            } else {
                self.buf.extend_from_slice(text.as_bytes());
            }
            Ok(())
        }
    }
    let mut out = Buffered {
        hasher: Hash128::default(),
        buf: Vec::with_capacity(1 << 16),
    };
    let _ = fmt::write(&mut out, format_args!("{}", Shown(value, debug)));
    std::hash::Hasher::write(&mut out.hasher, &out.buf);
    out.hasher.finish128()
}

/// Where the `Debug` texts of `value` and `decoded` first differ, as the path of struct fields
/// around that point: "field `stats.cache` (of `Stats`)". Only on the way to a refusal, so
/// the two texts are made whole.
fn differing_field<T>(
    value: &T,
    decoded: &T,
    debug: fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
) -> Option<String> {
    let saved = Shown(value, debug).to_string();
    let back = Shown(decoded, debug).to_string();
    let at = saved
        .bytes()
        .zip(back.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(saved.len().min(back.len()));
    field_at(&saved[..floor_char_boundary(&saved, at)])
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// The struct fields open at the end of `prefix`, the start of a `Debug` text: `a.b` and the
/// struct `b` is a field of.
fn field_at(prefix: &str) -> Option<String> {
    // Per open bracket: the struct it opens (for `{`), and the field being shown in it.
    let mut open: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut word = String::new();
    let mut last_word = String::new();
    let mut chars = prefix.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            last_word = std::mem::take(&mut word);
        }
        match c {
            '"' | '\'' => {
                // A string or char literal: skip to its end, escapes included.
                while let Some(inner) = chars.next() {
                    match inner {
                        '\\' => {
                            chars.next();
                        }
                        _ if inner == c => break,
                        _ => {}
                    }
                }
                last_word.clear();
            }
            '{' => open.push((Some(std::mem::take(&mut last_word)), None)),
            '(' | '[' => open.push((None, None)),
            '}' | ')' | ']' => {
                open.pop();
            }
            ':' if chars.peek() == Some(&' ') && !last_word.is_empty() => {
                if let Some((Some(_), field)) = open.last_mut() {
                    *field = Some(std::mem::take(&mut last_word));
                }
            }
            ' ' => {}
            _ => last_word.clear(),
        }
    }
    let fields: Vec<&str> = open
        .iter()
        .filter_map(|(_, field)| field.as_deref())
        .collect();
    let owner = open
        .iter()
        .rev()
        .find_map(|(owner, field)| field.as_ref().and(owner.as_deref()))?;
    Some(format!("field `{}` (of `{owner}`)", fields.join(".")))
}

/// ": field `items` of `Node` was left out of the bytes (`skip_serializing_if`)…", if a
/// struct in `value` skipped a field as it was serialized.
fn skipped_hint<T: Serialize>(value: &T) -> String {
    match shape::skipped_field(value) {
        Some((container, field)) => format!(
            ": field `{field}` of `{container}` was left out of its bytes as it was saved \
             (`#[serde(skip_serializing_if = ...)]`), and postcard cannot tell a field is \
             missing; remove the `skip_serializing_if`"
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_open_where_debug_texts_differ_is_named() {
        let text = r#"State { total: 3, stats: Stats { count: 1, name: "a{b: c", cache: [1, "#;
        assert_eq!(
            field_at(text).as_deref(),
            Some("field `stats.cache` (of `Stats`)")
        );
        assert_eq!(field_at("[1, 2"), None);
        assert_eq!(
            field_at("Node { next: Some(Node { next: Some(Node { value: "),
            Some("field `next.next.value` (of `Node`)".into())
        );
    }

    /// The peak resident memory of this process so far, in MB (Linux).
    fn peak_mb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb / 1000)
    }

    /// The one-off cost of the check for a 100 MB state: `cargo test --release -p resumable
    /// --lib round_trip_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement"]
    fn round_trip_cost_of_a_100_mb_state() {
        #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
        struct Row {
            id: u64,
            weight: f64,
        }
        // 6.25 million rows of 16 bytes: 100 MB in memory (about 90 MB as postcard).
        let rows: Vec<Row> = (0..6_250_000u64)
            .map(|i| Row {
                id: i * 2654435761 % 1_000_000_007,
                weight: i as f64 * 0.5,
            })
            .collect();
        let before = peak_mb();
        for (what, compare) in [
            ("PartialEq", Comparison::new(Some(<Vec<Row>>::eq), None)),
            (
                "Debug",
                Comparison::new(None, Some(<Vec<Row> as fmt::Debug>::fmt)),
            ),
            ("bytes", Comparison::new(None, None)),
        ] {
            let started = std::time::Instant::now();
            let checkpoint = std::env::temp_dir().join("resumable-round-trip-cost.ckpt");
            assert_eq!(problem(&rows, &compare, &checkpoint), None);
            eprintln!("{what}: {:?}", started.elapsed());
        }
        let started = std::time::Instant::now();
        let bytes = postcard::to_allocvec(&rows).unwrap();
        eprintln!(
            "for scale, one serialization ({} MB): {:?}; peak memory {} MB before the checks, \
             {} MB after",
            bytes.len() / 1_000_000,
            started.elapsed(),
            before,
            peak_mb()
        );
    }
}
