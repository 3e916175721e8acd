//! A call that finds no checkpoint of its own while its function has checkpoints for other
//! keys says so as it starts, with the inputs that differ: a key that changes on every run (a
//! timestamp or a random id inside `self`) is then seen on the first rerun, not after a week
//! of starting over.

use std::path::Path;

use crate::format::label;
use crate::format::log;
use crate::report;
use crate::store::fs::Fs;

/// At most this many other checkpoints are read and named.
const MAX_NAMED: usize = 3;

/// Says which checkpoints of the function are for other keys than `key_text`, if any. `ours` is
/// this call's checkpoint file, `{name}-{16 hex digits}.ckpt`.
pub(crate) fn report(fs: &dyn Fs, function: &str, ours: &Path, key_text: &str) {
    let others = others(fs, ours);
    if others.is_empty() {
        return;
    }
    let named: Vec<String> = others
        .iter()
        .take(MAX_NAMED)
        .map(|other| match other {
            Some(key) => match differing(key_text, key) {
                Some(inputs) => format!("`{key}` (differs in {inputs})"),
                None => format!("`{key}`"),
            },
            None => "one whose file cannot be read".to_owned(),
        })
        .collect();
    let more = others.len().saturating_sub(MAX_NAMED);
    // A note, not a warning: calls for several inputs in turn (`for part in parts`) meet the
    // checkpoint of the one that was interrupted, which is right.
    report::note("other_keys")
        .name(function)
        .path(ours)
        .say(format_args!(
            "resumable: {function} has no checkpoint for this call's inputs ({key_text}), so it \
             starts from the beginning; it has {} for other inputs: {}{}. If an input changes on \
             every run (a timestamp, a random id), say what selects the work with \
             `#[resumable(key = …)]`",
            match others.len() {
                1 => "one checkpoint".to_owned(),
                n => format!("{n} checkpoints"),
            },
            named.join("; "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
        ));
}

/// The key text of each other checkpoint of the same name beside `ours` (`None` where its
/// header cannot be read).
fn others(fs: &dyn Fs, ours: &Path) -> Vec<Option<String>> {
    let (Some(dir), Some(file)) = (ours.parent(), ours.file_name().and_then(|f| f.to_str())) else {
        return Vec::new();
    };
    // `{name}-{hash:016x}.ckpt`: the name and the `-` before the hash.
    let Some(prefix) = file
        .strip_suffix(".ckpt")
        .and_then(|stem| stem.get(..stem.len().saturating_sub(16)))
    else {
        return Vec::new();
    };
    let Ok(entries) = fs.list(dir) else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .into_iter()
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_prefix(prefix))
                .and_then(|rest| rest.strip_suffix(".ckpt"))
                .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .filter(|path| path.as_path() != ours)
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let source = fs.open(&path).ok()??;
            let label = log::label_of(&*source)?;
            label::split_label(&label).1.map(str::to_owned)
        })
        .collect()
}

/// The inputs whose text differs between two keys `a = 1, b = "x"`, read with the first key's
/// input names; `None` when the texts cannot tell (cut short, or an input without `Debug`).
fn differing(ours: &str, theirs: &str) -> Option<String> {
    let names = input_names(ours);
    let (a, b) = (values(ours, &names)?, values(theirs, &names)?);
    let differ: Vec<String> = names
        .iter()
        .zip(a.iter().zip(&b))
        .filter(|(_, (a, b))| a != b)
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    (!differ.is_empty()).then(|| differ.join(", "))
}

/// The names of a key text's inputs: each `name = ` at the start or after `, `.
fn input_names(key: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = key;
    while let Some((name, after)) = rest.split_once(" = ") {
        let name = name.rsplit(", ").next().unwrap_or(name);
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_alphanumeric()) {
            return names;
        }
        names.push(name);
        rest = after;
    }
    names
}

/// Each input's value text in `key`, split at `, {next name} = `.
fn values<'a>(key: &'a str, names: &[&str]) -> Option<Vec<&'a str>> {
    let mut values = Vec::new();
    let mut rest = key.strip_prefix(names.first()?)?.strip_prefix(" = ")?;
    for next in &names[1..] {
        let (value, after) = rest.split_once(&format!(", {next} = "))?;
        values.push(value);
        rest = after;
    }
    values.push(rest);
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_differing_inputs_are_named() {
        assert_eq!(
            differing(
                "self = Sim { seed: 1 }, n = 5",
                "self = Sim { seed: 2 }, n = 5"
            )
            .as_deref(),
            Some("`self`")
        );
        assert_eq!(
            differing("n = 5, T = u64", "n = 6, T = f64").as_deref(),
            Some("`n`, `T`")
        );
        assert_eq!(differing("n = 5", "n = 5"), None);
        assert_eq!(differing("n = 5", "m = 5"), None);
    }
}
