//! The function as #[resumable] sees it: the statements before its loop, the loop, the
//! statements after, and the state bindings, each kept as the user's syntax for spans.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Expr, ExprForLoop, Ident, ItemFn, Lifetime, Lit, LitStr, Pat, Stmt};

use crate::args::Args;
use crate::errors::Errors;
use crate::exit_moves;
use crate::first_use::{self, FirstUse};
use crate::loop_forms;
use crate::moved;
use crate::names::{self, names_in};
use crate::output_files;
use crate::params::{Param, params};
use crate::refusals;

pub struct Model {
    pub function: ItemFn,
    pub every: Every,
    /// `name = "…"`, else derived from the module path at expansion.
    pub name: Option<LitStr>,
    pub prelude: Vec<Stmt>,
    pub looped: ExprForLoop,
    pub epilogue: Vec<Stmt>,
    /// The state bindings, as spelled where they are declared.
    pub state: Vec<Ident>,
    /// Whether SIGINT and SIGTERM save and stop the loop.
    pub signals: bool,
    /// The fingerprint of the function's code as written (see `code.rs`).
    pub code: u64,
    /// `strict`: a checkpoint of other code is refused instead of resumed.
    pub strict: bool,
    /// The state bindings declared append-only, as spelled in `append(...)`.
    pub append: Vec<Ident>,
    /// `key = expr`: evaluated on entry; one checkpoint per value.
    pub key: Option<Expr>,
    /// `dir = expr`: evaluated on entry, after `key`; the checkpoint's directory.
    pub dir: Option<Expr>,
    /// Without `key`: every input of the call, whose values on entry are the key: `self`, each
    /// parameter (state or not: on a resumed run it holds its entry value again), each type
    /// and const parameter.
    pub key_inputs: Vec<KeyInput>,
    /// The bindings the loop's body names that are not state (declared without `mut`: before
    /// the loop, parameters, `self`; less those in `skip(...)`; a closure declared before the
    /// loop stands for the bindings its body names): fingerprinted on entry and at every save,
    /// so that one changed through `&` (a `Cell`, an atomic) is refused before it is saved.
    pub watched: Vec<Ident>,
    /// The watched bindings the body can move on a way out of the loop (`return Err(name)`):
    /// gone when a failure is handled, so a failure saves nothing (see `exit_moves.rs`).
    pub exit_moved: Vec<Ident>,
    /// Where the checkpointed loop's body first touches its state: set by
    /// [`Model::mark_first_use`], which marks the body there.
    pub first_use: FirstUse,
    /// State the body of a single loop moves (`acc = step(acc, i)`): moved into the loop's
    /// closure and handed back with every way out of it (see `moved.rs`).
    pub by_value: Vec<Ident>,
    /// How a method takes `self`.
    pub receiver: Option<Receiver>,
    /// The `&mut T` parameters among the state: saved and restored through `*param`, as
    /// `*self` is in a `&mut self` method.
    pub ref_mut_params: Vec<Ident>,
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
    /// Whether any `break` leaves the loop: without one its value is `!`. Set by the rewrite.
    pub breaks: bool,
    /// The state and the bindings the loop's closure owns, unless `Copy`: a `break` value may
    /// not take them, which the code after the loop still reads.
    pub kept: Vec<Ident>,
}

/// A loop nest checkpointed inside its inner loop: `looped`'s body is `between`, the inner
/// loop, then `after`.
pub struct Nest {
    /// The outer loop's statements before the inner loop; they run again on resume.
    pub between: Vec<Stmt>,
    pub inner: ExprForLoop,
    /// The outer loop's statements after the inner loop.
    pub after: Vec<Stmt>,
    /// State declared in `between`, saved after the function-level state.
    pub state: Vec<BetweenState>,
}

/// A state binding declared between the loops of a nest.
pub struct BetweenState {
    pub ident: Ident,
    /// `let mut`: restored by assignment; the others by shadowing.
    pub mutable: bool,
    /// Named by the inner loop's iterator only, which may move it (`for x in batch_list`):
    /// serialized once before the inner loop starts, and those bytes saved by its checkpoints.
    pub iterator_only: bool,
}

