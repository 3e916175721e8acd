//! Code generation: the function with its loop made resumable. This file puts a single loop
//! together and dispatches a loop nest to `expand_nest`; the pieces both use are made in
//! `generated`.
//!
//! Input:
//! ```text
//! #[resumable(every = 1000)]
//! fn squares(n: u64) -> Vec<u64> {
//!     let mut results = Vec::new();          // prelude
//!     for i in 0..n { results.push(i * i); } // the loop
//!     results                                // epilogue
//! }
//! ```
//! Output (paths shortened to `__private::`; generated locals are `__resumable_*` at
//! mixed-site hygiene, so they cannot collide with the user's names):
//! ```text
//! fn squares(n: u64) -> Vec<u64> {
//!     use __private::probe_traits::*;     // the autoref probes' traits (`as _`), once
//!     let key = args_key("squares", [("n", /* fingerprint of n */, /* its text */)]); // or `key = …`
//!     let mut results = Vec::new();
//!     let mut iter = IntoIterator::into_iter(0..n);
//!     let codec_0 = (&&&&CodecOf(&results)).codec(); // spanned at `results`: checks its type
//!     let mut run = __private::Run::start(&Spec { .. }, &[(codec_0.shape)(Some(&results))]);
//!     let mut restore = run.restore_with(seek.load);
//!     if let Some(restore) = &mut restore {
//!         results = (codec_0.take)(restore, results);      // the old value dropped first
//!     }
//!     let fingerprint = fingerprint_of(&iter, |item| /* Hash, serde or Debug of it */);
//!     let mut iter = run.prepare(iter, restore, fingerprint, seek.resume); // nothing left in
//!                                         // the checkpoint; iter.nth(index - 1), and the order
//!                                         // check after a failure
//!     let mut pulled = run.start_index();
//!     let stop = run.stop_flag();                             // SIGINT/SIGTERM set it
//!     let mut saving = false;
//!     let mut dirty_at = u64::MAX;                // where an iteration first touched the state
//!     let exit = catch_unwind(AssertUnwindSafe(|| -> Exit<Vec<u64>> { // `Result<Exit, E>` in a
//!                                                 // function returning a `Result` (`bail!`)
//!         let mut due = run.first_boundary(1000);             // on resume: right away
//!         pulled += 1;                                        // iteration `pulled - 1` starts
//!         let mut item = match iter.next() {
//!             Some(item) => item,
//!             None => return exit(Exit::Completed, ()), // `()`: the state it hands back
//!                                                           // (`(acc,)` for state it moves)
//!         };
//!         let mut boundary = (pulled == due) | (stop.load(Relaxed) != 0); // `| tick` for "30s"
//!         '__resumable_outer: loop {
//!             if !boundary {
//!                 loop {                          // no calls but `next` and the body, so the
//!                     '__resumable_body: {        // state can stay in registers until a boundary
//!                         let current = item;     // what `i` leaves of it is dropped here
//!                         let i = current;
//!                         { results.push(match i * i { v => { dirty_at = pulled; v } }); }
//!                                                   // `return`, `?` rewritten; `break` is
//!                     }                             // `break '__resumable_outer`, `continue`
//!                     pulled += 1;                  // is `break '__resumable_body`
//!                     item = match iter.next() {
//!                         Some(item) => item,
//!                         None => break '__resumable_outer,
//!                     };
//!                     if (pulled == due) | (stop.load(Relaxed) != 0) { break; }
//!                 }
//!             }
//!             // A boundary: `pulled - 1` iterations done, `item` next. After the body in the
//!             // source, so the body has decided the state's types (`Vec::new()`'s element).
//!             due = pulled.saturating_add(stride);       // 1000, or less with a progress bar
//!             // One runtime call saves the state at index `pulled - 1` with the fingerprint of
//!             // `item` (on resume: checks it instead): each binding with the codec its type
//!             // picks here (whole, or only what was appended) and its round-trip comparison.
//!             if let Err(err) = boundary(&mut run, &mut saving, pulled - 1, fingerprint(&item),
//!                                        &[/* watched */], &[&Binding::new(&results, pick, compare)]) {
//!                 return exit(Exit::Abort(err), ());
//!             }
//!             /* if a signal asked: return Exit::Stopped */
//!             boundary = false;
//!         }
//!         exit(Exit::Completed, ())
//!     })).map(into_exit);
//!     // Every way out, one path (`__private::finish`): signals default again; removes the
//!     // checkpoint when the loop completed; after a failure (an `Err` returned, `?`, a
//!     // panic) has the state saved if
//!     // the failing iteration had not touched it (`dirty_at != pulled`), else says what
//!     // stands; routes a failed save to the function's `Err` or the panic; a stop re-raises
//!     // the signal; a panic is resumed.
//!     match finish(&mut run, exit, Ended { pulled, saving, untouched: dirty_at != pulled,
//!                  save: FailureSave::State }, |v| /* is `v` an Err */, route) {
//!         Finished::Return(v) => return v,
//!         Finished::GoOn => {}
//!         Finished::Save(pending) => {   // the bindings listed as at a boundary
//!             save_after_failure(&mut run, pending.index, pending.failure, &[], &[/* … */]);
//!             return pending.saved(&mut run);          // waits for it; or resumes the panic
//!         }
//!     }
//!     results
//! }
//! ```

