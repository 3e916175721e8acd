use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use resumable::resumable;

// Opened for append and kept as state: a resumed run writes again every line written after
// the checkpoint (and a `File` does not serialize anyway).
#[resumable(every = 1000)]
fn log_lines(n: u64, output: &Path) -> io::Result<()> {
    let mut out = OpenOptions::new().create(true).append(true).open(output)?;
    for i in 0..n {
        writeln!(out, "{i}")?;
    }
    Ok(())
}

// Opened without emptying it and written from its start: a resumed run writes over the
// interrupted run's lines, and what they left past its end stays.
#[resumable(every = 1000, skip(out))]
fn overwrite(n: u64, output: &Path) -> io::Result<()> {
    let mut out = File::options().write(true).open(output)?;
    for i in 0..n {
        out.write_all(&i.to_le_bytes())?;
    }
    Ok(())
}

fn main() {}
