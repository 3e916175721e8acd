//! The state's code: where each binding lives, its codec and type checks, the list of
//! bindings a save takes, the watched bindings, and what a failure saves.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::crate_path::{self, RUNTIME};
use crate::facts::Facts;
use crate::first_use::FirstUse;
use crate::generated::Locals;
use crate::model::{Model, Receiver};
use crate::names::local;
use crate::rewrite::Bodies;

/// The state as saved, and where each binding lives.
pub struct Layout {
    /// In a nest the position `(outer, inner)` first, then the function-level state, then the
    /// state declared between the loops.
    pub state: Vec<Ident>,
    /// How many of `state` are saved before the between-loop bindings.
    pub top: usize,
    /// For each binding, the local holding its bytes when it is serialized ahead.
    pub encoded: Vec<Option<Ident>>,
    /// The binding, or `(*self)` / `(*param)` behind a `&mut`.
    pub places: Vec<TokenStream>,
    /// Whether each place is a binding of the function's own.
    pub owned: Vec<bool>,
    /// Each binding's codec local.
    pub codecs: Vec<Ident>,
}

impl Layout {
    pub fn new(model: &Model, facts: &Facts, position: &Ident) -> Layout {
        let Model { nest, receiver, .. } = model;
        // In a nest, the state saved is the position `(outer, inner)`, the function-level state,
        // then the state declared between the loops; `top` counts the first two.
        let mut state: Vec<Ident> = Vec::new();
        if nest.is_some() {
            state.push(position.clone());
        }
        state.extend(facts.state.top_level.iter().cloned());
        let top = state.len();
        state.extend(
            facts
                .state
                .between
                .iter()
                .map(|between| between.ident.clone()),
        );
        // Between-loop state that only the inner loop's iterator names, serialized before it is
        // created (which may move it): aligned with `state`.
        let encoded: Vec<Option<Ident>> = (0..state.len())
            .map(|i| {
                let between = i.checked_sub(top).and_then(|i| facts.state.between.get(i));
                between
                    .filter(|between| between.iterator_only)
                    .map(|_| local(&format!("encoded_{i}")))
            })
            .collect();
        // Where each binding's value lives: the binding, or `*self` in a `&mut self` method.
        let places: Vec<TokenStream> = state
            .iter()
            .map(|ident| match receiver {
                _ if facts.ref_mut_params.contains(ident) => {
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
                !(facts.ref_mut_params.contains(ident) || self_ref_mut)
            })
            .collect();
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
        Layout {
            state,
            top,
            encoded,
            places,
            owned,
            codecs,
        }
    }

    /// The bindings as `(ident, place, codec)`.
    pub fn bindings(&self) -> impl Iterator<Item = (&Ident, &TokenStream, &Ident)> {
        self.state
            .iter()
            .zip(&self.places)
            .zip(&self.codecs)
            .map(|((ident, place), codec)| (ident, place, codec))
    }
}

/// A binding named in `append(...)`, checked to be a `Vec` or a `String` at its name there.
fn append_only(
    facts: &Facts,
    ident: &Ident,
    place: &TokenStream,
    codec: &Ident,
) -> Option<TokenStream> {
    let declared = facts
        .state
        .append
        .iter()
        .find(|declared| *declared == ident);
    declared.map(|declared| {
        let rt = crate_path::at(declared.span());
        quote_spanned! {declared.span()=>
            let #codec = #rt::__private::append_only(&#place, #codec);
        }
    })
}

/// The codecs, each checking its binding's type at the binding; a binding named in
/// `append(...)` is checked to be a `Vec` or a `String` there.
pub fn assertions(facts: &Facts, layout: &Layout) -> Vec<TokenStream> {
    layout
        .bindings()
        .enumerate()
        .map(|(i, (ident, place, codec))| {
            let rt = crate_path::at(ident.span());
            if i >= layout.top {
                // Declared between the loops: the type is decided in the outer loop's body.
                return quote_spanned!(ident.span()=>
                let #codec = #rt::__private::codec_of(););
            }
            let check = quote_spanned!(ident.span()=> let #codec = (&&&&#rt::__private::CodecOf(&#place)).codec(););
            let append_only = append_only(facts, ident, place, codec);
            // A shared handle (`Arc`, `Rc`) as state: refused at the binding.
            let not_shared = quote_spanned! {ident.span()=>
                #rt::__private::not_shared((&&#rt::__private::Sharing(&#place)).sharing());
            };
            // Behind the caller's `&mut`, a resume decodes it whole: refused at the binding
            // where it cannot be.
            let whole = (!layout.owned[i]).then(|| {
                quote_spanned! {ident.span()=>
                    #rt::__private::decodable_whole((&&&&#rt::__private::Borrowed(&#place)).whole());
                }
            });
            quote!(#check #append_only #not_shared #whole)
        })
        .collect()
}

/// The `append(...)` checks of between-loop bindings, once they are declared.
pub fn between_append_only(facts: &Facts, layout: &Layout) -> Vec<TokenStream> {
    layout
        .bindings()
        .skip(layout.top)
        .filter_map(|(ident, place, codec)| append_only(facts, ident, place, codec))
        .collect()
}

/// How each binding is saved: only what was appended if declared in `append(...)` or found
/// growing (a `Vec` of plain items, a `String`: chosen here, after the loop body in the
/// source, so that a `Vec::new()` whose element type the body decides is known), else whole;
/// at the run's first checkpoint its round trip is compared as its type allows. The list
/// goes to one runtime function, which saves each (`__private::boundary`).
pub fn state_list(facts: &Facts, layout: &Layout) -> TokenStream {
    let bindings = layout.bindings().zip(&layout.encoded).map(
        |((ident, place, codec), encoded)| {
            if let Some(encoded) = encoded {
                return quote!(&#encoded);
            }
            let rt = crate_path::at(ident.span());
            let pick = if facts.state.append.contains(ident) {
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
    quote!([#(#bindings),*])
}

/// The bindings the loop reads but does not own: fingerprinted on entry and at every save,
/// which the runtime refuses if one changed.
pub fn watch_list(facts: &Facts) -> TokenStream {
    if facts.watched.is_empty() {
        return quote!([]);
    }
    let prints = facts.watched.iter().map(|ident| {
        let name = ident.to_string();
        // At the binding: one the watch cannot see is an error there.
        let rt = crate_path::at(ident.span());
        quote_spanned!(ident.span()=> (#name, (&&&&#rt::__private::Watched(&#ident)).print()))
    });
    quote!([#(#prints),*])
}

/// What a failure in the loop saves, and whether it may.
pub struct Failure {
    /// How a failure saves the state once the loop has ended, at `pending.index` (`None` when
    /// a failure cannot save).
    pub save_failed: Option<TokenStream>,
    /// The `FailureSave` handed to `finish`.
    pub failure_save: TokenStream,
    /// Whether the failing iteration had not touched the state yet (see `first_use.rs`).
    pub untouched: TokenStream,
}

impl Failure {
    pub fn new(
        model: &Model,
        facts: &Facts,
        bodies: &Bodies,
        locals: &Locals,
        watch_list: &TokenStream,
        state_list: &TokenStream,
    ) -> Failure {
        let Locals {
            run,
            position,
            outer_at,
            base,
            dirty_at,
            pulled,
            ..
        } = locals;
        let private = quote!(#RUNTIME::__private);
        // A failure saves the state only if the failing iteration had not touched it yet
        // (`first_use`); otherwise the last checkpoint stands and says what runs again.
        // The body was marked before its control flow was rewritten (`rewrite.rs`).
        let first_use = bodies.first_use;
        // A watched binding the body can move on a way out is gone after it: a failure cannot
        // check it, so it saves nothing (see `exit_moves.rs`).
        let exit_moved: Vec<String> = facts.exit_moved.iter().map(ToString::to_string).collect();
        // Every failure's save, written once, after the loop where the state's types are known:
        // `finish` says when (`Finished::Save`), and the `pending` it hands over says at which
        // iteration and after what. In the function's own code, not a closure handed to the
        // runtime: that would take the state's addresses out of the function, and its hot loop
        // would keep the state in memory instead of registers.
        let pending = local("pending");
        let save_failed = if matches!(first_use, FirstUse::AtStart) || !exit_moved.is_empty() {
            None
        } else {
            let set_position = if model.nest.is_some() {
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
        Failure {
            save_failed,
            failure_save,
            untouched,
        }
    }
}
