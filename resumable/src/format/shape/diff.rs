//! Comparing: what changed between two parsed shapes, in words a user understands.

use std::collections::{HashSet, VecDeque};

use super::text::{Model, PBody, PDef, names_in, unescape};

pub(super) fn diff(saved: &Model<'_>, current: &Model<'_>) -> Vec<String> {
    let mut changes = Vec::new();
    if saved.root != current.root {
        changes.push(format!(
            "its type changed from {} to {}",
            unescape(saved.root),
            unescape(current.root)
        ));
    }
    // The current containers from the root outwards, each compared with its namesake. One
    // only in the current shape is named by a type whose text changed, reported above it.
    let mut queue: VecDeque<&str> = names_in(current.root).into();
    let mut seen = HashSet::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        let Some(now) = current.defs.get(name) else {
            continue;
        };
        if let Some(was) = saved.defs.get(name) {
            compare_def(&unescape(name), was, now, &mut changes);
        }
        match now {
            PDef::Struct(body) => queue.extend(body.types().into_iter().flat_map(names_in)),
            PDef::Enum(variants) => {
                for (_, body) in variants {
                    queue.extend(body.types().into_iter().flat_map(names_in));
                }
            }
        }
    }
    changes
}

fn compare_def(name: &str, saved: &PDef<'_>, current: &PDef<'_>, changes: &mut Vec<String>) {
    match (saved, current) {
        (PDef::Struct(was), PDef::Struct(now)) => compare_body(name, was, now, changes),
        (PDef::Enum(was), PDef::Enum(now)) => compare_members(
            "variant",
            name,
            was,
            now,
            changes,
            |variant, was, now, changes| {
                compare_body(&format!("{name}::{variant}"), was, now, changes)
            },
        ),
        (PDef::Struct(_), PDef::Enum(_)) => {
            changes.push(format!("`{name}` changed from a struct to an enum"))
        }
        (PDef::Enum(_), PDef::Struct(_)) => {
            changes.push(format!("`{name}` changed from an enum to a struct"))
        }
    }
}

fn compare_body(label: &str, saved: &PBody<'_>, current: &PBody<'_>, changes: &mut Vec<String>) {
    match (saved, current) {
        (PBody::Unit, PBody::Unit) => {}
        (PBody::Struct(was), PBody::Struct(now)) => compare_members(
            "field",
            label,
            was,
            now,
            changes,
            |field, was, now, changes| {
                if was != now {
                    changes.push(format!(
                        "field `{field}` of `{label}` changed type from {} to {}",
                        unescape(was),
                        unescape(now)
                    ));
                }
            },
        ),
        (PBody::Tuple(was), PBody::Tuple(now)) if was.len() == now.len() && was.len() > 1 => {
            for (i, (was, now)) in was.iter().zip(now).enumerate() {
                if was != now {
                    changes.push(format!(
                        "element {i} of `{label}` changed type from {} to {}",
                        unescape(was),
                        unescape(now)
                    ));
                }
            }
        }
        _ if saved == current => {}
        _ => changes.push(format!(
            "`{label}` changed from {} to {}",
            saved.show(label),
            current.show(label)
        )),
    }
}

/// Compares the named members of a struct (fields) or an enum (variants): which were added,
/// removed, renamed (one removed and one added in its place, of the same type) or reordered,
/// then each kept one with `compare`.
fn compare_members<T: PartialEq>(
    kind: &str,
    owner: &str,
    saved: &[(&str, T)],
    current: &[(&str, T)],
    changes: &mut Vec<String>,
    compare: impl Fn(&str, &T, &T, &mut Vec<String>),
) {
    let names = |members: &[(&str, T)]| -> Vec<String> {
        members.iter().map(|(name, _)| unescape(name)).collect()
    };
    let (was, now) = (names(saved), names(current));
    let removed: Vec<usize> = (0..was.len()).filter(|&i| !now.contains(&was[i])).collect();
    let added: Vec<usize> = (0..now.len()).filter(|&i| !was.contains(&now[i])).collect();
    if let ([old], [new]) = (&removed[..], &added[..])
        && old == new
        && saved[*old].1 == current[*new].1
    {
        changes.push(format!(
            "{kind} `{}` of `{owner}` renamed to `{}`",
            was[*old], now[*new]
        ));
    } else {
        for &i in &removed {
            changes.push(format!("{kind} `{}` removed from `{owner}`", was[i]));
        }
        for &i in &added {
            changes.push(format!("{kind} `{}` added to `{owner}`", now[i]));
        }
    }
    let kept_was: Vec<&String> = was.iter().filter(|name| now.contains(name)).collect();
    let kept_now: Vec<&String> = now.iter().filter(|name| was.contains(name)).collect();
    if kept_was != kept_now {
        changes.push(format!(
            "{kind}s of `{owner}` reordered: was ({}), now ({})",
            was.join(", "),
            now.join(", ")
        ));
    }
    for (name, ty) in saved {
        if let Some((_, now_ty)) = current.iter().find(|(other, _)| other == name) {
            compare(&unescape(name), ty, now_ty, changes);
        }
    }
}

