//! The runtime crate's path in generated code: `::resumable`, or what `crate = …` says (for a
//! program that renamed the dependency, as `#[serde(crate = "…")]` does for serde).
//!
//! Generated code names it as `#RUNTIME`; [`with`] sets it for one expansion. A thread-local,
//! as the expansion is one call on one thread and the path is needed in every part of it.

use std::cell::RefCell;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

thread_local! {
    static PATH: RefCell<Option<syn::Path>> = const { RefCell::new(None) };
}

/// The runtime crate's path, as tokens: `quote!(#RUNTIME::__private::…)`.
pub struct Runtime;

/// See [`Runtime`].
pub const RUNTIME: Runtime = Runtime;

impl ToTokens for Runtime {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        PATH.with(|path| match &*path.borrow() {
            Some(path) => path.to_tokens(tokens),
            None => tokens.extend(quote!(::resumable)),
        });
    }
}

/// The path with every token at `span`, for code spanned at the user's tokens (an error
/// there points at them only, not at the whole attribute).
pub fn at(span: Span) -> TokenStream {
    RUNTIME
        .to_token_stream()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// Runs `expand` with `path` (`None`: `::resumable`) as the runtime crate's path.
pub fn with<R>(path: Option<syn::Path>, expand: impl FnOnce() -> R) -> R {
    let before = PATH.with(|slot| slot.replace(path));
    let result = expand();
    PATH.with(|slot| *slot.borrow_mut() = before);
    result
}
