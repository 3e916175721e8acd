//! What the code generation needs to know beyond the model and its state, each computed from
//! them and nothing else: the default key's inputs, the bindings watched for change, those a
//! way out may move, the state the body moves, the `&mut` parameters among the state.

use std::collections::BTreeSet;

use quote::ToTokens;
use syn::{Expr, Ident, ItemFn, Stmt};

use crate::bindings::{bindings_of, collect_bindings, copied_literals, through_closures};
use crate::exit_moves;
use crate::model::{Model, Receiver};
use crate::moved;
use crate::names::names_in;
use crate::params::params;
use crate::state::State;

/// What the code generation reads beside the model and the rewritten bodies.
pub struct Facts {
    /// Which bindings are loop state (see `state.rs`).
    pub state: State,
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
    /// State the body of a single loop moves (`acc = step(acc, i)`): moved into the loop's
    /// closure and handed back with every way out of it (see `moved.rs`).
    pub by_value: Vec<Ident>,
    /// The `&mut T` parameters among the state: saved and restored through `*param`, as
    /// `*self` is in a `&mut self` method.
    pub ref_mut_params: Vec<Ident>,
    /// What a `break value` may not take (see `model::LoopValue`), which the code after the
    /// loop still reads: the state and the bindings the loop's closure owns, unless `Copy`.
    pub kept_from_value: Vec<Ident>,
}

impl Facts {
    /// The facts of a model whose checks passed.
    pub fn new(model: &Model, state: State) -> Facts {
        let Model {
            function,
            prelude,
            looped,
            nest,
            skip,
            ..
        } = model;
        let receiver = model.receiver_binding();
        let params = params(function);
        let top_level = &state.top_level;
        let mut used = BTreeSet::new();
        names_in(looped.body.to_token_stream(), &mut used);
        through_closures(prelude, &mut used);
        let prelude_bindings = bindings_of(prelude);
        let shadowed = |ident: &Ident| {
            prelude_bindings
                .iter()
                .any(|binding| binding.ident == *ident)
        };
        let ref_mut_params: Vec<Ident> = params
            .iter()
            .filter(|param| param.by_ref_mut && top_level.contains(&param.ident))
            .filter(|param| !shadowed(&param.ident))
            .map(|param| param.ident.clone())
            .collect();
        // Moved into the loop's closure and handed back: state, and the `let mut` bindings the
        // loop uses that are not (`skip(model)` with `model = optim.step(model, grads)`).
        let by_value = if nest.is_some() {
            Vec::new()
        } else {
            let movable: Vec<Ident> = top_level
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
            moved::moved_state(&looped.body, &movable, &copied_literals(prelude))
        };
        let copied = copied_literals(prelude);
        let kept_from_value = top_level
            .iter()
            .chain(&by_value)
            .filter(|ident| !copied.contains(ident))
            .cloned()
            .collect();
        let skipped: Vec<&Ident> = skip.iter().flat_map(|(_, idents)| idents).collect();
        let watched = watched(&receiver, function, prelude, &used, top_level, &skipped);
        let key_inputs = key_inputs(&receiver, function);
        let moved_on_exit = exit_moves::moved_on_exit(&looped.body);
        let exit_moved = watched
            .iter()
            .filter(|ident| moved_on_exit.contains(&ident.to_string()))
            .cloned()
            .collect();
        Facts {
            state,
            key_inputs,
            watched,
            exit_moved,
            by_value,
            ref_mut_params,
            kept_from_value,
        }
    }
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

/// The bindings the loop reads but does not own as state: see [`Facts::watched`].
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
