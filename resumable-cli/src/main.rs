//! `resumable`: lists, shows and resets the checkpoints of a directory, or of an object store
//! (`s3://bucket/prefix`, with the default `object-store` feature).
//!
//! The reading is done by the library ([`resumable::inspect`]); this program parses its
//! arguments and prints plain text. Store commands are in `store.rs`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use resumable::inspect::{self, CheckpointInfo, FileInfo, FileProblem, Format, Generation};

mod store;

/// Lists, shows and resets the checkpoints of `#[resumable]` functions, in a directory or on
/// an object store (a URL such as `s3://bucket/prefix`, as `RESUMABLE_STORE` names one).
#[derive(Parser)]
#[command(name = "resumable", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the checkpoints in a directory or on a store: index, age, size and health.
    List {
        /// The checkpoint directory, or a store URL [default: $RESUMABLE_DIR, else .resumable]
        dir: Option<OsString>,
    },
    /// Shows one checkpoint: its files, state shape and every intact record; with a store,
    /// how far the store is behind the local checkpoint.
    Show {
        /// The checkpoint's name: its file name without `.ckpt`, as `list` shows it.
        name: String,
        /// The checkpoint directory, or a store URL [default: $RESUMABLE_DIR, else .resumable]
        #[arg(long)]
        dir: Option<OsString>,
        /// The store the local checkpoint is uploaded to, to show how far behind it is
        /// [default: $RESUMABLE_STORE]
        #[arg(long)]
        store: Option<String>,
    },
    /// Resets a checkpoint so the next run starts over. In a directory its files are moved
    /// aside (to `<file>.reset-<unix ms>`); on a store an empty checkpoint becomes the newest.
    /// Nothing is deleted; refused while a run holds the checkpoint.
    Reset {
        /// The checkpoint's name: its file name without `.ckpt`, as `list` shows it.
        name: String,
        /// The checkpoint directory, or a store URL [default: $RESUMABLE_DIR, else .resumable]
        #[arg(long)]
        dir: Option<OsString>,
    },
}

/// Where checkpoints are: a directory, or a store by its URL.
enum Place {
    Dir(PathBuf),
    Store(String),
}

impl Place {
    /// A `scheme://` argument is a store; anything else a directory.
    fn of(arg: Option<OsString>) -> Place {
        let Some(arg) = arg else {
            return Place::Dir(inspect::default_dir());
        };
        match arg.to_str() {
            Some(url) if is_url(url) => Place::Store(url.to_owned()),
            _ => Place::Dir(PathBuf::from(arg)),
        }
    }
}

fn is_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List { dir } => match Place::of(dir) {
            Place::Dir(dir) => list(&dir),
            Place::Store(url) => store::list(&url),
        },
        Command::Show { name, dir, store } => match Place::of(dir) {
            Place::Dir(dir) => show(&dir, &name).and_then(|mut out| {
                let store = store.or_else(|| std::env::var("RESUMABLE_STORE").ok());
                if let Some(url) = store.filter(|url| !url.trim().is_empty()) {
                    out.push_str(&store::lag(url.trim(), &dir, &name)?);
                }
                Ok(out)
            }),
            Place::Store(url) => store::show(&url, &name),
        },
        Command::Reset { name, dir } => match Place::of(dir) {
            Place::Dir(dir) => reset(&dir, &name),
            Place::Store(url) => store::reset(&url, &name),
        },
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("resumable: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn list(dir: &Path) -> Result<String, String> {
    let listing = inspect::inspect_dir(dir).map_err(|err| unreadable(dir, &err))?;
    let mut out = String::new();
    if listing.checkpoints.is_empty() {
        let _ = writeln!(out, "no checkpoints in {}", dir.display());
    } else {
        let mut rows = vec![row(&[
            "NAME", "FUNCTION", "INDEX", "KEY", "AGE", "SIZE", "HEALTH",
        ])];
        for info in &listing.checkpoints {
            let newest = info.newest.as_ref().map(|(_, record)| record);
            rows.push(vec![
                info.name.clone(),
                info.function().unwrap_or("-").to_owned(),
                info.index().map_or("-".into(), |index| index.to_string()),
                info.key().unwrap_or("-").to_owned(),
                newest.map_or("-".into(), |record| inspect::age(record.saved_at_ms)),
                inspect::size_text(info.size()),
                info.health(),
            ]);
        }
        out.push_str(&table(&rows, &[2, 5]));
    }
    if !listing.set_aside.is_empty() {
        let _ = writeln!(out, "\nset aside (kept, never loaded):");
        let rows: Vec<Vec<String>> = listing
            .set_aside
            .iter()
            .map(|aside| {
                let name = aside.path.file_name().unwrap_or_default();
                let when = aside
                    .at_ms
                    .map_or(String::new(), |ms| format!(" {} ago", inspect::age(ms)));
                vec![
                    format!("  {}", name.to_string_lossy()),
                    inspect::size_text(aside.size),
                    format!("{}{when}", aside.why),
                ]
            })
            .collect();
        out.push_str(&table(&rows, &[1]));
    }
    Ok(out)
}

