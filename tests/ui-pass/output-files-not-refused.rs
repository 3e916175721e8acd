use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use resumable::resumable;

// A diagnostic log opened for append and skipped: repeated lines after a resume are accepted.
// A file opened for reading and only read in the loop; a file created before the loop and
// written after it: neither is written in the loop.
#[resumable(every = 10, skip(log, table))]
fn total(n: u64, input: &Path, log_path: &Path, report: &Path) -> io::Result<u64> {
    let mut log = OpenOptions::new().create(true).append(true).open(log_path)?;
    let table = File::open(input)?;
    let mut out = File::create(report)?;
    let mut total = 0u64;
    for i in 0..n {
        total += i * table.metadata()?.len();
        writeln!(log, "at {i}")?;
    }
    writeln!(out, "{total}")?;
    Ok(total)
}

// Opened without emptying it, skipped, and written only at the positions the loop computes:
// a resumed run writes the same bytes at the same places.
#[resumable(every = 10, skip(slots))]
fn fill(n: u64, path: &Path) -> io::Result<()> {
    let slots = File::options().write(true).open(path)?;
    for i in 0..n {
        slots.write_all_at(&i.to_le_bytes(), 8 * i)?;
    }
    Ok(())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("output-files-not-refused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input");
    std::fs::write(&input, "abc").unwrap();
    let report = dir.join("report");
    assert_eq!(total(4, &input, &dir.join("log"), &report).unwrap(), 18);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "18\n");
    let slots = dir.join("slots");
    std::fs::write(&slots, [0u8; 24]).unwrap();
    fill(3, &slots).unwrap();
    let expected: Vec<u8> = (0..3u64).flat_map(u64::to_le_bytes).collect();
    assert_eq!(std::fs::read(&slots).unwrap(), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}