impl Model {
    /// Checks everything it can and reports every problem at once.
    pub fn new(mut args: Args, mut function: ItemFn) -> syn::Result<Model> {
        let mut errors = Errors::default();
        let code = crate::code::fingerprint(&function);
        check_signature(&function, &mut errors);
        let every = every(&args, &mut errors);
        let name = args
            .name
            .clone()
            .filter(|name| check_name(name, &mut errors));
        let stmts = std::mem::take(&mut function.block.stmts);
        let Some(Split {
            prelude,
            looped,
            written,
            epilogue,
            value,
        }) = split_at_loop(&function, &args, stmts, &mut errors)
        else {
            return Err(errors.finish().unwrap_err());
        };
        let receiver = receiver(&function);
        let params = params(&function);
        let condition = match &written {
            Expr::While(looped) => Some((*looped.cond).clone()),
            _ => None,
        };
        let mut declared: BTreeSet<String> = bindings_of(&prelude)
            .iter()
            .map(|binding| binding.ident.to_string())
            .chain(params.iter().map(|param| param.ident.to_string()))
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
            .and_then(|label| split_nest(&looped, label, &mut errors));
        let (state, between_state) = select_state(
            &args,
            receiver.as_ref(),
            &params,
            &prelude,
            &looped,
            nest.as_ref(),
            &mut errors,
        );
        let nest = nest.map(|nest| Nest {
            state: between_state,
            ..nest
        });
        let all_state: Vec<Ident> = state
            .iter()
            .cloned()
            .chain(
                nest.iter()
                    .flat_map(|nest| nest.state.iter().map(|between| between.ident.clone())),
            )
            .collect();
        let append = select_append(&args, &all_state, &mut errors);
        let mut used = BTreeSet::new();
        names_in(looped.body.to_token_stream(), &mut used);
        through_closures(&prelude, &mut used);
        let prelude_bindings = bindings_of(&prelude);
        let mut mutable: BTreeSet<String> = prelude_bindings
            .iter()
            .filter(|binding| binding.mutable)
            .map(|binding| binding.ident.to_string())
            .collect();
        if let Some((Receiver::RefMut | Receiver::OwnedMut, _)) = &receiver {
            mutable.insert("self".to_owned());
        }
        mutable.extend(
            params
                .iter()
                .filter(|param| param.mutable)
                .map(|param| param.ident.to_string()),
        );
        refusals::check_iterable(&looped.expr, &mut errors);
        refusals::check_params(&params, &used, &mut errors);
        refusals::check_statics(&looped.body, &declared, &skipped_statics, &mut errors);
        // A `&mut` alias is refused here with what it aliases; not again as a borrow.
        let skipped: Vec<Ident> = args
            .skip
            .iter()
            .flat_map(|(_, idents)| idents)
            .cloned()
            .collect();
        let aliases = check_declarations(&prelude, &used, &state, &skipped, &looped, &mut errors);
        let unaliased: Vec<Ident> = state
            .iter()
            .filter(|ident| !aliases.contains(ident))
            .cloned()
            .collect();
        refusals::check_prelude(&prelude, &used, &unaliased, &mutable, &mut errors);
        output_files::check_output_files(&prelude, &looped.body, &used, &skipped, &mut errors);
        if let Some(nest) = &nest {
            refusals::check_iterable(&nest.inner.expr, &mut errors);
            let between_state: Vec<Ident> = nest
                .state
                .iter()
                .map(|between| between.ident.clone())
                .collect();
            let mut used_later = BTreeSet::new();
            names_in(nest.inner.to_token_stream(), &mut used_later);
            for stmt in &nest.after {
                names_in(stmt.to_token_stream(), &mut used_later);
            }
            mutable.extend(
                bindings_of(&nest.between)
                    .into_iter()
                    .filter(|binding| binding.mutable)
                    .map(|binding| binding.ident.to_string()),
            );
            refusals::check_prelude(
                &nest.between,
                &used_later,
                &between_state,
                &mutable,
                &mut errors,
            );
            // What is opened between the loops is opened again when a resume enters the
            // inner loop, whose checkpoints do not see what it wrote.
            let mut used_inner = BTreeSet::new();
            names_in(nest.inner.body.to_token_stream(), &mut used_inner);
            through_closures(&nest.between, &mut used_inner);
            through_closures(&prelude, &mut used_inner);
            output_files::check_output_files(
                &nest.between,
                &nest.inner.body,
                &used_inner,
                &skipped,
                &mut errors,
            );
            declared.extend(
                bindings_of(&nest.between)
                    .iter()
                    .map(|binding| binding.ident.to_string()),
            );
        }
        let not_state: BTreeSet<String> = declared
            .into_iter()
            .filter(|name| !all_state.iter().any(|state| state == name))
            .collect();
        refusals::check_progress(
            condition.as_ref(),
            &looped.body,
            &not_state,
            &mutable,
            &mut errors,
        );
        let signals = args.signals.as_ref().is_none_or(|signals| signals.value);
        errors.finish()?;
        let shadowed = |ident: &Ident| {
            prelude_bindings
                .iter()
                .any(|binding| binding.ident == *ident)
        };
        let ref_mut_params: Vec<Ident> = params
            .iter()
            .filter(|param| param.by_ref_mut && state.contains(&param.ident))
            .filter(|param| !shadowed(&param.ident))
            .map(|param| param.ident.clone())
            .collect();
        // Moved into the loop's closure and handed back: state, and the `let mut` bindings the
        // loop uses that are not (`skip(model)` with `model = optim.step(model, grads)`).
        let by_value = if nest.is_some() {
            Vec::new()
        } else {
            let movable: Vec<Ident> = state
                .iter()
                .chain(
                    prelude_bindings
                        .iter()
                        .filter(|binding| binding.mutable)
                        .map(|binding| &binding.ident)
                        .filter(|ident| used.contains(&ident.to_string())),
                )
                .filter(|ident| !ref_mut_params.contains(*ident))
                .fold(Vec::new(), |mut movable, ident| {
                    if !movable.contains(ident) {
                        movable.push(ident.clone());
                    }
                    movable
                });
            moved::moved_state(&looped.body, &movable, &copied_literals(&prelude))
        };
        let loop_value = value.map(|binding| {
            let copied = copied_literals(&prelude);
            LoopValue {
                slot: names::local("loop_value"),
                binding,
                breaks: false,
                kept: state
                    .iter()
                    .chain(&by_value)
                    .filter(|ident| !copied.contains(ident))
                    .cloned()
                    .collect(),
            }
        });
        let skipped: Vec<&Ident> = args.skip.iter().flat_map(|(_, idents)| idents).collect();
        let watched = watched(&receiver, &function, &prelude, &used, &state, &skipped);
        let key_inputs = key_inputs(&receiver, &function);
        let moved_on_exit = exit_moves::moved_on_exit(&looped.body);
        let exit_moved = watched
            .iter()
            .filter(|ident| moved_on_exit.contains(&ident.to_string()))
            .cloned()
            .collect();
        Ok(Model {
            function,
            every,
            name,
            prelude,
            looped,
            epilogue,
            state,
            signals,
            code,
            strict: args.strict.is_some(),
            append,
            key: args.key,
            dir: args.dir,
            key_inputs,
            first_use: FirstUse::Never,
            watched,
            exit_moved,
            by_value,
            receiver: receiver.map(|(kind, _)| kind),
            ref_mut_params,
            nest,
            loop_value,
        })
    }
}

