//! The runtime API without the macro: `save`, `load` and `remove`. A file that is missing
//! loads as `None`; a file that is damaged in any way, or holds another type, is an error that
//! names it, never a panic and never a wrong value.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use common::Scratch;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Phase {
    Warmup,
    Training { epoch: u32, lr: f64 },
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    index: u64,
    name: String,
    weights: Vec<f32>,
    best: Option<(u64, f64)>,
    phase: Phase,
    counts: BTreeMap<String, i64>,
    flags: [bool; 3],
}

fn progress() -> Progress {
    Progress {
        index: 237_000,
        name: "run-ñ-7".to_owned(),
        weights: vec![0.5, -1.25, f32::MAX, 0.0],
        best: Some((1234, -0.001)),
        phase: Phase::Training { epoch: 3, lr: 1e-4 },
        counts: [("a".to_owned(), -5), ("bb".to_owned(), i64::MAX)]
            .into_iter()
            .collect(),
        flags: [true, false, true],
    }
}

/// `load::<T>`, with a panic turned into a test failure that says which input caused it.
fn load_no_panic<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<Option<T>, resumable::Error> {
    match catch_unwind(AssertUnwindSafe(|| resumable::load::<T>(path))) {
        Ok(result) => result,
        Err(_) => panic!("load panicked on {what}"),
    }
}

#[test]
fn a_struct_round_trips() {
    let scratch = Scratch::new("round-trip");
    // The parent directories are created.
    let path = scratch.path("deeper/still/progress.ckpt");
    let value = progress();
    resumable::save(&path, &value).unwrap();
    assert_eq!(
        resumable::load::<Progress>(&path).unwrap(),
        Some(value.clone())
    );

    // Saving again replaces the value, and leaves no temporary file beside it.
    let mut next = value;
    next.index += 1;
    next.phase = Phase::Done;
    next.best = None;
    resumable::save(&path, &next).unwrap();
    assert_eq!(resumable::load::<Progress>(&path).unwrap(), Some(next));
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["progress.ckpt"]);

    // Loading does not change the file.
    let before = fs::read(&path).unwrap();
    resumable::load::<Progress>(&path).unwrap();
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn other_values_round_trip() {
    let scratch = Scratch::new("others");
    let path = scratch.path("v.ckpt");
    resumable::save(&path, &()).unwrap();
    assert_eq!(resumable::load::<()>(&path).unwrap(), Some(()));
    resumable::save(&path, &Phase::Warmup).unwrap();
    assert_eq!(
        resumable::load::<Phase>(&path).unwrap(),
        Some(Phase::Warmup)
    );
    resumable::save(&path, &(u64::MAX, i8::MIN, String::new())).unwrap();
    assert_eq!(
        resumable::load::<(u64, i8, String)>(&path).unwrap(),
        Some((u64::MAX, i8::MIN, String::new()))
    );
    let big: Vec<u64> = (0..100_000).map(|i| i * i).collect();
    resumable::save(&path, &big).unwrap();
    assert_eq!(resumable::load::<Vec<u64>>(&path).unwrap(), Some(big));
}

#[test]
fn a_missing_file_loads_as_none() {
    let scratch = Scratch::new("missing");
    assert_eq!(
        resumable::load::<Progress>(scratch.path("nothing.ckpt")).unwrap(),
        None
    );
    assert_eq!(
        resumable::load::<u8>(scratch.path("no/such/dir/x.ckpt")).unwrap(),
        None
    );
}

