//! The structure of a state type as its serde impls describe it, recorded in each checkpoint.
//!
//! postcard is not self-describing: a checkpoint of `struct Stats { total: u64, count: u64 }`
//! decodes "successfully" into a build whose `Stats` has the two fields the other way round,
//! and [`std::any::type_name`] does not change when fields do. So each checkpoint records the
//! structure of its state, and a checkpoint whose structure differs is refused with a message
//! that says what changed ([`describe_change`]).
//!
//! # Tracing
//!
//! [`shape_of`] deserializes a `T` from a [`Reader`](mod@trace): a deserializer that reads no
//! bytes, answers every request with a placeholder (`1`, `"1"`, one element per sequence, `Some`;
//! a string that a type rejects is tried again as a date, a time or a version), and records
//! what it was asked, the way postcard reads: a struct is its fields in order, an enum a variant
//! index, then that variant's content. A value must be built, and an enum can build only one
//! variant at a time, so `T` is read again until every variant of every enum in it was read
//! once. Where a type recurses into itself (`enum Expr { Add(Box<Expr>, Box<Expr>), Lit(f64) }`,
//! `struct Tree { children: Vec<Tree> }`), the inner copy is read in "cut" mode, which records
//! nothing and ends the recursion: `None`, empty sequences and maps, and a variant of each enum
//! that does not recurse (found by trying them in turn when one nests too deep). Nesting is
//! limited to [`MAX_DEPTH`], so no type can overflow the stack.
//!
//! Containers are told apart by the `type_name` of the value their visitor builds, so two
//! instances of one generic struct, or namesakes from two modules, are two containers.
//!
//! A field whose `Deserialize` rejects every placeholder (a string that must be a URL, a
//! validated id) is read instead from the binding's value on entry ([`shape_of_value`],
//! `find::field_bytes`), and recorded as opaque, `?`: the fields around it are traced as usual, and
//! the text does not depend on the value. A type cannot be traced when its `Deserialize` asks
//! for what postcard cannot read either (`deserialize_any`: untagged or internally tagged
//! enums, `#[serde(flatten)]`), rejects every placeholder where no value gives the field (in an
//! empty sequence, a `None`, an enum variant), or panics (the panic message is printed, as for
//! any panic); its shape is then its type name only.
//!
//! # Text
//!
//! One line for the root type, then one per container, sorted by name:
//!
//! ```text
//! root: Stats
//! struct Bucket { lo: f64, hi: f64 }
//! struct Id(u64)
//! enum Phase { Idle, Busy(u32), Done { at: u64 } }
//! struct Stats { total: u64, buckets: [Bucket], phase: Option<Phase>, id: Id }
//! ```
//!
//! Types: `bool`, `u8`…`u128` (`usize` is `u64`), `i8`…`i128`, `f32`, `f64`, `char`, `str`,
//! `bytes`, `()`, `(A, B)`, `[T]` (any sequence: `Vec`, `VecDeque`, sets), `[T; N]` (a tuple of
//! more than 4 equal elements: an array), `Option<T>`, `Map<K, V>` (any map), and container
//! names, and `?` for an opaque field. `Box`, `Rc`, `Arc` and `#[serde(transparent)]` are what they hold. Container, field and
//! variant names are serde's (after `#[serde(rename)]`), with every character but ASCII letters,
//! digits and `_` written `%XX`; two containers of one name are `Name#1`, `Name#2`, numbered
//! in the order they first appear from the root (breadth first). A struct is `struct Name`
//! (unit), `struct Name(T, U)` (tuple or newtype) or `struct Name { a: T }`; an enum lists its
//! variants in index order, each written like a struct's body.
//!
//! When the type cannot be traced: `untraced: <type_name>`. When the text would be longer than
//! [`MAX_SHAPE_LEN`]: `large <16 hex digits of its hash> <type_name>`, which still detects
//! any change but cannot say which.

mod diff;
mod find;
mod text;
mod trace;

use serde::Serialize;
use serde::de::DeserializeOwned;

use diff::{diff, join};
pub(crate) use find::skipped_field;
use text::{Parsed, parse, render};
use trace::{Subject, Traced, Untraceable, trace_with};

/// The longest text [`shape_of`] returns: the checkpoint's metadata record, which holds the
/// shapes of all state bindings, is at most 64 KiB. A shape this long has about 50 containers.
pub(crate) const MAX_SHAPE_LEN: usize = 4096;

/// How deep the tracer nests before it gives up (or, inside a recursion, tries another
/// variant). State types nest a few levels.
const MAX_DEPTH: usize = 64;

/// How many times the tracer reads the type at most: one read per enum variant is typical.
const MAX_PASSES: usize = 4096;

