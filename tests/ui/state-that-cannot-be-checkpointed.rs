// `limit` must be `let mut` to be state; the loop never assigns it.
#![allow(unused_mut)]

use resumable::resumable;
use std::cell::Cell;

#[resumable(every = 10)]
fn last_of(n: u64) -> u64 {
    let mut last;
    for i in 0..n {
        last = i * 2;
        if i == n - 1 { return last; }
    }
    0
}

#[resumable(every = 10)]
fn words<'a>(text: &'a str) -> usize {
    let mut words: Vec<&'a str> = Vec::new();
    for w in text.split(' ') {
        words.push(w);
    }
    words.len()
}

#[resumable(every = 10)]
fn under(xs: Vec<u64>) -> u64 {
    let mut limit = Cell::new(10);
    let mut n = 0;
    for x in xs.iter().filter(|x| **x < limit.get()) {
        limit.set(limit.get() + x);
        n += 1;
    }
    n
}

#[resumable(every = 10)]
fn alias(mut grid: Vec<u64>) -> u64 {
    let cur = &mut grid;
    let mut t = 0;
    for i in 0..3 {
        cur.push(i);
        t += 1;
    }
    t
}

#[resumable(every = 10)]
fn big(n: usize) -> u64 {
    let mut counts = [0u64; 64];
    for i in 0..n {
        counts[i % 64] += 1;
    }
    counts[0]
}

fn main() {}
