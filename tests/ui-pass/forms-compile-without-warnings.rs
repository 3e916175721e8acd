//! Forms that must compile as they do without the attribute, here under `deny(warnings)`: a
//! body that is one `if`, or on one line; state threaded by value, or returned from inside the
//! loop; a struct literal as the first update; `anyhow::bail!`; a `loop` whose value is used;
//! several top-level loops; `(a - b)?`, whose parentheses the rewrite of `?` must not leave
//! in a call's argument.
#![deny(warnings)]

use resumable::resumable;

#[resumable(every = 10, name = "ui-pass-one-if")]
fn evens(n: u64) -> u64 {
    let mut count = 0;
    for i in 0..n {
        if i % 2 == 0 {
            count += 1;
        }
    }
    count
}

#[resumable(every = 10, name = "ui-pass-one-if-else")]
fn split(n: u64) -> (u64, u64) {
    let (mut low, mut high) = (0, 0);
    for i in 0..n {
        if i < n / 2 { low += i } else { high += i }
    }
    (low, high)
}

fn step(acc: Vec<u64>, i: u64) -> Vec<u64> {
    let mut acc = acc;
    acc.push(i);
    acc
}

#[resumable(every = 10, name = "ui-pass-by-value")]
fn threaded(n: u64) -> usize {
    let mut acc = Vec::new();
    for i in 0..n {
        acc = step(acc, i);
    }
    acc.len()
}

#[resumable(every = 10, name = "ui-pass-bail")]
fn checked(n: u64) -> anyhow::Result<u64> {
    let mut total = 0;
    for i in 0..n {
        anyhow::ensure!(i < 1000, "{i} is too large");
        if i == 5000 {
            anyhow::bail!("never");
        }
        total += i;
    }
    Ok(total)
}

#[rustfmt::skip]
#[resumable(every = 10, name = "ui-pass-one-line")]
fn widest(names: Vec<String>) -> String {
    let mut widest = String::new();
    for name in names { if name.len() > widest.len() { widest = name.clone(); } }
    widest
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Point {
    x: u64,
    y: u64,
}

#[resumable(every = 10, name = "ui-pass-struct-literal")]
fn points(n: u64) -> usize {
    let mut out = Vec::new();
    for i in 0..n {
        let y = i * 2;
        out.push(Point { x: i, y });
    }
    out.iter().filter(|point| point.x < point.y).count()
}

#[resumable(every = 10, name = "ui-pass-return-state")]
fn until(n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..n {
        if i == 5 {
            return out;
        }
        out.push(i);
    }
    out
}

#[resumable(every = 10, name = "ui-pass-loop-value")]
fn first_square_over(limit: u64) -> u64 {
    let mut i = 0u64;
    let found = loop {
        if i * i > limit {
            break i;
        }
        i += 1;
    };
    found
}

#[resumable(every = 10, name = "ui-pass-several-loops")]
fn summary(xs: Vec<u64>) -> (u64, u64) {
    for x in &xs {
        assert!(*x < 100);
    }
    let mut total = 0;
    for x in &xs {
        total += x;
    }
    let mut best = 0;
    for x in &xs {
        best = best.max(*x);
    }
    (total, best)
}

#[resumable(every = 10, name = "ui-pass-try-in-parentheses")]
fn differences(values: &[i64]) -> Result<i64, std::num::TryFromIntError> {
    let mut total = 0i64;
    for pair in values.windows(2) {
        total += u32::try_from(pair[1] - pair[0])? as i64;
        total += i64::from(u8::try_from((pair[1] - pair[0]) % 7)?);
    }
    Ok(total)
}

fn main() {
    // A directory of this run's own: a call below fails and keeps its checkpoint, which a later
    // run of another build (trybuild numbers the crate by its place among the cases) would
    // find saved by another function.
    let dir = std::env::temp_dir().join(format!("resumable-ui-pass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::env::set_current_dir(&dir).unwrap();
    assert_eq!(differences(&[1, 4, 9]).unwrap(), 8 + 3 + 5);
    assert!(differences(&[9, 4]).is_err());
    assert_eq!(evens(10), 5);
    assert_eq!(split(10), (10, 35));
    assert_eq!(threaded(25), 25);
    assert_eq!(checked(10).unwrap(), 45);
    assert_eq!(widest(vec!["a".into(), "abc".into(), "ab".into()]), "abc");
    assert_eq!(points(5), 4);
    assert_eq!(until(10), [0, 1, 2, 3, 4]);
    assert_eq!(first_square_over(30), 6);
    assert_eq!(summary(vec![1, 5, 2]), (8, 5));
    std::fs::remove_dir_all(&dir).unwrap();
}
