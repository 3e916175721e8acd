//! Loops that advance a binding left out of the state: a resumed run would start it over (the
//! first line, a fresh generator, a new receiver) under the restored totals.
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::mpsc::Receiver;

use resumable::resumable;

#[resumable(every = 10, skip(lines))]
fn longest(text: &str) -> usize {
    let mut lines = text.lines();
    let mut longest = 0;
    while let Some(line) = lines.next() {
        longest = longest.max(line.len());
    }
    longest
}

#[resumable(every = 10)]
fn received(rx: Receiver<u64>) -> u64 {
    let mut total = 0;
    while let Ok(x) = rx.recv() {
        total += x;
    }
    total
}

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
}

#[resumable(every = 10, skip(rng))]
fn draws(n: u64) -> u64 {
    let mut rng = Rng(7);
    let mut total = 0u64;
    for _ in 0..n {
        total = total.wrapping_add(rng.next_u64());
    }
    total
}

#[resumable(every = 10, state(total))]
fn retried(n: u64) -> u64 {
    let mut total = 0;
    let mut tries = 0;
    while tries < n {
        tries += 1;
        total += tries;
    }
    total
}

#[resumable(every = 10, skip(reader, line))]
fn total_length(file: File) -> usize {
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut total = 0;
    while reader.read_line(&mut line).unwrap() > 0 {
        total += line.len();
        line.clear();
    }
    total
}

fn main() {}
