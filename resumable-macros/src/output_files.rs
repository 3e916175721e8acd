//! A file opened for writing before the loop and written in it, refused at compile time: the
//! statements before the loop run again on resume and open it again, which empties it
//! (`File::create`), writes again what followed the checkpoint (`append`), or writes over it
//! from its start. `resumable::io::Output` keeps its length with each checkpoint instead.
//!
//! The rule is on tokens: an initializer that calls `File::create`, `File::create_new`,
//! `File::options()` / `OpenOptions::new()` … `.open(p)` with a write mode, or `csv`'s
//! `Writer::from_path` / `WriterBuilder::new()` … `.from_path(p)`, anywhere inside it
//! (`BufWriter::new(File::create(p)?)`, `GzEncoder::new(File::create(p)?, …)`) but not in a
//! closure, which opens nothing yet; and a binding made from such a binding
//! (`BufWriter::new(file)`). A file opened for reading (`File::open`) and one the loop does not
//! name pass.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Expr, Ident, Local, Pat, Stmt};

use crate::errors::Errors;
use crate::names::root_path;

/// How a file is opened for writing, least harmful to a resumed run first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    /// `.append(true)`: a resumed run writes again what followed the checkpoint.
    Appended,
    /// `.write(true)` alone: a resumed run writes from the file's start, over what is there,
    /// unless the loop writes at positions it computes.
    InPlace,
    /// `File::create_new`, `.create_new(true)`: a resumed run fails, the file being there.
    CreatedNew,
    /// `File::create`, `.truncate(true)`: a resumed run empties it.
    Emptied,
}

/// The worst opening in an initializer: its mode, how it is spelled, and its tokens.
struct Opening {
    /// The statement it is in: one opening passed on to several bindings is refused once.
    at: usize,
    mode: Mode,
    how: &'static str,
    tokens: TokenStream,
}

/// Finds the openings in an initializer, and the opened bindings it passes on.
struct Openings<'a> {
    at: usize,
    opened: &'a [(String, Opening)],
    found: Option<Opening>,
    /// An opened binding handed to a call (`BufWriter::new(file)`) or a struct field.
    passed: Option<&'a Opening>,
}

impl<'a> Openings<'a> {
    fn note(&mut self, mode: Mode, how: &'static str, tokens: TokenStream) {
        if self.found.as_ref().is_none_or(|found| mode > found.mode) {
            self.found = Some(Opening {
                at: self.at,
                mode,
                how,
                tokens,
            });
        }
    }

    fn note_passed(&mut self, arg: &Expr) {
        let arg = match arg {
            Expr::Reference(reference) => &*reference.expr,
            Expr::Paren(paren) => &*paren.expr,
            other => other,
        };
        if let Expr::Path(path) = arg
            && let Some(ident) = path.path.get_ident()
            && let Some((_, opening)) = self.opened.iter().rev().find(|(name, _)| ident == name)
            && self.passed.is_none_or(|passed| opening.mode > passed.mode)
        {
            self.passed = Some(opening);
        }
    }
}

impl<'a> Visit<'_> for Openings<'a> {
    fn visit_expr_call(&mut self, call: &syn::ExprCall) {
        if let Expr::Path(path) = &*call.func {
            match last_two(&path.path).as_str() {
                "File::create" => {
                    self.note(Mode::Emptied, "`File::create`", call.to_token_stream())
                }
                "File::create_new" => {
                    self.note(
                        Mode::CreatedNew,
                        "`File::create_new`",
                        call.to_token_stream(),
                    );
                }
                // `csv::Writer::from_path` creates its file as `File::create` does.
                "Writer::from_path" => {
                    self.note(Mode::Emptied, "`Writer::from_path`", call.to_token_stream());
                }
                _ => {}
            }
        }
        for arg in &call.args {
            self.note_passed(arg);
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
        if call.method == "open"
            && let Some((mode, how)) = options_mode(&call.receiver)
        {
            self.note(mode, how, call.to_token_stream());
        }
        if call.method == "from_path" && built_by(&call.receiver, "WriterBuilder::new") {
            self.note(Mode::Emptied, "`.from_path`", call.to_token_stream());
        }
        for arg in &call.args {
            self.note_passed(arg);
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_struct(&mut self, built: &syn::ExprStruct) {
        for field in &built.fields {
            self.note_passed(&field.expr);
        }
        visit::visit_expr_struct(self, built);
    }

    // A closure opens nothing before the loop: called in the loop, it opens there.
    fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
    fn visit_item(&mut self, _: &syn::Item) {}
}

/// `File::create` for `std::fs::File::create`.
fn last_two(path: &syn::Path) -> String {
    let names: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    names[names.len().saturating_sub(2)..].join("::")
}

/// Whether `expr` is a chain of method calls on `constructor()`: `WriterBuilder::new()…`.
fn built_by(expr: &Expr, constructor: &str) -> bool {
    match expr {
        Expr::MethodCall(call) => built_by(&call.receiver, constructor),
        Expr::Paren(paren) => built_by(&paren.expr, constructor),
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(path) if last_two(&path.path) == constructor)
        }
        _ => false,
    }
}

