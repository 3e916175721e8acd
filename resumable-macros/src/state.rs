//! Which bindings are loop state: those listed in `state(...)`, or every `let mut` binding
//! before the loop (a `mut` parameter, `&mut self`) that the loop names, less `skip(...)`;
//! in a nest, those declared between the loops too; and which of them are `append(...)`.
//! Refuses a list that names what is not state.

use std::collections::BTreeSet;

use quote::ToTokens;
use syn::Ident;

use crate::bindings::{Binding, bindings_of};
use crate::errors::Errors;
use crate::model::{Model, Receiver};
use crate::names::names_in;
use crate::params::params;

/// The state bindings, as spelled where they are declared.
pub struct State {
    /// Declared before the loop (parameters and `self` included).
    pub top_level: Vec<Ident>,
    /// In a nest, declared between the loops: saved after the top-level ones.
    pub between: Vec<BetweenState>,
    /// The state bindings declared append-only, as spelled in `append(...)`.
    pub append: Vec<Ident>,
}

impl State {
    /// The top-level state, then the between-loop state.
    pub fn all(&self) -> Vec<Ident> {
        self.top_level
            .iter()
            .cloned()
            .chain(self.between.iter().map(|between| between.ident.clone()))
            .collect()
    }
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

/// The state of `model`'s loop; what is wrong with `state(...)`, `skip(...)` and
/// `append(...)` goes to `errors`.
pub fn select(model: &Model, errors: &mut Errors) -> State {
    let (top_level, between) = select_state(model, errors);
    let mut state = State {
        top_level,
        between,
        append: Vec::new(),
    };
    state.append = select_append(model, &state.all(), errors);
    state
}

/// The top-level state, then (in a nest) the state declared between the loops.
fn select_state(model: &Model, errors: &mut Errors) -> (Vec<Ident>, Vec<BetweenState>) {
    let params = params(&model.function);
    let receiver = model.receiver_binding();
    let (prelude, looped, nest) = (&model.prelude, &model.looped, model.nest.as_ref());
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
    if let Some((kind, ident)) = &receiver {
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
    let listed = model
        .state_listed
        .iter()
        .chain(&model.skip)
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
                    if model
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
            Some(binding)
                if !binding.mutable && model.state_listed.is_some() && ident == "self" =>
            {
                errors.push(
                    ident.span(),
                    "`self` can be state only in a `&mut self` or `mut self` method, where it can \
                     be restored",
                )
            }
            Some(binding) if !binding.mutable && model.state_listed.is_some() => errors.push(
                ident.span(),
                format!("state binding `{ident}` must be declared `let mut` so it can be restored"),
            ),
            Some(_) => {}
        }
    }
    if let (Some(_), Some((skip, _))) = (&model.state_listed, &model.skip) {
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
    let (top, inner): (Vec<Ident>, Vec<BetweenState>) =
        if let Some((_, listed)) = &model.state_listed {
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
            let skipped: Vec<&Ident> = model.skip.iter().flat_map(|(_, idents)| idents).collect();
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

/// The bindings of `append(...)`: each must be loop state, named once.
fn select_append(model: &Model, state: &[Ident], errors: &mut Errors) -> Vec<Ident> {
    let Some((_, listed)) = &model.append_listed else {
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
