//! `while` and `loop` become the `for` loop the rest of the macro works on: a `for` over a
//! counter, whose index counts the completed iterations; the loop's progress lives in its
//! state, which is checkpointed like any other.
//!
//! ```text
//! 'a: while COND BODY   =>   'a: for _ in 0u64.. { if COND BODY else { break; } }
//! 'a: loop BODY         =>   'a: for _ in 0u64.. BODY
//! ```
//!
//! `COND` may be a `let` chain (`while let Some(x) = queue.pop()`): its bindings are in scope
//! in `BODY` as before. The `break` is the loop's own, so it ends the loop normally.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Expr, ExprForLoop, ExprLoop, ExprWhile, parse_quote_spanned};

/// The `for` loop equivalent to a top-level `while` or `loop`; `None` for other expressions.
pub fn as_for_loop(expr: &Expr) -> Option<ExprForLoop> {
    match expr {
        Expr::ForLoop(looped) => Some(looped.clone()),
        Expr::While(looped) => Some(from_while(looped)),
        Expr::Loop(looped) => Some(from_loop(looped)),
        _ => None,
    }
}

/// As [`as_for_loop`], but a `while` whose condition is a single `let` or has none checks it in
/// a statement of its own, before the body's statements, so that those stand directly in the
/// `for` loop's body (the outer loop of a nest):
///
/// ```text
/// 'a: while let PAT = EXPR BODY   =>   'a: for _ in 0u64.. { let PAT = EXPR else { break; }; BODY… }
/// 'a: while COND BODY             =>   'a: for _ in 0u64.. { if COND {} else { break; } BODY… }
/// ```
pub fn as_flat_for_loop(expr: &Expr) -> Option<ExprForLoop> {
    let Expr::While(looped) = expr else {
        return as_for_loop(expr);
    };
    let ExprWhile {
        attrs,
        label,
        while_token,
        cond,
        body,
    } = looped;
    let span = while_token.span;
    let stmts = &body.stmts;
    let check: syn::Stmt = match &**cond {
        Expr::Let(binding) => {
            let pat = &binding.pat;
            let scrutinee = &binding.expr;
            // `let … else` takes no expression that ends in `}` (`match`, `if`, a block).
            let scrutinee = if scrutinee.to_token_stream().to_string().ends_with('}') {
                quote::quote!((#scrutinee))
            } else {
                quote::quote!(#scrutinee)
            };
            parse_quote_spanned! {span=> let #pat = #scrutinee else { break; }; }
        }
        cond if !has_let(cond) => parse_quote_spanned! {span=> if #cond {} else { break; } },
        _ => return None,
    };
    Some(parse_quote_spanned! {span=>
        #(#attrs)*
        #label for _ in 0u64.. {
            #check
            #(#stmts)*
        }
    })
}

/// Whether a condition is a `let` chain.
fn has_let(cond: &Expr) -> bool {
    match cond {
        Expr::Let(_) => true,
        Expr::Binary(binary) => has_let(&binary.left) || has_let(&binary.right),
        Expr::Paren(paren) => has_let(&paren.expr),
        _ => false,
    }
}

/// The keyword's span, for errors about the loop.
pub fn keyword_span(expr: &Expr) -> Option<Span> {
    match expr {
        Expr::ForLoop(looped) => Some(looped.for_token.span),
        Expr::While(looped) => Some(looped.while_token.span),
        Expr::Loop(looped) => Some(looped.loop_token.span),
        _ => None,
    }
}

fn from_while(looped: &ExprWhile) -> ExprForLoop {
    let ExprWhile {
        attrs,
        label,
        while_token,
        cond,
        body,
    } = looped;
    let span = while_token.span;
    parse_quote_spanned! {span=>
        #(#attrs)*
        #label for _ in 0u64.. {
            if #cond #body else {
                break;
            }
        }
    }
}

fn from_loop(looped: &ExprLoop) -> ExprForLoop {
    let ExprLoop {
        attrs,
        label,
        loop_token,
        body,
    } = looped;
    let span = loop_token.span;
    parse_quote_spanned! {span=>
        #(#attrs)*
        #label for _ in 0u64.. #body
    }
}
