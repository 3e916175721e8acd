//! Code generation: the function with its loop made resumable.
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
//!     let mut results = Vec::new();
//!     let mut iter = IntoIterator::into_iter(0..n);
//!     let codec_0 = __private::codec(&results);  // spanned at `results`: checks its type
//!     let mut run = __private::Run::start(&Spec { .. }, &[(codec_0.shape)()]);
//!     if let Some(mut restore) = run.restore() {
//!         results = (codec_0.load)(&mut restore);
//!         restore.finish();
//!     }
//!     let mut iter = run.prepare(iter);                       // iter.nth(index - 1)
//!     let mut pulled = run.start_index();
//!     let stop = run.stop_flag();                             // SIGINT/SIGTERM set it
//!     let mut saving = false;
//!     let exit = catch_unwind(AssertUnwindSafe(|| -> Exit<Vec<u64>> {
//!         let mut due = run.first_boundary(1000);             // on resume: right away
//!         pulled += 1;                                        // iteration `pulled - 1` starts
//!         let mut item = match iter.next() {
//!             Some(item) => item,
//!             None => return Exit::Completed,
//!         };
//!         let mut boundary = (pulled == due) | (stop.load(Relaxed) != 0); // `| tick` for "30s"
//!         '__resumable_outer: loop {
//!             if !boundary {
//!                 loop {                          // no calls but `next` and the body, so the
//!                     '__resumable_body: {        // state can stay in registers until a boundary
//!                         let current = item;     // what `i` leaves of it is dropped here
//!                         let i = current;
//!                         { results.push(i * i); }  // `return`, `?` rewritten; `break` is
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
//!             /* save `results` at index `pulled - 1` with the hash of `item` (on resume: check
//!                that hash instead), each binding whole, or only what was appended; if a
//!                signal asked: return Exit::Stopped */
//!             boundary = false;
//!         }
//!         Exit::Completed
//!     }));
//!     run.end_watch();                                        // signals: default again
//!     match exit {
//!         Ok(Exit::Completed) => run.complete(),              // removes the checkpoint
//!         Ok(Exit::Returned(v)) => { /* save if `v` is an Err, else complete */ return v; }
//!         Ok(Exit::Failed(v)) => { /* save at pulled - 1 */ return v; }
//!         Ok(Exit::Abort(err)) => run.abort(err),             // panics
//!         Ok(Exit::Stopped) => run.stopped(pulled - 1),       // re-raises the signal
//!         Err(panic) => { /* save at pulled - 1 */ resume_unwind(panic) }
//!     };
//!     results
//! }
//! ```

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Ident, ReturnType};

use crate::control_flow;
use crate::erase_impl_trait::{erase_impl_trait, is_impl_trait};
use crate::model::{Every, Model, Receiver};

