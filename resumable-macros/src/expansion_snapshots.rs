//! Expansion snapshots: each `tests/expand/<form>.rs` holds a function (or an impl with a
//! method) under `#[resumable(...)]`, and `tests/expand/<form>.expanded.rs` what the attribute
//! turns it into, formatted by rustfmt, so a change to the generated code shows in review as a
//! diff of readable Rust. `UPDATE_EXPANSIONS=1 cargo test -p resumable-macros` rewrites the
//! snapshots; read the diff before committing it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use quote::ToTokens;
use syn::{ImplItem, Item};

#[test]
fn expansions_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let update = std::env::var_os("UPDATE_EXPANSIONS").is_some();
    let mut forms: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/expand")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.to_string_lossy();
            name.ends_with(".rs") && !name.ends_with(".expanded.rs")
        })
        .collect();
    forms.sort();
    assert!(!forms.is_empty(), "no forms in {}", dir.display());
    let mut stale = Vec::new();
    for form in &forms {
        let source = std::fs::read_to_string(form).unwrap();
        let mut file =
            syn::parse_file(&source).unwrap_or_else(|err| panic!("{}: {err}", form.display()));
        expand_all(&mut file.items);
        let expanded = rustfmt(&file.into_token_stream().to_string());
        let snapshot = form.with_extension("expanded.rs");
        if update {
            std::fs::write(&snapshot, &expanded).unwrap();
        } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(&expanded) {
            stale.push(snapshot.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "the generated code changed for {stale:?}: run `UPDATE_EXPANSIONS=1 cargo test -p \
         resumable-macros` and review the snapshots' diff"
    );
}

/// Replaces every `#[resumable(...)]` function, free or in an impl, with its expansion.
fn expand_all(items: &mut [Item]) {
    for item in items {
        match item {
            Item::Fn(function) => {
                if let Some(args) = take_attribute(&mut function.attrs) {
                    let expanded = crate::expand(args, function.to_token_stream());
                    *function = syn::parse2(expanded).expect("an expanded fn");
                }
            }
            Item::Impl(block) => {
                for impl_item in &mut block.items {
                    if let ImplItem::Fn(method) = impl_item
                        && let Some(args) = take_attribute(&mut method.attrs)
                    {
                        let expanded = crate::expand(args, method.to_token_stream());
                        *method = syn::parse2(expanded).expect("an expanded method");
                    }
                }
            }
            _ => {}
        }
    }
}

/// Removes `#[resumable(...)]` from `attrs` and returns its arguments.
fn take_attribute(attrs: &mut Vec<syn::Attribute>) -> Option<proc_macro2::TokenStream> {
    let at = attrs
        .iter()
        .position(|attr| attr.path().is_ident("resumable"))?;
    let attr = attrs.remove(at);
    Some(match attr.meta {
        syn::Meta::List(list) => list.tokens,
        _ => proc_macro2::TokenStream::new(),
    })
}

fn rustfmt(source: &str) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt (from rustup's default profile) on PATH");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "rustfmt failed on:\n{source}");
    String::from_utf8(output.stdout).unwrap()
}
