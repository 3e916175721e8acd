//! The function as #[resumable] sees it, and what its attribute says: the statements before
//! its loop, the loop, the statements after (in a nest, the outer loop's body around the inner
//! loop), each kept as the user's syntax for spans. Plain data: the stages after it (`state`,
//! `checks`, `facts`, `rewrite`) read it and return what they find; none changes it.

use std::collections::BTreeSet;

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Expr, ExprForLoop, Ident, ItemFn, Lifetime, Lit, LitStr, Stmt};

use crate::args::Args;
use crate::bindings::bindings_of;
use crate::errors::Errors;
use crate::loop_forms;
use crate::names::{self, names_in};
use crate::params::params;

/// The function split around the loop that checkpoints, and the attribute's options.
pub struct Model {
    /// The attributes and signature; its body's statements are the three below.
    pub function: ItemFn,
    pub every: Every,
    /// `name = "…"`, else derived from the module path at expansion.
    pub name: Option<LitStr>,
    /// The statements before the loop: they run again on every call, resumed or not.
    pub prelude: Vec<Stmt>,
    /// The loop that checkpoints (a nest's outer loop), as a `for` (see `loop_forms.rs`).
    pub looped: ExprForLoop,
    /// The statements after the loop.
    pub epilogue: Vec<Stmt>,
    /// The condition of a `while` loop, as written (`looped` tests it in its body).
    pub condition: Option<Expr>,
    /// Whether SIGINT and SIGTERM save and stop the loop.
    pub signals: bool,
    /// The fingerprint of the function's code as written (see `code.rs`).
    pub code: u64,
    /// `strict`: a checkpoint of other code is refused instead of resumed.
    pub strict: bool,
    /// `state(...)`, as listed.
    pub state_listed: Option<(Span, Vec<Ident>)>,
    /// `skip(...)`: the bindings listed (the statics apart, in `skipped_statics`).
    pub skip: Option<(Span, Vec<Ident>)>,
    /// The statics in `skip(...)` (spelled `LIKE_THIS`, no binding of that name): changed by
    /// the loop, declared not to change its result.
    pub skipped_statics: Vec<Ident>,
    /// `append(...)`, as listed.
    pub append_listed: Option<(Span, Vec<Ident>)>,
    /// `key = expr`: evaluated on entry; one checkpoint per value.
    pub key: Option<Expr>,
    /// `dir = expr`: evaluated on entry, after `key`; the checkpoint's directory.
    pub dir: Option<Expr>,
    /// How a method takes `self`.
    pub receiver: Option<Receiver>,
    /// `inner = 'label`: the loop nested in `looped` that checkpoints.
    pub nest: Option<Nest>,
    /// The loop's value, where the function uses it (`let found = loop { … break i; };`).
    pub loop_value: Option<LoopValue>,
}

/// A `loop` whose value the function uses: each `break value` of it stores the value in `slot`
/// and leaves the loop (see `control_flow.rs`); after it, `binding` takes the value, or the
/// function returns it.
pub struct LoopValue {
    /// The generated local the value is kept in.
    pub slot: Ident,
    /// `let found` (its initializer taken out), or `None`: the function's value.
    pub binding: Option<syn::Local>,
}

/// A loop nest checkpointed inside its inner loop: `looped`'s body is `between`, the inner
/// loop, then `after`.
pub struct Nest {
    /// The outer loop's statements before the inner loop; they run again on resume.
    pub between: Vec<Stmt>,
    pub inner: ExprForLoop,
    /// The outer loop's statements after the inner loop.
    pub after: Vec<Stmt>,
}