pub fn expand(model: Model) -> TokenStream {
    let Model {
        function,
        every,
        name,
        prelude,
        looped,
        epilogue,
        state,
        signals,
        append,
        key,
        receiver,
        nest,
    } = model;
    // Generated locals: mixed-site hygiene keeps them apart from every name the user writes.
    let local = |name: &str| Ident::new(&format!("__resumable_{name}"), Span::mixed_site());
    let iter = local("iter");
    let run = local("run");
    let restore = local("restore");
    let pulled = local("pulled");
    let saving = local("saving");
    let stop = local("stop");
    let exit = local("exit");
    let due = local("due");
    let save = local("save");
    let value = local("value");
    let payload = local("payload");
    let item = local("item");
    let err = local("err");
    let next_item = local("next_item");
    let tick = local("tick");
    let stride = local("stride");
    let boundary = local("boundary");
    let current = local("current");
    let outer_label = control_flow::label(control_flow::OUTER_LABEL, Span::call_site());
    let body_label = control_flow::label(control_flow::BODY_LABEL, Span::call_site());
    let private = quote!(::resumable::__private);
    let key_local = local("key");
    // `key = expr`: evaluated first, from the arguments, before the body can move them.
    let (key_eval, key_field) = match &key {
        Some(expr) => (
            quote_spanned!(syn::spanned::Spanned::span(expr)=>
                let #key_local = ::resumable::__private::key(&(#expr));),
            quote!(::core::option::Option::Some(&#key_local)),
        ),
        None => (quote!(), quote!(::core::option::Option::None)),
    };

    let function_name = function.sig.ident.to_string();
    let is_async = function.sig.asyncness.is_some();
    // A method's default name has its type in it (`Grid<f64>::step`), computed at run time:
    // two types' methods of the same name, or two instantiations of a generic impl, must not
    // share a checkpoint.
    let name_local = local("name");
    let (name_eval, checkpoint_name) = match (&name, receiver) {
        (Some(name), _) => (quote!(), quote!(#name)),
        (None, None) => (
            quote!(),
            quote!(::core::concat!(::core::module_path!(), "::", #function_name)),
        ),
        (None, Some(_)) => (
            quote!(let #name_local = #private::method_name::<Self>(#function_name);),
            quote!(&#name_local),
        ),
    };
    // In a nest, the state saved is the position `(outer, inner)`, the function-level state,
    // then the state declared between the loops; `top` counts the first two.
    let position = local("position");
    let top_state = state;
    let mut state: Vec<Ident> = Vec::new();
    if nest.is_some() {
        state.push(position.clone());
    }
    state.extend(top_state.iter().cloned());
    let top = state.len();
    if let Some(nest) = &nest {
        state.extend(nest.state.iter().map(|between| between.ident.clone()));
    }
    // Between-loop state that only the inner loop's iterator names, serialized before it is
    // created (which may move it): aligned with `state`.
    let encoded: Vec<Option<Ident>> = (0..state.len())
        .map(|i| {
            let between = nest
                .as_ref()
                .and_then(|nest| nest.state.get(i.checked_sub(top)?));
            between
                .filter(|between| between.iterator_only)
                .map(|_| local(&format!("encoded_{i}")))
        })
        .collect();
    let state_names = state.iter().map(|ident| {
        if *ident == position {
            "(outer, inner)".to_owned()
        } else {
            ident.to_string()
        }
    });
    // Where each binding's value lives: the binding, or `*self` in a `&mut self` method.
    let places: Vec<TokenStream> = state
        .iter()
        .map(|ident| match receiver {
            Some(Receiver::RefMut) if ident == "self" => quote_spanned!(ident.span()=> (*#ident)),
            _ => quote!(#ident),
        })
        .collect();
    // A duration saves when a timer thread raises `tick`; its count of iterations never comes.
    let (every, interval_ms) = match every {
        Every::Iterations(count) => (count, 0),
        Every::Interval(ms) => (u64::MAX, ms),
    };
    let every_literal = Literal::u64_suffixed(every);
    let interval_literal = Literal::u64_suffixed(interval_ms);
    let tick_set = if interval_ms > 0 {
        quote!(| #tick.load(::core::sync::atomic::Ordering::Relaxed))
    } else {
        quote!()
    };
    // The one check per iteration: a boundary is due, or a signal asked to stop (or the timer
    // ticked). `|`, not `||`: nothing to short-circuit (measured 0.1 vs 0.4 ns in the former
    // one-loop shape; the same in this one).
    let due_now = quote! {
        (#pulled == #due)
            | (#stop.load(::core::sync::atomic::Ordering::Relaxed) != 0)
            #tick_set
    };
    let tick_local = if interval_ms > 0 {
        quote!(let #tick = #run.tick_flag();)
    } else {
        quote!()
    };
    let codecs: Vec<Ident> = state
        .iter()
        .enumerate()
        .map(|(i, ident)| {
            Ident::new(
                &format!("__resumable_codec_{i}"),
                Span::mixed_site().located_at(ident.span()),
            )
        })
        .collect();
    // Each binding's type is checked at the binding, and a binding named in `append(...)`
    // is checked to be a `Vec` or a `String` there.
    let append_only = |ident: &Ident, place: &TokenStream, codec: &Ident| {
        let declared = append.iter().find(|declared| *declared == ident);
        declared.map(|declared| {
            quote_spanned! {declared.span()=>
                let #codec = ::resumable::__private::append_only(&#place, #codec);
            }
        })
    };
    let assertions: Vec<TokenStream> = state
        .iter()
        .zip(&places)
        .zip(&codecs)
        .enumerate()
        .map(|(i, ((ident, place), codec))| {
            if i >= top {
                // Declared between the loops: the type is decided in the outer loop's body.
                return quote_spanned!(ident.span()=>
                    let #codec = ::resumable::__private::codec_of(););
            }
            let check =
                quote_spanned!(ident.span()=> let #codec = ::resumable::__private::codec(&#place););
            let append_only = append_only(ident, place, codec);
            quote!(#check #append_only)
        })
        .collect();
    // Between the loops, once they are declared.
    let between_append_only: Vec<TokenStream> = state
        .iter()
        .zip(&places)
        .zip(&codecs)
        .skip(top)
        .filter_map(|((ident, place), codec)| append_only(ident, place, codec))
        .collect();
    // How each binding is saved: only what was appended if declared in `append(...)` or found
    // growing (a `Vec` of plain items, a `String`: chosen here, after the loop body in the
    // source, so that a `Vec::new()` whose element type the body decides is known), else whole.
    let save_each = state.iter().zip(&places).zip(&codecs).zip(&encoded).map(|(((ident, place), codec), encoded)| {
        if let Some(encoded) = encoded {
            return quote!(#save.encoded(&#encoded););
        }
        if append.contains(ident) {
            return quote_spanned! {ident.span()=>
                {
                    #[allow(unused_imports)]
                    use ::resumable::__private::{AppendsAny as _, AppendsPlain as _};
                    let #codec = (&::resumable::__private::Pick(&#place)).pick_append(#codec);
                    (#codec.save)(&mut #save, &#place);
                }
            };
        }
        quote_spanned! {ident.span()=>
            {
                #[allow(unused_imports)]
                use ::resumable::__private::{Grows as _, Whole as _};
                ((&::resumable::__private::Pick(&#place)).pick(#codec).save)(&mut #save, &#place);
            }
        }
    });
    let save_state = quote!(#(#save_each)*);
    // In a nest, where the loop is, set before each save: the outer loop's iteration, and the
    // inner loop's iterations completed in it (`pulled` counts them over the whole run).
    let outer_at = local("outer_at");
    let base = local("base");
    let set_position = if nest.is_some() {
        quote!(#position = (#outer_at, #pulled - 1 - #base);)
    } else {
        quote!()
    };
    let save_after = |failure: &str| {
        quote! {{
            #set_position
            let mut #save = #run.save(#pulled - 1, ::core::option::Option::None);
            #save_state
            #save.commit_after_failure(#failure);
        }}
    };
    let save_after_error = save_after("the function returned an error");
    let save_after_try = save_after("`?` returned early with an error");
    let save_after_panic = save_after("a panic");

    let (return_type, may_be_result) = match &function.sig.output {
        ReturnType::Default => (quote!(()), false),
        ReturnType::Type(_, ty) => {
            let erased = erase_impl_trait((**ty).clone());
            (quote!(#erased), !is_impl_trait(ty))
        }
    };
    let returned_is_failure = if may_be_result {
        quote! {{
            #[allow(unused_imports)]
            use #private::{ReturnedOther as _, ReturnedResult as _};
            (&#private::Returned(&#value)).is_failure()
        }}
    } else {
        quote!(false)
    };
    // Runs `body` (which returns an `Exit`) so that a panic in it is caught: in a closure, or
    // in an async fn, in an async block polled through `CatchUnwind` (its `.await`s stay in
    // the body).
    let catching = |body: TokenStream| {
        if is_async {
            quote! {
                #private::CatchUnwind::new(
                    #private::exit_future::<#return_type, _>(async { #body }),
                )
                .await
            }
        } else {
            quote! {
                ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
                    || -> #private::Exit<#return_type> { #body },
                ))
            }
        }
    };

    // The checkpointed loop, from its first item on: `iter` is its iterator, `due` and `stride`
    // are set. In a nest, an inner loop that runs out gives back the `pulled += 1` of the
    // `next` that found nothing, so that `pulled` counts completed iterations between loops.
    let checkpointed = nest.as_ref().map_or(&looped, |nest| &nest.inner);
    let pat = &checkpointed.pat;
    let body = &checkpointed.body;
    let loop_attrs = &checkpointed.attrs;
    let ran_out = if nest.is_some() {
        quote!(#pulled -= 1;)
    } else {
        quote!()
    };
    let hot_loop = quote! {
        #pulled += 1; // iteration `pulled - 1` starts: a failure resumes it
        let mut #item = match ::core::iter::Iterator::next(&mut #iter) {
            ::core::option::Option::Some(#item) => #item,
            ::core::option::Option::None => {
                #ran_out
                return #private::Exit::Completed;
            }
        };
        let mut #boundary = #due_now;
        #(#loop_attrs)*
        // The boundary code comes after the body in the source (it runs before it when
        // `boundary` starts true): the type checker then knows the state's types.
        #outer_label: loop {
            if !#boundary {
                // From one boundary to the next: no calls but `next` and the body,
                // so the state and counters the closure captures stay in registers.
                loop {
                    #body_label: {
                        // Moved into the block, so that what the pattern leaves of
                        // the item (`_`, `ref x`) is dropped at the end of the
                        // iteration, before the next item is pulled, as in a `for`.
                        let #current = #item;
                        let #pat = #current;
                        #body
                    }
                    // Unreachable when every path through the body diverges (it
                    // returns, breaks or panics): not the user's to hear about.
                    #[allow(unreachable_code)]
                    {
                        #pulled += 1;
                        #item = match ::core::iter::Iterator::next(&mut #iter) {
                            ::core::option::Option::Some(#item) => #item,
                            ::core::option::Option::None => {
                                #ran_out
                                break #outer_label;
                            }
                        };
                        if #due_now {
                            break;
                        }
                    }
                }
            }
            // A boundary: `pulled - 1` iterations are complete and `item` is the next.
            #due = #pulled.saturating_add(#stride);
            let #next_item = {
                #[allow(unused_imports)]
                use #private::{HashableItem as _, OpaqueItem as _};
                (&&#private::ItemHash(&#item)).item_hash()
            };
            match #run.at_boundary(#pulled - 1, #next_item) {
                ::core::result::Result::Ok(true) => {
                    #saving = true;
                    #set_position
                    let mut #save = #run.save(#pulled - 1, #next_item);
                    #save_state
                    if let ::core::result::Result::Err(#err) = #save.commit() {
                        return #private::Exit::Abort(#err);
                    }
                    #saving = false;
                }
                ::core::result::Result::Ok(false) => {}
                ::core::result::Result::Err(#err) => {
                    return #private::Exit::Abort(#err);
                }
            }
            if #stop.load(::core::sync::atomic::Ordering::Relaxed) != 0 {
                return #private::Exit::Stopped;
            }
            #boundary = false;
        }
        #private::Exit::Completed
    };
    let is_nest = nest.is_some();
    let start_run = quote! {
        let mut #run = #private::Run::start(
            &#private::Spec {
                function: #function_name,
                name: #checkpoint_name,
                interval_ms: #interval_literal,
                state: &[#(#state_names),*],
                signals: #signals,
                key: #key_field,
                nest: #is_nest,
            },
            &[#((#codecs.shape)()),*],
        );
    };
    let watch = quote! {
        let #stop = #run.stop_flag();
        #tick_local
        let mut #saving = false;
    };

    let block =
        match &nest {
            None => {
                let iterable = &looped.expr;
                let run_loop = catching(quote! {
                    // Moved in: owned by the loop, as a `for` loop owns its iterator (and dropped
                    // when the loop ends, as there).
                    let mut #iter = #iter;
                    let mut #due: u64 = #run.first_boundary(#every_literal);
                    let #stride: u64 = #run.stride();
                    #hot_loop
                });
                quote! {
                    #key_eval
                    #name_eval
                    #(#prelude)*
                    let mut #iter = ::core::iter::IntoIterator::into_iter(#iterable);
                    #(#assertions)*
                    #start_run
                    if let ::core::option::Option::Some(mut #restore) = #run.restore() {
                        #( #places = (#codecs.load)(&mut #restore); )*
                        #restore.finish();
                    }
                    let mut #iter = #run.prepare(#iter);
                    #run.size_hint(::core::iter::Iterator::size_hint(&#iter));
                    let mut #pulled: u64 = #run.start_index();
                    #watch
                    let #exit = #run_loop;
                    #run.end_watch();
                    match #exit {
                        ::core::result::Result::Ok(#private::Exit::Completed) => #run.complete(),
                        ::core::result::Result::Ok(#private::Exit::Returned(#value)) => {
                            if #returned_is_failure {
                                #save_after_error
                                #run.obey_signal();
                            } else {
                                #run.complete();
                            }
                            return #value;
                        }
                        ::core::result::Result::Ok(#private::Exit::Failed(#value)) => {
                            #save_after_try
                            #run.obey_signal();
                            return #value;
                        }
                        ::core::result::Result::Ok(#private::Exit::Abort(#err)) => #run.abort(#err),
                        ::core::result::Result::Ok(#private::Exit::Stopped) => {
                            #run.stopped(#pulled - 1)
                        }
                        ::core::result::Result::Err(#payload) => {
                            // A panic inside our own save came from a `Serialize` impl: saving again
                            // would only panic again.
                            if !#saving {
                                #save_after_panic
                            }
                            #run.obey_signal();
                            ::std::panic::resume_unwind(#payload)
                        }
                    };
                    #(#epilogue)*
                }
            }
            Some(nest) => {
                let outer_iter = local("outer_iter");
                let outer_item = local("outer_item");
                let outer_next = local("outer_next");
                let inner_done = local("inner_done");
                let restoring = local("restoring");
                let inner_exit = local("inner_exit");
                let outer_pat = &looped.pat;
                let outer_iterable = &looped.expr;
                let outer_label = &looped.label;
                let outer_attrs = &looped.attrs;
                let between = &nest.between;
                let after = &nest.after;
                let inner_iterable = &nest.inner.expr;
                let position_codec = &codecs[0];
                let top_places = &places[1..top];
                let top_codecs = &codecs[1..top];
                // Between-loop state: `let mut` is assigned; `let` is shadowed by the saved value.
                let restore_between = nest.state.iter().zip(&codecs[top..]).map(
                    |(between, codec)| {
                        let ident = &between.ident;
                        if between.mutable {
                            quote! {
                                if let ::core::option::Option::Some(#restore) = &mut #restoring {
                                    #ident = (#codec.load)(#restore);
                                }
                            }
                        } else {
                            quote! {
                                let #ident = match &mut #restoring {
                                    ::core::option::Option::Some(#restore) => {
                                        (#codec.load)(#restore)
                                    }
                                    ::core::option::Option::None => #ident,
                                };
                            }
                        }
                    },
                );
                let top_literal = top;
                let encode_now = state.iter().zip(&codecs).zip(&encoded).filter_map(
                    |((ident, codec), encoded)| {
                        let encoded = encoded.as_ref()?;
                        Some(quote! {
                            let #encoded = ::resumable::__private::encoded(#codec, &#ident);
                        })
                    },
                );
                let run_inner = catching(quote! {
                    let mut #iter = #iter;
                    #hot_loop
                });
                let run_outer = catching(quote! {
                    let mut #due: u64 = #run.first_boundary(#every_literal);
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
                        // Boxed: only the first iteration of a resumed run finds it, the others move 8 bytes.
                        let mut #restoring = #restore.take();
                        if let ::core::option::Option::Some(#restore) = &mut #restoring {
                            #( #top_places = (#top_codecs.load)(#restore); )*
                            #inner_done = #position.1;
                        }
                        #(#restore_between)*
                        if let ::core::option::Option::Some(#restore) = #restoring {
                            #restore.finish();
                        }
                        #(#encode_now)*
                    let #iter = ::core::iter::IntoIterator::into_iter(#inner_iterable);
                        let #iter = #run.skip_inner(#iter, #inner_done);
                        let #base: u64 = #pulled - #inner_done;
                        let #inner_exit = #run_inner;
                        // A failure in the inner loop saves here, where the state declared
                        // between the loops still exists; one outside it keeps the last
                        // checkpoint.
                        match #inner_exit {
                            ::core::result::Result::Ok(#private::Exit::Completed) => {}
                            ::core::result::Result::Ok(#private::Exit::Returned(#value)) => {
                                if #returned_is_failure {
                                    #save_after_error
                                }
                                return #private::Exit::Returned(#value);
                            }
                            ::core::result::Result::Ok(#private::Exit::Failed(#value)) => {
                                #save_after_try
                                return #private::Exit::Failed(#value);
                            }
                            ::core::result::Result::Ok(#exit) => return #exit,
                            ::core::result::Result::Err(#payload) => {
                                if !#saving {
                                    #save_after_panic
                                }
                                ::std::panic::resume_unwind(#payload)
                            }
                        }
                        #(#after)*
                    }
                    #private::Exit::Completed
                });
                quote! {
                    #key_eval
                    #name_eval
                    #(#prelude)*
                    let mut #outer_iter = ::core::iter::IntoIterator::into_iter(#outer_iterable);
                    let mut #position: (u64, u64) = (0, 0);
                    #(#assertions)*
                    #start_run
                    let mut #restore = #run.restore().map(::std::boxed::Box::new);
                    if let ::core::option::Option::Some(#restore) = &mut #restore {
                        #position = (#position_codec.load)(#restore);
                        #run.resuming_at(#position);
                    }
                    let mut #outer_iter = #run.skip(#outer_iter, #position.0);
                    #run.size_hint((0, ::core::option::Option::None));
                    let mut #pulled: u64 = #run.start_index();
                    let mut #outer_next: u64 = #position.0;
                    #watch
                    let #exit = #run_outer;
                    #run.end_watch();
                    // Failures were saved where they happened, or keep the last checkpoint.
                    match #exit {
                        ::core::result::Result::Ok(#private::Exit::Completed) => #run.complete(),
                        ::core::result::Result::Ok(#private::Exit::Returned(#value)) => {
                            if #returned_is_failure {
                                #run.obey_signal();
                            } else {
                                #run.complete();
                            }
                            return #value;
                        }
                        ::core::result::Result::Ok(#private::Exit::Failed(#value)) => {
                            #run.obey_signal();
                            return #value;
                        }
                        ::core::result::Result::Ok(#private::Exit::Abort(#err)) => #run.abort(#err),
                        ::core::result::Result::Ok(#private::Exit::Stopped) => {
                            #run.stopped(#pulled - 1)
                        }
                        ::core::result::Result::Err(#payload) => {
                            #run.obey_signal();
                            ::std::panic::resume_unwind(#payload)
                        }
                    };
                    #(#epilogue)*
                }
            }
        };

    let attrs = &function.attrs;
    let vis = &function.vis;
    let sig = &function.sig;
    quote! {
        #(#attrs)*
        #vis #sig {
            #block
        }
    }
}
