//! What every piece of the generated code names: the probe traits, the generated locals,
//! how the function returns (and routes a runtime error to its `Err`), a binding's place.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Ident, ReturnType};

use crate::control_flow;
use crate::crate_path::RUNTIME;
use crate::erase_impl_trait::{impl_trait_as_unit, is_impl_trait};
use crate::names::local;

/// The traits the generated code's autoref probes are methods of, brought into scope once, at
/// the top of the function (see `__private::probe_traits`: imported `as _`, they cannot change
/// what the user's own method calls resolve to).
pub fn probe_traits() -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use #RUNTIME::__private::probe_traits::*;
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
    pub fn new() -> Locals {
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

/// What the function returns, as the generated code handles it.
pub struct Returns {
    pub return_type: TokenStream,
    /// The function declares a return type that can be named (no `impl Trait`).
    pub may_be_result: bool,
    /// When the return type is spelled `…Result<…>`, its error type.
    pub result_error: Option<TokenStream>,
    /// `fn(&R) -> bool`: whether a value returned from the loop is an `Err`.
    pub is_failure: TokenStream,
}

impl Returns {
    pub fn new(output: &ReturnType) -> Returns {
        let private = quote!(#RUNTIME::__private);
        let value = local("value");
        let may_be_result = match output {
            ReturnType::Default => false,
            ReturnType::Type(_, ty) => !is_impl_trait(ty),
        };
        let result_error = match output {
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
        Returns {
            return_type: control_flow::return_type(output),
            may_be_result,
            result_error,
            is_failure,
        }
    }
}

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

/// Whether the return type is spelled `…Result<…>` (a `Result`, or an alias of one such as
/// `anyhow::Result<T>`): its loop closure then returns `Result` too (see [`Parts::catching`]).
fn is_spelled_result(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path)
        if path.qself.is_none()
            && path.path.segments.last().is_some_and(|last| last.ident == "Result"))
}

/// What the function does with a runtime error `err` where it can return (its type is `!`):
/// returns `Err(E::from(err))` when it returns a `Result<T, E>` whose
/// `E: From<resumable::Error>`, else panics with it.
pub fn route_error(may_be_result: bool, err: &Ident) -> TokenStream {
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
pub fn route_closure(may_be_result: bool, return_type: &TokenStream) -> TokenStream {
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