impl Model {
    /// The function split around its loop, or `None` when it has none to checkpoint; what is
    /// wrong with the attribute's options or the loop it names goes to `errors`.
    pub fn new(mut args: Args, mut function: ItemFn, errors: &mut Errors) -> Option<Model> {
        let code = crate::code::fingerprint(&function);
        check_signature(&function, errors);
        let every = every(&args, errors);
        let name = args.name.clone().filter(|name| check_name(name, errors));
        let stmts = std::mem::take(&mut function.block.stmts);
        let Split {
            prelude,
            looped,
            written,
            epilogue,
            value,
        } = split_at_loop(&function, &args, stmts, errors)?;
        let receiver = receiver(&function);
        let condition = match &written {
            Expr::While(looped) => Some((*looped.cond).clone()),
            _ => None,
        };
        let declared: BTreeSet<String> = bindings_of(&prelude)
            .iter()
            .map(|binding| binding.ident.to_string())
            .chain(
                params(&function)
                    .iter()
                    .map(|param| param.ident.to_string()),
            )
            .chain(receiver.iter().map(|(_, ident)| ident.to_string()))
            .collect();
        let skipped_statics =
            args.take_skipped_statics(|ident| declared.contains(&ident.to_string()));
        // The outer loop of a nest: a `while` is a `for` whose body starts with its condition
        // (`let Some(job) = queue.pop() else { break };`), so that the inner loop stands in it.
        let looped = match &args.inner {
            Some(_) => loop_forms::as_flat_for_loop(&written).unwrap_or(looped),
            None => looped,
        };
        if let (Some(label), Some(_)) = (&args.inner, &value) {
            errors.push(
                label.span(),
                "the outer loop of a nest cannot give a value (`let found = loop { … }`): keep \
                 the value in a `let mut` binding before the loop and read it after the loop",
            );
        }
        let nest = args
            .inner
            .as_ref()
            .and_then(|label| split_nest(&looped, label, errors));
        Some(Model {
            function,
            every,
            name,
            prelude,
            looped,
            epilogue,
            condition,
            signals: args.signals.as_ref().is_none_or(|signals| signals.value),
            code,
            strict: args.strict.is_some(),
            state_listed: args.state,
            skip: args.skip,
            skipped_statics,
            append_listed: args.append,
            key: args.key,
            dir: args.dir,
            receiver: receiver.map(|(kind, _)| kind),
            nest,
            loop_value: value.map(|binding| LoopValue {
                slot: names::local("loop_value"),
                binding,
            }),
        })
    }

    /// `self` in a method, as the signature spells it, and how it is taken.
    pub fn receiver_binding(&self) -> Option<(Receiver, Ident)> {
        receiver(&self.function)
    }
}

/// A `const fn`, refused at its `const`: a checkpoint reads and writes files.
fn check_signature(function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    if let Some(token) = &sig.constness {
        errors.push(
            token.span,
            "#[resumable] cannot apply to a const fn: it reads and writes files",
        );
    }
}

/// How a method takes `self`; `None` for a free function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    /// `&self`, `self`: not state (it cannot be restored, or need not be).
    Shared,
    /// `&mut self`: `*self` is state when the loop uses it.
    RefMut,
    /// `mut self`: `self` is state when the loop uses it.
    OwnedMut,
}

fn receiver(function: &ItemFn) -> Option<(Receiver, Ident)> {
    let receiver = function.sig.receiver()?;
    let ident = Ident::new("self", receiver.self_token.span);
    let kind = match &receiver.kind {
        syn::ReceiverKind::Reference(_, _, Some(_)) => Receiver::RefMut,
        syn::ReceiverKind::Value if receiver.mutability.is_some() => Receiver::OwnedMut,
        // `&self`, `self`, and typed receivers (`self: Box<Self>`): not state.
        _ => Receiver::Shared,
    };
    Some((kind, ident))
}

/// When the loop saves.
#[derive(Clone, Copy)]
pub enum Every {
    /// After every this many completed iterations.
    Iterations(u64),
    /// At the first iteration boundary after this many milliseconds.
    Interval(u64),
}

fn every(args: &Args, errors: &mut Errors) -> Every {
    const HOW: &str = "`every` is a number of iterations (`every = 1000`) or a duration \
                       (`every = \"30s\"`; units ms, s, m, h)";
    let fallback = Every::Iterations(1);
    let Some(literal) = &args.every else {
        errors.push(
            Span::call_site(),
            "#[resumable] needs `every = N`: save a checkpoint after every N completed iterations",
        );
        return fallback;
    };
    match literal {
        Lit::Int(int) => match int.base10_parse::<u64>() {
            Ok(0) => errors.push(int.span(), "`every` must be at least 1"),
            Ok(every) => return Every::Iterations(every),
            Err(_) => errors.push(
                int.span(),
                "`every` must be a positive integer that fits in u64",
            ),
        },
        Lit::Str(text) => match parse_interval(&text.value()) {
            Some(0) => errors.push(text.span(), "`every` must be longer than 0"),
            Some(ms) => return Every::Interval(ms),
            None => errors.push(text.span(), HOW),
        },
        other => errors.push(other.span(), HOW),
    }
    fallback
}

