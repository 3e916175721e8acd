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
use crate::format::stream::{DecodeError, Payload, Piece, Reader};
use crate::run::hash_into::HashInto;
use crate::run::outputs;
use crate::store::spill;

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
/// encoded copy of a big value goes to a file beside `checkpoint` ([`spill`]): in memory are
/// only the value and the decoded one.
///
/// Only what needs `T` is here; the reading and the messages are in functions without it, so
/// they are compiled once, in this crate, not in every crate that saves a state (issue 25).
pub(crate) fn problem<T: Serialize + DeserializeOwned>(
    value: &T,
    compare: &Comparison<T>,
    checkpoint: &Path,
) -> Option<String> {
    let encoded = spill::spilled(checkpoint, &mut |into| {
        postcard::serialize_with_flavor(value, into)
    });
    let bytes = encoded_or_reported(encoded)?;
    let hint = || skipped_hint(shape::skipped_field(value));
    let payload = whole(&bytes);
    let mut reader = payload.reader();
    let decoded: T = match reader.value() {
        Ok(decoded) => decoded,
        Err(err) => return Some(not_decoded(err, &hint)),
    };
    if let Some(problem) = left_over(&reader, &hint) {
        return Some(problem);
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
        (false, how) => how,
    };
    let field = compare
        .debug
        .and_then(|debug| differing_field(&Shown(value, debug), &Shown(&decoded, debug)));
    Some(decodes_to_another(how, field, &hint))
}

/// The encoded value, or `None` when it does not serialize: the save reports that.
fn encoded_or_reported(encoded: postcard::Result<Arc<dyn Source>>) -> Option<Arc<dyn Source>> {
    match encoded {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            // The save reports it (an `io::Output` that cannot flush says why again then).
            outputs::take_failure();
            None
        }
    }
}

/// All of `bytes`, as the payload a resume reads.
fn whole(bytes: &Arc<dyn Source>) -> Payload {
    let len = bytes.size();
    Payload::new(bytes.clone(), vec![Piece::At(0..len)])
}

/// Why the bytes do not decode; `hint` names a field left out of them, if one was.
fn not_decoded(err: DecodeError, hint: &dyn Fn() -> String) -> String {
    if let DecodeError::Value(depth_limit::Error::TooDeep) = err {
        return format!(
            "it nests deeper than the {MAX_DEPTH} levels a resume decodes (a linked list or \
             tree that deep, an `Option<Box<Node>>` chain): keep its nodes in a `Vec` and \
             link them by index"
        );
    }
    let err = match (outputs::take_failure(), err) {
        // An `io::Output` that refused its file says why; postcard's error cannot.
        (Some(refused), _) => refused.to_string(),
        (None, DecodeError::Value(err)) => err.to_string(),
        (None, DecodeError::Read(err)) => err.to_string(),
    };
    format!("its bytes do not decode ({err}){}", hint())
}

/// The bytes the decode left over, in words, if any.
fn left_over(reader: &Reader, hint: &dyn Fn() -> String) -> Option<String> {
    let left = reader.remaining();
    (left != 0).then(|| {
        format!(
            "{left} of its bytes are left over after decoding it{}",
            hint()
        )
    })
}

/// The value came back as another: how that was found, and where (`field`) if known.
fn decodes_to_another(how: Compared, field: Option<String>, hint: &dyn Fn() -> String) -> String {
    let field = field.map_or_else(String::new, |field| format!(", in {field}"));
    format!(
        "it decodes to another value than the one saved ({}){field}: a field serde skips \
         (`#[serde(skip)]`) comes back as its default{}",
        how.text(),
        hint()
    )
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
        let same = debug_hash(&Shown(value, debug)) == debug_hash(&Shown(decoded, debug));
        return (same, Compared::Shown);
    }
    let Some(saved) = bytes_hash(bytes) else {
        // The copy cannot be read back: nothing to tell the values apart with.
        return (true, Compared::Bytes);
    };
    let mut again = Hash128::default();
    let same = postcard::serialize_with_flavor(decoded, HashInto::new(&mut again, usize::MAX))
        .is_ok()
        && again.finish128() == saved;
    (same, Compared::Bytes)
}

/// The hash of all of `bytes`, or `None` if they cannot be read.
fn bytes_hash(bytes: &dyn Source) -> Option<u128> {
    let mut saved = Hash128::default();
    let read = source::for_each_chunk(bytes, 0..bytes.size(), |chunk| {
        std::hash::Hasher::write(&mut saved, chunk);
        true
    });
    read.is_ok().then(|| saved.finish128())
}

/// `value` shown through `debug`, a `fmt::Debug::fmt`.
struct Shown<'a, T>(&'a T, fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result);

impl<T> fmt::Display for Shown<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

/// The hash of a value's `Debug` text (`shown`), made without a copy of it: the text goes to
/// the hasher 64 KiB at a time (`Debug` writes a few bytes per call, and a hasher's call costs
/// more).
fn debug_hash(shown: &dyn fmt::Display) -> u128 {
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
    let _ = fmt::write(&mut out, format_args!("{shown}"));
    std::hash::Hasher::write(&mut out.hasher, &out.buf);
    out.hasher.finish128()
}

/// Where the `Debug` texts of the value saved and the decoded one (`saved`, `back`) first
/// differ, as the path of struct fields around that point: "field `stats.cache` (of
/// `Stats`)". Only on the way to a refusal, so the two texts are made whole.
fn differing_field(saved: &dyn fmt::Display, back: &dyn fmt::Display) -> Option<String> {
    let saved = saved.to_string();
    let back = back.to_string();
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
/// struct in the value skipped a field as it was serialized (`skipped`, from
/// [`shape::skipped_field`]).
fn skipped_hint(skipped: Option<(String, &'static str)>) -> String {
    match skipped {
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
