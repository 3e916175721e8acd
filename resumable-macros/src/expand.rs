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
    let state_names = state.iter().map(Ident::to_string);
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
    let assertions = state
        .iter()
        .zip(&places)
        .zip(&codecs)
        .map(|((ident, place), codec)| {
            let check =
                quote_spanned!(ident.span()=> let #codec = ::resumable::__private::codec(&#place););
            let declared = append.iter().find(|declared| *declared == ident);
            let append_only = declared.map(|declared| {
                quote_spanned! {declared.span()=>
                    let #codec = ::resumable::__private::append_only(&#place, #codec);
                }
            });
            quote!(#check #append_only)
        });
    // How each binding is saved: only what was appended if declared in `append(...)` or found
    // growing (a `Vec` of plain items, a `String`: chosen here, after the loop body in the
    // source, so that a `Vec::new()` whose element type the body decides is known), else whole.
    let save_each = state.iter().zip(&places).zip(&codecs).map(|((ident, place), codec)| {
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
    let save_after = |failure: &str| {
        quote! {{
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

    let pat = &looped.pat;
    let iterable = &looped.expr;
    let body = &looped.body;
    let loop_attrs = &looped.attrs;

    // The loop, run so that a panic in it is caught: in a closure, or in an async fn, in an
    // async block polled through `CatchUnwind` (its `.await`s stay in the body).
    let loop_body = quote! {
        // Moved in: owned by the loop, as a `for` loop owns its iterator (and dropped
        // when the loop ends, as there).
        let mut #iter = #iter;
        let mut #due: u64 = #run.first_boundary(#every_literal);
        let #stride: u64 = #run.stride();
        #pulled += 1; // iteration `pulled - 1` starts: a failure resumes it
        let mut #item = match ::core::iter::Iterator::next(&mut #iter) {
            ::core::option::Option::Some(#item) => #item,
            ::core::option::Option::None => return #private::Exit::Completed,
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
                            ::core::option::Option::None => break #outer_label,
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
    let run_loop = if is_async {
        quote! {
            let #exit = #private::CatchUnwind::new(
                #private::exit_future::<#return_type, _>(async { #loop_body }),
            )
            .await;
        }
    } else {
        quote! {
            let #exit = ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
                || -> #private::Exit<#return_type> { #loop_body },
            ));
        }
    };

    let block = quote! {
        #key_eval
        #name_eval
        #(#prelude)*
        let mut #iter = ::core::iter::IntoIterator::into_iter(#iterable);
        #(#assertions)*
        let mut #run = #private::Run::start(
            &#private::Spec {
                function: #function_name,
                name: #checkpoint_name,
                interval_ms: #interval_literal,
                state: &[#(#state_names),*],
                signals: #signals,
                key: #key_field,
            },
            &[#((#codecs.shape)()),*],
        );
        if let ::core::option::Option::Some(mut #restore) = #run.restore() {
            #( #places = (#codecs.load)(&mut #restore); )*
            #restore.finish();
        }
        let mut #iter = #run.prepare(#iter);
        #run.size_hint(::core::iter::Iterator::size_hint(&#iter));
        let mut #pulled: u64 = #run.start_index();
        let #stop = #run.stop_flag();
        #tick_local
        let mut #saving = false;
        #run_loop
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
            ::core::result::Result::Ok(#private::Exit::Stopped) => #run.stopped(#pulled - 1),
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
