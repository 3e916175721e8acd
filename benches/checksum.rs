//! Throughput of the CRC-32C over every checkpoint file, and of the prefix hash for appended
//! `Vec` state, in cache (64 KiB, 1 MiB) and in memory (100 MB).
//! `cargo bench --bench checksum`
//!
//! The CRC is the `crc32c` crate's. The prefix hash is private to the crate, so its source
//! file is compiled into this bench as it is (it uses nothing else from the crate); what the
//! bench does not call is unused here.

#![allow(dead_code, unused_imports)]

#[path = "../resumable/src/run/prefix_hash.rs"]
mod prefix_hash;
// Their unit tests' RNG, for `cargo test --all-targets`, which compiles their tests in too.
#[cfg(test)]
#[path = "../resumable/src/testing/rng.rs"]
mod rng;
#[cfg(test)]
mod testing {
    pub(crate) use super::rng;
}

use std::hash::Hasher;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [(&str, usize); 4] = [
    ("4 KiB", 4 << 10),
    ("64 KiB", 64 << 10),
    ("1 MiB", 1 << 20),
    ("100 MB", 100_000_000),
];

fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn crc32c(c: &mut Criterion) {
    let data = random_bytes(100_000_000);
    let mut group = c.benchmark_group("crc32c");
    for (name, len) in SIZES {
        group.sample_size(if len > 10_000_000 { 20 } else { 100 });
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| crc32c::crc32c(black_box(&data[..len])))
        });
    }
    group.finish();
}

fn prefix_hash(c: &mut Criterion) {
    let data = random_bytes(100_000_000);
    let mut group = c.benchmark_group("prefix_hash");
    for (name, len) in SIZES {
        group.sample_size(if len > 10_000_000 { 20 } else { 100 });
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut hasher = prefix_hash::PrefixHasher::new();
                hasher.write(black_box(&data[..len]));
                hasher.finish128()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, crc32c, prefix_hash);
criterion_main!(benches);
