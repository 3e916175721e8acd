//! Runs the refusals over the model and its state, in the order their errors are reported:
//! each check is a function of its own file (`refusals.rs`, `iterable.rs`, `progress.rs`,
//! `declarations.rs`, `output_files.rs`) that pushes what it refuses to the one `Errors`. A new
//! refusal is called from here.

use std::collections::BTreeSet;

use quote::ToTokens;
use syn::Ident;

use crate::bindings::{bindings_of, through_closures};
use crate::declarations::check_declarations;
use crate::errors::Errors;
use crate::iterable;
use crate::model::{Model, Receiver};
use crate::names::names_in;
use crate::output_files;
use crate::params::params;
use crate::progress;
use crate::refusals;
use crate::state::State;

/// Pushes to `errors` everything the refusals find wrong with `model`'s loop and `state`.
pub fn check(model: &Model, state: &State, errors: &mut Errors) {
    let Model {
        prelude,
        looped,
        nest,
        skipped_statics,
        ..
    } = model;
    let receiver = model.receiver_binding();
    let params = params(&model.function);
    let mut declared: BTreeSet<String> = bindings_of(prelude)
        .iter()
        .map(|binding| binding.ident.to_string())
        .chain(params.iter().map(|param| param.ident.to_string()))
        .chain(receiver.iter().map(|(_, ident)| ident.to_string()))
        .collect();
    let all_state = state.all();
    let mut used = BTreeSet::new();
    names_in(looped.body.to_token_stream(), &mut used);
    through_closures(prelude, &mut used);
    let prelude_bindings = bindings_of(prelude);
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
    iterable::check_iterable(&looped.expr, errors);
    refusals::check_params(&params, &used, errors);
    refusals::check_statics(&looped.body, &declared, skipped_statics, errors);
    // A `&mut` alias is refused here with what it aliases; not again as a borrow.
    let skipped: Vec<Ident> = model
        .skip
        .iter()
        .flat_map(|(_, idents)| idents)
        .cloned()
        .collect();
    let aliases = check_declarations(prelude, &used, &state.top_level, &skipped, looped, errors);
    let unaliased: Vec<Ident> = state
        .top_level
        .iter()
        .filter(|ident| !aliases.contains(ident))
        .cloned()
        .collect();
    refusals::check_prelude(prelude, &used, &unaliased, &mutable, errors);
    output_files::check_output_files(prelude, &looped.body, &used, &skipped, errors);
    if let Some(nest) = nest {
        iterable::check_iterable(&nest.inner.expr, errors);
        let between_state: Vec<Ident> = state
            .between
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
        refusals::check_prelude(&nest.between, &used_later, &between_state, &mutable, errors);
        // What is opened between the loops is opened again when a resume enters the
        // inner loop, whose checkpoints do not see what it wrote.
        let mut used_inner = BTreeSet::new();
        names_in(nest.inner.body.to_token_stream(), &mut used_inner);
        through_closures(&nest.between, &mut used_inner);
        through_closures(prelude, &mut used_inner);
        output_files::check_output_files(
            &nest.between,
            &nest.inner.body,
            &used_inner,
            &skipped,
            errors,
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
    progress::check_progress(
        model.condition.as_ref(),
        &looped.body,
        &not_state,
        &mutable,
        errors,
    );
}
