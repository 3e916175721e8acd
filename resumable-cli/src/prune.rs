//! `prune`: removes the files set aside in a checkpoint directory (by `reset`, by
//! `RESUMABLE_RESET`, or by a run that found damage or records ahead of their output) longer
//! ago than an age.
//!
//! Only what `inspect` lists as set aside is a candidate, and only when its name carries the
//! time it was set aside (`.reset-<ms>`, `.damaged-<ms>`, `.ahead-of-output-<ms>`): a
//! checkpoint's own files (`.ckpt`, `.prev`, `.next`, `.lock`) never end in such a number,
//! and are refused again below should a name ever look like both.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use resumable::inspect::{self, SetAside};

use crate::unreadable_dir;

/// An age given as `--older-than`: as typed, and in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Age {
    text: String,
    ms: u64,
}

/// Parses `45s`, `90m`, `12h` or `30d` (a whole number and one unit).
pub(crate) fn parse_age(text: &str) -> Result<Age, String> {
    let usage = || {
        format!(
            "{text:?} is not an age: give a whole number and a unit, s, m, h or d (45s, 90m, \
             12h, 30d)"
        )
    };
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(usage)?;
    let (number, unit) = text.split_at(unit_at);
    let unit_ms: u64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(usage()),
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(unit_ms))
        .ok_or_else(usage)?;
    Ok(Age {
        text: text.to_owned(),
        ms,
    })
}

/// Suffixes of a checkpoint's own files, which prune never removes.
const LIVE: [&str; 4] = [".ckpt", ".prev", ".next", ".lock"];

/// Removes (or with `dry_run` only lists) the files set aside in `dir` longer than `age` ago.
pub(crate) fn prune(dir: &Path, age: &Age, dry_run: bool) -> Result<String, String> {
    let listing = inspect::inspect_dir(dir).map_err(|err| unreadable_dir(dir, &err))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        });
    let mut out = String::new();
    let (mut removed, mut bytes, mut kept) = (Vec::new(), 0u64, 0usize);
    for aside in &listing.set_aside {
        let at_ms = match aside.at_ms {
            _ if looks_live(aside) => None,
            at_ms => at_ms,
        };
        let Some(at_ms) = at_ms else {
            let _ = writeln!(
                out,
                "kept {} (its name does not end in the time it was set aside)",
                aside.path.display()
            );
            kept += 1;
            continue;
        };
        if now.saturating_sub(at_ms) < age.ms {
            kept += 1;
            continue;
        }
        let what = format!(
            "{} ({}, set aside {} ago, {})",
            aside.path.display(),
            aside.why,
            inspect::age(at_ms),
            inspect::size_text(aside.size)
        );
        if dry_run {
            let _ = writeln!(out, "would remove {what}");
        } else {
            match std::fs::remove_file(&aside.path) {
                Ok(()) => {}
                // Removed meanwhile (another prune): nothing left to do.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => {
                    let before: Vec<String> = removed
                        .iter()
                        .map(|path: &&Path| path.display().to_string())
                        .collect();
                    return Err(format!(
                        "cannot remove {}: {err}; removed before it: {}",
                        aside.path.display(),
                        if before.is_empty() {
                            "nothing".into()
                        } else {
                            before.join(", ")
                        }
                    ));
                }
            }
            let _ = writeln!(out, "removed {what}");
        }
        removed.push(aside.path.as_path());
        bytes += aside.size;
    }
    let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "{}: {} ({}) set aside in {} more than {} ago{}; kept: {}",
        if dry_run { "would remove" } else { "removed" },
        files(removed.len()),
        inspect::size_text(bytes),
        dir.display(),
        age.text,
        if dry_run {
            " (a dry run: nothing was removed)"
        } else {
            ""
        },
        files(kept)
    );
    Ok(out)
}

/// Whether a set-aside file's name also ends like a checkpoint's own file.
fn looks_live(aside: &SetAside) -> bool {
    let name = aside.path.file_name().unwrap_or_default().to_string_lossy();
    LIVE.iter().any(|suffix| name.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_a_number_and_a_unit() {
        let ms = |text: &str| parse_age(text).map(|age| age.ms);
        assert_eq!(ms("45s"), Ok(45_000));
        assert_eq!(ms("90m"), Ok(5_400_000));
        assert_eq!(ms("12h"), Ok(43_200_000));
        assert_eq!(ms("30d"), Ok(2_592_000_000));
        assert_eq!(ms("0s"), Ok(0));
        for bad in [
            "",
            "30",
            "d",
            "30x",
            "3.5h",
            "-1d",
            "30 d",
            "30dd",
            "99999999999999999d",
        ] {
            let err = parse_age(bad).unwrap_err();
            assert!(err.contains("is not an age"), "{bad}: {err}");
        }
    }
}