use proc_macro2::TokenStream;
use quote::quote;

use crate::crate_path::RUNTIME;
use crate::expand_nest;
use crate::facts::Facts;
use crate::generated::{self, Locals};
use crate::model::Model;
use crate::parts::Parts;
use crate::rewrite::Bodies;

pub fn expand(model: &Model, facts: &Facts, bodies: &Bodies) -> TokenStream {
    let parts = Parts::new(model, facts, bodies);
    let block = match &model.nest {
        None => single_loop(model, bodies, &parts),
        Some(nest) => expand_nest::block(model, nest, facts, bodies, &parts),
    };
    let function = &model.function;
    let attrs = &function.attrs;
    let vis = &function.vis;
    let sig = &function.sig;
    let probe_traits = generated::probe_traits();
    quote! {
        #(#attrs)*
        #vis #sig {
            #probe_traits
            #block
        }
    }
}

/// The body of a function whose top-level loop checkpoints.
fn single_loop(model: &Model, bodies: &Bodies, parts: &Parts) -> TokenStream {
    let Parts {
        key_eval,
        name_eval,
        places,
        owned,
        codecs,
        assertions,
        start_run,
        watch,
        every,
        hot_loop,
        fingerprint_of,
        ..
    } = parts;
    let Locals {
        iter,
        run,
        restore,
        pulled,
        exit,
        due,
        stride,
        fingerprint,
        seek,
        ..
    } = &parts.locals;
    let (prelude, looped, epilogue) = (&model.prelude, &model.looped, &model.epilogue);
    let after_loop = parts.after_loop(true);
    let hand_back = parts.hand_back();
    let iterable = &looped.expr;
    let private = quote!(#RUNTIME::__private);
    // A checkpoint that does not decode, or an iterator that does not yield what the saved
    // run's did: returned as the function's `Err`, or the panic (see `generated::route_error`).
    // A resume holds the state once: a binding of the function's own is handed to `take`,
    // which drops it before decoding (or decodes over it: a `Vec` of numbers). One behind the
    // caller's `&mut` (`*self`, a `&mut` parameter) is decoded whole, then assigned: a
    // checkpoint that does not decode leaves the caller's value as it came in.
    let loads = codecs
        .iter()
        .zip(places)
        .zip(owned)
        .map(|((codec, place), owned)| {
            if *owned {
                let taken = parts.or_route(quote!((#codec.take)(#restore, #place)));
                quote!(#place = #taken)
            } else {
                let fresh = parts.or_route(quote!((#codec.fresh)(#restore)));
                quote!(#place = #fresh)
            }
        });
    // What is left of the checkpoint is checked there too (`Restore::finish`).
    let prepare = parts.or_route(quote!(#run.prepare(#iter, #restore, #fingerprint, #seek.resume)));
    let run_loop = parts.catching(quote! {
        // Moved in: owned by the loop, as a `for` loop owns its iterator (and dropped
        // when the loop ends, as there).
        let mut #iter = #iter;
        let mut #due: u64 = #run.first_boundary(#every);
        let #stride: u64 = #run.stride();
        #hot_loop
    });
    let (declare_value, take_value) = loop_value(model, bodies);
    quote! {
        #key_eval
        #name_eval
        #(#prelude)*
        #declare_value
        let mut #iter = ::core::iter::IntoIterator::into_iter(#iterable);
        let #seek = (&#private::Seek(&#iter)).seeker();
        #(#assertions)*
        #start_run
        let mut #restore = #run.restore_with(#seek.load);
        if let ::core::option::Option::Some(#restore) = &mut #restore {
            #( #loads; )*
        }
        #fingerprint_of
        let mut #iter = #prepare;
        let mut #pulled: u64 = #run.start_index();
        #watch
        let #exit = #run_loop;
        #hand_back
        #after_loop
        #take_value
        #(#epilogue)*
    }
}

/// For a `loop` whose value is used (`let found = loop { … break i; };`): the slot each
/// `break` stores the value in, declared before the loop, and the statement after it that
/// binds or returns the value.
fn loop_value(model: &Model, bodies: &Bodies) -> (TokenStream, TokenStream) {
    let Some(value) = &model.loop_value else {
        return (quote!(), quote!());
    };
    let slot = &value.slot;
    let (declare, taken) = if bodies.value_breaks {
        (
            quote!(let mut #slot = ::core::option::Option::None;),
            quote! {
                match #slot {
                    ::core::option::Option::Some(#slot) => #slot,
                    ::core::option::Option::None => {
                        ::core::unreachable!("a `loop` ends only through a `break`")
                    }
                }
            },
        )
    } else {
        // No `break`: the loop's value is `!`, as without the attribute.
        (
            quote!(),
            quote!(::core::unreachable!("a `loop` ends only through a `break`")),
        )
    };
    let take = match &value.binding {
        Some(binding) => {
            let mut binding = binding.clone();
            binding.init = Some(syn::LocalInit {
                eq_token: Default::default(),
                expr: Box::new(syn::parse_quote!(#taken)),
                diverge: None,
            });
            quote!(#binding)
        }
        None => taken,
    };
    (declare, take)
}
