//! The macro crate's files, checked on its source: the `crate::` paths outside comments and
//! unit tests form no circle, so each file can be read knowing only the files it names; and
//! they run one way down the pipeline (ARCHITECTURE.md, "The macro"): each file belongs to a
//! stage and names only files of its own stage or an earlier one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Each module of `src/` and the modules of this crate its code (before `#[cfg(test)]`) names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(&src).expect("the macro crate's src/") {
        let path = entry.expect("a file of src/").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name != "lib" {
            modules.insert(name, fs::read_to_string(&path).expect("a source file"));
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .into_iter()
        .map(|(name, text)| {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let used = code
                .lines()
                .map(|line| line.split("//").next().unwrap_or_default())
                .flat_map(|line| line.split("crate::").skip(1))
                .map(|after| {
                    after
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .filter(|used| names.contains(used) && *used != name)
                .collect();
            (name, used)
        })
        .collect()
}

/// A circle through `from`, if any, as the files on it.
fn circle_through(from: &str, imports: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        from: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in &imports[at] {
            if next == from {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(next, from, imports, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.to_owned()];
    walk(from, from, imports, &mut path, &mut BTreeSet::new()).then_some(path)
}

/// The stages of an expansion, in order, and their files: the helpers every stage may use,
/// the options parsed, the model, the analyses of it, the body rewrites, the code generated.
const STAGES: &[(&str, &[&str])] = &[
    (
        "helpers",
        &[
            "bindings",
            "crate_path",
            "erase_impl_trait",
            "errors",
            "names",
            "params",
        ],
    ),
    ("parse", &["args"]),
    ("model", &["code", "loop_forms", "model"]),
    (
        "analyses",
        &[
            "checks",
            "declarations",
            "exit_moves",
            "facts",
            "iterable",
            "moved",
            "output_files",
            "progress",
            "refusals",
            "state",
        ],
    ),
    ("rewrite", &["control_flow", "first_use", "rewrite"]),
    (
        "codegen",
        &[
            "expand",
            "expand_nest",
            "generated",
            "generated_loop",
            "generated_start",
            "generated_state",
            "parts",
        ],
    ),
    ("tests", &["expansion_snapshots"]),
];

/// Where `module` stands in `STAGES`.
fn stage_of(module: &str) -> Option<usize> {
    STAGES
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

#[test]
fn each_file_names_only_files_of_its_own_stage_or_an_earlier_one() {
    let imports = imports();
    let unplaced: Vec<&String> = imports
        .keys()
        .filter(|module| stage_of(module).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "files with no stage in STAGES (add each where it belongs): {unplaced:?}"
    );
    let upward: Vec<String> = imports
        .iter()
        .flat_map(|(module, used)| used.iter().map(move |used| (module, used)))
        .filter(|(module, used)| stage_of(used) > stage_of(module))
        .map(|(module, used)| {
            let stage = |name: &str| STAGES[stage_of(name).unwrap()].0;
            format!("{module} ({}) → {used} ({})", stage(module), stage(used))
        })
        .collect();
    assert!(upward.is_empty(), "imports up the pipeline: {upward:#?}");
    assert!(imports["facts"].contains("model") && imports["parts"].contains("facts"));
}

#[test]
fn the_macro_crates_files_import_each_other_without_a_circle() {
    let imports = imports();
    assert!(imports.contains_key("model") && imports["model"].contains("names"));
    let circles: Vec<String> = imports
        .keys()
        .filter_map(|module| circle_through(module, &imports))
        .map(|circle| circle.join(" → "))
        .collect();
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}