impl Model {
    /// Marks where each iteration of the checkpointed loop first touches the state (see
    /// `first_use.rs`), before its control flow is rewritten: the rewritten `return`s name the
    /// state they hand back (`moved.rs`), which is no touch.
    pub fn mark_first_use(&mut self) {
        let mut defining = self.prelude.clone();
        let mut names: BTreeSet<String> = self.state.iter().map(ToString::to_string).collect();
        if let Some(nest) = &self.nest {
            defining.extend(nest.between.iter().cloned());
            names.extend(nest.state.iter().map(|between| between.ident.to_string()));
        }
        let touching = first_use::touching(&names, &defining);
        // The generated locals `Parts` makes (`Locals::dirty_at`, `Locals::pulled`).
        let marker: Expr = {
            let (dirty_at, pulled) = (names::local("dirty_at"), names::local("pulled"));
            syn::parse_quote!(#dirty_at = #pulled)
        };
        let body = match &mut self.nest {
            Some(nest) => &mut nest.inner.body,
            None => &mut self.looped.body,
        };
        self.first_use = first_use::mark(body, &touching, marker);
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

/// An input of the call that is part of its default key.
pub enum KeyInput {
    /// `self`, a parameter's binding, or a const parameter: its value.
    Value(Ident),
    /// A type parameter: its type's name.
    Type(Ident),
}

/// Every input of the call, in the order of the signature: `self`, the bindings of each
/// parameter's pattern, the type and const parameters.
fn key_inputs(receiver: &Option<(Receiver, Ident)>, function: &ItemFn) -> Vec<KeyInput> {
    let mut inputs: Vec<KeyInput> = Vec::new();
    if let Some((_, ident)) = receiver {
        inputs.push(KeyInput::Value(ident.clone()));
    }
    for input in &function.sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            let mut found = Vec::new();
            collect_bindings(&typed.pat, &mut found);
            inputs.extend(
                found
                    .into_iter()
                    .map(|binding| KeyInput::Value(binding.ident)),
            );
        }
    }
    for param in &function.sig.generics.params {
        match param {
            syn::GenericParam::Type(ty) => inputs.push(KeyInput::Type(ty.ident.clone())),
            syn::GenericParam::Const(constant) => {
                inputs.push(KeyInput::Value(constant.ident.clone()));
            }
            syn::GenericParam::Lifetime(_) => {}
        }
    }
    inputs
}

/// Adds to `used` (the names the loop's body reads) what each closure declared before the loop
/// that it calls reads, and so on: the loop reads those through the closure.
fn through_closures(prelude: &[Stmt], used: &mut BTreeSet<String>) {
    let closures: Vec<(Ident, &Expr)> = prelude
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::Local(local) => Some(local),
            _ => None,
        })
        .filter_map(|local| {
            let init = local.init.as_ref().map(|init| &*init.expr)?;
            let mut found = Vec::new();
            collect_bindings(&local.pat, &mut found);
            match (found.as_slice(), init) {
                ([binding], Expr::Closure(_)) => Some((binding.ident.clone(), init)),
                _ => None,
            }
        })
        .collect();
    loop {
        let before = used.len();
        for (ident, closure) in &closures {
            if used.contains(&ident.to_string()) {
                names_in(closure.to_token_stream(), used);
            }
        }
        if used.len() == before {
            break;
        }
    }
}

