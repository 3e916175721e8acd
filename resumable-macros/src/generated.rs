//! The generated code that a single loop (`expand`) and a loop nest (`expand_nest`) share:
//! the key and the name, the state's codecs and their checks, how each binding is saved, the
//! hot loop from boundary to boundary, and what a failure saves.

use crate::crate_path::{self, RUNTIME};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Expr, Ident, ReturnType};

use crate::control_flow;
use crate::erase_impl_trait::{impl_trait_as_unit, is_impl_trait};
use crate::first_use::FirstUse;
use crate::model::{Every, KeyInput, Model, Receiver};
use crate::names::local;

/// The traits the generated code's autoref probes are methods of, brought into scope once, at
/// the top of the function (`as _`: they add no names, and only `__private`'s wrapper types
/// implement them, so they cannot change what the user's own method calls resolve to).
pub fn probe_traits() -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use #RUNTIME::__private::{
            AnyState as _, AppendsAny as _, AppendsPlain as _, ArgByDebug as _, ArgByHash as _,
            ArgBySerde as _, ArgDebugText as _, ArgNoText as _, ArgOpaque as _, ByNth as _,
            ByPosition as _, CompareBytes as _, CompareDebug as _, CompareEq as _,
            CompareEqDebug as _, DebugItem as _, Grows as _, HashableItem as _, OpaqueItem as _,
            ReturnedOther as _, ReturnedResult as _, RouteToErr as _, RouteToPanic as _,
            SerializableItem as _, SharedState as _, WatchedHash as _, WatchedOpaque as _,
            WatchedSerde as _, Whole as _,
        };
    }
}

/// The generated locals the expansions of both shapes name.
pub struct Locals {
    pub iter: Ident,
    pub run: Ident,
    pub restore: Ident,
    pub pulled: Ident,
    pub exit: Ident,
    pub value: Ident,
    pub err: Ident,
    pub saving: Ident,
    pub due: Ident,
    pub stride: Ident,
    /// A nest's `(outer, inner)`, and the two counters it is set from.
    pub position: Ident,
    pub outer_at: Ident,
    pub base: Ident,
    /// The closure that fingerprints the checkpointed loop's items.
    pub fingerprint: Ident,
    /// A single loop's `Seeker`: how its iterator resumes (by its saved position, or `nth`).
    pub seek: Ident,
    /// The iteration that last touched the state (see `first_use.rs`).
    pub dirty_at: Ident,
}

impl Locals {
    fn new() -> Locals {
        Locals {
            iter: local("iter"),
            run: local("run"),
            restore: local("restore"),
            pulled: local("pulled"),
            exit: local("exit"),
            value: local("value"),
            err: local("err"),
            saving: local("saving"),
            due: local("due"),
            stride: local("stride"),
            position: local("position"),
            outer_at: local("outer_at"),
            base: local("base"),
            fingerprint: local("fingerprint"),
            seek: local("seek"),
            dirty_at: local("dirty_at"),
        }
    }
}

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
    /// error may be returned as its `Err` (see [`route_closure`]).
    may_be_result: bool,
    /// State the body moves: see [`Parts::catching`].
    by_value: Vec<Ident>,
}

