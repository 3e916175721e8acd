//! A state type whose fields changed refuses the old checkpoint, saying what changed.
//!
//! Each module below is one "build" of the same program: the same checkpoint name, the same
//! binding, a struct of the same name `Stats` — only its fields differ, as after an edit. Two
//! fields swapped with the same types would decode "successfully" into swapped values; the
//! recorded structure catches it.

mod common;

use common::{checkpoint, panic_of, previous};
use resumable::resumable;
use serde::{Deserialize, Serialize};

/// Version 1: leaves a checkpoint of `Stats { total, count }` by panicking at iteration 5.
mod v1 {
    use super::*;

    #[derive(Serialize, Deserialize)]
    pub struct Stats {
        pub total: u64,
        pub count: u64,
    }

    macro_rules! first_build {
        ($function:ident, $name:literal) => {
            #[resumable(every = 2, name = $name, key = ())]
            pub fn $function(n: u64) -> u64 {
                let mut stats = Stats { total: 0, count: 0 };
                for i in 0..n {
                    if i == 5 {
                        panic!("stop here");
                    }
                    stats.total += i;
                    stats.count += 1;
                }
                stats.total * 1000 + stats.count
            }
        };
    }
    first_build!(reordered, "shape-reordered");
    first_build!(added, "shape-added");
    first_build!(retyped, "shape-retyped");
}

/// Version 2: the same function after an edit of `Stats`.
macro_rules! second_build {
    ($module:ident, $name:literal, { $($field:ident: $ty:ty),* }) => {
        mod $module {
            use super::*;

            #[derive(Default, Serialize, Deserialize)]
            pub struct Stats {
                $(pub $field: $ty),*
            }

            #[resumable(every = 2, name = $name, key = ())]
            pub fn run(n: u64) -> u64 {
                let mut stats = Stats::default();
                for _ in 0..n {
                    stats.total += 1;
                }
                u64::from(stats.total)
            }
        }
    };
}

second_build!(v2_reordered, "shape-reordered", { count: u64, total: u64 });
second_build!(v2_added, "shape-added", { total: u64, count: u64, min: u64 });
second_build!(v2_retyped, "shape-retyped", { total: u32, count: u64 });

fn refused(name: &str, first: fn(u64) -> u64, second: fn(u64) -> u64) -> String {
    let path = checkpoint(name);
    let _ = std::fs::remove_file(&path);
    panic_of(|| first(10));
    let saved = std::fs::read(&path).expect("the first build left a checkpoint");
    let text = panic_of(|| second(10));
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("different state"), "{text}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        saved,
        "the checkpoint must be untouched"
    );
    for file in [
        path.clone(),
        previous(&path),
        path.with_extension("ckpt.lock"),
    ] {
        let _ = std::fs::remove_file(file);
    }
    text
}

#[test]
fn reordered_fields_of_the_same_types_are_refused() {
    let text = refused("shape-reordered", v1::reordered, v2_reordered::run);
    assert!(
        text.contains("fields of `Stats` reordered: was (total, count), now (count, total)"),
        "{text}"
    );
}

#[test]
fn an_added_field_is_refused() {
    let text = refused("shape-added", v1::added, v2_added::run);
    assert!(text.contains("field `min` added to `Stats`"), "{text}");
}

#[test]
fn a_retyped_field_is_refused() {
    let text = refused("shape-retyped", v1::retyped, v2_retyped::run);
    assert!(
        text.contains("field `total` of `Stats` changed type from u64 to u32"),
        "{text}"
    );
}

/// A field whose `Deserialize` refuses every placeholder (a validated id) does not hide the
/// fields beside it: only the field itself is left opaque.
mod validated {
    use super::*;

    #[derive(Clone, Serialize, Deserialize)]
    #[serde(try_from = "String")]
    pub struct Checked(String);

    impl TryFrom<String> for Checked {
        type Error = String;
        fn try_from(text: String) -> Result<Self, String> {
            match text.starts_with("id-") {
                true => Ok(Checked(text)),
                false => Err(format!("{text} is not an id")),
            }
        }
    }

    pub mod v1 {
        use super::*;

        #[derive(Serialize, Deserialize)]
        pub struct Stats {
            pub total: u64,
            pub id: Checked,
            pub count: u64,
        }

        #[resumable(every = 2, name = "shape-validated", key = ())]
        pub fn run(n: u64) -> u64 {
            let mut stats = Stats {
                total: 0,
                id: Checked("id-1".into()),
                count: 0,
            };
            for i in 0..n {
                if i == 5 {
                    panic!("stop here");
                }
                stats.total += i;
                stats.count += 1;
            }
            stats.total * 1000 + stats.count
        }
    }

    pub mod v2 {
        use super::*;

        /// The two `u64`s beside the id swapped: postcard would load them swapped.
        #[derive(Serialize, Deserialize)]
        pub struct Stats {
            pub count: u64,
            pub id: Checked,
            pub total: u64,
        }

        #[resumable(every = 2, name = "shape-validated", key = ())]
        pub fn run(n: u64) -> u64 {
            let mut stats = Stats {
                count: 0,
                id: Checked("id-1".into()),
                total: 0,
            };
            for i in 0..n {
                stats.total += i;
                stats.count += 1;
            }
            stats.total * 1000 + stats.count
        }
    }
}

#[test]
fn fields_beside_one_that_refuses_every_placeholder_are_still_checked() {
    let text = refused("shape-validated", validated::v1::run, validated::v2::run);
    assert!(
        text.contains(
            "fields of `Stats` reordered: was (total, id, count), now (count, id, total)"
        ),
        "{text}"
    );
}
