//! Semantics 4 and 6: control flow inside a resumable loop keeps its meaning, for every kind
//! of function the attribute accepts.

mod common;

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, saved_index, take};
use resumable::resumable;

#[resumable(every = 3, name = "cf-try", key = ())]
fn parse_all(items: &[&str]) -> Result<Vec<i64>, std::num::ParseIntError> {
    let mut out = Vec::new();
    for item in items {
        out.push(item.parse::<i64>()?);
    }
    Ok(out)
}

#[resumable(every = 2, name = "cf-return", key = ())]
fn first_over(limit: u32, items: Vec<u32>) -> Option<u32> {
    let mut seen = 0u32;
    for item in items {
        seen += 1;
        if item > limit {
            return Some(item);
        }
    }
    let _ = seen;
    None
}

#[resumable(every = 2, name = "cf-break-continue", key = ())]
fn odd_sum_until(stop: u64) -> u64 {
    let mut sum = 0;
    'outer: for i in 0..100u64 {
        if i % 2 == 0 {
            continue;
        }
        for j in 0..3 {
            if i + j > stop {
                break 'outer;
            }
        }
        sum += i;
    }
    sum
}

// The explicit `return`s are the point: they must stay the closure's and the nested fn's own.
#[allow(clippy::needless_return)]
#[resumable(every = 5, name = "cf-closures", key = ())]
fn closures_keep_their_return(words: &[&str]) -> usize {
    let mut lengths = Vec::new();
    for word in words {
        let parse = |s: &str| -> Option<usize> {
            let n = s.len().checked_sub(0)?;
            return Some(n);
        };
        fn nested(x: usize) -> usize {
            return x * 2;
        }
        lengths.push(nested(parse(word).unwrap()));
    }
    lengths.iter().sum()
}

#[resumable(every = 4, name = "cf-impl-trait", key = ())]
fn evens(n: u32) -> impl Iterator<Item = u32> + Debug {
    let mut kept = Vec::new();
    for i in 0..n {
        if i % 2 == 0 {
            kept.push(i);
        }
    }
    kept.into_iter()
}

#[resumable(every = 4, name = "cf-generic", key = ())]
fn total<T>(items: Vec<T>) -> T
where
    T: Copy + Default + std::ops::Add<Output = T> + serde::Serialize + serde::de::DeserializeOwned,
{
    let mut acc = T::default();
    for item in items {
        acc = acc + item;
    }
    acc
}

#[resumable(every = 2, name = "cf-macro-try", key = ())]
fn macro_try(items: &[&str]) -> Result<String, std::num::ParseIntError> {
    let mut text = String::new();
    for item in items {
        text.push_str(&format!("{},", item.parse::<u8>()?));
    }
    Ok(text)
}

#[test]
fn question_mark_returns_the_error_and_ok_completes() {
    assert_eq!(parse_all(&["1", "2", "3", "4"]), Ok(vec![1, 2, 3, 4]));
    let err = parse_all(&["1", "2", "x"]).unwrap_err();
    assert_eq!(err.to_string(), "invalid digit found in string");
    // The failure saved a checkpoint (2 iterations done); a good input then finishes from it.
    assert_eq!(parse_all(&["1", "2", "3", "4"]), Ok(vec![1, 2, 3, 4]));
}

#[test]
fn return_inside_the_loop_returns_from_the_function() {
    assert_eq!(first_over(10, vec![1, 5, 20, 30]), Some(20));
    assert_eq!(first_over(100, vec![1, 5]), None);
}

#[test]
fn labelled_break_and_continue_keep_their_meaning() {
    assert_eq!(odd_sum_until(10), 1 + 3 + 5 + 7);
}

#[test]
fn closures_and_nested_fns_keep_their_own_return() {
    assert_eq!(closures_keep_their_return(&["ab", "cde"]), 10);
}

#[test]
fn impl_trait_return_types_work() {
    assert_eq!(evens(9).collect::<Vec<_>>(), vec![0, 2, 4, 6, 8]);
}

#[test]
fn generic_functions_work() {
    assert_eq!(total(vec![1.5f64, 2.5, 3.0]), 7.0);
    assert_eq!(total(vec![1u8, 2, 3]), 6);
}

#[test]
fn question_mark_inside_a_macro_is_rewritten() {
    assert_eq!(macro_try(&["1", "2"]).unwrap(), "1,2,");
    assert!(macro_try(&["1", "300"]).is_err());
    assert_eq!(macro_try(&["1", "2"]).unwrap(), "1,2,");
}