const UNTRACED: &str = "untraced: ";
const LARGE: &str = "large ";

thread_local! {
    static TRACING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Held while a type is traced on this thread.
pub(crate) struct Tracing(());

impl Tracing {
    pub(crate) fn enter() -> Tracing {
        TRACING.with(|depth| depth.set(depth.get() + 1));
        Tracing(())
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        TRACING.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// Whether a type is being traced on this thread: a value's serde impls are then called on
/// placeholders, or to read a field of the value on entry, and must not act on what they
/// name (an [`io::Output`](crate::io::Output) opens and truncates its file only outside).
pub(crate) fn tracing() -> bool {
    TRACING.with(|depth| depth.get() > 0)
}

/// Whether a value of `T` may show its contents in an order of its own copy (a hash table
/// inside, by `T`'s `Deserialize`): two equal values may then differ in `Debug` text and
/// bytes. `true` also when `T` cannot be traced, which leaves the question open.
pub(crate) fn may_hold_hash_table<T: Serialize + DeserializeOwned>(value: &T) -> bool {
    let real = |container: &str, index: usize| find::field_bytes(value, container, index);
    hashed(Subject::of::<T>(), &real)
}

/// [`may_hold_hash_table`] without the type parameter: what is traced is dropped here, compiled
/// once (issue 25).
fn hashed(subject: Subject, real: trace::RealField<'_>) -> bool {
    trace_with(subject, real).map_or(true, |traced| traced.hashed)
}

/// The structure of `T` as its serde impls describe it, as canonical deterministic text
/// (the same for the same type on every build/platform), or, when it cannot be traced,
/// a text that says so and holds only `std::any::type_name::<T>()`.
pub(crate) fn shape_of<T: DeserializeOwned>() -> String {
    shape_with_limit(MAX_SHAPE_LEN, Subject::of::<T>(), &|_, _| None)
}

/// [`shape_of`], with a real value of `T` to read a field from whose `Deserialize` refuses
/// every placeholder (a newtype that validates its input): that field is recorded as opaque,
/// `?`, and the fields around it are traced as usual.
pub(crate) fn shape_of_value<T: Serialize + DeserializeOwned>(value: Option<&T>) -> String {
    match value {
        Some(value) => shape_with_limit(MAX_SHAPE_LEN, Subject::of::<T>(), &|container, index| {
            find::field_bytes(value, container, index)
        }),
        None => shape_of::<T>(),
    }
}

/// Traces `T` and renders its text, reading a field whose `Deserialize` refuses every
/// placeholder from `real`.
fn traced_text(subject: Subject, real: trace::RealField<'_>) -> Result<String, Untraceable> {
    let Traced { root, defs, .. } = trace_with(subject, real)?;
    render(&root, &defs)
}

/// Traces `T` and renders its text.
#[cfg(test)]
fn trace<T: DeserializeOwned>() -> Result<String, Untraceable> {
    traced_text(Subject::of::<T>(), &|_, _| None)
}

fn shape_with_limit(limit: usize, subject: Subject, real: trace::RealField<'_>) -> String {
    // A `Deserialize` impl may panic on a placeholder: that is "cannot be traced", not a crash.
    let traced =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| traced_text(subject, real)));
    match traced {
        Ok(Ok(text)) if text.len() <= limit => text,
        Ok(Ok(text)) => format!(
            "{LARGE}{:016x} {}",
            crate::format::hash::fingerprint("", &text),
            subject.name
        ),
        Ok(Err(_)) | Err(_) => format!("{UNTRACED}{}", subject.name),
    }
}

/// Whether `shape` is that of a sequence of unnamed types (`[u64]`, `[(u32, f64)]`) or a
/// string: what a sequence whose growth the runtime finds (a `Vec` of plain items, a
/// `String`) traces as. Other types may trace so too; it only selects what to look at.
pub(crate) fn is_flat_sequence(shape: &str) -> bool {
    !shape.contains('\n') && (shape.starts_with("root: [") || shape == "root: str")
}

/// What changed between a saved shape and the current one, in words a user understands
/// (e.g. "field `min` added to `Stats`"); `None` if they are equal.
pub(crate) fn describe_change(saved: &str, current: &str) -> Option<String> {
    if saved == current {
        return None;
    }
    let changes = match (parse(saved), parse(current)) {
        (Some(Parsed::Traced(saved)), Some(Parsed::Traced(current))) => diff(&saved, &current),
        (Some(Parsed::Large { type_name: a, .. }), Some(Parsed::Large { type_name: b, .. }))
            if a == b =>
        {
            vec![format!(
                "the structure of `{a}` changed (it is too large to say how)"
            )]
        }
        (Some(saved), Some(current)) => vec![format!(
            "its type changed from {} to {}",
            saved.summary(),
            current.summary()
        )],
        _ => Vec::new(),
    };
    Some(join(changes))
}

/// Ends a walk over a value's serde form early (what it looked for is found, or the value
/// cannot be serialized): the error of the serializers that only look at a value
/// (`find`, the key's order-free hash of a table).
#[derive(Debug)]
pub(crate) struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stop")
    }
}

