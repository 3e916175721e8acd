//! Forms that must compile as they do without the attribute, here under `deny(warnings)`: a
//! body that is one `if`, state threaded by value, `anyhow::bail!`.
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

fn main() {
    std::env::set_current_dir(std::env::temp_dir()).unwrap();
    assert_eq!(evens(10), 5);
    assert_eq!(split(10), (10, 35));
    assert_eq!(threaded(25), 25);
    assert_eq!(checked(10).unwrap(), 45);
}
