//! Per-line cost of `resumable::io::Lines` against `BufRead::lines` on a `BufReader<File>`,
//! in the same run, over one 100 MB file of lines of 20 to 180 bytes (in the page cache after
//! the first pass). `cargo bench --bench io_lines`

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A 100 MB file of lines of 20 to 180 bytes; returns its path and its number of lines.
fn input() -> (PathBuf, u64) {
    let path = std::env::temp_dir().join(format!("resumable-bench-lines-{}", std::process::id()));
    let mut text = String::with_capacity(100_000_000);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut lines = 0;
    while text.len() < 100_000_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = 20 + (state % 161) as usize;
        text.extend((0..len).map(|i| (b'a' + ((state >> (i % 50)) % 26) as u8) as char));
        text.push('\n');
        lines += 1;
    }
    std::fs::write(&path, text).unwrap();
    (path, lines)
}

fn std_lines(path: &Path) -> usize {
    let mut total = 0;
    for line in BufReader::new(File::open(path).unwrap()).lines() {
        total += black_box(line.unwrap()).len();
    }
    total
}

fn our_lines(path: &Path) -> usize {
    let mut total = 0;
    for line in resumable::io::Lines::open(path).unwrap() {
        total += black_box(line.unwrap()).len();
    }
    total
}

fn lines(c: &mut Criterion) {
    let (path, count) = input();
    assert_eq!(std_lines(&path), our_lines(&path));
    let mut group = c.benchmark_group("lines of a 100 MB file");
    group.sample_size(20);
    group.throughput(Throughput::Elements(count));
    group.bench_function("BufRead::lines", |b| b.iter(|| std_lines(&path)));
    group.bench_function("resumable::io::Lines", |b| b.iter(|| our_lines(&path)));
    group.finish();
    std::fs::remove_file(&path).unwrap();
}

criterion_group!(benches, lines);
criterion_main!(benches);
