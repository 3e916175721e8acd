//! A binding that is not state which the loop advances (`lines.next()`, `rx.recv()`,
//! `rng.random()`), or a `while` condition over a `let mut` binding left out: a resumed run
//! starts it over under the restored state, so it would go on from the wrong place. Refused
//! with the rewrite that fits the source (an iterator, a reader, a channel, a generator).

use std::collections::BTreeSet;

use syn::visit::{self, Visit};
use syn::{Expr, Ident, Local, Pat, Stmt};

use crate::errors::Errors;
use crate::names::{last_name, root_path};

/// What a binding the loop advances is, by the method that advances it: what the rewrite is.
#[derive(Clone, Copy)]
enum Source {
    Iterator,
    Reader,
    Channel,
    Generator,
    /// Read by a `while` condition.
    Condition,
}

/// The source a method advances, so that where it is decides what comes next: an iterator, a
/// reader, a channel's receiver, a random number generator.
fn advanced_by(method: &str) -> Option<Source> {
    Some(match method {
        "next" | "next_back" | "nth" | "nth_back" | "peek" | "peek_mut" | "next_if"
        | "next_if_eq" | "by_ref" => Source::Iterator,
        "recv" | "try_recv" | "recv_timeout" | "recv_deadline" | "blocking_recv" => Source::Channel,
        "read" | "read_line" | "read_to_end" | "read_to_string" | "read_exact" | "read_until"
        | "read_buf" | "fill_buf" | "consume" | "seek" => Source::Reader,
        _ if draws(method) => Source::Generator,
        _ => return None,
    })
}

/// Methods of a random number generator that draw from it.
fn draws(method: &str) -> bool {
    matches!(
        method,
        "gen"
            | "gen_range"
            | "gen_bool"
            | "gen_ratio"
            | "random"
            | "random_range"
            | "random_bool"
            | "random_ratio"
            | "next_u32"
            | "next_u64"
            | "fill_bytes"
            | "try_fill_bytes"
            | "sample"
            | "sample_iter"
    )
}

/// Methods that draw from a random number generator passed as `&mut rng`.
fn draws_from_argument(method: &str) -> bool {
    matches!(
        method,
        "shuffle"
            | "partial_shuffle"
            | "choose"
            | "choose_mut"
            | "choose_multiple"
            | "choose_weighted"
            | "choose_multiple_weighted"
            | "sample"
            | "sample_iter"
            | "random"
    )
}

/// Where the loop advances a binding of `not_state` (`lines.next()`, `rx.recv()`,
/// `rng.random()`, `items.shuffle(&mut rng)`, `for x in &mut lines`): each found once, with
/// the ident's span and how.
struct Advances<'a> {
    not_state: &'a BTreeSet<String>,
    found: Vec<(Ident, Source, String)>,
}

impl Advances<'_> {
    fn binding(&self, expr: &Expr) -> Option<Ident> {
        root_path(expr)
            .and_then(|path| path.get_ident())
            .filter(|ident| self.not_state.contains(&ident.to_string()))
            .cloned()
    }

    fn note(&mut self, ident: Ident, source: Source, how: String) {
        if !self.found.iter().any(|(seen, _, _)| *seen == ident) {
            self.found.push((ident, source, how));
        }
    }

    fn note_mut_arg(&mut self, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) {
        for arg in args {
            if let Expr::Reference(reference) = arg
                && reference.mutability.is_some()
                && let Some(ident) = self.binding(&reference.expr)
            {
                self.note(ident.clone(), Source::Generator, format!("`&mut {ident}`"));
            }
        }
    }
}

impl Visit<'_> for Advances<'_> {
    // `go.recv().unwrap();`: a message waited for and dropped only orders the loop with
    // another thread; what it held changes nothing.
    fn visit_stmt(&mut self, stmt: &Stmt) {
        let dropped = match stmt {
            Stmt::Expr(expr, Some(_)) => Some(expr),
            Stmt::Local(Local {
                pat: Pat::Wild(_),
                init: Some(init),
                ..
            }) => Some(&*init.expr),
            _ => None,
        };
        if let Some(call) = dropped.and_then(received) {
            call.args.iter().for_each(|arg| self.visit_expr(arg));
            return;
        }
        visit::visit_stmt(self, stmt);
    }

    fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
        let method = call.method.to_string();
        let takes_mut_arg = call
            .args
            .iter()
            .any(|arg| matches!(arg, Expr::Reference(reference) if reference.mutability.is_some()));
        // `dist.sample(&mut rng)` draws from `rng`, not `dist`; `rng.sample(dist)` from `rng`.
        if let Some(source) = advanced_by(&method)
            && !(draws_from_argument(&method) && takes_mut_arg)
            && let Some(ident) = self.binding(&call.receiver)
        {
            let args = if call.args.is_empty() { "" } else { "…" };
            self.note(ident, source, format!("`.{method}({args})`"));
        }
        if draws_from_argument(&method) {
            self.note_mut_arg(&call.args);
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_call(&mut self, call: &syn::ExprCall) {
        if let Expr::Path(path) = &*call.func
            && draws_from_argument(&last_name(&path.path))
        {
            self.note_mut_arg(&call.args);
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_for_loop(&mut self, looped: &syn::ExprForLoop) {
        if let Expr::Reference(reference) = &*looped.expr
            && reference.mutability.is_some()
            && let Some(ident) = self.binding(&reference.expr)
        {
            self.note(
                ident.clone(),
                Source::Iterator,
                format!("`for … in &mut {ident}`"),
            );
        }
        visit::visit_expr_for_loop(self, looped);
    }

    fn visit_item(&mut self, _: &syn::Item) {}
}

/// The receive of a channel whose message `expr` drops: `rx.recv()?`, `rx.recv().await`.
fn received(expr: &Expr) -> Option<&syn::ExprMethodCall> {
    match expr {
        Expr::Try(tried) => received(&tried.expr),
        Expr::Await(awaited) => received(&awaited.base),
        Expr::MethodCall(call) => match call.method.to_string().as_str() {
            "unwrap" | "expect" | "ok" => received(&call.receiver),
            "recv" | "try_recv" | "recv_timeout" | "recv_deadline" | "blocking_recv" => Some(call),
            _ => None,
        },
        _ => None,
    }
}

/// Refuses a loop whose progress lives in a binding that is not state (left out with
/// `skip(...)`, not listed in `state(...)`, or declared without `mut`): on resume that binding
/// starts fresh, at the first line or a fresh generator, under the restored state. `condition`
/// is a `while` loop's; `body` the loop's; `not_state` the bindings before the loop and the
/// parameters that are not state.
pub fn check_progress(
    condition: Option<&Expr>,
    body: &syn::Block,
    not_state: &BTreeSet<String>,
    mutable: &BTreeSet<String>,
    errors: &mut Errors,
) {
    let mut advances = Advances {
        not_state,
        found: Vec::new(),
    };
    if let Some(condition) = condition {
        advances.visit_expr(condition);
        // `while retries < 3` over a `let mut retries` left out: the condition reads what the
        // loop changes, and a resumed run would start it over.
        let mut reads = ConditionReads(Vec::new());
        reads.visit_expr(condition);
        for ident in reads.0 {
            let name = ident.to_string();
            if mutable.contains(&name) && not_state.contains(&name) {
                advances.note(ident, Source::Condition, String::new());
            }
        }
    }
    advances.visit_block(body);
    for (ident, source, how) in advances.found {
        let message = if let Source::Condition = source {
            format!(
                "the `while` condition reads `{ident}`, which the loop can change but which is \
                 not loop state (left out by `skip(...)` or `state(...)`): a resumed run would \
                 start it over under the restored state, and compute something else. Keep it in \
                 the state, or declare it without `mut` if the loop never changes it"
            )
        } else {
            let instead = match source {
                Source::Iterator => format!(
                    "Make it the loop's iterator (`for item in {ident}`): a resumed run skips \
                     the items done before the checkpoint, and checks that the next one is the \
                     same"
                ),
                Source::Reader => format!(
                    "Make its lines the loop's iterator (`for line in {ident}.lines()`), whose \
                     completed items a resumed run skips; or keep the byte offset as state and \
                     seek to it"
                ),
                Source::Channel => format!(
                    "Receive through the loop's iterator (`for item in {ident}.iter()`): a \
                     resumed run skips the items done before the checkpoint, and checks that \
                     the next one is the same"
                ),
                _ => format!(
                    "Keep the generator as state, in a type that serializes: `let mut {ident} \
                     = ChaCha8Rng::seed_from_u64(…)` (`rand_chacha` with its `serde` feature: \
                     the same stream as rand's `ChaCha8Rng`); or make a fresh one in each \
                     iteration, seeded from the item or the epoch \
                     (`ChaCha8Rng::seed_from_u64(seed ^ epoch)`), so that no iteration depends \
                     on the draws before it"
                ),
            };
            format!(
                "the loop advances `{ident}` ({how}), but `{ident}` is not loop state (left out \
                 by `skip(...)` or `state(...)`, or declared without `mut`): a resumed run would \
                 start it over (at the first item, on a fresh generator) under the restored \
                 state, and compute something else. {instead}"
            )
        };
        errors.push_error(syn::Error::new(ident.span(), message));
    }
}

/// The bindings a `while` condition reads; not an output buffer it lends (`&mut line` in
/// `reader.read_line(&mut line)`), which the reader fills.
struct ConditionReads(Vec<Ident>);

impl Visit<'_> for ConditionReads {
    fn visit_expr_path(&mut self, path: &syn::ExprPath) {
        if let Some(ident) = path.path.get_ident() {
            self.0.push(ident.clone());
        }
    }

    fn visit_expr_reference(&mut self, reference: &syn::ExprReference) {
        let lent = reference.mutability.is_some() && matches!(&*reference.expr, Expr::Path(_));
        if !lent {
            visit::visit_expr_reference(self, reference);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use syn::{Block, parse_quote};

    use super::check_progress;
    use crate::errors::Errors;

    /// The bindings `body` (with `condition`) is refused for, of those named `not_state`.
    fn progress_refused(condition: Option<syn::Expr>, body: Block) -> Vec<String> {
        let names = ["lines", "rx", "rng", "dist", "it", "buf", "retries", "go"];
        let not_state: BTreeSet<String> = names.iter().map(ToString::to_string).collect();
        let mut errors = Errors::default();
        check_progress(
            condition.as_ref(),
            &body,
            &not_state,
            &not_state,
            &mut errors,
        );
        errors.first_quoted()
    }

    #[test]
    fn a_binding_that_is_not_state_and_that_the_loop_advances_is_refused() {
        let refused = progress_refused(
            None,
            parse_quote!({
                let line = lines.next();
                let x = dist.sample(&mut rng);
                for y in &mut it {}
                total += rx.recv().unwrap();
            }),
        );
        assert_eq!(refused, ["lines", "rng", "it", "rx"]);
        let mut errors = Errors::default();
        let names = BTreeSet::from(["retries".to_owned()]);
        check_progress(
            Some(&parse_quote!(retries < 3)),
            &parse_quote!({}),
            &names,
            &names,
            &mut errors,
        );
        let error = errors.finish().expect_err("the condition is refused");
        assert!(error.to_string().contains("condition reads `retries`"));
    }

    #[test]
    fn a_scratch_buffer_or_a_message_dropped_is_not_progress() {
        let refused = progress_refused(
            Some(parse_quote!(reader.read_line(&mut buf).unwrap() > 0)),
            parse_quote!({
                buf.clear();
                buf.fill(0);
                go.recv().unwrap();
                let _ = go.recv();
                total += dist.len();
            }),
        );
        assert!(refused.is_empty(), "{refused:?}");
    }
}
