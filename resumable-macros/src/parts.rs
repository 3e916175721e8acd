//! The generated code's pieces, from the model (`generated_start`, `generated_state`,
//! `generated_loop`), and what the ways out of the loop do: the expansions of a single loop
//! (`expand`) and a loop nest (`expand_nest`) put them together.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::Ident;

use crate::crate_path::RUNTIME;
use crate::facts::Facts;
use crate::generated::{Locals, Returns, route_error};
use crate::generated_loop::{Schedule, fingerprint_of, hot_loop, watch};
use crate::generated_start::{SpecNames, checkpoint_name, key_and_dir, start_run};
use crate::generated_state::{
    Failure, Layout, assertions, between_append_only, state_list, watch_list,
};
use crate::model::Model;
use crate::names::local;
use crate::rewrite::Bodies;

/// The pieces, as tokens.
pub struct Parts {
    pub locals: Locals,
    /// `let` statements run on entry: the key's and the directory's (`key = …`, `dir = …`).
    pub key_eval: TokenStream,
    /// A method's default checkpoint name, computed at run time.
    pub name_eval: TokenStream,
    /// The state, in the order it is saved: in a nest the position `(outer, inner)` first and
    /// the bindings declared between the loops last.
    pub state: Vec<Ident>,
    /// Where each state binding's value lives: the binding, or `(*self)`.
    pub places: Vec<TokenStream>,
    /// Whether each place is a binding of the function's own, which a single loop's restore
    /// moves out of (not one behind a `&mut`).
    pub owned: Vec<bool>,
    /// Each state binding's codec local.
    pub codecs: Vec<Ident>,
    /// How many of `state` are saved before the between-loop bindings.
    pub top: usize,
    /// For each state binding, the local holding its bytes when it is serialized ahead (a
    /// between-loop binding only the inner iterator names).
    pub encoded: Vec<Option<Ident>>,
    /// The codecs, each checking its binding's type at the binding.
    pub assertions: Vec<TokenStream>,
    /// The `append(...)` checks of between-loop bindings, once they are declared.
    pub between_append_only: Vec<TokenStream>,
    /// `let fingerprint = …`: how the loop's items are fingerprinted, once `iter` exists.
    pub fingerprint_of: TokenStream,
    /// `let mut run = Run::start(..)`.
    pub start_run: TokenStream,
    /// The stop flag, the timer's flag, `saving`.
    pub watch: TokenStream,
    /// `every`, as a literal.
    pub every: Literal,
    /// The checkpointed loop from its first item, saving at boundaries.
    pub hot_loop: TokenStream,
    /// How a failure saves the state once the loop has ended, at `pending.index` (`None` when
    /// a failure cannot save).
    pub save_failed: Option<TokenStream>,
    /// The `FailureSave` handed to `finish`.
    pub failure_save: TokenStream,
    /// Whether the failing iteration had not touched the state yet (see `first_use.rs`).
    pub untouched: TokenStream,
    /// `fn(&R) -> bool`: whether a value returned from the loop is an `Err`.
    pub is_failure: TokenStream,
    is_async: bool,
    return_type: TokenStream,
    /// When the return type is spelled `…Result<…>`, its error type: see [`Parts::catching`].
    result_error: Option<TokenStream>,
    /// The function declares a return type that can be named (no `impl Trait`): a runtime
    /// error may be returned as its `Err` (see `generated::route_closure`).
    may_be_result: bool,
    /// State the body moves: see [`Parts::catching`].
    by_value: Vec<Ident>,
}

impl Parts {
    /// Each piece, from the model: one function per piece, in the file of its job.
    pub fn new(model: &Model, facts: &Facts, bodies: &Bodies) -> Parts {
        let locals = Locals::new();
        let (key_eval, key, dir) = key_and_dir(model, facts);
        let (name_eval, path, name) = checkpoint_name(model);
        let layout = Layout::new(model, facts, &locals.position);
        let state_list = state_list(facts, &layout);
        let watch_list = watch_list(facts);
        let returns = Returns::new(&model.function.sig.output);
        let failure = Failure::new(model, facts, bodies, &locals, &watch_list, &state_list);
        let schedule = Schedule::new(model.every);
        let start_run = start_run(
            model,
            facts,
            &locals,
            &layout,
            &returns,
            &schedule,
            SpecNames {
                key,
                dir,
                path,
                name,
            },
        );
        Parts {
            hot_loop: hot_loop(
                model,
                facts,
                bodies,
                &locals,
                &schedule,
                &watch_list,
                &state_list,
            ),
            watch: watch(bodies, &locals, &schedule),
            fingerprint_of: fingerprint_of(&locals),
            assertions: assertions(facts, &layout),
            between_append_only: between_append_only(facts, &layout),
            locals,
            key_eval,
            name_eval,
            state: layout.state,
            places: layout.places,
            owned: layout.owned,
            codecs: layout.codecs,
            top: layout.top,
            encoded: layout.encoded,
            start_run,
            every: schedule.every,
            save_failed: failure.save_failed,
            failure_save: failure.failure_save,
            untouched: failure.untouched,
            is_failure: returns.is_failure,
            is_async: model.function.sig.asyncness.is_some(),
            return_type: returns.return_type,
            result_error: returns.result_error,
            may_be_result: returns.may_be_result,
            by_value: facts.by_value.clone(),
        }
    }

