//! Code generation for a loop nest (`inner = 'label`): the outer loop drives, the inner loop
//! is the hot loop of a single loop (see `expand`), and the checkpoint saves the position
//! `(outer, inner)`, the function-level state and the state declared between the loops.
//!
//! Input:
//! ```text
//! #[resumable(every = 100, inner = 'batches)]
//! fn train(epochs: u64, data: &[f32]) -> Vec<f32> {
//!     let mut losses = Vec::new();                // function-level state
//!     for epoch in 0..epochs {
//!         let mut loss = 0.0;                     // between-loop state
//!         'batches: for batch in data.chunks(8) { loss += batch[0]; }
//!         losses.push(loss);                      // after the inner loop
//!     }
//!     losses
//! }
//! ```
//! Output (abridged; the hot loop and the exits as for a single loop):
//! ```text
//! let mut losses = Vec::new();
//! let mut outer_iter = IntoIterator::into_iter(0..epochs);
//! let mut position: (u64, u64) = (0, 0);
//! /* codecs: position and `losses` checked at the binding, `loss` by `codec_of()`, its type
//!    decided in the outer loop's body; all their shapes go to Run::start */
//! let mut restore = run.restore().map(Box::new);          // position first
//! let mut outer_iter = run.skip(outer_iter, position.0, restore.is_some())?; // or a panic
//! let exit = catch_unwind(|| {
//!     for outer_item in outer_iter {                       // the user's label, if any
//!         let outer_at = outer_next; outer_next += 1;
//!         run.new_outer_iteration(2);                      // `loss` is saved whole next
//!         let epoch = outer_item;
//!         let mut loss = 0.0;                              // runs again on resume...
//!         if let Some(restore) = restore.take() {          // ...then the saved state:
//!             load(restore, &mut losses); load(restore, &mut loss); // into their values
//!             inner_done = position.1;
//!         }
//!         let iter = run.skip_inner(IntoIterator::into_iter(data.chunks(8)), inner_done)?;
//!         let base = pulled - inner_done;
//!         let inner_exit = catch_unwind(|| { /* hot loop; saves set position = (outer_at,
//!                                       pulled - 1 - base) and save position, losses, loss */ });
//!         /* a failure saves here, where `loss` exists (`finish_inner`, with the save written
//!            once as for a single loop), then leaves the closure or resumes the panic */
//!         losses.push(loss);
//!     }
//!     Exit::Completed
//! });
//! /* `finish` as for a single loop, without saving: failures saved where they happened */
//! ```

use crate::crate_path::RUNTIME;
use proc_macro2::TokenStream;
use quote::quote;

use crate::facts::Facts;
use crate::generated::{Locals, place_mut};
use crate::model::{Model, Nest};
use crate::names::local;
use crate::parts::Parts;
use crate::rewrite::Bodies;