/// The bindings the loop reads but does not own as state: see [`Model::watched`].
fn watched(
    receiver: &Option<(Receiver, Ident)>,
    function: &ItemFn,
    prelude: &[Stmt],
    used: &BTreeSet<String>,
    state: &[Ident],
    skipped: &[&Ident],
) -> Vec<Ident> {
    // What is in scope before the loop, the latest declaration of each name winning: whether
    // the loop could change it only through `&` (no `mut`), and whether it is a closure.
    let mut candidates: Vec<(Ident, bool, bool)> = Vec::new();
    if let Some((kind, ident)) = receiver {
        candidates.push((ident.clone(), *kind == Receiver::Shared, false));
    }
    for input in &function.sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            let by_ref_mut = matches!(&*typed.ty, syn::Type::Reference(reference)
                if reference.mutability.is_some());
            let mut found = Vec::new();
            collect_bindings(&typed.pat, &mut found);
            candidates.extend(
                found
                    .into_iter()
                    .map(|binding| (binding.ident, !binding.mutable && !by_ref_mut, false)),
            );
        }
    }
    for stmt in prelude {
        if let Stmt::Local(local) = stmt {
            let mut found = Vec::new();
            collect_bindings(&local.pat, &mut found);
            let closure = local
                .init
                .as_ref()
                .is_some_and(|init| matches!(&*init.expr, Expr::Closure(_)));
            for binding in found {
                candidates.retain(|(old, _, _)| *old != binding.ident);
                candidates.push((binding.ident, !binding.mutable, closure));
            }
        }
    }
    // A `mut` binding the loop names is state, or was left out of it by the program (`skip`,
    // `state(...)`): not watched.
    candidates
        .into_iter()
        .filter(|(ident, shared, closure)| *shared && !closure && used.contains(&ident.to_string()))
        .map(|(ident, _, _)| ident)
        .filter(|ident| !state.contains(ident) && !skipped.contains(&ident))
        .collect()
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