impl Parts {
    pub fn new(model: &Model) -> Parts {
        let Model {
            function,
            every,
            name,
            looped,
            state,
            signals,
            append,
            key,
            dir,
            receiver,
            nest,
            code,
            strict,
            ..
        } = model;
        let locals = Locals::new();
        let Locals {
            iter,
            run,
            pulled,
            saving,
            due,
            value,
            err,
            stride,
            position,
            outer_at,
            base,
            fingerprint,
            dirty_at,
            seek,
            ..
        } = &locals;
        let stop = local("stop");
        let item = local("item");
        let next_item = local("next_item");
        let tick = local("tick");
        let boundary = local("boundary");
        let current = local("current");
        let handed_back = control_flow::handed_back(&model.by_value);
        let outer_label = control_flow::label(control_flow::OUTER_LABEL, Span::call_site());
        let body_label = control_flow::label(control_flow::BODY_LABEL, Span::call_site());
        let private = quote!(#RUNTIME::__private);
        let key_local = local("key");
        let function_name = function.sig.ident.to_string();
        // `key = expr`: evaluated first, from the arguments, before the body can move them.
        let (key_eval, key_field) = match &key {
            // `key = ()`: one checkpoint, whatever the arguments.
            Some(Expr::Tuple(unit)) if unit.elems.is_empty() => {
                (quote!(), quote!(::core::option::Option::None))
            }
            Some(expr) => (
                {
                    let span = syn::spanned::Spanned::span(expr);
                    let rt = crate_path::at(span);
                    quote_spanned!(span=> let #key_local = #rt::__private::key(&(#expr));)
                },
                quote!(::core::option::Option::Some(&#key_local)),
            ),
            None if model.key_inputs.is_empty() => (quote!(), quote!(::core::option::Option::None)),
            // Without `key`: every input, as it is on entry.
            None => {
                let inputs = model.key_inputs.iter().map(|input| match input {
                    KeyInput::Value(ident) => {
                        let name = ident.to_string();
                        // At the input's tokens: one that cannot be fingerprinted is an error
                        // there, asking for `key = …`.
                        let rt = crate_path::at(ident.span());
                        quote_spanned! {ident.span()=> (
                            #name,
                            (&&&#rt::__private::Arg(&#ident)).arg_hash(),
                            (&#rt::__private::Arg(&#ident)).arg_text(),
                        )}
                    }
                    KeyInput::Type(ident) => {
                        let name = ident.to_string();
                        quote! {(
                            #name,
                            #private::type_arg::<#ident>(),
                            #private::type_text::<#ident>(),
                        )}
                    }
                });
                (
                    quote! {
                        let #key_local = #private::args_key(#function_name, &[#(#inputs),*]);
                    },
                    quote!(#key_local.as_ref()),
                )
            }
        };
        // `dir = expr`: evaluated on entry too, after the key, as an owned path.
        let dir_local = local("dir");
        let (key_eval, dir_field) = match &dir {
            Some(expr) => (
                quote_spanned! {syn::spanned::Spanned::span(expr)=>
                    #key_eval
                    let #dir_local: ::std::path::PathBuf =
                        ::std::convert::AsRef::<::std::path::Path>::as_ref(&(#expr)).to_owned();
                },
                quote!(::core::option::Option::Some(#dir_local.as_path())),
            ),
            None => (key_eval, quote!(::core::option::Option::None)),
        };

        let is_async = function.sig.asyncness.is_some();
        // A method's default name has its type in it (`Grid<f64>::step`), computed at run time:
        // two types' methods of the same name, or two instantiations of a generic impl, must not
        // share a checkpoint.
        let name_local = local("name");
        let (name_eval, function_path) = match receiver {
            None => (
                quote!(),
                quote!(::core::concat!(::core::module_path!(), "::", #function_name)),
            ),
            Some(_) => (
                quote!(let #name_local = #private::method_name::<Self>(#function_name);),
                quote!(&#name_local),
            ),
        };
        let checkpoint_name = match &name {
            Some(name) => quote!(#name),
            None => function_path.clone(),
        };
        // In a nest, the state saved is the position `(outer, inner)`, the function-level state,
        // then the state declared between the loops; `top` counts the first two.
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
            if ident == position {
                quote!(#RUNTIME::__private::POSITION)
            } else {
                let name = ident.to_string();
                quote!(#name)
            }
        });
        // Where each binding's value lives: the binding, or `*self` in a `&mut self` method.
        let places: Vec<TokenStream> = state
            .iter()
            .map(|ident| match receiver {
                _ if model.ref_mut_params.contains(ident) => {
                    quote_spanned!(ident.span()=> (*#ident))
                }
                Some(Receiver::RefMut) if ident == "self" => {
                    quote_spanned!(ident.span()=> (*#ident))
                }
                _ => quote!(#ident),
            })
            .collect();
        let owned = state
            .iter()
            .map(|ident| {
                let self_ref_mut = matches!(receiver, Some(Receiver::RefMut)) && ident == "self";
                !(model.ref_mut_params.contains(ident) || self_ref_mut)
            })
            .collect();
        // A duration saves when a timer thread raises `tick`; its count of iterations never comes.
        let (every, interval_ms) = match *every {
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
                let rt = crate_path::at(declared.span());
                quote_spanned! {declared.span()=>
                    let #codec = #rt::__private::append_only(&#place, #codec);
                }
            })
        };
        let assertions: Vec<TokenStream> = state
            .iter()
            .zip(&places)
            .zip(&codecs)
            .enumerate()
            .map(|(i, ((ident, place), codec))| {
                let rt = crate_path::at(ident.span());
                if i >= top {
                    // Declared between the loops: the type is decided in the outer loop's body.
                    return quote_spanned!(ident.span()=>
                    let #codec = #rt::__private::codec_of(););
                }
                let check =
                    quote_spanned!(ident.span()=> let #codec = #rt::__private::codec(&#place););
                let append_only = append_only(ident, place, codec);
                // A shared handle (`Arc`, `Rc`) as state: refused at the binding.
                let not_shared = quote_spanned! {ident.span()=>
                    #rt::__private::not_shared((&&#rt::__private::Sharing(&#place)).sharing());
                };
                quote!(#check #append_only #not_shared)
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
        // source, so that a `Vec::new()` whose element type the body decides is known), else whole;
        // at the run's first checkpoint its round trip is compared as its type allows. The list
        // goes to one runtime function, which saves each (`__private::boundary`).
        let bindings = state.iter().zip(&places).zip(&codecs).zip(&encoded).map(
            |(((ident, place), codec), encoded)| {
                if let Some(encoded) = encoded {
                    return quote!(&#encoded);
                }
                let rt = crate_path::at(ident.span());
                let pick = if append.contains(ident) {
                    quote_spanned!(ident.span()=> (&#rt::__private::Pick(&#place)).pick_append(#codec))
                } else {
                    quote_spanned!(ident.span()=> (&#rt::__private::Pick(&#place)).pick(#codec))
                };
                quote_spanned! {ident.span()=>
                    &#rt::__private::Binding::new(
                        &#place,
                        #pick,
                        (&&&#rt::__private::RoundTrip(&#place)).comparison(),
                    )
                }
            },
        );
        let state_list = quote!([#(#bindings),*]);
        // In a nest, where the loop is, set before each save: the outer loop's iteration, and the
        // inner loop's iterations completed in it (`pulled` counts them over the whole run).
        let set_position = if nest.is_some() {
            quote!(#position = (#outer_at, #pulled - 1 - #base);)
        } else {
            quote!()
        };
        // A failure saves the state only if the failing iteration had not touched it yet
        // (`first_use`); otherwise the last checkpoint stands and says what runs again.
        // The body was marked before its control flow was rewritten (`Model::mark_first_use`).
        let checkpointed = nest.as_ref().map_or(looped, |nest| &nest.inner);
        let first_use = model.first_use;
        // The body's statements, not its block: a block as the labelled block's last
        // expression is `unused_braces` to rustc when the user wrote it on one line.
        let body = &checkpointed.body.stmts;
        // The bindings the loop reads but does not own: fingerprinted on entry and at every
        // save, which the runtime refuses if one changed.
        let watch_list = if model.watched.is_empty() {
            quote!([])
        } else {
            let prints = model.watched.iter().map(|ident| {
                let name = ident.to_string();
                // At the binding: one the watch cannot see is an error there.
                let rt = crate_path::at(ident.span());
                quote_spanned!(ident.span()=> (#name, (&&#rt::__private::Watched(&#ident)).print()))
            });
            quote!([#(#prints),*])
        };
        let watch_start = if model.watched.is_empty() {
            quote!()
        } else {
            quote!(#run.watch(&#watch_list);)
        };
        // A watched binding the body can move on a way out is gone after it: a failure cannot
        // check it, so it saves nothing (see `exit_moves.rs`).
        let exit_moved: Vec<String> = model.exit_moved.iter().map(ToString::to_string).collect();
        // Every failure's save, written once, after the loop where the state's types are known:
        // `finish` says when (`Finished::Save`), and the `pending` it hands over says at which
        // iteration and after what. In the function's own code, not a closure handed to the
        // runtime: that would take the state's addresses out of the function, and its hot loop
        // would keep the state in memory instead of registers.
        let pending = local("pending");
        let save_failed = if matches!(first_use, FirstUse::AtStart) || !exit_moved.is_empty() {
            None
        } else {
            let set_position = if nest.is_some() {
                quote!(#position = (#outer_at, #pending.index - #base);)
            } else {
                quote!()
            };
            Some(quote! {
                #set_position
                #private::save_after_failure(
                    &mut #run,
                    #pending.index,
                    #pending.failure,
                    &#watch_list,
                    &#state_list,
                );
            })
        };
        let failure_save = match first_use {
            FirstUse::AtStart => quote!(#private::FailureSave::Unsaved),
            _ if !exit_moved.is_empty() => {
                quote!(#private::FailureSave::Moved(&[#(#exit_moved),*]))
            }
            _ => quote!(#private::FailureSave::State),
        };
        let untouched = match first_use {
            FirstUse::Never => quote!(true),
            FirstUse::AtStart => quote!(false),
            FirstUse::Marked => quote!(#dirty_at != #pulled),
        };

        let return_type = control_flow::return_type(&function.sig.output);
        let may_be_result = match &function.sig.output {
            ReturnType::Default => false,
            ReturnType::Type(_, ty) => !is_impl_trait(ty),
        };
        let result_error = match &function.sig.output {
            ReturnType::Type(_, ty) if is_spelled_result(ty) => {
                let named = impl_trait_as_unit((**ty).clone());
                Some(quote!(<#named as #private::ResultLike>::Error))
            }
            _ => None,
        };
        let is_failure = if may_be_result {
            quote! {
                |#value| (&#private::Returned(#value)).is_failure()
            }
        } else {
            quote!(|_| false)
        };
        // The checkpointed loop, from its first item on: `iter` is its iterator, `due` and `stride`
        // are set. In a nest, an inner loop that runs out gives back the `pulled += 1` of the
        // `next` that found nothing, so that `pulled` counts completed iterations between loops.
        let pat = &checkpointed.pat;
        let loop_attrs = &checkpointed.attrs;
        let ran_out = if nest.is_some() {
            quote!(#pulled -= 1;)
        } else {
            quote!()
        };
        // A single loop knows before it pulls the next item whether a boundary follows: an
        // iterator that implements `Position` says there where it stands (`mark`: nothing for
        // other iterators, so it compiles away). A nest pulls first, then checks.
        let due_next = local("due_next");
        let pull = |on_none: TokenStream| {
            quote! {
                match ::core::iter::Iterator::next(&mut #iter) {
                    ::core::option::Option::Some(#item) => #item,
                    ::core::option::Option::None => {
                        #ran_out
                        #on_none
                    }
                }
            }
        };
        let first_pull =
            pull(quote!(return #private::exit(#private::Exit::Completed, #handed_back);));
        let next_pull = pull(quote!(break #outer_label;));
        let (first, next) = match nest {
            None => {
                let mark = quote!((#seek.mark)(&#iter, &mut #run, #pulled - 1));
                (
                    quote! {
                        let mut #boundary = #due_now;
                        if #boundary {
                            #mark;
                        }
                        let mut #item = #first_pull;
                    },
                    quote! {
                        let #due_next = #due_now;
                        if #due_next {
                            #mark;
                        }
                        #item = #next_pull;
                        if #due_next {
                            break;
                        }
                    },
                )
            }
            Some(_) => (
                quote! {
                    let mut #item = #first_pull;
                    let mut #boundary = #due_now;
                },
                quote! {
                    #item = #next_pull;
                    if #due_now {
                        break;
                    }
                },
            ),
        };
        let hot_loop = quote! {
            #pulled += 1; // iteration `pulled - 1` starts: a failure resumes it
            #first
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
                            #(#body)*
                        }
                        // Unreachable when every path through the body diverges (it
                        // returns, breaks or panics): not the user's to hear about.
                        #[allow(unreachable_code)]
                        {
                            #pulled += 1;
                            #next
                        }
                    }
                }
                // A boundary: `pulled - 1` iterations are complete and `item` is the next.
                #due = #pulled.saturating_add(#stride);
                let #next_item = #fingerprint(&#item);
                #set_position
                if let ::core::result::Result::Err(#err) = #private::boundary(
                    &mut #run,
                    &mut #saving,
                    #pulled - 1,
                    #next_item,
                    &#watch_list,
                    &#state_list,
                ) {
                    return #private::exit(#private::Exit::Abort(#err), #handed_back);
                }
                if #stop.load(::core::sync::atomic::Ordering::Relaxed) != 0 {
                    return #private::exit(#private::Exit::Stopped, #handed_back);
                }
                #boundary = false;
            }
            #private::exit(#private::Exit::Completed, #handed_back)
        };
        let is_nest = nest.is_some();
        // Each shape from the binding's value on entry; a between-loop binding has none yet.
        let shapes = codecs
            .iter()
            .zip(&places)
            .enumerate()
            .map(|(i, (codec, place))| {
                if i < top {
                    quote!((#codec.shape)(::core::option::Option::Some(&#place)))
                } else {
                    quote!((#codec.shape)(::core::option::Option::None))
                }
            });
        let code_literal = Literal::u64_suffixed(*code);
        let start_failed = route_error(may_be_result, &locals.err);
        let route = route_closure(may_be_result, &return_type);
        // A single loop's iterator that implements `Position` saves it first (`Seeker`); a
        // nest's iterators are skipped with `nth`.
        let position_shape = match nest {
            None => quote!((#seek.shape)()),
            Some(_) => quote!(::core::option::Option::None),
        };
        let start_run = quote! {
            #route
            let mut #run = match #private::Run::start(
                &#private::Spec {
                    function: #function_name,
                    path: #function_path,
                    name: #checkpoint_name,
                    interval_ms: #interval_literal,
                    state: &[#(#state_names),*],
                    signals: #signals,
                    key: #key_field,
                    dir: #dir_field,
                    nest: #is_nest,
                    code: #code_literal,
                    strict: #strict,
                    position: #position_shape,
                },
                &[#(#shapes),*],
            ) {
                ::core::result::Result::Ok(#run) => #run,
                ::core::result::Result::Err(#err) => #start_failed,
            };
        };
        let start_run = quote!(#start_run #watch_start);
        let dirty_local = if let FirstUse::Marked = first_use {
            quote!(let mut #dirty_at: u64 = u64::MAX;)
        } else {
            quote!()
        };
        let watch = quote! {
            let #stop = #run.stop_flag();
            #tick_local
            let mut #saving = false;
            #dirty_local
        };

        // The fingerprint of the checkpointed loop's items, once its iterator `iter` exists.
        let fingerprinted = local("fingerprinted");
        let fingerprint_of = quote! {
            let #fingerprint = #private::fingerprint_of(&#iter, |#fingerprinted| {
                (&&&#private::ItemHash(#fingerprinted)).item_hash()
            });
        };
        Parts {
            fingerprint_of,
            locals,
            key_eval,
            name_eval,
            state,
            places,
            owned,
            codecs,
            top,
            encoded,
            assertions,
            between_append_only,
            start_run,
            watch,
            every: every_literal,
            hot_loop,
            save_failed,
            failure_save,
            untouched,
            is_failure,
            is_async,
            return_type,
            result_error,
            may_be_result,
            by_value: model.by_value.clone(),
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

/// Whether the return type is spelled `…Result<…>` (a `Result`, or an alias of one such as
/// `anyhow::Result<T>`): its loop closure then returns `Result` too (see [`Parts::catching`]).
/// `&mut place`, spanned at the binding: a borrow the restore cannot take (the binding
/// borrowed by a between-loop statement) is reported at the user's tokens, not the attribute.
pub fn place_mut(place: &TokenStream) -> TokenStream {
    let span = place
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    quote_spanned!(span=> &mut #place)
}

fn is_spelled_result(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path)
        if path.qself.is_none()
            && path.path.segments.last().is_some_and(|last| last.ident == "Result"))
}

/// What the function does with a runtime error `err` where it can return (its type is `!`):
/// returns `Err(E::from(err))` when it returns a `Result<T, E>` whose
/// `E: From<resumable::Error>`, else panics with it.
fn route_error(may_be_result: bool, err: &Ident) -> TokenStream {
    let fail = quote!(#RUNTIME::__private::fail);
    if !may_be_result {
        return quote!(#fail(#err));
    }
    let route = local("route");
    quote!(return #RUNTIME::__private::or_fail(#route(#err)))
}

/// Defines `route`, which gives a runtime error the function can return as its value:
/// `Ok(Err(E::from(err)))` when the return type is `Result<T, E>` with
/// `E: From<resumable::Error>` (autoref specialization on the named return type), else
/// `Err(err)` to panic with ([`route_error`]; a failed save panics through `Run::abort`).
/// Nothing when the function declares no return type or one that cannot be named
/// (`impl Trait`).
fn route_closure(may_be_result: bool, return_type: &TokenStream) -> TokenStream {
    if !may_be_result {
        return quote!();
    }
    let private = quote!(#RUNTIME::__private);
    let route = local("route");
    let err = local("err");
    quote! {
        let #route =
            |#err: #RUNTIME::Error| (&&#private::ErrorRoute::<#return_type>::new()).route(#err);
    }
}