/// At most this many changes are listed; the rest are counted.
const MAX_LISTED: usize = 8;

pub(super) fn join(mut changes: Vec<String>) -> String {
    if changes.is_empty() {
        return "the structure of its type changed".into();
    }
    if changes.len() > MAX_LISTED {
        let more = changes.len() - MAX_LISTED;
        changes.truncate(MAX_LISTED);
        changes.push(format!("and {more} more changes"));
    }
    changes.join("; ")
}

#[cfg(test)]
#[allow(dead_code)] // the test types are only ever traced, never read
mod tests {
    use crate::format::shape::describe_change;
    use crate::format::shape::tests::{added, change, versions};

    versions!(reordered {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub count: u64, pub total: u64 }
    });

    #[test]
    fn reordered_fields_of_one_type_are_a_change() {
        assert_eq!(
            change::<reordered::before::Stats, reordered::after::Stats>().as_deref(),
            Some("fields of `Stats` reordered: was (total, count), now (count, total)")
        );
    }
    #[test]
    fn added_and_removed_fields_are_named() {
        assert_eq!(
            change::<added::before::Stats, added::after::Stats>().as_deref(),
            Some("field `min` added to `Stats`")
        );
        assert_eq!(
            change::<added::after::Stats, added::before::Stats>().as_deref(),
            Some("field `min` removed from `Stats`")
        );
    }

    versions!(retyped {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u32 }
    });

    #[test]
    fn retyped_field_says_from_what_to_what() {
        assert_eq!(
            change::<retyped::before::Stats, retyped::after::Stats>().as_deref(),
            Some("field `count` of `Stats` changed type from u64 to u32")
        );
    }

    versions!(renamed {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub n: u64 }
    });

    #[test]
    fn renamed_field_is_a_rename() {
        assert_eq!(
            change::<renamed::before::Stats, renamed::after::Stats>().as_deref(),
            Some("field `count` of `Stats` renamed to `n`")
        );
    }

    versions!(variants_changed {
        #[derive(Deserialize)] pub enum Phase { Idle, Busy(u32), Done { at: u64 } }
    } => {
        #[derive(Deserialize)] pub enum Phase { Busy(u64), Idle, Done { at: u64, by: String } }
    });

    #[test]
    fn reordered_and_changed_variants_are_named() {
        assert_eq!(
            change::<variants_changed::before::Phase, variants_changed::after::Phase>().as_deref(),
            Some(
                "variants of `Phase` reordered: was (Idle, Busy, Done), now (Busy, Idle, Done); \
                 `Phase::Busy` changed from Phase::Busy(u32) to Phase::Busy(u64); \
                 field `by` added to `Phase::Done`"
            )
        );
    }

    versions!(nested {
        #[derive(Deserialize)] pub struct Bucket { pub lo: f64 }
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub buckets: Vec<Bucket> }
    } => {
        #[derive(Deserialize)] pub struct Bucket { pub lo: f64, pub hi: f64 }
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub buckets: Vec<Bucket> }
    });

    #[test]
    fn a_change_inside_a_vec_is_found() {
        assert_eq!(
            change::<nested::before::Stats, nested::after::Stats>().as_deref(),
            Some("field `hi` added to `Bucket`")
        );
        // The same change, one level further down and at the root.
        assert_eq!(
            change::<Vec<Option<nested::before::Stats>>, Vec<Option<nested::after::Stats>>>()
                .as_deref(),
            Some("field `hi` added to `Bucket`")
        );
        assert_eq!(
            change::<nested::before::Stats, Vec<nested::before::Stats>>().as_deref(),
            Some("its type changed from Stats to [Stats]")
        );
    }

    #[test]
    fn names_are_escaped_and_unescaped_in_messages() {
        let saved = "root: A\nenum A { x%2Dy(u8) }";
        let current = "root: A\nenum A { x%2Dy(u16) }";
        assert_eq!(
            describe_change(saved, current).as_deref(),
            Some("`A::x-y` changed from A::x-y(u8) to A::x-y(u16)")
        );
    }

    #[test]
    fn many_changes_are_summed_up() {
        let saved = "root: A\nstruct A { a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8, j: u8 }";
        let current = saved.replace("u8", "u16");
        let message = describe_change(saved, &current).unwrap();
        assert!(message.starts_with("field `a` of `A` changed type from u8 to u16; "));
        assert!(message.ends_with("; and 2 more changes"), "{message}");
    }
}