/// Refuses, at the user's binding, state that no checkpoint could save or restore and would
/// otherwise fail to compile with a message about the generated code: declared without a value
/// (`let mut last;`), holding borrows inside (`Vec<&'a str>`), an array longer than serde takes
/// (`[u64; 64]`), borrowed by a closure in the loop's iterator (`.filter(|x| *x <
/// limit.get())`); and a binding the loop uses that is a `&mut` borrow of another, which the
/// loop then changes without naming it. Returns the `&mut` aliases found.
fn check_declarations(
    prelude: &[Stmt],
    used: &BTreeSet<String>,
    state: &[Ident],
    skipped: &[Ident],
    looped: &ExprForLoop,
    errors: &mut Errors,
) -> Vec<Ident> {
    let mut aliases = Vec::new();
    for stmt in prelude {
        let Stmt::Local(local) = stmt else { continue };
        let (pat, ty) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            other => (other, None),
        };
        let Pat::Ident(binding) = pat else { continue };
        let ident = &binding.ident;
        let init = local.init.as_ref().map(|init| &*init.expr);
        if !used.contains(&ident.to_string()) {
            continue;
        }
        if let Some(Expr::Reference(reference)) = init
            && reference.mutability.is_some()
            && !skipped.contains(ident)
        {
            let target = reference
                .expr
                .to_token_stream()
                .to_string()
                .replace(' ', "");
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is a `&mut` borrow of `{target}`: the loop changes `{target}` \
                     through it without naming it, so no checkpoint saves what it changed. Use \
                     `{target}` in the loop directly (declared `let mut`, or a `mut` parameter), \
                     which makes it loop state"
                ),
            ));
            aliases.push(ident.clone());
            continue;
        }
        if !state.contains(ident) {
            continue;
        }
        if init.is_none() {
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is loop state and is declared without a value, which a checkpoint \
                     needs to save and restore from the first iteration on: give it one before \
                     the loop (`let mut {ident} = 0;`, or `let mut {ident}: Option<T> = None;` \
                     set in the loop)"
                ),
            ));
            continue;
        }
        if let Some(ty) = ty
            && !matches!(ty, syn::Type::Reference(_))
            && holds_borrow(ty.to_token_stream())
        {
            let spelled = spelled(ty.to_token_stream());
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is loop state and holds borrows (`{spelled}`), which a checkpoint \
                     cannot restore: a checkpoint reads back owned values. Hold owned ones \
                     (`String` for `&str`, `Vec<T>` for `&[T]`) or indices into what they \
                     borrow from"
                ),
            ));
            continue;
        }
        let length = match (ty, init) {
            (Some(syn::Type::Array(array)), _) => Some(&array.len),
            (None, Some(Expr::Repeat(repeat))) => Some(&*repeat.len),
            _ => None,
        };
        if let Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Int(length),
            ..
        })) = length
            && length.base10_parse::<u64>().is_ok_and(|length| length > 32)
        {
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is loop state and an array of {length} elements, and serde (which \
                     checkpoints use) reads and writes arrays of at most 32: hold a `Vec` \
                     (`vec![0; {length}]`), or keep the array inside a struct of yours whose \
                     field says how to serialize it (`serde_big_array::BigArray`, or \
                     `serde_with`'s `#[serde_as(as = \"[_; {length}]\")]`)"
                ),
            ));
        }
    }
    // A closure in the iterator keeps its borrow of the state while the loop runs, and reads
    // the value the state had when the iterator was made.
    struct Closures<'a>(&'a [Ident], Option<Ident>);
    impl syn::visit::Visit<'_> for Closures<'_> {
        fn visit_expr_closure(&mut self, closure: &syn::ExprClosure) {
            if self.1.is_none() {
                self.1 = first_named(closure.body.to_token_stream(), self.0);
            }
        }
    }
    let mut closures = Closures(state, None);
    syn::visit::Visit::visit_expr(&mut closures, &looped.expr);
    if let Some(named) = closures.1 {
        errors.push_error(syn::Error::new(
            named.span(),
            format!(
                "the loop's iterator borrows `{named}`, which is loop state, in a closure: a \
                 resumed run restores `{named}` after the iterator is made, which that borrow \
                 forbids. Test it in the body instead: `for x in items {{ if !(…{named}…) {{ \
                 continue; }} … }}`"
            ),
        ));
    }
    aliases
}

