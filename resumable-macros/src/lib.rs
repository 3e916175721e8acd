//! The `#[resumable]` attribute. Use it through the `resumable` crate, which documents it.

mod args;
mod bindings;
mod checks;
mod code;
mod control_flow;
mod crate_path;
mod declarations;
mod erase_impl_trait;
mod errors;
mod exit_moves;
mod expand;
mod expand_nest;
#[cfg(test)]
mod expansion_snapshots;
mod facts;
mod first_use;
mod generated;
mod generated_loop;
mod generated_start;
mod generated_state;
mod iterable;
mod loop_forms;
mod model;
mod moved;
mod names;
mod output_files;
mod params;
mod parts;
mod progress;
mod refusals;
mod rewrite;
mod state;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::ToTokens;

/// Expands `#[resumable]`; its semantics are documented in the `resumable` crate.
#[proc_macro_attribute]
pub fn resumable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into()).into()
}

fn expand(args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        // A `fn` that does not parse: syn's own message says where and what it expected.
        Err(error) if is_a_fn(&item) => return with_original(error, item),
        Err(_) => {
            let first = item.clone().into_iter().next();
            let span = first.map_or_else(proc_macro2::Span::call_site, |token| token.span());
            let error = syn::Error::new(
                span,
                "#[resumable] applies to a `fn` whose body has a loop, not to this item",
            );
            return with_original(error, item);
        }
    };
    let result = syn::parse2::<args::Args>(args).and_then(|mut args| {
        crate_path::with(args.krate.take(), || pipeline(args, function.clone()))
    });
    result.unwrap_or_else(|error| {
        // A `for` loop is not allowed in a const fn: re-emitting `const` would add a second,
        // confusing error after ours.
        let mut function = function;
        function.sig.constness = None;
        with_original(error, function.into_token_stream())
    })
}

/// The stages, each reading what the ones before it returned (ARCHITECTURE.md, "The macro"):
/// every error up to the checks is reported at once, then those of the rewrites.
fn pipeline(args: args::Args, function: syn::ItemFn) -> syn::Result<TokenStream2> {
    let mut errors = errors::Errors::default();
    // No loop to checkpoint: nothing after the model can run; its errors say why.
    let Some(model) = model::Model::new(args, function, &mut errors) else {
        return Err(errors.finish().unwrap_err());
    };
    let state = state::select(&model, &mut errors);
    checks::check(&model, &state, &mut errors);
    errors.finish()?;
    let facts = facts::Facts::new(&model, state);
    let bodies = rewrite::rewrite(&model, &facts)?;
    Ok(expand::expand(&model, &facts, &bodies))
}

/// Whether the item's own tokens (not a body's) name `fn`: a function, whatever else is wrong.
fn is_a_fn(item: &TokenStream2) -> bool {
    item.clone()
        .into_iter()
        .any(|token| matches!(&token, proc_macro2::TokenTree::Ident(ident) if ident == "fn"))
}

/// The error beside the unchanged item, so the rest of the crate and the IDE still see it.
fn with_original(error: syn::Error, item: TokenStream2) -> TokenStream2 {
    let mut tokens = error.into_compile_error();
    tokens.extend(item);
    tokens
}
