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