impl std::error::Error for Stop {}

impl serde::ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

#[cfg(test)]
#[allow(dead_code)] // the test types are only ever traced, never read
mod tests {
    //! What the tests of every job use, and the tests that span jobs.

    use std::any::type_name;

    use super::*;

    /// Two versions of the same types, as two builds of one program would have them: the same
    /// names (serde's; the module paths differ, which shapes do not record).
    macro_rules! versions {
        ($vis:vis $module:ident { $($before:tt)* } => { $($after:tt)* }) => {
            $vis mod $module {
                pub mod before {
                    #[allow(unused_imports)]
                    use serde::Deserialize;
                    $($before)*
                }
                pub mod after {
                    #[allow(unused_imports)]
                    use serde::Deserialize;
                    $($after)*
                }
            }
        };
    }

    pub(super) use versions;

    /// The change from `Before` to `After`, checking that texts differ exactly when a change is
    /// reported, and that each text is stable and parses.
    pub(super) fn change<Before: DeserializeOwned, After: DeserializeOwned>() -> Option<String> {
        let (before, after) = (shape_of::<Before>(), shape_of::<After>());
        assert_eq!(before, shape_of::<Before>(), "not deterministic");
        assert!(parse(&before).is_some() && parse(&after).is_some());
        let change = describe_change(&before, &after);
        assert_eq!(change.is_none(), before == after, "{before}\n---\n{after}");
        change
    }

    pub(super) fn traced<T: DeserializeOwned>() -> String {
        let text = shape_of::<T>();
        assert!(
            !text.starts_with(UNTRACED),
            "{:?}",
            trace::<T>().unwrap_err()
        );
        text
    }

