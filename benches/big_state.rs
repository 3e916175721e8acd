//! B3 and B4 for a 100 MB state (`Vec<f32>` of 25M): the time to serialize it in memory, the
//! time a synchronous save (write + fsync + rename) takes, and restore throughput.
//! `cargo bench --bench big_state`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LEN: usize = 25_000_000;

fn big_state(c: &mut Criterion) {
    let state: Vec<f32> = (0..LEN).map(|i| i as f32 * 0.5).collect();
    let dir = std::env::temp_dir().join(format!("resumable-bench-{}", std::process::id()));
    let path = dir.join("big.ckpt");
    let mut group = c.benchmark_group("B3/B4 100 MB state");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((LEN * 4) as u64));
    group.bench_function("serialize in memory (postcard)", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&state)).unwrap())
    });
    group.bench_function("synchronous save (write, fsync, rename)", |b| {
        b.iter(|| resumable::save(&path, black_box(&state)).unwrap())
    });
    resumable::save(&path, &state).unwrap();
    group.bench_function("restore (read, check, decode)", |b| {
        b.iter(|| {
            resumable::load::<Vec<f32>>(black_box(&path))
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, big_state);
criterion_main!(benches);
