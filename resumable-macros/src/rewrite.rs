//! The body rewrites, after the checks: the checkpointed loop's body marked where an iteration
//! first touches the state (`first_use.rs`), then the control flow of what runs in the loop's
//! closure rewritten to keep its meaning (`control_flow.rs`). Takes the model and returns the
//! rewritten statements; the model keeps the user's.

use std::collections::BTreeSet;

use syn::{Block, Expr, ExprForLoop, Stmt};

use crate::control_flow;
use crate::errors::Errors;
use crate::facts::Facts;
use crate::first_use::{self, FirstUse};
use crate::model::Model;
use crate::names;

/// The statements that run in the loop's closure, rewritten.
pub struct Bodies {
    /// The checkpointed loop's body: the single loop's, or a nest's inner loop's.
    pub checkpointed: Block,
    /// A nest's outer loop's statements before the inner loop.
    pub between: Vec<Stmt>,
    /// A nest's outer loop's statements after the inner loop.
    pub after: Vec<Stmt>,
    /// Where the checkpointed loop's body first touches its state.
    pub first_use: FirstUse,
    /// Whether a `break` gives the loop's value (see `model::LoopValue`): without one the
    /// loop's value is `!`.
    pub value_breaks: bool,
}

/// `model`'s loop rewritten, or every error for what could not be.
pub fn rewrite(model: &Model, facts: &Facts) -> syn::Result<Bodies> {
    // Marked before the control flow is rewritten: the rewritten `return`s name the state they
    // hand back (`moved.rs`), which is no touch.
    let (first_use, mut checkpointed) = marked(model, facts);
    let return_type = control_flow::return_type(&model.function.sig.output);
    let Some(nest) = &model.nest else {
        let value_slot = model
            .loop_value
            .as_ref()
            .map(|value| (value.slot.clone(), facts.kept_from_value.clone()));
        let value_breaks = control_flow::rewrite(
            &mut checkpointed,
            None,
            &return_type,
            &facts.by_value,
            value_slot,
        )?;
        return Ok(Bodies {
            checkpointed: checkpointed.body,
            between: Vec::new(),
            after: Vec::new(),
            first_use,
            value_breaks,
        });
    };
    let (mut between, mut after) = (nest.between.clone(), nest.after.clone());
    let rewritten = [
        control_flow::rewrite_returns(&mut between, &return_type),
        control_flow::rewrite(
            &mut checkpointed,
            model.looped.label.as_ref(),
            &return_type,
            &facts.by_value,
            None,
        )
        .map(drop),
        control_flow::rewrite_returns(&mut after, &return_type),
    ];
    let mut errors = Errors::default();
    for error in rewritten.into_iter().filter_map(Result::err) {
        errors.push_error(error);
    }
    errors.finish()?;
    Ok(Bodies {
        checkpointed: checkpointed.body,
        between,
        after,
        first_use,
        value_breaks: false,
    })
}

/// The checkpointed loop, its body marked where each iteration first touches the state (see
/// `first_use.rs`).
fn marked(model: &Model, facts: &Facts) -> (FirstUse, ExprForLoop) {
    let mut defining = model.prelude.clone();
    let mut names: BTreeSet<String> = facts
        .state
        .top_level
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(nest) = &model.nest {
        defining.extend(nest.between.iter().cloned());
        names.extend(
            facts
                .state
                .between
                .iter()
                .map(|between| between.ident.to_string()),
        );
    }
    let touching = first_use::touching(&names, &defining);
    // The generated locals `Parts` makes (`Locals::dirty_at`, `Locals::pulled`).
    let marker: Expr = {
        let (dirty_at, pulled) = (names::local("dirty_at"), names::local("pulled"));
        syn::parse_quote!(#dirty_at = #pulled)
    };
    let mut looped = match &model.nest {
        Some(nest) => nest.inner.clone(),
        None => model.looped.clone(),
    };
    let first_use = first_use::mark(&mut looped.body, &touching, marker);
    (first_use, looped)
}