/// `"500ms"`, `"30s"`, `"5m"`, `"1h"` in milliseconds.
fn parse_interval(text: &str) -> Option<u64> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit_ms = match &text[digits.len()..] {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit_ms)
}

/// Names become file names: allow only what is safe on every filesystem, and nothing that can
/// climb out of the checkpoint directory.
fn check_name(name: &LitStr, errors: &mut Errors) -> bool {
    let value = name.value();
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let ok = plain && !value.is_empty() && !value.starts_with('.') && value.len() <= 200;
    if !ok {
        errors.push(
            name.span(),
            "a checkpoint `name` must be 1 to 200 ASCII letters, digits, `_`, `-` and `.`, not \
             starting with `.`: it becomes a file name inside the checkpoint directory",
        );
    }
    ok
}

/// The function's statements around the loop that checkpoints.
struct Split {
    prelude: Vec<Stmt>,
    looped: ExprForLoop,
    /// The loop as written (a `while` is split differently in a nest).
    written: Expr,
    epilogue: Vec<Stmt>,
    /// The loop's value is used: `Some(let)` for `let found = loop { … }`, `Some(None)` when
    /// the function returns it.
    value: Option<Option<syn::Local>>,
}

/// The label of a loop expression.
fn label_of(expr: &Expr) -> Option<&Lifetime> {
    let label = match expr {
        Expr::ForLoop(looped) => looped.label.as_ref(),
        Expr::While(looped) => looped.label.as_ref(),
        Expr::Loop(looped) => looped.label.as_ref(),
        _ => None,
    };
    label.map(|label| &label.name)
}

