//! A loop that stops on an error from `?`, saves where it stopped, and picks up from there.
//!
//! ```text
//! cargo run --example fallible -- --fail-at 37   # "fetching" item 37 fails: exits with status 1
//! cargo run --example fallible                   # resumes at item 37, prints the full result
//! ```
//! The second command prints exactly what one uninterrupted `cargo run --example fallible`
//! prints. The checkpoint is `.resumable/fallible.fetch_all.ckpt` (or `$RESUMABLE_DIR/…`).

use std::fmt;
use std::time::Duration;

use resumable::resumable;

/// How many items there are to fetch.
const ITEMS: u64 = 100;

/// The transient failure of one fetch.
#[derive(Debug)]
struct FetchError {
    item: u64,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fetching item {} timed out", self.item)
    }
}

impl std::error::Error for FetchError {}

/// A flaky remote call: item `i`'s value, unless `i` is the item told to fail.
fn fetch(i: u64, fail_at: Option<u64>) -> Result<u64, FetchError> {
    std::thread::sleep(Duration::from_millis(1));
    if fail_at == Some(i) {
        return Err(FetchError { item: i });
    }
    Ok(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48)
}

/// Fetches every item, keeping the values. `?` stops the loop at the first failure; the
/// checkpoint it leaves makes the next call start again at the item that failed.
// `key = ()`: one checkpoint whatever `fail_at` is, since it only says where to inject the
// failure; without it, the run with `--fail-at 37` and the run without would each have its
// own checkpoint (the default key is the arguments).
#[resumable(every = 10, key = ())]
fn fetch_all(fail_at: Option<u64>) -> Result<Vec<u64>, FetchError> {
    let mut values = Vec::new();
    for i in 0..ITEMS {
        values.push(fetch(i, fail_at)?);
    }
    Ok(values)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fail_at = match args.as_slice() {
        [] => None,
        [flag, k] if flag == "--fail-at" => Some(k.parse().expect("K must be a whole number")),
        _ => panic!("usage: fallible [--fail-at K]"),
    };
    match fetch_all(fail_at) {
        Ok(values) => {
            let sum: u64 = values.iter().sum();
            println!("fetched {} items, sum {sum}", values.len());
        }
        Err(err) => {
            eprintln!("error: {err}; run again to resume");
            std::process::exit(1);
        }
    }
}
