//! The default checkpoint key: a call's arguments, fingerprinted, so that a call never resumes
//! a checkpoint made by a call with other arguments (`for part in parts { score(part, n) }`).
//!
//! Every input of the call is in it: `self`, each argument (loop state too: its value on entry),
//! each type parameter (its name) and const parameter. Each value is fingerprinted through the
//! first of these it has: `Hash`, `Serialize` (its postcard bytes), `Debug` (its text). An
//! input with none of them (a closure, a type of the user's with no derives) is a compile
//! error at the input asking for `key = …`: left out, it would let a call resume another's
//! checkpoint. A `HashMap` or `HashSet` (or a type whose name holds one) is refused: its order,
//! and so its bytes and text, differ per process, so its calls would never resume; `key = …`
//! says what selects the work instead, unless it is the table itself (a `HashMap` argument, a
//! `&mut HashSet` of state): that one is fingerprinted entry by entry, in any order.

use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher as _};

use serde::Serialize;

use crate::format::hash::Hash128;
use crate::run::hash_into;
use crate::run::order_free;
use crate::run::spec::Key;

/// An argument of the call, asked for its fingerprint and its text by autoref specialization:
/// `(&&&&&Arg(&x)).arg_hash()` (by `Hash`, a candle tensor's data; `Serialize`; a burn model's
/// data; `Debug`; else a compile error) and `(&&&&Arg(&x)).arg_text()`.
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// What an argument's fingerprint is.
pub enum ArgHash {
    /// Its fingerprint.
    Hashed(u128),
    /// Its type (this name) iterates in an order that differs per process.
    Unordered(&'static str),
    /// Its `Serialize` failed: it cannot be part of the key.
    Opaque,
}

/// The first choice: an argument that is `Hash`.
pub trait ArgByHash {
    /// Its `Hash` fed to a stable hasher.
    fn arg_hash(&self) -> ArgHash;
}

// The probes' methods are not inlined: each runs once per call, and inlined it would be
// optimized again in every annotated function (8% of the release code of a crate of 40).
impl<T: Hash + ?Sized> ArgByHash for &&&&Arg<'_, T> {
    #[inline(never)]
    fn arg_hash(&self) -> ArgHash {
        let mut hasher = Hash128::new();
        hasher.write(b"hash");
        self.0.hash(&mut hasher);
        ArgHash::Hashed(hasher.finish128())
    }
}

/// The second choice: an argument that is `Serialize`.
pub trait ArgBySerde {
    /// Its postcard bytes fed to a stable hasher, without a copy of them.
    fn arg_hash(&self) -> ArgHash;
}

impl<T: Serialize + ?Sized> ArgBySerde for &&&Arg<'_, T> {
    #[inline(never)]
    fn arg_hash(&self) -> ArgHash {
        if let Some(name) = unordered::<T>() {
            // A hash table itself, of ordered keys and values: its entries, in any order.
            return match is_one_table(name) {
                true => order_free::fingerprint(self.0)
                    .map_or(ArgHash::Unordered(name), ArgHash::Hashed),
                false => ArgHash::Unordered(name),
            };
        }
        let mut hasher = Hash128::new();
        hasher.write(b"serde");
        match hash_into::serialized(self.0, &mut hasher, usize::MAX) {
            true => ArgHash::Hashed(hasher.finish128()),
            // A `Serialize` impl that fails.
            false => ArgHash::Opaque,
        }
    }
}

/// The fourth choice (after a burn model's data): an argument that is `Debug`.
pub trait ArgByDebug {
    /// Its `Debug` text fed to a stable hasher.
    fn arg_hash(&self) -> ArgHash;
}

impl<T: fmt::Debug + ?Sized> ArgByDebug for &Arg<'_, T> {
    #[inline(never)]
    fn arg_hash(&self) -> ArgHash {
        if let Some(name) = unordered::<T>() {
            return ArgHash::Unordered(name);
        }
        let mut hasher = Hash128::new();
        hasher.write(b"debug");
        hash_into::debugged(self.0, &mut hasher, usize::MAX);
        ArgHash::Hashed(hasher.finish128())
    }
}

/// The last choice: nothing to fingerprint, which is a compile error at the input: its method
/// asks for [`Fingerprintable`], which nothing implements.
pub trait ArgOpaque<T: ?Sized> {
    /// Never called: the bound fails to compile first.
    fn arg_hash(&self) -> ArgHash
    where
        Self: Fingerprintable<T>,
    {
        ArgHash::Opaque
    }
}