/// The write mode of `File::options()…` or `OpenOptions::new()…` (the receiver of `.open`):
/// `None` when it is not such a chain, or opens for reading only.
fn options_mode(receiver: &Expr) -> Option<(Mode, &'static str)> {
    let mut set = Vec::new();
    let mut expr = receiver;
    loop {
        match expr {
            Expr::MethodCall(call) => {
                // `.truncate(false)` sets nothing; a flag the tokens cannot tell counts as set.
                let on = !matches!(
                    call.args.first(),
                    Some(Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(flag),
                        ..
                    })) if !flag.value
                );
                if on {
                    set.push(call.method.to_string());
                }
                expr = &call.receiver;
            }
            Expr::Paren(paren) => expr = &paren.expr,
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else {
                    return None;
                };
                if !matches!(
                    last_two(&path.path).as_str(),
                    "File::options" | "OpenOptions::new"
                ) {
                    return None;
                }
                break;
            }
            _ => return None,
        }
    }
    let has = |method: &str| set.iter().any(|set| set == method);
    Some(if has("truncate") {
        (Mode::Emptied, "`.truncate(true)`")
    } else if has("create_new") {
        (Mode::CreatedNew, "`.create_new(true)`")
    } else if has("append") {
        (Mode::Appended, "`.append(true)`")
    } else if has("write") {
        (
            Mode::InPlace,
            "`.write(true)` without `.truncate` or `.append`",
        )
    } else {
        return None;
    })
}

/// Whether the loop body writes `name` at positions it computes (`name.write_all_at(…)`,
/// `name.rewind()`): then opening it again without emptying it resumes right. (A `seek` of a
/// binding that is not state is refused as progress anyway, see `refusals::check_progress`.)
fn positioned(body: &syn::Block, name: &str) -> bool {
    struct Positions<'a>(&'a str, bool);
    impl Visit<'_> for Positions<'_> {
        fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
            let method = call.method.to_string();
            if matches!(
                method.as_str(),
                "seek" | "rewind" | "write_at" | "write_all_at" | "seek_write" | "set_len"
            ) && root_path(&call.receiver)
                .and_then(|path| path.get_ident())
                .is_some_and(|ident| ident == self.0)
            {
                self.1 = true;
            }
            visit::visit_expr_method_call(self, call);
        }
    }
    let mut positions = Positions(name, false);
    positions.visit_block(body);
    positions.1
}

