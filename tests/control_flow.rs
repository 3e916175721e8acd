//! Semantics 4 and 6: control flow inside a resumable loop keeps its meaning, for every kind
//! of function the attribute accepts.

use std::fmt::Debug;

use resumable::resumable;

#[resumable(every = 3, name = "cf-try")]
fn parse_all(items: &[&str]) -> Result<Vec<i64>, std::num::ParseIntError> {
    let mut out = Vec::new();
    for item in items {
        out.push(item.parse::<i64>()?);
    }
    Ok(out)
}

#[resumable(every = 2, name = "cf-return")]
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

#[resumable(every = 2, name = "cf-break-continue")]
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
#[resumable(every = 5, name = "cf-closures")]
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

#[resumable(every = 4, name = "cf-impl-trait")]
fn evens(n: u32) -> impl Iterator<Item = u32> + Debug {
    let mut kept = Vec::new();
    for i in 0..n {
        if i % 2 == 0 {
            kept.push(i);
        }
    }
    kept.into_iter()
}

#[resumable(every = 4, name = "cf-generic")]
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

#[resumable(every = 2, name = "cf-macro-try")]
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