// ---------------------------------------------------------------------------------------------
// `break` and `continue`: the loop runs as an outer and an inner loop around one labelled block
// (see resumable-macros/src/expand.rs), so the macro points those of the `for` loop at the
// generated labels, and leaves those of loops and blocks inside the body alone. Each function
// counts the bodies it runs and can be made to panic at an item, which saves a checkpoint
// there; the next call resumes from it.

static BREAK_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "cf-unlabelled-break", key = (), skip(BREAK_RUNS))]
fn sum_until(n: u64, last: u64, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        BREAK_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if i == last {
            break;
        }
        sum += i;
    }
    // The epilogue runs after a `break`, as after a `for` loop.
    sum * 1000 + 7
}

#[test]
fn unlabelled_break_leaves_the_whole_loop() {
    let path = fresh("cf-unlabelled-break");
    let expected = |last: u64| (0..last).sum::<u64>() * 1000 + 7;
    // Saves are due at items 3, 6, 9, …: `break` on the first item, on a boundary item, on the
    // item after one, in between, and never.
    for last in [0, 2, 3, 4, 10, 100] {
        assert_eq!(
            sum_until(20, last, None),
            expected(last.min(20)),
            "last {last}"
        );
        assert_eq!(take(&BREAK_RUNS), (last + 1).min(20), "last {last}");
        assert!(
            !path.exists(),
            "a `break` completes the loop: no checkpoint is left"
        );
    }

    // A panic at item 7 saves there (after the boundary at 6); the next call runs 7..=10.
    assert_eq!(
        panic_of(|| sum_until(20, 10, Some(7))),
        "injected failure at 7"
    );
    assert_eq!(take(&BREAK_RUNS), 8);
    assert_eq!(saved_index(&path), Some(7));
    assert_eq!(sum_until(20, 10, None), expected(10));
    assert_eq!(take(&BREAK_RUNS), 4);
    assert!(!path.exists());

    // A panic on a boundary item (6, saved at 6 before its body ran), then a `break` on the
    // first item of the resumed call.
    panic_of(|| sum_until(20, 10, Some(6)));
    assert_eq!(take(&BREAK_RUNS), 7);
    assert_eq!(saved_index(&path), Some(6));
    assert_eq!(sum_until(20, 6, None), expected(6));
    assert_eq!(take(&BREAK_RUNS), 1);
    assert!(!path.exists());
}

static LABEL_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "cf-user-label", key = (), skip(LABEL_RUNS))]
fn kept_until_nine(n: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut kept = Vec::new();
    'items: for i in 0..n {
        LABEL_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        for j in 0..4 {
            // Out of a nested loop, to the next item and out of everything.
            if j == 1 && i % 3 == 0 {
                continue 'items;
            }
            if i == 9 {
                break 'items;
            }
        }
        if i % 3 == 1 {
            continue;
        }
        if i == 2 {
            // At the top level of the body too.
            kept.push(i);
            continue 'items;
        }
        kept.push(i * 10);
    }
    kept
}

#[test]
fn labelled_break_and_continue_with_the_loops_label() {
    let path = fresh("cf-user-label");
    let expected = vec![2, 50, 80];
    assert_eq!(kept_until_nine(20, None), expected);
    assert_eq!(take(&LABEL_RUNS), 10, "items 0..=9 ran");
    assert!(!path.exists());
    assert_eq!(kept_until_nine(7, None), vec![2, 50]);
    assert_eq!(take(&LABEL_RUNS), 7);

    // Interrupted at 5 (a `continue` ran on the boundary items 2 and 4 before it), resumed.
    panic_of(|| kept_until_nine(20, Some(5)));
    assert_eq!(take(&LABEL_RUNS), 6);
    assert_eq!(saved_index(&path), Some(5));
    assert_eq!(kept_until_nine(20, None), expected);
    assert_eq!(take(&LABEL_RUNS), 5, "items 5..=9 ran");
    assert!(!path.exists());
}

static NESTED_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "cf-nested-loops", key = (), skip(NESTED_RUNS))]
fn nested_loops(n: u64, panic_at: Option<u64>) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        NESTED_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        let mut k = 0;
        loop {
            k += 1;
            if k == 3 {
                break;
            }
        }
        'inner: for j in 0..10 {
            if j == 2 {
                continue 'inner;
            }
            if j > 4 {
                break 'inner;
            }
            for _ in 0..2 {
                if j == 3 {
                    continue 'inner; // the nested labelled loop's, from one nested deeper
                }
                total += j; // j = 0, 1, 4, twice each
            }
        }
        let mut w = 0;
        while w < 5 {
            w += 1;
            if w % 2 == 0 {
                continue;
            }
            total += w; // 1 + 3 + 5
        }
        let mut m = 0;
        let hundreds = loop {
            m += 1;
            if m == 2 {
                break i * 100;
            }
        };
        let picked = 'pick: {
            if i % 2 == 0 {
                break 'pick 1;
            }
            2
        };
        total += k + hundreds + picked;
    }
    total
}

