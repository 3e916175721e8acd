//! An async fn over a list of files: `crawl` reads each file with tokio, keeps one line per
//! file (its name, size and a hash), and checkpoints every 20 files; `.await` is inside the
//! loop. Kill it and run it again: it resumes and prints what an uninterrupted run prints.
//!
//! ```text
//! cargo run --release --example crawl -- DIR            # every file in DIR, sorted by name
//! cargo run --release --example crawl -- DIR 2000       # 2 ms of pretend network per file
//! ```

use std::path::PathBuf;
use std::time::Duration;

use resumable::resumable;

/// One line per file: name, size, FNV-1a of the content. `report` only grows.
// The key is the list of files; the delay only slows the demo down.
#[resumable(every = 20, append(report), key = files)]
async fn crawl(files: Vec<PathBuf>, delay: Duration) -> std::io::Result<Vec<String>> {
    let mut report = Vec::new();
    // A sorted list: the same items in the same order on every run.
    for file in files {
        let bytes = tokio::fs::read(&file).await?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        report.push(format!("{name} {} {hash:016x}", bytes.len()));
    }
    Ok(report)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: crawl DIR [DELAY_US]"));
    let delay_us: u64 = args.next().map_or(0, |arg| arg.parse().expect("DELAY_US"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.is_file());
    files.sort();
    let report = crawl(files, Duration::from_micros(delay_us)).await?;
    for line in &report {
        println!("{line}");
    }
    Ok(())
}