pub(crate) fn show(dir: &Path, name: &str) -> Result<String, String> {
    let path = find(dir, name)?;
    let info = inspect::inspect(&path);
    let mut out = String::new();
    let mut fields = vec![
        row(&["checkpoint", &info.name]),
        row(&["label", info.label().unwrap_or("-")]),
        row(&["key", info.key().unwrap_or("-")]),
    ];
    fields.push(vec![
        "newest".into(),
        match &info.newest {
            Some((generation, record)) => format!(
                "index {}{}, saved {} ago ({} in {})",
                record.index,
                record
                    .position
                    .map_or_else(String::new, |(outer, inner)| format!(
                        " (outer iteration {outer}, inner iteration {inner})"
                    )),
                inspect::age(record.saved_at_ms),
                record_name(record.seq),
                file_name(&info, *generation)
            ),
            None => "none".into(),
        },
    ]);
    fields.push(row(&["health", &info.health()]));
    for (at, file) in info.files.iter().enumerate() {
        let title = if at == 0 { "files" } else { "" };
        fields.push(vec![
            title.into(),
            format!(
                "{}  ({}, {} bytes)",
                file.path.display(),
                format_name(file),
                file.size
            ),
        ]);
    }
    out.push_str(&table(&fields, &[]));
    if let Some(shape) = info.shape() {
        let _ = writeln!(out, "shape");
        for line in shape.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    for file in &info.files {
        let _ = writeln!(out, "\nrecords of {} (oldest first)", file.path.display());
        if file.records.is_empty() {
            let _ = writeln!(out, "    none intact");
        } else {
            let mut rows = vec![row(&["    SEQ", "INDEX", "SAVED", "SIZE", "PARTS"])];
            for record in &file.records {
                rows.push(vec![
                    format!(
                        "    {}",
                        if record.seq == 0 {
                            "-".into()
                        } else {
                            record.seq.to_string()
                        }
                    ),
                    record.index.to_string(),
                    format!("{} ago", inspect::age(record.saved_at_ms)),
                    inspect::size_text(record.size),
                    info.parts_summary(record),
                ]);
            }
            out.push_str(&table(&rows, &[0, 1, 3]));
        }
        match &file.problem {
            None => {}
            Some(FileProblem::TornTail) if file.records.is_empty() => {
                let _ = writeln!(out, "    then: cut short (a crash while it was written)");
            }
            Some(FileProblem::TornTail) => {
                let _ = writeln!(
                    out,
                    "    then: torn tail (a record cut short by a crash; never loaded)"
                );
            }
            Some(FileProblem::Damaged(problem)) => {
                let _ = writeln!(out, "    then: damaged: {problem}");
            }
        }
    }
    Ok(out)
}

fn reset(dir: &Path, name: &str) -> Result<String, String> {
    let path = find(dir, name)?;
    let moved = inspect::reset(&path).map_err(|err| err.with_causes())?;
    let mut out = String::new();
    for (from, to) in &moved {
        let _ = writeln!(out, "moved {} to {}", from.display(), to.display());
    }
    let _ = writeln!(
        out,
        "checkpoint {} is reset: the next run starts over (nothing was deleted)",
        path.display()
    );
    Ok(out)
}

/// The log path of checkpoint `name` in `dir`, or a message saying what exists there.
fn find(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let path = inspect::checkpoint_path(dir, name);
    if inspect::exists(&path) {
        return Ok(path);
    }
    let names = inspect::names(dir).map_err(|err| unreadable(dir, &err))?;
    let there = if names.is_empty() {
        "there are none".to_owned()
    } else {
        format!("there are: {}", names.join(", "))
    };
    Err(format!(
        "no checkpoint named {name} in {}; {there}",
        dir.display()
    ))
}

fn unreadable(dir: &Path, err: &std::io::Error) -> String {
    format!("cannot read checkpoint directory {}: {err}", dir.display())
}

fn format_name(file: &FileInfo) -> &'static str {
    match file.format {
        Format::Log => "log",
        Format::Single => "version-1 file",
        Format::Unknown => "unreadable",
    }
}

fn record_name(seq: u64) -> String {
    if seq == 0 {
        "its one checkpoint".into()
    } else {
        format!("record {seq}")
    }
}

fn file_name(info: &CheckpointInfo, generation: Generation) -> String {
    info.file(generation)
        .and_then(|file| file.path.file_name())
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

pub(crate) fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| (*cell).to_owned()).collect()
}

/// The rows in columns two spaces apart; the columns in `right` aligned right. The last
/// column is not padded.
pub(crate) fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column > 0 {
                line.push_str("  ");
            }
            let pad = widths[column] - cell.chars().count();
            if right.contains(&column) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else if column + 1 < row.len() {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