#[test]
fn break_and_continue_of_loops_inside_the_body_stay_theirs() {
    let path = fresh("cf-nested-loops");
    // Per item i: 3 (k) + 10 (inner) + 9 (while) + 100 i + (1 or 2).
    let expected = |n: u64| (0..n).map(|i| 22 + 100 * i + 1 + i % 2).sum::<u64>();
    assert_eq!(nested_loops(7, None), expected(7));
    assert_eq!(take(&NESTED_RUNS), 7);
    assert!(!path.exists());

    panic_of(|| nested_loops(7, Some(4)));
    assert_eq!(take(&NESTED_RUNS), 5);
    assert_eq!(saved_index(&path), Some(4));
    assert_eq!(nested_loops(7, None), expected(7));
    assert_eq!(take(&NESTED_RUNS), 3, "items 4..7 ran");
    assert!(!path.exists());
}

static BLOCK_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 3, name = "cf-labelled-block", key = (), skip(BLOCK_RUNS))]
fn through_blocks(n: u64, panic_at: Option<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    'items: for i in 0..n {
        BLOCK_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        'block: {
            if i % 2 == 0 {
                break 'block; // the block's: the item goes on below
            }
            if i == 5 {
                continue 'items; // from inside the block: the next item
            }
            if i == 11 {
                break 'items; // from inside the block: out of the loop
            }
            out.push(i);
        }
        out.push(i * 100);
    }
    out
}

#[test]
fn break_inside_a_labelled_block() {
    let path = fresh("cf-labelled-block");
    let expected: Vec<u64> = vec![0, 1, 100, 200, 3, 300, 400, 600, 7, 700, 800, 9, 900, 1000];
    assert_eq!(through_blocks(20, None), expected);
    assert_eq!(take(&BLOCK_RUNS), 12, "items 0..=11 ran");
    assert!(!path.exists());

    panic_of(|| through_blocks(20, Some(8)));
    assert_eq!(take(&BLOCK_RUNS), 9);
    assert_eq!(saved_index(&path), Some(8));
    assert_eq!(through_blocks(20, None), expected);
    assert_eq!(take(&BLOCK_RUNS), 4, "items 8..=11 ran");
    assert!(!path.exists());
}

static MACRO_RUNS: AtomicU64 = AtomicU64::new(0);

#[resumable(every = 2, name = "cf-macro-break", key = (), skip(MACRO_RUNS))]
fn macro_break(n: u64) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        MACRO_RUNS.fetch_add(1, SeqCst);
        out.push(format!("{}", if i == 1 { continue } else { i }));
        out.push(format!("<{}>", if i == 4 { break } else { i }));
    }
    out
}

#[test]
fn break_and_continue_inside_macro_arguments() {
    fresh("cf-macro-break");
    assert_eq!(macro_break(10), ["0", "<0>", "2", "<2>", "3", "<3>", "4"]);
    assert_eq!(take(&MACRO_RUNS), 5);
}

static DROP_LOG: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn log(entry: String) {
    DROP_LOG.lock().unwrap().push(entry);
}

struct Loud(u64);

impl Drop for Loud {
    fn drop(&mut self) {
        log(format!("drop {}", self.0));
    }
}

#[resumable(every = 2, name = "cf-drop-order", key = ())]
fn pull_body_drop(n: u64) -> u64 {
    let mut bodies = 0u64;
    let items = (0..n).map(|i| {
        log(format!("pull {i}"));
        (Loud(i), Loud(i + 100))
    });
    for (_, second) in items {
        bodies += 1;
        if bodies == 2 {
            continue;
        }
        log(format!("body {}", second.0));
    }
    bodies
}

#[test]
fn an_items_unbound_parts_are_dropped_before_the_next_is_pulled() {
    fresh("cf-drop-order");
    assert_eq!(pull_body_drop(3), 3);
    // As in a `for` loop: the pattern's binding, then what `_` left of the item.
    let expected = [
        "pull 0", "body 100", "drop 100", "drop 0", //
        "pull 1", "drop 101", "drop 1", //
        "pull 2", "body 102", "drop 102", "drop 2",
    ];
    assert_eq!(*DROP_LOG.lock().unwrap(), expected);
}
