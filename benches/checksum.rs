//! Throughput of the two hashes every checkpoint pays for: the CRC-32C over every file byte
//! (the `crc32c` crate) and the XXH3-128 over appended `Vec` state (the `xxhash-rust` crate,
//! as `resumable`'s `format/hash.rs` calls it), in cache (4 KiB to 1 MiB) and in memory
//! (100 MB). `cargo bench --bench checksum`

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

fn xxh3_128(c: &mut Criterion) {
    let data = random_bytes(100_000_000);
    let mut group = c.benchmark_group("xxh3_128");
    for (name, len) in SIZES {
        group.sample_size(if len > 10_000_000 { 20 } else { 100 });
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
                hasher.update(black_box(&data[..len]));
                hasher.digest128()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, crc32c, xxh3_128);
criterion_main!(benches);
