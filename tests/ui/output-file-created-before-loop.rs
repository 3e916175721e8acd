use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use resumable::resumable;

// `skip` leaves the handle out of the state, but the statements before the loop run again on
// resume: `File::create` empties what the interrupted run wrote.
#[resumable(every = 1000, skip(out))]
fn filter(n: u64, output: &Path) -> io::Result<u64> {
    let mut out = BufWriter::new(File::create(output)?);
    let mut kept = 0u64;
    for i in 0..n {
        if i % 3 == 0 {
            writeln!(out, "{i}")?;
            kept += 1;
        }
    }
    Ok(kept)
}

// Without `skip`: refused at the file, not asked to serialize a `BufWriter<File>`.
#[resumable(every = 1000)]
fn squares(n: u64, output: &Path) -> io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(output)?);
    for i in 0..n {
        writeln!(out, "{}", i * i)?;
    }
    out.flush()
}

// Opened between the loops of a nest: a resume enters the inner loop after opening it again.
#[resumable(every = 1000, inner = 'rows, skip(part))]
fn parts(dir: &Path, n: u64) -> io::Result<()> {
    for p in 0..4u64 {
        let file = fs::File::create(dir.join(format!("part-{p}")))?;
        let mut part = BufWriter::new(file);
        'rows: for i in 0..n {
            writeln!(part, "{}", p * n + i)?;
        }
    }
    Ok(())
}

fn main() {}