    /// `expr` (a `Result<T, resumable::Error>`, outside the loop's closure: the checkpoint,
    /// the iterator) unwrapped, its error returned as the function's `Err` or panicked with
    /// (see [`route_error`]).
    pub fn or_route(&self, expr: TokenStream) -> TokenStream {
        let err = &self.locals.err;
        let value = &self.locals.value;
        let route = route_error(self.may_be_result, err);
        quote! {
            match #expr {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#err) => #route,
            }
        }
    }

    /// What each way out of the loop does, once `exit` holds how it ended: one call into the
    /// runtime (`finish`), which returns the function's value or goes on after the loop. With
    /// `saves_failures` (a single loop) a failure saves there; a nest saved its failures where
    /// they happened, or keeps its last checkpoint.
    pub fn after_loop(&self, saves_failures: bool) -> TokenStream {
        let Locals {
            run, exit, value, ..
        } = &self.locals;
        let private = quote!(#RUNTIME::__private);
        let (save_failed, untouched, failure_save) = match &self.save_failed {
            Some(save_failed) if saves_failures => (
                save_failed.clone(),
                self.untouched.clone(),
                self.failure_save.clone(),
            ),
            None if saves_failures => (quote!(), self.untouched.clone(), self.failure_save.clone()),
            _ => (
                quote!(),
                quote!(false),
                quote!(#private::FailureSave::Elsewhere),
            ),
        };
        let ended = self.ended(&untouched, &failure_save);
        let route = self.route_fn();
        let is_failure = &self.is_failure;
        let pending = local("pending");
        quote! {
            match #private::finish(
                &mut #run,
                #exit,
                #ended,
                #is_failure,
                #route,
            ) {
                #private::Finished::Return(#value) => return #value,
                #private::Finished::GoOn => {}
                #private::Finished::Save(#pending) => {
                    #save_failed
                    return #pending.saved(&mut #run);
                }
            }
        }
    }

    /// The loop's progress as `finish` and `finish_inner` take it: where the loop stood, whether
    /// a save was in flight, whether the failing iteration had touched the state, and how a
    /// failure saves (`untouched`, `failure_save`: `false` and `Elsewhere` where it cannot).
    pub fn ended(&self, untouched: &TokenStream, failure_save: &TokenStream) -> TokenStream {
        let Locals { pulled, saving, .. } = &self.locals;
        quote! {
            #RUNTIME::__private::Ended {
                pulled: #pulled,
                saving: #saving,
                untouched: #untouched,
                save: #failure_save,
            }
        }
    }

    /// Where `finish` sends a failed save: the `route` closure, which returns it as the
    /// function's `Err` when it can be, else `no_route` (the panic).
    fn route_fn(&self) -> TokenStream {
        if self.may_be_result {
            let route = local("route");
            quote!(#route)
        } else {
            quote!(#RUNTIME::__private::no_route)
        }
    }

    /// Runs `body` (which returns an `Exit`) so that a panic in it is caught: in a closure, or
    /// in an async fn, in an async block polled through `CatchUnwind` (its `.await`s stay in
    /// the body).
    ///
    /// In a function that returns a `Result`, the closure (or block) returns
    /// `Result<Exit, E>`, so that a `return Err(e)` the macro cannot see (one written in a
    /// macro's definition: `anyhow::bail!`, `ensure!`, the user's own) is its `Err`; either
    /// way the caught value is then made an `Exit`, that `Err` a failure returning it.
    pub fn catching(&self, body: TokenStream) -> TokenStream {
        let private = quote!(#RUNTIME::__private);
        let return_type = &self.return_type;
        let by_value = &self.by_value;
        let mut output = if by_value.is_empty() {
            quote!(#private::Exit<#return_type>)
        } else {
            quote!((#private::Exit<#return_type>, _))
        };
        if let Some(error) = &self.result_error {
            output = quote!(::core::result::Result<#output, #error>);
        }
        // State the body moves lives in the closure from here on (see `moved.rs`).
        let body = quote! {
            #(
                #[allow(unused_mut)]
                let mut #by_value = #by_value;
            )*
            #body
        };
        let caught = if self.is_async {
            quote! {
                #private::CatchUnwind::new(#private::exit_future::<#output, _>(async { #body }))
                    .await
            }
        } else {
            quote! {
                ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
                    || -> #output { #body },
                ))
            }
        };
        if by_value.is_empty() {
            quote!(#caught.map(#private::into_exit))
        } else {
            caught
        }
    }

    /// With state the body moved: takes it back from what the loop's closure returned and
    /// makes `exit` the usual `Result<Exit, panic>`. A panic (or an error returned where
    /// the macro cannot see) dropped that state, so nothing can be saved: the last
    /// checkpoint stands. So does an error returned with the state in it (`return Err(out)`,
    /// handed back as `None`); a value returned so completes the run.
    pub fn hand_back(&self) -> TokenStream {
        let by_value = &self.by_value;
        if by_value.is_empty() {
            return quote!();
        }
        let Locals {
            run, pulled, exit, ..
        } = &self.locals;
        let private = quote!(#RUNTIME::__private);
        let is_failure = &self.is_failure;
        let route = self.route_fn();
        let lost = local("lost");
        let back: Vec<Ident> = (0..by_value.len())
            .map(|i| local(&format!("back_{i}")))
            .collect();
        let state = local("handed_back");
        quote! {
            let #exit = match #exit.map(#private::into_parts) {
                ::core::result::Result::Ok((
                    #exit,
                    ::core::option::Option::Some(::core::option::Option::Some(#state)),
                )) => {
                    let (#(#back,)*) = #state;
                    // Read after the loop, or by a save after a failure; maybe neither.
                    #[allow(unused_assignments)]
                    {
                        #( #by_value = #back; )*
                    }
                    ::core::result::Result::Ok(#exit)
                }
                // The state went with the value returned (`return out`), or an error
                // returned where the macro cannot see, or a panic, dropped it.
                #lost => return #private::state_lost(&mut #run, #lost, #pulled, #is_failure, #route),
            };
        }
    }
}
