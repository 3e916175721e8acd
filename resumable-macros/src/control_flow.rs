//! Rewrites `return` and `?` in the loop body, which runs inside a closure, so that they still
//! leave the function (through `Exit`) instead of only the closure.
//!
//! Input:  `return value;`   Output: `return Exit::Returned(value);`
//! Input:  `expr?`           Output: `match try_branch(expr) {
//!                                        Continue(v) => v,
//!                                        Break(exit) => return exit, // Exit::Failed(Err(e.into()))
//!                                    }`
//!
//! Closures, async blocks, `const` blocks and nested items have their own `return` and `?`, so
//! the visitor does not enter them. Macro arguments that parse as comma-separated expressions
//! (`println!`, `assert!`, `vec!`, …) are rewritten too; a macro whose arguments do not parse
//! and that contains `return` or `?` is an error, since its meaning would silently change.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Macro, Token, parse_quote_spanned};

/// Rewrites the loop body in place; returns the errors for macros it could not look into.
pub fn rewrite(body: &mut syn::Block) -> syn::Result<()> {
    let mut visitor = ControlFlow { error: None };
    visitor.visit_block_mut(body);
    visitor.error.map_or(Ok(()), Err)
}

struct ControlFlow {
    error: Option<syn::Error>,
}

impl VisitMut for ControlFlow {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(ret) => {
                if let Some(value) = &mut ret.expr {
                    self.visit_expr_mut(value);
                }
                let span = ret.return_token.span;
                let value = match &ret.expr {
                    Some(value) => value.to_token_stream(),
                    None => quote_spanned!(span=> ()),
                };
                *expr = parse_quote_spanned! {span=>
                    return ::resumable::__private::Exit::Returned(#value)
                };
            }
            Expr::Try(try_expr) => {
                self.visit_expr_mut(&mut try_expr.expr);
                let span = try_expr.question_token.span;
                let inner = &try_expr.expr;
                let value =
                    syn::Ident::new("__resumable_value", Span::mixed_site().located_at(span));
                let residual =
                    syn::Ident::new("__resumable_residual", Span::mixed_site().located_at(span));
                *expr = parse_quote_spanned! {span=>
                    match ::resumable::__private::try_branch(#inner) {
                        ::core::ops::ControlFlow::Continue(#value) => #value,
                        ::core::ops::ControlFlow::Break(#residual) => return #residual,
                    }
                };
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        let Some(offending) = mentions_return_or_try(mac.tokens.clone()) else {
            return;
        };
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        match mac.parse_body_with(parser) {
            Ok(mut args) => {
                for arg in &mut args {
                    self.visit_expr_mut(arg);
                }
                mac.tokens = args.into_token_stream();
            }
            Err(_) => {
                let error = syn::Error::new(
                    offending,
                    "#[resumable] cannot see into this macro, and it contains `return` or `?`, \
                     which must leave the function through the checkpointing code: compute the \
                     value with `?` in a `let` before the macro call",
                );
                match &mut self.error {
                    Some(first) => first.combine(error),
                    None => self.error = Some(error),
                }
            }
        }
    }
}

/// Whether `tokens` contain a `return` or a `?` anywhere. Over-approximates (a closure's own
/// `?` counts too), which only costs a parse: macros without either are left untouched.
fn mentions_return_or_try(tokens: TokenStream) -> Option<Span> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) if ident == "return" => Some(ident.span()),
        TokenTree::Punct(punct) if punct.as_char() == '?' => Some(punct.span()),
        TokenTree::Group(group) => mentions_return_or_try(group.stream()),
        _ => None,
    })
}
