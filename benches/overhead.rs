//! B2: what `#[resumable]` costs per iteration when no checkpoint is due, on a body that does
//! almost nothing; and the same for a loop nest (`inner = 'label`), whose outer iterations
//! have a cost of their own; and the fixed cost of a call whose `&mut self` holds 100 MB (its
//! value on entry is part of the key). `cargo bench --bench overhead`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use resumable::resumable;
use serde::{Deserialize, Serialize};

const N: u64 = 10_000_000;

fn plain(n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        sum = sum.wrapping_add(black_box(i));
    }
    sum
}

// `every` larger than N: the loop runs with no save due, which is the cost measured.
#[resumable(every = 1_000_000_000_000, name = "bench-overhead")]
fn checkpointed(n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        sum = sum.wrapping_add(black_box(i));
    }
    sum
}

// The same loop with a statement before the state is touched: the generated code marks,
// every iteration, where the state is first touched, so that a failure before it can save.
#[resumable(every = 1_000_000_000_000, name = "bench-overhead-marked")]
fn checkpointed_marked(n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        let x = black_box(i);
        sum += x;
    }
    sum
}

fn plain_nest(outer: u64, inner: u64) -> u64 {
    let mut sum = 0u64;
    for o in 0..outer {
        let mut row = 0u64;
        for i in 0..inner {
            row = row.wrapping_add(black_box(i ^ o));
        }
        sum = sum.wrapping_add(row);
    }
    sum
}

#[resumable(every = 1_000_000_000_000, name = "bench-nest", inner = 'cells)]
fn checkpointed_nest(outer: u64, inner: u64) -> u64 {
    let mut sum = 0u64;
    for o in 0..outer {
        let mut row = 0u64;
        'cells: for i in 0..inner {
            row = row.wrapping_add(black_box(i ^ o));
        }
        sum = sum.wrapping_add(row);
    }
    sum
}

/// 100 MB of state in `*self`: a call fingerprints it on entry for the key.
#[derive(Serialize, Deserialize)]
struct Field {
    values: Vec<f64>,
    bytes: Vec<u8>,
}

impl Field {
    #[resumable(every = 1_000_000_000_000, name = "bench-big-self")]
    fn nudge(&mut self, n: u64) {
        for i in 0..n {
            self.values[i as usize] += 1.0;
        }
    }
}

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("B2 per-iteration overhead, 10M iterations");
    group.sample_size(20);
    group.bench_function("plain loop", |b| b.iter(|| plain(black_box(N))));
    group.bench_function("#[resumable] loop", |b| {
        b.iter(|| checkpointed(black_box(N)))
    });
    group.bench_function("#[resumable] loop, failure point marked", |b| {
        b.iter(|| checkpointed_marked(black_box(N)))
    });
    group.finish();
    // The fixed cost of a call (lock file, checkpoint lookup, removal at the end), to take
    // away from the loop's time: what is left is the per-iteration cost.
    let mut group = c.benchmark_group("B2 fixed cost of a call");
    group.bench_function("#[resumable] loop of 0 iterations", |b| {
        b.iter(|| checkpointed(black_box(0)))
    });
    group.sample_size(10);
    for (label, floats, bytes) in [
        ("&mut self of 100 MB of f64", 12_500_000, 0),
        ("&mut self of 100 MB of u8", 0, 100_000_000),
    ] {
        let mut field = Field {
            values: vec![0.5; floats],
            bytes: vec![7; bytes],
        };
        group.bench_function(format!("#[resumable] loop of 0 iterations, {label}"), |b| {
            b.iter(|| field.nudge(black_box(0)))
        });
    }
    group.finish();
    // 10M inner iterations either way: short inner loops show the cost per outer iteration.
    let mut group = c.benchmark_group("B2 loop nest, 10M inner iterations");
    group.sample_size(20);
    for (outer, inner) in [(2_500_000, 4), (10_000, 1000)] {
        group.bench_function(format!("plain nest {outer} x {inner}"), |b| {
            b.iter(|| plain_nest(black_box(outer), black_box(inner)))
        });
        group.bench_function(format!("#[resumable] nest {outer} x {inner}"), |b| {
            b.iter(|| checkpointed_nest(black_box(outer), black_box(inner)))
        });
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