/// Tokens as Rust is written: a space between two words and after a comma only.
fn spelled(tokens: TokenStream) -> String {
    let mut text = String::new();
    let mut word = false;
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::Brace => ("{", "}"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                text.push_str(&format!("{open}{}{close}", spelled(group.stream())));
                word = false;
            }
            TokenTree::Punct(punct) => {
                text.push(punct.as_char());
                if punct.as_char() == ',' || punct.as_char() == ';' {
                    text.push(' ');
                }
                word = false;
            }
            other => {
                if word {
                    text.push(' ');
                }
                text.push_str(&other.to_string());
                word = true;
            }
        }
    }
    text
}

/// Whether a type's tokens hold a reference or a lifetime (`Vec<&str>`, `Cow<'a, str>`).
fn holds_borrow(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Punct(punct) => punct.as_char() == '&' || punct.as_char() == '\'',
        TokenTree::Group(group) => holds_borrow(group.stream()),
        _ => false,
    })
}

/// The first identifier in `tokens` that is one of `names`, as it is spelled there.
fn first_named(tokens: TokenStream, names: &[Ident]) -> Option<Ident> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) if names.contains(&ident) => Some(ident),
        TokenTree::Group(group) => first_named(group.stream(), names),
        _ => None,
    })
}

/// The bindings declared with a number, `bool` or `char` literal (`let mut count = 0`), or a
/// type that is one of those (`let mut best: u64 = …`): `Copy`, so a `return` of one does not
/// move it.
fn copied_literals(prelude: &[Stmt]) -> Vec<Ident> {
    const PRIMITIVE: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char",
    ];
    let mut copied: Vec<Ident> = Vec::new();
    for stmt in prelude {
        let Stmt::Local(local) = stmt else { continue };
        let (pat, ty) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            other => (other, None),
        };
        let Pat::Ident(binding) = pat else { continue };
        let primitive_type = matches!(ty, Some(syn::Type::Path(path))
            if PRIMITIVE.iter().any(|name| path.path.is_ident(name)));
        let literal = local.init.as_ref().is_some_and(|init| {
            matches!(&*init.expr, Expr::Lit(lit)
                if matches!(lit.lit, Lit::Int(_) | Lit::Float(_) | Lit::Bool(_) | Lit::Char(_)))
        });
        copied.retain(|ident| *ident != binding.ident);
        if primitive_type || (ty.is_none() && literal) {
            copied.push(binding.ident.clone());
        }
    }
    copied
}

/// A top-level `let` binding before the loop.
struct Binding {
    ident: Ident,
    mutable: bool,
}