    versions!(pub(super) added {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64, pub min: u64 }
    });

    versions!(pub(super) identical {
        use std::collections::{BTreeMap, BTreeSet, HashMap};

        #[derive(Deserialize)] pub struct Id(pub u64);
        #[derive(Deserialize)] pub struct Marker;
        #[derive(Deserialize)] pub struct Pair(pub u8, pub i16);
        #[derive(Deserialize)] pub struct Empty {}
        #[derive(Deserialize)] pub enum Mode { Fast, #[serde(rename = "slow-mode")] Slow { factor: f32 } }
        #[derive(Deserialize)]
        pub struct Everything {
            pub id: Id,
            pub marker: Marker,
            pub pair: Pair,
            pub empty: Empty,
            pub mode: Mode,
            pub text: String,
            pub boxed: Box<str>,
            pub shared: Box<u16>,
            pub floats: (f32, f64),
            pub letter: char,
            pub big: (u128, i128),
            pub unit: (),
            pub bytes: [u8; 32],
            pub small_array: [u32; 3],
            pub map: BTreeMap<String, Vec<(u8, bool)>>,
            pub hash_map: HashMap<u64, Option<Id>>,
            pub set: BTreeSet<i64>,
            pub maybe: Option<Box<Mode>>,
            #[serde(rename = "renamed")]
            pub original: u8,
            #[serde(skip)]
            pub skipped: u32,
            pub span: std::ops::Range<usize>,
            pub elapsed: std::time::Duration,
        }
    } => {});

    pub(super) mod untraceable {
        use serde::{Deserialize, Deserializer};

        #[derive(Deserialize)]
        #[serde(untagged)]
        pub enum Untagged {
            Number(u64),
            Text(String),
        }

        #[derive(Deserialize)]
        pub struct Flattened {
            pub a: u8,
            #[serde(flatten)]
            pub rest: Inner,
        }
        #[derive(Deserialize)]
        pub struct Inner {
            pub b: u8,
        }

        /// Rejects odd numbers, so the placeholder `1`.
        pub struct Even(pub u32);
        impl<'de> Deserialize<'de> for Even {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match u32::deserialize(d)? {
                    n if n % 2 == 0 => Ok(Even(n)),
                    n => Err(serde::de::Error::custom(format!("{n} is odd"))),
                }
            }
        }

        pub struct Panics;
        impl<'de> Deserialize<'de> for Panics {
            fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
                panic!("this Deserialize panics (on purpose, in a test)")
            }
        }

        /// No value of it exists: it nests without end.
        #[derive(Deserialize)]
        pub struct Endless {
            pub next: Box<Endless>,
        }

        #[derive(Deserialize)]
        pub struct Stats {
            pub total: u64,
            pub evens: Vec<Even>,
        }
    }

    #[test]
    fn untraceable_types_fall_back_to_their_type_name() {
        use untraceable::*;
        fn falls_back<T: DeserializeOwned>() {
            assert_eq!(shape_of::<T>(), format!("untraced: {}", type_name::<T>()));
        }
        falls_back::<Untagged>();
        falls_back::<Flattened>();
        falls_back::<Even>();
        falls_back::<Stats>();
        falls_back::<Option<Panics>>();
        falls_back::<Endless>();
        assert!(
            trace::<Untagged>()
                .unwrap_err()
                .message
                .contains("deserialize_any")
        );
        assert!(trace::<Stats>().unwrap_err().message.contains("1 is odd"));
        assert!(
            trace::<Endless>()
                .unwrap_err()
                .message
                .contains("deeper than")
        );

        let (saved, current) = (shape_of::<Even>(), shape_of::<Stats>());
        assert_eq!(
            describe_change(&saved, &current),
            Some(format!(
                "its type changed from `{}` to `{}`",
                type_name::<Even>(),
                type_name::<Stats>()
            ))
        );
        assert_eq!(describe_change(&saved, &saved), None);
        // Traced before, not now (or the other way round).
        assert!(describe_change(&traced::<u64>(), &saved).is_some());
    }

    #[test]
    fn a_shape_over_the_limit_is_its_hash() {
        let large = shape_with_limit(20, Subject::of::<added::after::Stats>(), &|_, _| None);
        let hash = format!(
            "{:016x}",
            crate::format::hash::fingerprint("", &shape_of::<added::after::Stats>())
        );
        assert_eq!(
            large,
            format!("large {hash} {}", type_name::<added::after::Stats>())
        );
        let before = shape_with_limit(20, Subject::of::<added::before::Stats>(), &|_, _| None);
        let before = before.replace("::before::", "::after::"); // as if the same type name
        assert_eq!(
            describe_change(&before, &large).as_deref(),
            Some(
                format!(
                    "the structure of `{}` changed (it is too large to say how)",
                    type_name::<added::after::Stats>()
                )
                .as_str()
            )
        );
    }

    #[test]
    fn anything_unparseable_is_still_a_change() {
        assert_eq!(
            describe_change("garbage", "root: u8").as_deref(),
            Some("the structure of its type changed")
        );
        assert_eq!(
            describe_change("root: A\nstruct A { x: u8", "root: A\nstruct A { x: u16 }").as_deref(),
            Some("the structure of its type changed")
        );
    }

    versions!(validated {
        use serde::Serialize;

        /// Refuses every placeholder the tracer has: only `id-…` is an id.
        #[derive(Serialize, Deserialize)]
        #[serde(try_from = "String")]
        pub struct Checked(pub String);

        impl TryFrom<String> for Checked {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                match text.starts_with("id-") {
                    true => Ok(Checked(text)),
                    false => Err(format!("{text} is not an id")),
                }
            }
        }

        #[derive(Serialize, Deserialize)]
        pub struct Stats { pub total: u64, pub id: Checked, pub count: u32, pub tail: Vec<u8> }
    } => {
        use serde::Serialize;
        pub use super::before::Checked;

        #[derive(Serialize, Deserialize)]
        pub struct Stats { pub count: u32, pub id: Checked, pub total: u64, pub tail: Vec<u8> }
    });

    #[test]
    fn a_field_that_refuses_every_placeholder_is_opaque_and_the_rest_is_traced() {
        use validated::{after, before};
        let id = || before::Checked("id-7".into());
        let old = before::Stats {
            total: 1,
            id: id(),
            count: 2,
            tail: vec![],
        };
        let new = after::Stats {
            count: 2,
            id: id(),
            total: 1,
            tail: vec![],
        };
        // Without a value, as before: the type name only.
        assert!(shape_of::<before::Stats>().starts_with(UNTRACED));
        let saved = shape_of_value(Some(&old));
        assert_eq!(
            saved,
            "root: Stats\nstruct Stats { total: u64, id: ?, count: u32, tail: [u8] }"
        );
        // The same whatever the value holds.
        let other = before::Stats {
            total: 9,
            id: before::Checked("id-x".into()),
            count: 0,
            tail: vec![1, 2],
        };
        assert_eq!(shape_of_value(Some(&other)), saved);
        // The fields beside the opaque one swapped: caught, and said.
        let change = describe_change(&saved, &shape_of_value(Some(&new))).unwrap();
        assert!(change.contains("reordered"), "{change}");
    }
}
