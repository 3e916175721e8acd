//! What a `#[resumable]` function tells the runtime about itself ([`Spec`]), and what names
//! one call's checkpoint: the key of its arguments or of `key = expr` ([`Key`]), and a
//! method's default name ([`method_name`]).

use serde::Serialize;

use crate::format::hash;
use crate::format::label;

/// What the attribute knows at compile time about one resumable function.
#[derive(Debug)]
pub struct Spec<'a> {
    /// The function's name, for messages.
    pub function: &'static str,
    /// The function's full path (a method's with its type: [`method_name`]), recorded in the
    /// checkpoint so that another function given the same `name` never loads it.
    pub path: &'a str,
    /// The checkpoint's name: `name = "…"`, or the function's full path (a method's has its
    /// type: [`method_name`]).
    pub name: &'a str,
    /// With `every = "30s"`: the interval in milliseconds; 0 otherwise.
    pub interval_ms: u64,
    /// The state bindings, in the order they are saved.
    pub state: &'static [&'static str],
    /// Whether SIGINT and SIGTERM save and stop the loop (`signals = false` turns it off).
    pub signals: bool,
    /// With `key = expr`: this call's value of it.
    pub key: Option<&'a Key>,
    /// With `dir = expr`: this call's checkpoint directory (`RESUMABLE_DIR` still wins).
    pub dir: Option<&'a std::path::Path>,
    /// A loop nest (`inner = 'label`): the resume message waits for
    /// [`Run::resuming_at`](crate::run::call::Run::resuming_at), which knows the position.
    pub nest: bool,
    /// A fingerprint of the function's code as written (its signature and body tokens),
    /// recorded with each checkpoint: a resume by other code says so.
    pub code: u64,
    /// `strict`: a checkpoint saved by other code of the function is refused, not resumed.
    pub strict: bool,
    /// The structure of the position the loop's iterator saves, if it implements
    /// [`Position`](crate::Position): saved first in each checkpoint, and a resume seeks there
    /// instead of skipping the completed items (see `private::seek`).
    pub position: Option<String>,
}

/// This call's value of `key = expr`, as the checkpoint records it.
#[derive(Debug)]
pub struct Key {
    /// Its `Debug` text, for the checkpoint's label and messages.
    pub(crate) text: String,
    /// A stable hash of its postcard encoding: the checkpoint's file name.
    pub(crate) hash: u64,
}

impl Key {
    /// The key of `value`, which must be `Serialize` and `Debug`.
    pub fn of<K: Serialize + std::fmt::Debug + ?Sized>(value: &K) -> Key {
        use std::hash::Hasher as _;
        let full = format!("{value:?}");
        let mut hasher = hash::Fnv64::default();
        match postcard::to_allocvec(value) {
            Ok(bytes) => hasher.write(&bytes),
            Err(_) => hasher.write(full.as_bytes()),
        }
        // The label (which holds it) is at most a few KiB; a long key is cut for display
        // only, its hash still tells every key apart.
        let mut text = full;
        if text.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|&at| text.is_char_boundary(at))
                .unwrap_or(0);
            text.truncate(cut);
            text.push('…');
        }
        Key {
            text,
            hash: hasher.finish(),
        }
    }

    /// A key of the given text and hash: the default key of a call's arguments.
    pub(crate) fn from_parts(text: String, hash: u64) -> Key {
        Key { text, hash }
    }

    /// `name [key (10, "a.txt")]`: the label of a keyed checkpoint.
    pub(crate) fn label(&self, name: &str) -> String {
        label::keyed(name, &self.text)
    }
}

/// The default checkpoint name of method `function` of `T`: `crate::module::Type<Args>::function`
/// with every character a file name should not hold (`<`, `>`, `,`, spaces, …) made `_`.
pub fn method_name<T: ?Sized>(function: &str) -> String {
    let name: String = format!("{}::{function}", std::any::type_name::<T>())
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '.' | ':' => c,
            _ => '_',
        })
        .collect();
    if name.len() <= 200 {
        return name;
    }
    // Long generic types: a readable start, and a hash of the whole.
    let hash = hash::fingerprint(&name, "");
    format!("{}-{hash:016x}", &name[..180])
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Grid<T>(T);

    #[test]
    fn a_method_name_holds_its_type_as_a_plain_file_name() {
        let name = method_name::<Grid<(f64, Vec<u8>)>>("run");
        assert!(
            name.ends_with("::Grid__f64_alloc::vec::Vec_u8___::run"),
            "{name}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c)),
            "{name}"
        );
        assert_ne!(
            name,
            method_name::<Grid<f32>>("run"),
            "instantiations differ"
        );
        let long = method_name::<Grid<[[[[u8; 1]; 1]; 1]; 1]>>(&"f".repeat(300));
        assert!(long.len() <= 200, "{}", long.len());
        assert_ne!(long, method_name::<Grid<u8>>(&"f".repeat(300)));
    }

    #[test]
    fn keys_differ_by_value_and_long_keys_are_cut_for_display_only() {
        let a = Key::of(&(10u64, "a.txt"));
        let b = Key::of(&(11u64, "a.txt"));
        assert_ne!(a.hash, b.hash);
        assert_eq!(a.label("jobs"), r#"jobs [key (10, "a.txt")]"#);
        let long_a = Key::of(&"é".repeat(500));
        let long_b = Key::of(&format!("{}x", "é".repeat(499)));
        assert!(
            long_a.text.ends_with('…') && long_a.text.len() <= 204,
            "{}",
            long_a.text
        );
        assert_ne!(long_a.hash, long_b.hash, "the hash covers the whole key");
    }
}
