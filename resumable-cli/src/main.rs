//! `resumable`: lists, shows, checks, resets and prunes the checkpoints of a directory, or
//! of an object store (`s3://bucket/prefix`, with the default `object-store` feature).
//!
//! The reading is done by the library ([`resumable::inspect`]); this program parses its
//! arguments and prints plain text, or JSON (`json.rs`). Store commands are in `store.rs`,
//! `check` in `check.rs`, `prune` in `prune.rs`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use resumable::inspect::{self, CheckpointInfo, FileInfo, FileProblem, Format, Generation};

mod check;
mod json;
mod names;
mod prune;
mod store;

/// Lists, shows, checks, resets and prunes the checkpoints of `#[resumable]` functions, in a
/// directory or on an object store (a URL such as `s3://bucket/prefix`, as `RESUMABLE_STORE`
/// names one).
///
/// Exit codes: 0 done (and, for `check`, nothing damaged); 1 an error; 2 a usage error;
/// 3 `check` found a damaged checkpoint.
#[derive(Parser)]
#[command(name = "resumable", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the checkpoints are: the `--dir` every subcommand takes.
#[derive(Args)]
struct At {
    /// The checkpoint directory, or a store URL [default: $RESUMABLE_DIR, else .resumable]
    #[arg(long, value_name = "DIR_OR_URL")]
    dir: Option<OsString>,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the checkpoints in a directory or on a store: index, age, size and health.
    List {
        #[command(flatten)]
        at: At,
        /// Shorthand for `--dir DIR_OR_URL`, kept for scripts written before `--dir`.
        #[arg(value_name = "DIR_OR_URL", hide = true, conflicts_with = "dir")]
        positional_dir: Option<OsString>,
        /// Prints one JSON document instead of the table (its shape: the README).
        #[arg(long)]
        json: bool,
    },
    /// Shows one checkpoint: its files, state shape and every intact record; with a store,
    /// how far the store is behind the local checkpoint.
    Show {
        /// The checkpoint's name as `list` shows it, or the name the function was given (or
        /// the function's name), with `--key` or `--all` when it has one checkpoint per key.
        name: String,
        #[command(flatten)]
        which: names::Which,
        #[command(flatten)]
        at: At,
        /// The store the local checkpoint is uploaded to, to show how far behind it is
        /// [default: $RESUMABLE_STORE]
        #[arg(long)]
        store: Option<String>,
        /// Prints one JSON document instead of the text (its shape: the README).
        #[arg(long)]
        json: bool,
    },
    /// Checks that a run could resume every checkpoint (or the one named) as its files hold
    /// it: exit code 0 if so, 3 if any is damaged (a run would refuse it, or warn and resume
    /// from an older record), naming which and why. A torn tail is not damage.
    Check {
        /// The checkpoint's name, or the function's, as for `show` [default: every checkpoint]
        name: Option<String>,
        #[command(flatten)]
        which: names::Which,
        #[command(flatten)]
        at: At,
    },
    /// Resets a checkpoint so the next run starts over. In a directory its files are moved
    /// aside (to `<file>.reset-<unix ms>`); on a store an empty checkpoint becomes the newest.
    /// Nothing is deleted; refused while a run holds the checkpoint.
    Reset {
        /// The checkpoint's name, or the function's, as for `show`.
        name: String,
        #[command(flatten)]
        which: names::Which,
        #[command(flatten)]
        at: At,
    },
    /// Removes the files set aside in a directory (`*.reset-<ms>`, `*.damaged-<ms>`,
    /// `*.ahead-of-output-<ms>`, as `list` shows them) that were set aside longer ago than
    /// AGE, listing each. Never a checkpoint's own files. Directories only.
    Prune {
        /// How long ago: a number and a unit, `s`, `m`, `h` or `d` (`45s`, `90m`, `12h`, `30d`).
        #[arg(long, value_name = "AGE", value_parser = prune::parse_age)]
        older_than: prune::Age,
        /// Lists what would be removed, and removes nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        at: At,
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

/// What a command prints, and whether it found damage (`check`: exit code 3).
pub(crate) struct Done {
    /// Its standard output.
    pub text: String,
    /// Set when `check` found a damaged checkpoint: a line for standard error.
    pub damaged: Option<String>,
}

impl Done {
    pub(crate) fn text(text: String) -> Done {
        Done {
            text,
            damaged: None,
        }
    }
}

/// Why a command failed: an error (exit code 1), or arguments it cannot act on (2, as clap's
/// own usage errors).
pub(crate) enum Failure {
    Error(String),
    Usage(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Error(message)
    }
}

/// The exit code of a damaged checkpoint found by `check`.
const DAMAGED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(done) => {
            print!("{}", done.text);
            match done.damaged {
                None => ExitCode::SUCCESS,
                Some(message) => {
                    eprintln!("resumable: {message}");
                    ExitCode::from(DAMAGED)
                }
            }
        }
        Err(Failure::Error(message)) => {
            eprintln!("resumable: error: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(message)) => {
            eprintln!("resumable: usage error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<Done, Failure> {
    let text = match command {
        Command::List {
            at,
            positional_dir,
            json,
        } => match (Place::of(at.dir.or(positional_dir)), json) {
            (Place::Dir(dir), false) => list(&dir)?,
            (Place::Dir(dir), true) => json::list(&dir)?,
            (Place::Store(url), false) => store::list(&url)?,
            (Place::Store(url), true) => store::list_json(&url)?,
        },
        Command::Show {
            name,
            which,
            at,
            store,
            json,
        } => {
            let store = store.or_else(|| std::env::var("RESUMABLE_STORE").ok());
            let store = store
                .as_deref()
                .map(str::trim)
                .filter(|url| !url.is_empty());
            match (Place::of(at.dir), json) {
                (Place::Dir(dir), false) => {
                    let mut shown = Vec::new();
                    for name in names::resolve(&dir, &name, &which)? {
                        let mut out = show(&dir, &name)?;
                        if let Some(url) = store {
                            out.push_str(&store::lag(url, &dir, &name)?);
                        }
                        shown.push(out);
                    }
                    shown.join("\n")
                }
                (Place::Dir(dir), true) => match &names::resolve(&dir, &name, &which)?[..] {
                    [name] => json::show(&dir, name, store)?,
                    _ => {
                        return Err(Failure::Usage(format!(
                            "show --json shows one checkpoint, and {name} names several: give \
                             one with --key"
                        )));
                    }
                },
                (Place::Store(url), false) => store::show(&url, &name)?,
                (Place::Store(url), true) => store::show_json(&url, &name)?,
            }
        }
        Command::Check { name, which, at } => {
            return match Place::of(at.dir) {
                Place::Dir(dir) => {
                    let names = match name {
                        Some(name) => Some(names::resolve(&dir, &name, &which)?),
                        None => None,
                    };
                    check::check(&dir, names.as_deref())
                }
                Place::Store(url) => store::check(&url, name.as_deref()),
            };
        }
        Command::Reset { name, which, at } => match Place::of(at.dir) {
            Place::Dir(dir) => {
                let reset: Result<Vec<String>, String> = names::resolve(&dir, &name, &which)?
                    .iter()
                    .map(|name| reset(&dir, name))
                    .collect();
                reset?.concat()
            }
            Place::Store(url) => store::reset(&url, &name)?,
        },
        Command::Prune {
            older_than,
            dry_run,
            at,
        } => match Place::of(at.dir) {
            Place::Dir(dir) => prune::prune(&dir, &older_than, dry_run)?,
            Place::Store(url) => {
                return Err(Failure::Usage(format!(
                    "prune is for directories only, and {url} is a store: there runs remove \
                     the older generations themselves, and damaged commits are kept for you \
                     to look at; nothing was removed"
                )));
            }
        },
    };
    Ok(Done::text(text))
}

fn list(dir: &Path) -> Result<String, String> {
    let listing = inspect::inspect_dir(dir).map_err(|err| unreadable_dir(dir, &err))?;
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
                info.health().to_string(),
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
    fields.push(row(&["health", &info.health().to_string()]));
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
pub(crate) fn find(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let path = inspect::checkpoint_path(dir, name);
    if inspect::exists(&path) {
        return Ok(path);
    }
    let names = inspect::names(dir).map_err(|err| unreadable_dir(dir, &err))?;
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

pub(crate) fn unreadable_dir(dir: &Path, err: &std::io::Error) -> String {
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