/// The body of a function whose loop nest checkpoints inside its inner loop.
pub fn block(
    model: &Model,
    nest: &Nest,
    facts: &Facts,
    bodies: &Bodies,
    parts: &Parts,
) -> TokenStream {
    let Parts {
        key_eval,
        name_eval,
        state,
        places,
        codecs,
        top,
        encoded,
        assertions,
        between_append_only,
        start_run,
        watch,
        every,
        hot_loop,
        save_failed,
        failure_save,
        untouched,
        is_failure,
        fingerprint_of,
        ..
    } = parts;
    let top = *top;
    let Locals {
        iter,
        run,
        restore,
        pulled,
        exit,
        value,
        err,
        due,
        stride,
        position,
        outer_at,
        base,
        ..
    } = &parts.locals;
    let (prelude, looped, epilogue) = (&model.prelude, &model.looped, &model.epilogue);
    let private = quote!(#RUNTIME::__private);
    let ended = parts.ended(untouched, failure_save);
    let outer_iter = local("outer_iter");
    let outer_item = local("outer_item");
    let outer_next = local("outer_next");
    let inner_done = local("inner_done");
    let restoring = local("restoring");
    let inner_exit = local("inner_exit");
    let pending = local("pending");
    let save_failed = save_failed.clone().unwrap_or_default();
    let outer_pat = &looped.pat;
    let outer_iterable = &looped.expr;
    let outer_label = &looped.label;
    let outer_attrs = &looped.attrs;
    let between = &bodies.between;
    let after = &bodies.after;
    let inner_iterable = &nest.inner.expr;
    let position_codec = &codecs[0];
    let top_places = &places[1..top];
    let top_codecs = &codecs[1..top];
    // A saved value that does not decode, inside the outer loop's closure: it leaves the
    // closure as an `Abort`, which `after_loop` returns as the function's `Err` or panics with.
    let in_loop = |load: TokenStream| {
        quote! {
            match #load {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#err) => {
                    return #private::exit(#private::Exit::Abort(#err), ());
                }
            }
        }
    };
    // Into the values the bindings hold; one behind the caller's `&mut` whole, then assigned,
    // as in a single loop (see `expand::single_loop`).
    let top_owned = &parts.owned[1..top];
    let top_loads =
        top_codecs
            .iter()
            .zip(top_places)
            .zip(top_owned)
            .map(|((codec, place), owned)| {
                if *owned {
                    let place = place_mut(place);
                    in_loop(quote!((#codec.load)(#restore, #place)))
                } else {
                    let fresh = in_loop(quote!((#codec.fresh)(#restore)));
                    quote!(#place = #fresh)
                }
            });
    let finish = in_loop(quote!(#restore.finish()));
    let position_load = parts.or_route(quote!((#position_codec.load)(#restore, &mut #position)));
    // An iterator that does not match the saved run: the function's `Err`, or a panic.
    let skip_outer =
        parts.or_route(quote!(#run.skip(#outer_iter, #position.0, #restore.is_some())));
    let skip_inner = in_loop(quote!(#run.skip_inner(#iter, #inner_done)));
    // Between-loop state, decoded into its value: a `let` is shadowed by a `let mut` first.
    let restore_between = facts
        .state
        .between
        .iter()
        .zip(&codecs[top..])
        .map(|(between, codec)| {
            let ident = &between.ident;
            let place = place_mut(&quote!(#ident));
            let load = in_loop(quote!((#codec.load)(#restore, #place)));
            if between.mutable {
                quote! {
                    if let ::core::option::Option::Some(#restore) = &mut #restoring {
                        #load;
                    }
                }
            } else {
                quote! {
                    let #ident = {
                        let mut #ident = #ident;
                        if let ::core::option::Option::Some(#restore) = &mut #restoring {
                            #load;
                        }
                        #ident
                    };
                }
            }
        });
    let top_literal = top;
    let encode_now =
        state
            .iter()
            .zip(codecs)
            .zip(encoded)
            .filter_map(|((ident, codec), encoded)| {
                let encoded = encoded.as_ref()?;
                Some(quote! {
                    let #encoded = #RUNTIME::__private::encoded(#codec, &#ident);
                })
            });
    let after_loop = parts.after_loop(false);
    let run_inner = parts.catching(quote! {
        let mut #iter = #iter;
        #hot_loop
    });
    let run_outer = parts.catching(quote! {
        let mut #due: u64 = #run.first_boundary(#every);
        let #stride: u64 = #run.stride();
        #(#outer_attrs)*
        #outer_label for #outer_item in #outer_iter {
            let #outer_at: u64 = #outer_next;
            #outer_next += 1;
            #run.new_outer_iteration(#top_literal);
            let #outer_pat = #outer_item;
            #(#between)*
            #(#between_append_only)*
            // On resume, the iteration the checkpoint was saved in: its state (the
            // function's too, which the statements above may have changed) is put
            // back, and its inner loop skips what was done.
            let mut #inner_done: u64 = 0;
            let mut #restoring = #restore.take();
            if let ::core::option::Option::Some(#restore) = &mut #restoring {
                #( #top_loads; )*
                #inner_done = #position.1;
            }
            #(#restore_between)*
            if let ::core::option::Option::Some(#restore) = #restoring {
                #finish;
            }
            #(#encode_now)*
            let #iter = ::core::iter::IntoIterator::into_iter(#inner_iterable);
            #fingerprint_of
            let #iter = #skip_inner;
            let #base: u64 = #pulled - #inner_done;
            let #inner_exit = #run_inner;
            // A failure in the inner loop saves here, where the state declared
            // between the loops still exists; one outside it keeps the last
            // checkpoint.
            match #private::finish_inner(
                &mut #run,
                #inner_exit,
                #ended,
                #is_failure,
            ) {
                #private::InnerFinished::GoOn => {}
                #private::InnerFinished::Leave(#exit) => return #private::exit(#exit, ()),
                #private::InnerFinished::Save(#pending) => {
                    #save_failed
                    return #private::exit(#pending.saved(&mut #run), ());
                }
            }
            #(#after)*
        }
        // Ended before the iteration the checkpoint was saved in: its state was never put back.
        if #restore.is_some() {
            return #private::exit(
                #private::Exit::Abort(#run.outer_ended_early(#position.0)),
                (),
            );
        }
        #private::exit(#private::Exit::Completed, ())
    });
    quote! {
        #key_eval
        #name_eval
        #(#prelude)*
        let mut #outer_iter = ::core::iter::IntoIterator::into_iter(#outer_iterable);
        let mut #position: (u64, u64) = (0, 0);
        #(#assertions)*
        #start_run
        // Boxed: every outer iteration takes it, and only the first of a resumed run finds
        // it; moving the unboxed `Option` each time cost 15 ns (see BENCHMARKS.md).
        let mut #restore = #run.restore().map(::std::boxed::Box::new);
        if let ::core::option::Option::Some(#restore) = &mut #restore {
            #position_load;
            #run.resuming_at(#position);
        }
        let mut #outer_iter = #skip_outer;
        #run.size_hint((0, ::core::option::Option::None));
        let mut #pulled: u64 = #run.start_index();
        let mut #outer_next: u64 = #position.0;
        #watch
        let #exit = #run_outer;
        #after_loop
        #(#epilogue)*
    }
}
