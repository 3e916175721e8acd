//! What a checkpoint says it holds, in text: its label (the checkpoint's name, and its key
//! if it has one: `name [key (10, "a.txt")]`) and the shape of a `#[resumable]` state (the
//! function's path, then each binding's name and type structure). Built here for a run,
//! split here for the command, and compared here when a checkpoint is refused.

use std::fmt::Write as _;

use crate::format::hash;
use crate::format::shape;

/// Starts a `#[resumable]` shape's first line: the path of the function that saves it.
pub(crate) const FUNCTION: &str = "fn ";

/// Starts each binding's part of a `#[resumable]` shape: `== name`, then its type's shape.
pub(crate) const BINDING: &str = "== ";

/// Starts the key in a keyed checkpoint's label.
pub(crate) const KEY_OPEN: &str = "[key ";

/// The name of a loop nest's first state value, its position `(outer, inner)`: in its
/// checkpoint's shape, and how `resumable show` finds it.
pub const POSITION: &str = "(outer, inner)";

/// The name of a single loop's first state value when its iterator saves its position (it
/// implements [`Position`](crate::Position)): in its checkpoint's shape.
pub(crate) const ITERATOR: &str = "(iterator position)";

/// The function, then each state binding's name and the structure of its type (see `shape`):
///
/// ```text
/// fn squares::squares
/// == results
/// root: [u64]
/// == total
/// root: u64
/// ```
pub(crate) fn describe_state(function: &str, names: &[&str], shapes: &[String]) -> String {
    let mut text = format!("{FUNCTION}{function}\n");
    for (name, shape) in names.iter().zip(shapes) {
        let _ = writeln!(text, "{BINDING}{name}\n{shape}");
    }
    // The metadata record holds at most 64 KiB; a hash still tells any change apart.
    if text.len() > 48 * 1024 {
        let hash = hash::fingerprint("", &text);
        text = format!(
            "{FUNCTION}{function}\n{BINDING}*\nlarge {hash:016x} (state too large to describe)\n"
        );
    }
    text
}

/// `name [key (10, "a.txt")]`: the label of a checkpoint of key `key` (its `Debug` text).
pub(crate) fn keyed(name: &str, key: &str) -> String {
    format!("{name} {KEY_OPEN}{key}]")
}

/// A `#[resumable]` shape's function (if its first line names one) and the rest.
pub(crate) fn split_function(shape: &str) -> (Option<&str>, &str) {
    match shape
        .strip_prefix(FUNCTION)
        .and_then(|rest| rest.split_once('\n'))
    {
        Some((function, rest)) => (Some(function), rest),
        None => (None, shape),
    }
}

/// The `(name, shape)` of each binding in a `#[resumable]` shape; `None` for other labels'.
fn bindings(shape: &str) -> Option<Vec<(&str, &str)>> {
    let body = shape.strip_prefix(BINDING)?;
    Some(
        body.split(&format!("\n{BINDING}"))
            .map(|part| {
                let (name, shape) = part.split_once('\n').unwrap_or((part, ""));
                (name, shape.trim_end())
            })
            .collect(),
    )
}

/// `(name, key)` of a label: `name [key (10, "a")]` is `("name", Some("(10, \"a\")"))`.
pub(crate) fn split_label(label: &str) -> (&str, Option<&str>) {
    let open = format!(" {KEY_OPEN}");
    match label.split_once(&open) {
        Some((name, key)) => (name, Some(key.strip_suffix(']').unwrap_or(key))),
        None => (label, None),
    }
}

/// What differs between a saved checkpoint's state and the program's, in words.
pub(crate) fn describe_mismatch(
    saved_label: &str,
    saved: &str,
    label: &str,
    current: &str,
) -> String {
    if saved_label != label {
        let key = KEY_OPEN;
        return match (saved_label.split_once(key), label.split_once(key)) {
            (Some((saved_name, saved_key)), Some((name, key))) if saved_name == name => format!(
                "it was saved for key {}, and this run's key is {}",
                saved_key.trim_end_matches(']'),
                key.trim_end_matches(']')
            ),
            _ => format!("it was saved by `{saved_label}`, and this is `{label}`"),
        };
    }
    let (saved_function, saved) = split_function(saved);
    let (function, current) = split_function(current);
    let state_change = describe_state_change(saved, current);
    match (saved_function, function) {
        (Some(saved_function), Some(function)) if saved_function != function => {
            let also = if state_change.is_empty() {
                String::new()
            } else {
                format!("; its state differs too: {state_change}")
            };
            format!(
                "it was saved by the function `{saved_function}`, and this is `{function}` (two \
                 functions with the same checkpoint `name`: give each its own; or this function \
                 was moved or renamed){also}"
            )
        }
        _ => state_change,
    }
}

/// What differs between two `#[resumable]` shapes without their function lines, in words.
fn describe_state_change(saved: &str, current: &str) -> String {
    if saved == current {
        return String::new();
    }
    let (Some(saved), Some(current)) = (bindings(saved), bindings(current)) else {
        // One value's shape (`resumable::save`): what changed in it, in words.
        if let Some(change) = shape::describe_change(saved, current)
            && !change.is_empty()
        {
            return change;
        }
        return format!("it holds `{saved}`, but this program expects `{current}`");
    };
    let names = |bindings: &[(&str, &str)]| -> Vec<String> {
        bindings.iter().map(|(name, _)| name.to_string()).collect()
    };
    if names(&saved) != names(&current) {
        return format!(
            "its state bindings were ({}), and are now ({})",
            names(&saved).join(", "),
            names(&current).join(", ")
        );
    }
    let changes: Vec<String> = saved
        .iter()
        .zip(&current)
        .filter(|((_, old), (_, new))| old != new)
        .map(|((name, old), (_, new))| {
            let change = shape::describe_change(old, new);
            format!(
                "`{name}`: {}",
                change.as_deref().unwrap_or("its type changed")
            )
        })
        .collect();
    changes.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_label_splits_back_into_its_name_and_key() {
        assert_eq!(split_label(&keyed("f", "3")), ("f", Some("3")));
        assert_eq!(split_label("f [key 3]"), ("f", Some("3")));
        assert_eq!(split_label("f"), ("f", None));
    }
}