impl<T: ?Sized> ArgOpaque<T> for Arg<'_, T> {}

/// Implemented by no type: the bound that makes an input the key cannot read a compile error,
/// with this message.
#[diagnostic::on_unimplemented(
    message = "this input of a #[resumable] function is a `{T}`, which has no `Hash`, `Serialize` or `Debug`, so it cannot be part of the checkpoint's key",
    label = "the key cannot tell one value of this input from another",
    note = "without it in the key, a call would resume the checkpoint of a call with another value here: say what selects the work with `#[resumable(key = …)]` (the other inputs, or an id of this one, e.g. `key = (n, cfg.id)`), or `key = ()` if every call does the same work",
    note = "a type of yours can derive `Hash` or `Serialize`; a type parameter can have one of them, or `Debug`, as a bound (`T: Hash`)"
)]
pub trait Fingerprintable<T: ?Sized> {}

/// A type parameter's part of the key: the hash of its name.
pub fn type_arg<T: ?Sized>() -> ArgHash {
    let mut hasher = Hash128::new();
    hasher.write(b"type");
    hasher.write(std::any::type_name::<T>().as_bytes());
    ArgHash::Hashed(hasher.finish128())
}

/// A type parameter's text in the key: its name.
pub fn type_text<T: ?Sized>() -> ArgText {
    let name = std::any::type_name::<T>();
    ArgText {
        debug: Some((name.to_owned(), false)),
        type_name: name,
        len: None,
    }
}

/// An argument's text in the checkpoint's label and the resume line: its `Debug` text when
/// that is short, else a summary (see `ArgText::shown`).
pub struct ArgText {
    /// At most about 100 bytes of its `Debug` text (formatting stops there), and whether it
    /// was cut there; `None` without `Debug`.
    debug: Option<(String, bool)>,
    /// Its type's name.
    type_name: &'static str,
    /// How many items it holds, for a collection (`&T: IntoIterator` with an exact size).
    len: Option<usize>,
}

/// The first choice: a reference to a collection with `Debug` (`rows: &[f64]`), whose summary
/// says how many items it holds.
pub trait ArgBorrowedCollectionText {
    /// Its `Debug` text (cut short), type and length.
    fn arg_text(&self) -> ArgText;
}

impl<T: ?Sized + fmt::Debug> ArgBorrowedCollectionText for &&&Arg<'_, &T>
where
    for<'x> &'x T: IntoIterator,
    for<'x> <&'x T as IntoIterator>::IntoIter: ExactSizeIterator,
{
    #[inline(never)]
    fn arg_text(&self) -> ArgText {
        // The collection's own text and length, under the reference's type name.
        ArgText {
            type_name: std::any::type_name::<&T>(),
            ..(&&&Arg(*self.0)).arg_text()
        }
    }
}

/// The second choice: a collection with `Debug`, whose summary says how many items it holds.
pub trait ArgCollectionText {
    /// Its `Debug` text (cut short), type and length.
    fn arg_text(&self) -> ArgText;
}

impl<T: ?Sized + fmt::Debug> ArgCollectionText for &&Arg<'_, T>
where
    for<'x> &'x T: IntoIterator,
    for<'x> <&'x T as IntoIterator>::IntoIter: ExactSizeIterator,
{
    #[inline(never)]
    fn arg_text(&self) -> ArgText {
        ArgText {
            debug: Some(debug_text(self.0)),
            type_name: std::any::type_name::<T>(),
            len: Some(self.0.into_iter().len()),
        }
    }
}

/// The third choice: an argument with `Debug`.
pub trait ArgDebugText {
    /// Its `Debug` text (cut short) and type.
    fn arg_text(&self) -> ArgText;
}

impl<T: fmt::Debug + ?Sized> ArgDebugText for &Arg<'_, T> {
    #[inline(never)]
    fn arg_text(&self) -> ArgText {
        ArgText {
            debug: Some(debug_text(self.0)),
            type_name: std::any::type_name::<T>(),
            len: None,
        }
    }
}

/// The last choice: an argument without `Debug`.
pub trait ArgNoText {
    /// `_`.
    fn arg_text(&self) -> ArgText {
        ArgText {
            debug: None,
            type_name: "_",
            len: None,
        }
    }
}

impl<T: ?Sized> ArgNoText for Arg<'_, T> {}

/// At most about 100 bytes of `value`'s `Debug` text, and whether it was cut there.
fn debug_text<T: fmt::Debug + ?Sized>(value: &T) -> (String, bool) {
    // A hash table's text is in another order in each process, and the text is in the
    // checkpoint's label.
    if unordered::<T>().is_some() {
        return ("{…}".to_owned(), false);
    }
    bounded_text(format_args!("{:?}", value))
}