/// The bindings the top-level `let`s of `stmts` leave in scope: later `let`s shadow earlier
/// ones of the same name.
fn bindings_of(prelude: &[Stmt]) -> Vec<Binding> {
    let mut bindings: Vec<Binding> = Vec::new();
    for stmt in prelude {
        if let Stmt::Local(local) = stmt {
            let mut found = Vec::new();
            collect_bindings(&local.pat, &mut found);
            for binding in found {
                bindings.retain(|old| old.ident != binding.ident);
                bindings.push(binding);
            }
        }
    }
    bindings
}

fn collect_bindings(pat: &Pat, found: &mut Vec<Binding>) {
    match pat {
        Pat::Ident(pat) => {
            found.push(Binding {
                ident: pat.ident.clone(),
                mutable: pat.mutability.is_some(),
            });
            if let Some((_, sub)) = &pat.subpat {
                collect_bindings(sub, found);
            }
        }
        Pat::Type(pat) => collect_bindings(&pat.pat, found),
        Pat::Paren(pat) => collect_bindings(&pat.pat, found),
        Pat::Tuple(pat) => pat
            .elems
            .iter()
            .for_each(|pat| collect_bindings(pat, found)),
        Pat::TupleStruct(pat) => pat
            .elems
            .iter()
            .for_each(|pat| collect_bindings(pat, found)),
        Pat::Struct(pat) => pat
            .fields
            .iter()
            .for_each(|field| collect_bindings(&field.pat, found)),
        Pat::Slice(pat) => pat
            .elems
            .iter()
            .for_each(|pat| collect_bindings(pat, found)),
        Pat::Reference(pat) => collect_bindings(&pat.pat, found),
        _ => {}
    }
}

