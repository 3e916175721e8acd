//! Names: a generated local's name, and the names the analyses find in the user's tokens
//! (every identifier, a static's spelling, the path an expression reaches into). A leaf: it
//! imports nothing from this crate, so every stage may use it.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::{Expr, Ident};

/// A generated local: mixed-site hygiene keeps it apart from every name the user writes, and
/// the same name gives the same local wherever it is made.
pub fn local(name: &str) -> Ident {
    Ident::new(&format!("__resumable_{name}"), Span::mixed_site())
}

/// Every identifier in `tokens`, macro arguments included.
pub fn names_in(tokens: TokenStream, names: &mut BTreeSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                names.insert(ident.to_string());
            }
            TokenTree::Group(group) => names_in(group.stream(), names),
            _ => {}
        }
    }
}

/// Whether `name` is spelled as a static or a constant is: `NEXT_ID`, `MAX`, `LOG2`.
pub fn is_screaming(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Methods that hand back (a view of) their receiver: `LOG.get().unwrap().lock()` changes `LOG`.
fn passes_through(method: &str) -> bool {
    matches!(
        method,
        "unwrap" | "expect" | "get" | "get_or_init" | "as_ref" | "as_deref" | "deref" | "force"
    )
}

/// The path an expression reaches into: `LOG` in `LOG.lock().unwrap()`, `COUNTS[i]`,
/// `STATE.inner`, `*KEY`.
pub fn root_path(expr: &Expr) -> Option<&syn::Path> {
    match expr {
        Expr::Path(path) if path.qself.is_none() => Some(&path.path),
        Expr::Field(field) => root_path(&field.base),
        Expr::Index(index) => root_path(&index.expr),
        Expr::Paren(paren) => root_path(&paren.expr),
        Expr::Group(group) => root_path(&group.expr),
        Expr::Reference(reference) => root_path(&reference.expr),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Deref(_),
            expr,
            ..
        }) => root_path(expr),
        Expr::Try(tried) => root_path(&tried.expr),
        Expr::MethodCall(call) if passes_through(&call.method.to_string()) => {
            root_path(&call.receiver)
        }
        _ => None,
    }
}

/// A path's last name: `Ordering` in `std::sync::atomic::Ordering`.
pub fn last_name(path: &syn::Path) -> String {
    path.segments
        .last()
        .map_or_else(String::new, |segment| segment.ident.to_string())
}
