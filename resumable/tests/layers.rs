//! The runtime crate's layers (see ARCHITECTURE.md), checked on its source: every `crate::`
//! and `super::` path outside comments and unit tests runs down the layers — `format` uses
//! nothing above it, `store` only `format`, `run` and `inspect` only what is below them —
//! and the files of one layer use each other without a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers from the bottom up; a file may use its own layer and those before it.
/// `error` sits under everything, then `config` (the process's settings), then `report` (the
/// messages, which read it) beside `format`; `inspect` (the command's reader) is beside `run`,
/// and `testing` (compiled for unit tests only) above what it simulates. `position` (the
/// `Position` trait, on `error` alone) sits low so every layer that resumes an iterator can use
/// it; `io` (the files a loop reads) is public API beside `api`; `candle` (the `candle`
/// feature's tensors) and `burn` (the `burn` feature's models) sit under `__private`, whose
/// codecs and probes save and watch through them, and `polars` (the `polars` feature's frames)
/// beside them.
const LAYERS: [(&str, u8); 17] = [
    ("error", 0),
    ("config", 1),
    ("report", 2),
    ("testing", 4),
    ("format", 2),
    ("store", 3),
    ("position", 3),
    ("run", 4),
    ("inspect", 4),
    ("__private", 6),
    ("api", 6),
    ("proof", 6),
    ("io", 6),
    ("candle", 5),
    ("burn", 5),
    ("polars", 5),
    ("lib", 7),
];

fn rank(layer: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|&(_, rank)| rank)
        .unwrap_or_else(|| panic!("module `{layer}` is in no layer: add it to LAYERS"))
}

/// A module of the crate: its path below `crate` (`["store", "journal"]`; `[]` for lib.rs).
type Module = Vec<String>;

fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if module
                .last()
                .is_some_and(|last| last == "mod" || last == "lib")
            {
                module.pop();
            }
            if module.first().is_some_and(|first| first == "private") {
                module[0] = "__private".into();
            }
            found.insert(module, path);
        }
    }
    found
}

/// The layer of a module: its first component, `lib` for the crate root.
fn layer(module: &[String]) -> &str {
    module.first().map_or("lib", String::as_str)
}

/// The source without its unit tests (`#[cfg(test)] mod tests` to the end, where every file
/// keeps them) and without line comments.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts with `crate::` or `super::`, as written (`use a::{b, c}` gives
/// `a::b` and `a::c`).
fn paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
                .unwrap_or(rest.len());
            let written = &rest[..end];
            let (stem, group) = match written.split_once('{') {
                Some((stem, _)) => {
                    let close = rest.find('}').unwrap_or(rest.len());
                    let inner = &rest[stem.len() + 1..close];
                    let names = inner
                        .split(',')
                        .map(|name| name.trim().split("::").next().unwrap_or("").to_owned())
                        .filter(|name| !name.is_empty())
                        .collect();
                    (stem, names)
                }
                None => (written, vec![String::new()]),
            };
            for name in group {
                let mut parts: Vec<String> = stem
                    .split("::")
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect();
                if !name.is_empty() && name != "self" {
                    parts.push(name);
                }
                found.push((start.trim_end_matches("::").to_owned(), parts));
            }
        }
    }
    found
}

/// The module a path leads to: the longest prefix of it that is a module of the crate.
fn target(
    modules: &BTreeMap<Module, PathBuf>,
    from: &[String],
    kind: &str,
    parts: &[String],
) -> Module {
    let mut full: Module = match kind {
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => Vec::new(),
    };
    full.extend(parts.iter().cloned());
    // `crate::Error` is the error module's type, re-exported at the root.
    if full.first().is_some_and(|first| first == "Error") {
        return vec!["error".into()];
    }
    (0..=full.len())
        .rev()
        .map(|len| full[..len].to_vec())
        .find(|prefix| modules.contains_key(prefix))
        .unwrap_or_default()
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib".into()
    } else {
        module.join("::")
    }
}

#[test]
fn every_import_runs_down_the_layers_and_no_layer_has_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    assert!(modules.len() > 20, "found only {} modules", modules.len());
    let mut upward = Vec::new();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, path) in &modules {
        for (kind, parts) in paths(&code(path)) {
            let to = target(&modules, module, &kind, &parts);
            if &to == module || (to.len() > module.len() && to.starts_with(module)) {
                // Itself, or a module's own child (declared and re-exported by it).
                continue;
            }
            let (from_rank, to_rank) = (rank(layer(module)), rank(layer(&to)));
            // Layers of one rank stand side by side: neither uses the other.
            if to_rank > from_rank || (to_rank == from_rank && layer(&to) != layer(module)) {
                upward.push(format!("{} uses {}", name(module), name(&to)));
            }
            if layer(&to) == layer(module) && !module.is_empty() {
                edges.entry(module.clone()).or_default().insert(to);
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports up the layers:\n{}",
        upward.join("\n")
    );

    // A circle among the files of one layer: depth-first search for a back edge.
    fn visit(
        at: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<String> {
        if let Some(start) = path.iter().position(|m| m == at) {
            let circle: Vec<String> = path[start..].iter().chain([at]).map(|m| name(m)).collect();
            return Some(circle.join(" -> "));
        }
        if !done.insert(at.clone()) {
            return None;
        }
        path.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            // A child using what its parent module declares is how Rust modules nest.
            if at.starts_with(next) {
                continue;
            }
            if let Some(circle) = visit(next, edges, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(circle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            panic!("an import circle: {circle}");
        }
    }
}

/// `format` is bytes in, bytes out (its module docs): no file is opened, written or looked at
/// there (`std::fs`, `File::`) and the clock is not read (`SystemTime`). What it needs of a
/// file is read in `store` and handed down.
#[test]
fn format_does_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let io: Vec<String> = modules(&src)
        .into_iter()
        .filter(|(module, _)| layer(module) == "format")
        .filter(|(_, path)| {
            let code = code(path);
            ["std::fs", "File::", "SystemTime"]
                .iter()
                .any(|io| code.contains(io))
        })
        .map(|(module, _)| module.join("::"))
        .collect();
    assert!(io.is_empty(), "I/O in format: {io:?}");
}