/// The state: the function-level bindings, then (in a nest) those declared between the loops.
fn select_state(
    args: &Args,
    receiver: Option<&(Receiver, Ident)>,
    params: &[Param],
    prelude: &[Stmt],
    looped: &ExprForLoop,
    nest: Option<&Nest>,
    errors: &mut Errors,
) -> (Vec<Ident>, Vec<BetweenState>) {
    // Parameters first: a `let` of the same name before the loop shadows one.
    let mut bindings: Vec<Binding> = params
        .iter()
        .map(|param| Binding {
            ident: param.ident.clone(),
            mutable: param.mutable,
        })
        .collect();
    for binding in bindings_of(prelude) {
        bindings.retain(|old| old.ident != binding.ident);
        bindings.push(binding);
    }
    let between = nest.map_or_else(Vec::new, |nest| bindings_of(&nest.between));
    // A method's `self` is a binding like the others: state if mutable and used by the loop.
    if let Some((kind, ident)) = receiver {
        bindings.insert(
            0,
            Binding {
                ident: ident.clone(),
                mutable: *kind != Receiver::Shared,
            },
        );
    }
    let find = |ident: &Ident| bindings.iter().find(|binding| binding.ident == *ident);
    let find_between = |ident: &Ident| between.iter().find(|binding| binding.ident == *ident);
    let mut checked = Vec::new();
    let listed = args
        .state
        .iter()
        .chain(&args.skip)
        .flat_map(|(_, idents)| idents);
    for ident in listed {
        if checked.contains(&ident) {
            errors.push(ident.span(), format!("`{ident}` is listed twice"));
            continue;
        }
        checked.push(ident);
        if find_between(ident).is_some() {
            // Declared between the loops: restored by assignment or shadowing, `mut` or not.
            continue;
        }
        match find(ident) {
            None => errors.push(
                ident.span(),
                format!(
                    "`{ident}` is not a `let` binding at the top level of the function before \
                     its loop{}, so it is not loop state{}",
                    if nest.is_some() {
                        " or between the loops of the nest"
                    } else {
                        ""
                    },
                    if args
                        .skip
                        .as_ref()
                        .is_some_and(|(_, skipped)| skipped.contains(ident))
                    {
                        " and there is nothing to skip"
                    } else {
                        " and cannot be listed as state"
                    }
                ),
            ),
            Some(binding) if !binding.mutable && args.state.is_some() && ident == "self" => errors
                .push(
                    ident.span(),
                    "`self` can be state only in a `&mut self` or `mut self` method, where it can \
                     be restored",
                ),
            Some(binding) if !binding.mutable && args.state.is_some() => errors.push(
                ident.span(),
                format!("state binding `{ident}` must be declared `let mut` so it can be restored"),
            ),
            Some(_) => {}
        }
    }
    if let (Some(_), Some((skip, _))) = (&args.state, &args.skip) {
        errors.push(*skip, "use either `state(...)` or `skip(...)`, not both");
    }
    // Names in the inner loop's body and the statements after it; the iterator alone may move
    // what it names.
    let mut used_later = BTreeSet::new();
    let mut used_by_iterator = BTreeSet::new();
    if let Some(nest) = nest {
        names_in(nest.inner.expr.to_token_stream(), &mut used_by_iterator);
        names_in(nest.inner.body.to_token_stream(), &mut used_later);
        for stmt in &nest.after {
            names_in(stmt.to_token_stream(), &mut used_later);
        }
    }
    let between_state = |selected: &dyn Fn(&Binding) -> bool| -> Vec<BetweenState> {
        between
            .iter()
            .filter(|binding| selected(binding))
            .map(|binding| {
                let name = binding.ident.to_string();
                BetweenState {
                    ident: binding.ident.clone(),
                    mutable: binding.mutable,
                    iterator_only: used_by_iterator.contains(&name) && !used_later.contains(&name),
                }
            })
            .collect()
    };
    let (top, inner): (Vec<Ident>, Vec<BetweenState>) = if let Some((_, listed)) = &args.state {
        let top = listed
            .iter()
            .filter(|ident| find_between(ident).is_none())
            .filter_map(|ident| find(ident).map(|binding| binding.ident.clone()))
            .collect();
        (
            top,
            between_state(&|binding| listed.contains(&binding.ident)),
        )
    } else {
        let skipped: Vec<&Ident> = args.skip.iter().flat_map(|(_, idents)| idents).collect();
        let mut used = BTreeSet::new();
        names_in(looped.body.to_token_stream(), &mut used);
        let top = bindings
            .iter()
            .filter(|binding| binding.mutable && used.contains(&binding.ident.to_string()))
            .filter(|binding| !skipped.contains(&&binding.ident))
            .map(|binding| binding.ident.clone())
            .collect();
        // Between the loops, `let` and `let mut` alike: on resume these statements run again
        // before the state is restored, so a value they computed from the state (an order
        // shuffled with a saved RNG) would come out different; the saved one is used instead.
        let inner = between_state(&|binding| {
            let name = binding.ident.to_string();
            (used_later.contains(&name) || used_by_iterator.contains(&name))
                && !skipped.contains(&&binding.ident)
        });
        (top, inner)
    };
    for BetweenState { ident, .. } in &inner {
        if top.contains(ident) {
            errors.push(
                ident.span(),
                format!(
                    "`{ident}` is declared between the loops and, before the outer loop, as loop \
                     state of the whole function: rename one of them, so that each is restored \
                     where it belongs"
                ),
            );
        }
    }
    (top, inner)
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
        state: Vec::new(),
    })
}

/// The bindings of `append(...)`: each must be loop state, named once.
fn select_append(args: &Args, state: &[Ident], errors: &mut Errors) -> Vec<Ident> {
    let Some((_, listed)) = &args.append else {
        return Vec::new();
    };
    let mut append: Vec<Ident> = Vec::new();
    for ident in listed {
        if append.contains(ident) {
            errors.push(ident.span(), format!("`{ident}` is listed twice"));
        } else if !state.contains(ident) {
            errors.push(
                ident.span(),
                format!(
                    "`{ident}` is named in `append(...)` but is not loop state: only a `let mut` \
                     binding before the loop that the loop uses (or one listed in `state(...)`) \
                     is checkpointed"
                ),
            );
        } else {
            append.push(ident.clone());
        }
    }
    append
}