/// Refuses a binding of `declared_in` (the statements before the checkpointed loop) that holds
/// a file opened for writing and that the loop names (`used`; `body` is the loop's body).
/// Skipped (`skip(...)`), a file opened with `.append(true)` (a log whose repeated lines do not
/// matter), or with `.write(true)` alone that the loop writes at positions it computes, passes.
pub fn check_output_files(
    declared_in: &[Stmt],
    body: &syn::Block,
    used: &BTreeSet<String>,
    skipped: &[Ident],
    errors: &mut Errors,
) {
    let mut opened: Vec<(String, Opening)> = Vec::new();
    let mut refused: Vec<usize> = Vec::new();
    for (at, stmt) in declared_in.iter().enumerate() {
        let Stmt::Local(Local { pat, init, .. }) = stmt else {
            continue;
        };
        let pat = match pat {
            Pat::Type(typed) => &*typed.pat,
            other => other,
        };
        let Pat::Ident(binding) = pat else {
            continue;
        };
        let name = binding.ident.to_string();
        let mut openings = Openings {
            at,
            opened: &opened,
            found: None,
            passed: None,
        };
        if let Some(init) = init {
            openings.visit_expr(&init.expr);
        }
        let opening = openings.found.or_else(|| {
            openings.passed.map(|passed| Opening {
                at: passed.at,
                mode: passed.mode,
                how: passed.how,
                tokens: passed.tokens.clone(),
            })
        });
        // A later `let` of the same name shadows the earlier one.
        opened.retain(|(seen, _)| *seen != name);
        if let Some(opening) = opening {
            opened.push((name, opening));
        }
    }
    for (name, opening) in &opened {
        if !used.contains(name) || refused.contains(&opening.at) {
            continue;
        }
        let is_skipped = skipped.iter().any(|skipped| skipped == name);
        let (effect, otherwise) = match opening.mode {
            Mode::Appended if is_skipped => continue,
            Mode::InPlace if is_skipped && positioned(body, name) => continue,
            Mode::Appended => (
                "writes again every line written after the checkpoint",
                format!(
                    ". A log whose repeated lines do not matter can stay as it is, named in \
                     `skip({name})`"
                ),
            ),
            Mode::InPlace => (
                "writes over it from its start",
                format!(
                    ". If the loop writes it only at positions it computes \
                     (`write_all_at`), name it in `skip({name})`"
                ),
            ),
            Mode::CreatedNew => ("fails, as the file is there", String::new()),
            Mode::Emptied => ("empties it", String::new()),
        };
        refused.push(opening.at);
        errors.push_error(syn::Error::new_spanned(
            &opening.tokens,
            format!(
                "`{name}` is a file opened before the loop and written in it: a resumed run \
                 opens it again, which {effect} ({how}), so the output would not be the \
                 uninterrupted run's. Write it through `resumable::io::Output::create(path)` (or \
                 `Output::append(path)` to keep what the file holds): its length is saved with \
                 each checkpoint and a resume carries on from there{otherwise}",
                how = opening.how,
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use syn::{Block, Ident, parse_quote};

    use super::check_output_files;
    use crate::errors::Errors;

    /// The bindings refused when `body` names each of `prelude`'s, with `skip(...)`.
    fn refused(prelude: Block, body: Block, skip: &[&str]) -> Vec<String> {
        let mut used = BTreeSet::new();
        crate::names::names_in(quote::ToTokens::to_token_stream(&body), &mut used);
        let skipped: Vec<Ident> = skip
            .iter()
            .map(|name| Ident::new(name, proc_macro2::Span::call_site()))
            .collect();
        let mut errors = Errors::default();
        check_output_files(&prelude.stmts, &body, &used, &skipped, &mut errors);
        errors.first_quoted()
    }

    #[test]
    fn a_file_opened_for_writing_before_the_loop_and_named_in_it_is_refused() {
        let refused = refused(
            parse_quote!({
                let mut a = std::fs::File::create(p)?;
                let mut b = BufWriter::new(fs::File::create(&p).context("x")?);
                let mut c = GzEncoder::new(File::create(p)?, Compression::default());
                let mut d = OpenOptions::new().create(true).append(true).open(p)?;
                let mut e = File::options().write(true).truncate(true).open(p)?;
                let f = File::options().write(true).open(p)?;
                let file = File::create_new(p)?;
                let mut g = BufWriter::with_capacity(1 << 20, file);
                let mut h: Box<dyn Write> = if y {
                    Box::new(File::create(p)?)
                } else {
                    Box::new(io::stdout())
                };
                let mut i = {
                    let f = File::create(p)?;
                    LineWriter::new(f)
                };
                let mut j = csv::Writer::from_path(p)?;
                let mut k = csv::WriterBuilder::new().delimiter(b';').from_path(p)?;
                let rows = csv::ReaderBuilder::new().from_path(p)?;
            }),
            parse_quote!({
                writeln!(a, "x")?;
                writeln!(b, "x")?;
                c.write_all(x)?;
                d.write_all(x)?;
                e.write_all(x)?;
                f.write_all_at(x, 8 * i)?;
                serde_json::to_writer(&mut g, &x)?;
                emit(&mut h, &mut i);
                j.write_record(&r)?;
                k.serialize(&r)?;
                total += rows.len();
            }),
            &["a", "b", "e"],
        );
        assert_eq!(
            refused,
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
        );
    }

    #[test]
    fn a_file_read_written_after_the_loop_or_a_skipped_log_is_not_refused() {
        let refused = refused(
            parse_quote!({
                let table = File::open(p)?;
                let r = OpenOptions::new().read(true).open(p)?;
                let mut after = File::create(q)?;
                let mut log = OpenOptions::new().create(true).append(true).open(l)?;
                let mut at = File::options().write(true).open(p)?;
                let open = |p: &Path| File::create(p);
                let mut out = File::create(p)?;
                let out = 5;
            }),
            parse_quote!({
                table.read_exact_at(&mut buf, i)?;
                r.read_exact_at(&mut buf, i)?;
                writeln!(log, "{i}")?;
                at.seek(SeekFrom::Start(i))?;
                at.write_all(x)?;
                let mut f = open(path)?;
                total += out;
            }),
            &["table", "log", "at"],
        );
        assert!(refused.is_empty(), "{refused:?}");
    }
}