/// `shown`'s text, cut short at about 100 bytes, and whether it was. Apart from
/// [`debug_text`], so that it is compiled once, here, not once per argument type in every
/// crate (issue 25).
fn bounded_text(shown: fmt::Arguments<'_>) -> (String, bool) {
    let mut text = Bounded(String::new());
    let cut = text.write_fmt(shown).is_err();
    if cut {
        text.0.push('…');
    }
    (text.0, cut)
}

/// A collection of more items than this is summarised, however short its text.
const SHOWN_ITEMS: usize = 16;

impl ArgText {
    /// The text the label and the resume line show: the `Debug` text if it is one short line
    /// of a whole value (`n = 100`, `path = "data.csv"`); else the type, the number of items
    /// of a collection, and the start of the argument's fingerprint, which tells two values
    /// apart (`rows = Vec<f64> of 1000000 items #3fa2c1d0`), so that a big or multi-line
    /// argument (an array, a table) never fills the line.
    fn shown(&self, fingerprint: u128) -> String {
        let Some((debug, cut)) = &self.debug else {
            return "_".to_owned();
        };
        let long = *cut || debug.contains('\n') || self.len.is_some_and(|len| len > SHOWN_ITEMS);
        if !long {
            return debug.clone();
        }
        let items = match self.len {
            Some(1) => " of 1 item".to_owned(),
            Some(len) => format!(" of {len} items"),
            None => String::new(),
        };
        format!(
            "{}{items} #{:08x}",
            short_type_name(self.type_name),
            (fingerprint >> 96) as u32
        )
    }
}

/// `name` without its paths: `alloc::vec::Vec<f64>` is `Vec<f64>`.
fn short_type_name(name: &str) -> String {
    let mut short = String::with_capacity(name.len());
    let mut word = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            // A path segment: what follows replaces it.
            word.clear();
        } else if c == '_' || c.is_alphanumeric() {
            word.push(c);
        } else {
            short.push_str(&word);
            word.clear();
            short.push(c);
        }
    }
    short.push_str(&word);
    short
}

/// The key of a call from its arguments `(name, fingerprint, text)`; `None` when no argument
/// has a fingerprint.
///
/// # Panics
/// If an argument iterates in an order that differs per process (a `HashMap`): its calls would
/// never find their checkpoint again. The message says to give `key = …`.
#[track_caller]
#[inline(never)]
pub fn args_key<const N: usize>(
    function: &str,
    args: [(&str, ArgHash, ArgText); N],
) -> Option<Key> {
    // By value: the texts are dropped here, not in every annotated function.
    key_of_args(function, &args)
}

#[track_caller]
fn key_of_args(function: &str, args: &[(&str, ArgHash, ArgText)]) -> Option<Key> {
    let mut hasher = Hash128::new();
    let mut text = String::new();
    let mut any = false;
    for (name, hash, value) in args {
        match hash {
            ArgHash::Hashed(hash) => {
                any = true;
                hasher.write(name.as_bytes());
                hasher.write(&hash.to_le_bytes());
                if !text.is_empty() {
                    text.push_str(", ");
                }
                let _ = write!(text, "{name} = {}", value.shown(*hash));
            }
            ArgHash::Unordered(type_name) => panic!(
                "resumable: {function}'s argument `{name}` is a `{type_name}`, whose order differs \
                 from one run of the program to the next, so it cannot tell this call's checkpoint \
                 from another's: say what selects the work with `#[resumable(key = …)]` (the \
                 other arguments, or a sorted copy of this one: `key = (n, sorted(&{name}))`)"
            ),
            ArgHash::Opaque => panic!(
                "resumable: {function}'s argument `{name}` failed to serialize, so it cannot tell \
                 this call's checkpoint from another's: say what selects the work with \
                 `#[resumable(key = …)]`"
            ),
        }
    }
    if !any {
        return None;
    }
    let hash = hasher.finish128();
    Some(Key::from_parts(text, (hash as u64) ^ ((hash >> 64) as u64)))
}

/// The name of `T` if it walks a hash table, whose order is random per process.
pub(crate) fn unordered<T: ?Sized>() -> Option<&'static str> {
    unordered_name(std::any::type_name::<T>())
}

