//! The default checkpoint key: a call's arguments, fingerprinted, so that a call never resumes
//! a checkpoint made by a call with other arguments (`for part in parts { score(part, n) }`).
//!
//! Each argument that is not loop state is fingerprinted through the first of these it has:
//! `Hash`, `Serialize` (its postcard bytes), `Debug` (its text). An argument with none of them
//! cannot tell calls apart and is left out. A `HashMap` or `HashSet` (or a type whose name
//! holds one) is refused: its order, and so its bytes and text, differ per process, so its
//! calls would never resume; `key = …` says what selects the work instead.

use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher as _};

use serde::Serialize;

use crate::run::hash_into;
use crate::run::hash128::Hash128;
use crate::run::spec::Key;

/// An argument of the call, asked for its fingerprint and its text by autoref specialization:
/// `(&&&Arg(&x)).arg_hash()` and `(&Arg(&x)).arg_text()`.
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// What an argument's fingerprint is.
pub enum ArgHash {
    /// Its fingerprint.
    Hashed(u128),
    /// Its type (this name) iterates in an order that differs per process.
    Unordered(&'static str),
    /// It has no `Hash`, `Serialize` or `Debug`: it is not part of the key.
    Opaque,
}

/// The first choice: an argument that is `Hash`.
pub trait ArgByHash {
    /// Its `Hash` fed to a stable hasher.
    fn arg_hash(&self) -> ArgHash;
}

impl<T: Hash + ?Sized> ArgByHash for &&Arg<'_, T> {
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
    fn arg_hash(&self) -> ArgHash {
        if let Some(name) = unordered::<T>() {
            return ArgHash::Unordered(name);
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

/// The third choice: an argument that is `Debug`.
pub trait ArgByDebug {
    /// Its `Debug` text fed to a stable hasher.
    fn arg_hash(&self) -> ArgHash;
}

impl<T: fmt::Debug + ?Sized> ArgByDebug for &Arg<'_, T> {
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

/// The last choice: nothing to fingerprint.
pub trait ArgOpaque {
    /// [`ArgHash::Opaque`].
    fn arg_hash(&self) -> ArgHash {
        ArgHash::Opaque
    }
}

impl<T: ?Sized> ArgOpaque for Arg<'_, T> {}

/// An argument's `Debug` text for the checkpoint's label, cut short.
pub trait ArgDebugText {
    /// At most about 100 bytes of its `Debug` text (formatting stops there).
    fn arg_text(&self) -> String;
}

impl<T: fmt::Debug + ?Sized> ArgDebugText for Arg<'_, T> {
    fn arg_text(&self) -> String {
        let mut text = Bounded(String::new());
        if write!(text, "{:?}", self.0).is_err() {
            text.0.push('…');
        }
        text.0
    }
}

/// An argument without `Debug`.
pub trait ArgNoText {
    /// `_`.
    fn arg_text(&self) -> String {
        "_".to_owned()
    }
}

impl<T: ?Sized> ArgNoText for &Arg<'_, T> {}

/// The key of a call from its arguments `(name, fingerprint, text)`; `None` when no argument
/// has a fingerprint.
///
/// # Panics
/// If an argument iterates in an order that differs per process (a `HashMap`): its calls would
/// never find their checkpoint again. The message says to give `key = …`.
#[track_caller]
pub fn args_key(function: &str, args: &[(&str, ArgHash, String)]) -> Option<Key> {
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
                let _ = write!(text, "{name} = {value}");
            }
            ArgHash::Unordered(type_name) => panic!(
                "resumable: {function}'s argument `{name}` is a `{type_name}`, whose order differs \
                 from one run of the program to the next, so it cannot tell this call's checkpoint \
                 from another's: say what selects the work with `#[resumable(key = …)]` (the \
                 other arguments, or a sorted copy of this one: `key = (n, sorted(&{name}))`)"
            ),
            ArgHash::Opaque => {}
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
    let name = std::any::type_name::<T>();
    let hashed = ["std::collections::hash::", "hashbrown::"];
    hashed
        .iter()
        .any(|module| name.contains(module))
        .then_some(name)
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
