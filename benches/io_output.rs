//! Per-line cost of `resumable::io::Output` against `BufWriter<File>`, in the same run: half a
//! million lines of 20 to 180 bytes written with `writeln!` and flushed (to the page cache),
//! timed without opening the file or syncing it (dropping an `Output` syncs it; a
//! `BufWriter` does not). The `Output` is opened with `append` on an emptied file: what a
//! loop's `Output` does once its run started. `cargo bench --bench io_output`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Lines of 20 to 180 bytes, without their `\n`.
fn lines() -> Vec<String> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..500_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 20 + (state % 161) as usize;
            (0..len)
                .map(|i| (b'a' + ((state >> (i % 50)) % 26) as u8) as char)
                .collect()
        })
        .collect()
}

/// Writes every line into `out` and flushes it: the time it took.
fn write_all(out: &mut impl Write, lines: &[String]) -> Duration {
    let started = Instant::now();
    for line in lines {
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    started.elapsed()
}

fn timed(iters: u64, path: &Path, lines: &[String], output: bool) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        if output {
            // `append` on an emptied file: `create` keeps what it gets in memory until a
            // `#[resumable]` run starts (up to 16 MiB), which this bench has none of.
            File::create(path).unwrap();
            let mut out = resumable::io::Output::append(path).unwrap();
            total += write_all(&mut out, lines);
        } else {
            let mut out = BufWriter::new(File::create(path).unwrap());
            total += write_all(&mut out, lines);
        }
    }
    total
}

fn output(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("resumable-bench-output-{}", std::process::id()));
    let lines = lines();
    let mut group = c.benchmark_group("writeln! of half a million lines");
    group.sample_size(20);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("BufWriter<File>", |b| {
        b.iter_custom(|iters| timed(iters, &path, &lines, false))
    });
    group.bench_function("resumable::io::Output", |b| {
        b.iter_custom(|iters| timed(iters, &path, &lines, true))
    });
    group.finish();
    std::fs::remove_file(&path).unwrap();
}

criterion_group!(benches, output);
criterion_main!(benches);