/// The top-level loop that checkpoints, where the function may have several: the one `loop =
/// 'label` names; else (with `inner = 'label`) the one whose body holds that label; else the
/// first whose body names a `let mut` binding (or a `mut` parameter, `&mut self`) declared
/// before it, which is where the state changes; else the first. The loops before it run
/// before the checkpointing starts, again on every call (as the other statements there do:
/// the state they leave is replaced by the restored one); those after it run once it ends.
fn split_at_loop(
    function: &ItemFn,
    args: &Args,
    stmts: Vec<Stmt>,
    errors: &mut Errors,
) -> Option<Split> {
    // `let found = loop { … };` is a loop too: its value is what a `break` gives.
    let candidates: Vec<(usize, &Expr)> = stmts
        .iter()
        .enumerate()
        .filter_map(|(i, stmt)| match stmt {
            Stmt::Expr(expr, _) => loop_forms::keyword_span(expr).map(|_| (i, expr)),
            Stmt::Local(local) => local
                .init
                .as_ref()
                .filter(|init| init.diverge.is_none() && matches!(*init.expr, Expr::Loop(_)))
                .map(|init| (i, &*init.expr)),
            _ => None,
        })
        .collect();
    if candidates.is_empty() {
        errors.push(
            function.sig.ident.span(),
            "#[resumable] needs a `for`, `while` or `loop` loop at the top level of the function \
             body, and this function has none",
        );
        return None;
    }
    let holds_label = |expr: &Expr, label: &Lifetime| {
        loop_forms::as_for_loop(expr).is_some_and(|looped| {
            let mut stmts = looped.body.stmts.iter().collect::<Vec<_>>();
            // A `while` is `if COND { BODY } else { break; }` in its `for` form.
            if let [Stmt::Expr(Expr::If(branch), _)] = stmts.as_slice() {
                stmts = branch.then_branch.stmts.iter().collect();
            }
            stmts.iter().any(|stmt| {
                matches!(stmt, Stmt::Expr(inner, _)
                    if label_of(inner).is_some_and(|found| found.ident == label.ident))
            })
        })
    };
    let mut mutable: BTreeSet<String> = params(function)
        .iter()
        .filter(|param| param.mutable)
        .map(|param| param.ident.to_string())
        .collect();
    if let Some((Receiver::RefMut | Receiver::OwnedMut, _)) = receiver(function) {
        mutable.insert("self".to_owned());
    }
    let changes_state = |at: usize, expr: &Expr| {
        let mut declared = mutable.clone();
        declared.extend(
            bindings_of(&stmts[..at])
                .into_iter()
                .filter(|binding| binding.mutable)
                .map(|binding| binding.ident.to_string()),
        );
        let mut named = BTreeSet::new();
        if let Some(looped) = loop_forms::as_for_loop(expr) {
            names_in(looped.body.to_token_stream(), &mut named);
        }
        !named.is_disjoint(&declared)
    };
    let chosen = if let Some(label) = &args.looped {
        let Some(found) = candidates
            .iter()
            .find(|(_, expr)| label_of(expr).is_some_and(|found| found.ident == label.ident))
        else {
            errors.push(
                label.span(),
                format!(
                    "no top-level loop is labelled `{label}`: label the loop to checkpoint \
                     (`{label}: for item in items {{ … }}`); it must be a statement of the \
                     function's body, not inside an `if`, a block or another loop"
                ),
            );
            return None;
        };
        found.0
    } else {
        let inner = args
            .inner
            .as_ref()
            .and_then(|label| candidates.iter().find(|(_, expr)| holds_label(expr, label)));
        inner
            .or_else(|| {
                candidates
                    .iter()
                    .find(|(at, expr)| changes_state(*at, expr))
            })
            .unwrap_or(&candidates[0])
            .0
    };
    let mut prelude = stmts;
    let mut epilogue = prelude.split_off(chosen);
    let (written, value) = match epilogue.remove(0) {
        Stmt::Expr(expr, semicolon) => {
            let returned = matches!(expr, Expr::Loop(_))
                && semicolon.is_none()
                && epilogue.is_empty()
                && !matches!(function.sig.output, syn::ReturnType::Default);
            (expr, returned.then_some(None))
        }
        Stmt::Local(mut local) => {
            let init = local.init.take().expect("found with an initializer above");
            (*init.expr, Some(Some(local)))
        }
        _ => unreachable!("found as a loop above"),
    };
    let looped = loop_forms::as_for_loop(&written).expect("found as a loop above");
    prelude.shrink_to_fit();
    Some(Split {
        prelude,
        looped,
        written,
        epilogue,
        value,
    })
}

/// `inner = 'label`: the outer loop's body, split around the loop with that label.
fn split_nest(looped: &ExprForLoop, label: &Lifetime, errors: &mut Errors) -> Option<Nest> {
    let is_labelled = |expr: &Expr| {
        let found = match expr {
            Expr::ForLoop(inner) => inner.label.as_ref(),
            Expr::While(inner) => inner.label.as_ref(),
            Expr::Loop(inner) => inner.label.as_ref(),
            _ => None,
        };
        found.is_some_and(|found| found.name.ident == label.ident)
    };
    if looped
        .label
        .as_ref()
        .is_some_and(|outer| outer.name.ident == label.ident)
    {
        errors.push(
            label.span(),
            format!(
                "`{label}` is the label of the top-level loop; `inner = {label}` names the loop \
                 nested in it that checkpoints: label that one"
            ),
        );
        return None;
    }
    let stmts = &looped.body.stmts;
    let Some(at) = stmts
        .iter()
        .position(|stmt| matches!(stmt, Stmt::Expr(expr, _) if is_labelled(expr)))
    else {
        errors.push(
            label.span(),
            format!(
                "no loop labelled `{label}` is a statement of the top-level loop's body: label \
                 the loop to checkpoint in (`{label}: for batch in batches {{ … }}`); it must \
                 stand directly in the outer loop's body, not inside an `if`, a block or a \
                 deeper loop"
            ),
        );
        return None;
    };
    let Stmt::Expr(expr, _) = &stmts[at] else {
        unreachable!("found as a loop above")
    };
    Some(Nest {
        between: stmts[..at].to_vec(),
        inner: loop_forms::as_for_loop(expr).expect("found as a loop above"),
        after: stmts[at + 1..].to_vec(),
    })
}
