//! `dir = expr` on the attribute: the function's checkpoint goes to the directory the
//! expression gives (evaluated on entry, from the arguments), over `Config::dir`; only
//! `RESUMABLE_DIR`, set by the user, wins over it.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use common::Scratch;
use resumable::{Config, resumable};

static RAN: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 10, name = "dir-attr", key = (), dir = base.join("jobs"), skip(RAN))]
fn count(base: &Path, n: u64, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        RAN.fetch_add(1, Ordering::Relaxed);
        sum += i * i;
    }
    sum
}

#[test]
fn the_attributes_directory_is_where_the_checkpoint_goes() {
    let env_dir = std::env::var_os("RESUMABLE_DIR").filter(|dir| !dir.is_empty());
    let scratch = Scratch::new("attribute-dir");
    let elsewhere = Scratch::new("attribute-dir-config");
    Config::new().dir(&elsewhere.0).apply().unwrap();

    assert!(catch_unwind(AssertUnwindSafe(|| count(&scratch.0, 100, Some(37)))).is_err());
    let expected_dir = env_dir.map_or(scratch.path("jobs"), Into::into);
    let file = expected_dir.join("dir-attr.ckpt");
    assert_eq!(
        resumable::__private::saved_index(&file),
        Some(37),
        "no checkpoint at 37 in {}",
        file.display()
    );
    assert!(
        !elsewhere.path("dir-attr.ckpt").exists(),
        "Config::dir won over the attribute"
    );

    RAN.store(0, Ordering::Relaxed);
    let expected: u64 = (0..100u64).map(|i| i * i).sum();
    assert_eq!(count(&scratch.0, 100, None), expected);
    assert_eq!(RAN.load(Ordering::Relaxed), 63, "it did not resume at 37");
    assert!(
        !file.exists(),
        "a finished run leaves its checkpoint behind"
    );
    Config::new().apply().unwrap();
}
