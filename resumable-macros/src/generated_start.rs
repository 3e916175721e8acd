//! The code that starts a run: the key and the directory evaluated on entry, the checkpoint's
//! name, and `Run::start` with the `Spec` that says which checkpoint is this call's.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::Expr;

use crate::crate_path::{self, RUNTIME};
use crate::facts::{Facts, KeyInput};
use crate::generated::{Locals, Returns, route_closure, route_error};
use crate::generated_loop::Schedule;
use crate::generated_state::{Layout, watch_list};
use crate::model::Model;
use crate::names::local;

/// `let` statements run on entry (the key's and the directory's), and the `Spec`'s `key` and
/// `dir` fields that name them.
pub fn key_and_dir(model: &Model, facts: &Facts) -> (TokenStream, TokenStream, TokenStream) {
    let private = quote!(#RUNTIME::__private);
    let key_local = local("key");
    let function_name = model.function.sig.ident.to_string();
    // `key = expr`: evaluated first, from the arguments, before the body can move them.
    let (key_eval, key_field) = match &model.key {
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
        None if facts.key_inputs.is_empty() => (quote!(), quote!(::core::option::Option::None)),
        // Without `key`: every input, as it is on entry.
        None => {
            let inputs = facts.key_inputs.iter().map(|input| match input {
                KeyInput::Value(ident) => {
                    let name = ident.to_string();
                    // At the input's tokens: one that cannot be fingerprinted is an error
                    // there, asking for `key = …`.
                    let rt = crate_path::at(ident.span());
                    quote_spanned! {ident.span()=> (
                        #name,
                        (&&&&&#rt::__private::Arg(&#ident)).arg_hash(),
                        (&&&&#rt::__private::Arg(&#ident)).arg_text(),
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
                    let #key_local = #private::args_key(#function_name, [#(#inputs),*]);
                },
                quote!(#key_local.as_ref()),
            )
        }
    };
    // `dir = expr`: evaluated on entry too, after the key, as an owned path.
    let dir_local = local("dir");
    match &model.dir {
        Some(expr) => (
            quote_spanned! {syn::spanned::Spanned::span(expr)=>
                #key_eval
                let #dir_local: ::std::path::PathBuf =
                    ::std::convert::AsRef::<::std::path::Path>::as_ref(&(#expr)).to_owned();
            },
            key_field,
            quote!(::core::option::Option::Some(#dir_local.as_path())),
        ),
        None => (key_eval, key_field, quote!(::core::option::Option::None)),
    }
}

/// A method's default checkpoint name, computed on entry, and the `Spec`'s `path` and `name`
/// (`name = "…"`, else the path).
pub fn checkpoint_name(model: &Model) -> (TokenStream, TokenStream, TokenStream) {
    let function_name = model.function.sig.ident.to_string();
    // A method's default name has its type in it (`Grid<f64>::step`), computed at run time:
    // two types' methods of the same name, or two instantiations of a generic impl, must not
    // share a checkpoint.
    let name_local = local("name");
    let (name_eval, function_path) = match model.receiver {
        None => (
            quote!(),
            quote!(::core::concat!(::core::module_path!(), "::", #function_name)),
        ),
        Some(_) => (
            quote!(let #name_local = #RUNTIME::__private::method_name::<Self>(#function_name);),
            quote!(&#name_local),
        ),
    };
    let name = match &model.name {
        Some(name) => quote!(#name),
        None => function_path.clone(),
    };
    (name_eval, function_path, name)
}

/// The `Spec`'s fields that name locals evaluated on entry, or the checkpoint's name.
pub struct SpecNames {
    pub key: TokenStream,
    pub dir: TokenStream,
    pub path: TokenStream,
    pub name: TokenStream,
}

/// `let mut run = Run::start(..)`, with the route of its error (and the watch of the
/// bindings the loop reads but does not own).
pub fn start_run(
    model: &Model,
    facts: &Facts,
    locals: &Locals,
    layout: &Layout,
    returns: &Returns,
    schedule: &Schedule,
    names: SpecNames,
) -> TokenStream {
    let Locals { run, err, seek, .. } = locals;
    let SpecNames {
        key,
        dir,
        path,
        name,
    } = names;
    let private = quote!(#RUNTIME::__private);
    let function_name = model.function.sig.ident.to_string();
    let state_names = layout.state.iter().map(|ident| {
        if *ident == locals.position {
            quote!(#RUNTIME::__private::POSITION)
        } else {
            let name = ident.to_string();
            quote!(#name)
        }
    });
    // Each shape from the binding's value on entry; a between-loop binding has none yet.
    let shapes = layout
        .codecs
        .iter()
        .zip(&layout.places)
        .enumerate()
        .map(|(i, (codec, place))| {
            if i < layout.top {
                quote!((#codec.shape)(::core::option::Option::Some(&#place)))
            } else {
                quote!((#codec.shape)(::core::option::Option::None))
            }
        });
    let interval_literal = Literal::u64_suffixed(schedule.interval_ms);
    let signals = model.signals;
    let strict = model.strict;
    let is_nest = model.nest.is_some();
    let code_literal = Literal::u64_suffixed(model.code);
    let start_failed = route_error(returns.may_be_result, err);
    let route = route_closure(returns.may_be_result, &returns.return_type);
    // A single loop's iterator that implements `Position` saves it first (`Seeker`); a
    // nest's iterators are skipped with `nth`.
    let position_shape = match model.nest {
        None => quote!((#seek.shape)()),
        Some(_) => quote!(::core::option::Option::None),
    };
    let watch_start = if facts.watched.is_empty() {
        quote!()
    } else {
        {
            let watch_list = watch_list(facts);
            quote!(#run.watch(&#watch_list);)
        }
    };
    quote! {
        #route
        let mut #run = match #private::Run::start(
            &#private::Spec {
                function: #function_name,
                path: #path,
                name: #name,
                interval_ms: #interval_literal,
                state: &[#(#state_names),*],
                signals: #signals,
                key: #key,
                dir: #dir,
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
        #watch_start
    }
}