/// [`unordered`] of the type named `name`. Apart, so that its text search is compiled once,
/// here, not in every crate that asks (issue 25).
#[inline(never)]
fn unordered_name(name: &'static str) -> Option<&'static str> {
    let hashed = ["std::collections::hash::", "hashbrown::"];
    hashed
        .iter()
        .any(|module| name.contains(module))
        .then_some(name)
}

/// Whether the type named `name` is a hash table (behind references) whose keys and values
/// hold none: only then is its order the only thing that differs per process.
fn is_one_table(name: &str) -> bool {
    let name = name
        .trim_start_matches(['&', ' '])
        .trim_start_matches("mut ");
    let hashed = ["std::collections::hash::", "hashbrown::"];
    let (outer, inner) = name.split_once('<').unwrap_or((name, ""));
    hashed.iter().any(|module| outer.starts_with(module))
        && !hashed.iter().any(|module| inner.contains(module))
}

/// Text that stops growing at about 100 bytes: formatting a large value stops there.
struct Bounded(String);

impl fmt::Write for Bounded {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        const MAX: usize = 100;
        if self.0.len() + text.len() <= MAX {
            self.0.push_str(text);
            return Ok(());
        }
        let room = MAX.saturating_sub(self.0.len());
        let cut = (0..=room.min(text.len()))
            .rev()
            .find(|&at| text.is_char_boundary(at))
            .unwrap_or(0);
        self.0.push_str(&text[..cut]);
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the generated code writes for an argument `x`.
    macro_rules! text_of {
        ($x:expr) => {
            (&&&&Arg(&$x)).arg_text()
        };
    }

    #[test]
    fn a_short_value_is_shown_as_its_debug_text() {
        assert_eq!(text_of!(100u64).shown(7), "100");
        assert_eq!(text_of!("data.csv").shown(7), "\"data.csv\"");
        assert_eq!(text_of!(vec![1u8, 2, 3]).shown(7), "[1, 2, 3]");
    }

    #[test]
    fn a_big_collection_is_summarised_by_its_type_length_and_fingerprint() {
        let rows = vec![0.5f64; 100_000];
        assert_eq!(
            text_of!(rows).shown(0x3fa2_c1d0 << 96),
            "Vec<f64> of 100000 items #3fa2c1d0"
        );
        // More than 16 items, however short their text.
        let small = vec![0u8; 17];
        assert_eq!(
            text_of!(small).shown(1 << 96),
            "Vec<u8> of 17 items #00000001"
        );
        // A map: its length too.
        let table: std::collections::BTreeMap<u64, u64> = (0..20).map(|i| (i, i)).collect();
        assert_eq!(
            text_of!(table).shown(0),
            "BTreeMap<u64, u64> of 20 items #00000000"
        );
    }

    #[test]
    fn a_multi_line_or_cut_text_is_summarised_without_a_length_where_there_is_none() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Grid {
            rows: String,
        }
        let grid = Grid {
            rows: "a\nb".to_owned(),
        };
        // `Debug` escapes the newline; a pretty-printing `Debug` would not.
        assert_eq!(text_of!(grid).shown(0), "Grid { rows: \"a\\nb\" }");
        struct Pretty;
        impl fmt::Debug for Pretty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[[1, 2],\n [3, 4]]")
            }
        }
        assert!(text_of!(Pretty).shown(0).starts_with("Pretty #"));
        let long = "x".repeat(300);
        assert_eq!(text_of!(long).shown(0), "String #00000000");
    }

    #[test]
    fn an_argument_without_debug_is_an_underscore() {
        struct Opaque;
        assert_eq!(text_of!(Opaque).shown(0), "_");
    }

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type_name("alloc::vec::Vec<f64>"), "Vec<f64>");
        assert_eq!(
            short_type_name(
                "ndarray::ArrayBase<ndarray::data_repr::OwnedRepr<f64>, ndarray::dimension::dim::Dim<[usize; 2]>>"
            ),
            "ArrayBase<OwnedRepr<f64>, Dim<[usize; 2]>>"
        );
        assert_eq!(short_type_name("&[u8]"), "&[u8]");
    }

    #[test]
    fn a_borrowed_collection_has_its_length_too() {
        let rows = vec![1.0f64; 40];
        let borrowed: &[f64] = &rows;
        assert_eq!(text_of!(borrowed).shown(0), "&[f64] of 40 items #00000000");
        let whole: &Vec<f64> = &rows;
        assert_eq!(text_of!(whole).shown(0), "&Vec<f64> of 40 items #00000000");
        let short: &[u8] = &[1, 2];
        assert_eq!(text_of!(short).shown(0), "[1, 2]");
    }
}