#[test]
fn another_type_is_an_error_that_names_the_file() {
    let scratch = Scratch::new("wrong-type");
    let path = scratch.path("progress.ckpt");
    resumable::save(&path, &progress()).unwrap();
    let before = fs::read(&path).unwrap();

    let err = resumable::load::<Vec<u8>>(&path).unwrap_err();
    assert!(matches!(err, resumable::Error::Mismatch { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("different state"), "{text}");

    // Types with the same encoding are told apart too.
    resumable::save(&path, &7u32).unwrap();
    assert!(resumable::load::<i32>(&path).is_err());
    assert!(resumable::load::<u64>(&path).is_err());
    assert_eq!(resumable::load::<u32>(&path).unwrap(), Some(7));

    resumable::save(&path, &progress()).unwrap();
    resumable::load::<Vec<u8>>(&path).unwrap_err();
    assert_eq!(fs::read(&path).unwrap().len(), before.len());
}

#[test]
fn the_type_is_checked_by_its_structure_not_its_name() {
    // What `save` records is the structure serde describes, not `std::any::type_name` (which
    // may change between compiler versions): a type of another name and the same structure
    // loads; one of another structure is refused, naming the difference.
    mod elsewhere {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Progress {
            pub index: u64,
            pub results: Vec<u64>,
        }
    }
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Progress {
        index: u64,
        results: Vec<u64>,
    }
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct Grown {
        index: u64,
        results: Vec<u64>,
        total: u64,
    }
    let scratch = Scratch::new("by-structure");
    let path = scratch.path("progress.ckpt");
    let saved = Progress {
        index: 3,
        results: vec![0, 1, 4],
    };
    resumable::save(&path, &saved).unwrap();
    let file = fs::read(&path).unwrap();
    // The file holds the shape's words, not a module path.
    let text = String::from_utf8_lossy(&file);
    assert!(
        text.contains("Progress") && !text.contains("runtime_api::"),
        "{text}"
    );
    let loaded = resumable::load::<elsewhere::Progress>(&path).unwrap();
    assert_eq!(
        loaded,
        Some(elsewhere::Progress {
            index: 3,
            results: vec![0, 1, 4]
        })
    );
    let err = resumable::load::<Grown>(&path).unwrap_err().to_string();
    assert!(err.contains("was saved with different state"), "{err}");
    assert_eq!(
        fs::read(&path).unwrap(),
        file,
        "a refused load changed the file"
    );
}

#[test]
fn foreign_bytes_are_an_error_and_left_as_they_were() {
    let scratch = Scratch::new("foreign-label");
    let path = scratch.path("v.ckpt");
    resumable::save(&path, &5u64).unwrap();
    let bytes = fs::read(&path).unwrap();
    // Foreign bytes, and bytes of another format, are errors too.
    for junk in [
        &b""[..],
        b"RESUMABL",
        b"not a checkpoint at all, just some text that is long enough",
        &[0u8; 64],
        &[0xffu8; 64],
    ] {
        fs::write(&path, junk).unwrap();
        let err = load_no_panic::<u64>(&path, "junk").unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(fs::read(&path).unwrap(), junk, "the file is left as it was");
    }
    fs::write(&path, &bytes).unwrap();
    assert_eq!(resumable::load::<u64>(&path).unwrap(), Some(5));
}

#[test]
fn every_single_bit_flip_is_an_error() {
    let scratch = Scratch::new("bit-flips");
    let path = scratch.path("small.ckpt");
    let value = (42u16, "ab".to_owned(), Some(-3i32));
    resumable::save(&path, &value).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert!(bytes.len() < 200, "a small file: {} bytes", bytes.len());
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            fs::write(&path, &flipped).unwrap();
            let result =
                load_no_panic::<(u16, String, Option<i32>)>(&path, &format!("byte {at} bit {bit}"));
            let err = match result {
                Err(err) => err,
                Ok(loaded) => panic!("a flip of bit {bit} of byte {at} loaded {loaded:?}"),
            };
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
        // And every byte replaced by its complement.
        let mut flipped = bytes.clone();
        flipped[at] ^= 0xff;
        fs::write(&path, &flipped).unwrap();
        let result = load_no_panic::<(u16, String, Option<i32>)>(&path, &format!("byte {at}"));
        assert!(
            result.is_err(),
            "a complemented byte {at} loaded {result:?}"
        );
    }
    fs::write(&path, &bytes).unwrap();
    assert_eq!(
        resumable::load::<(u16, String, Option<i32>)>(&path).unwrap(),
        Some(value)
    );
}

#[test]
fn every_truncation_and_extension_is_an_error() {
    let scratch = Scratch::new("truncations");
    let path = scratch.path("small.ckpt");
    let value = progress();
    resumable::save(&path, &value).unwrap();
    let bytes = fs::read(&path).unwrap();
    for len in 0..bytes.len() {
        fs::write(&path, &bytes[..len]).unwrap();
        let result = load_no_panic::<Progress>(&path, &format!("a cut to {len} bytes"));
        let err = match result {
            Err(err) => err,
            Ok(loaded) => panic!("a file cut to {len} bytes loaded {loaded:?}"),
        };
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    for extra in [&[0u8][..], &[0, 0, 0, 0], b"trailing"] {
        let mut longer = bytes.clone();
        longer.extend_from_slice(extra);
        fs::write(&path, &longer).unwrap();
        assert!(load_no_panic::<Progress>(&path, "an extended file").is_err());
    }
}

/// A value whose serialization fails.
#[derive(serde::Deserialize)]
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refuses to be saved"))
    }
}

#[test]
fn a_failed_save_is_an_error_and_keeps_the_old_file() {
    let scratch = Scratch::new("failed-save");
    let path = scratch.path("v.ckpt");
    resumable::save(&path, &1u8).unwrap();
    let before = fs::read(&path).unwrap();
    let err = resumable::save(&path, &Unserializable).unwrap_err();
    assert!(matches!(err, resumable::Error::Serialize { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(resumable::load::<u8>(&path).unwrap(), Some(1));
    assert_eq!(
        fs::read_dir(&scratch.0).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn remove_says_whether_there_was_a_file() {
    let scratch = Scratch::new("remove");
    let path = scratch.path("v.ckpt");
    resumable::save(&path, &"x".to_owned()).unwrap();
    assert!(resumable::remove(&path).unwrap());
    assert!(!path.exists());
    assert!(!resumable::remove(&path).unwrap());
    assert_eq!(resumable::load::<String>(&path).unwrap(), None);
    assert!(!resumable::remove(scratch.path("never/was.ckpt")).unwrap());
}
