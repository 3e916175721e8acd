//! The loop's iterator changes a collection (`grid.iter_mut()`, `&mut v`): the cells the
//! interrupted run changed are not state, and the resumed run skips them. Refused with the loop
//! over indices (or keys) that does the same.

use proc_macro2::Span;
use quote::ToTokens;
use syn::Expr;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use crate::errors::Errors;

/// Refuses an iterator expression that changes what it walks: a `*_mut` method (`iter_mut`,
/// `values_mut`, `chunks_mut`, …), `as_mut`, or `&mut x`. The message names the collection and
/// shows the loop over indices (or keys) that fits the method.
pub fn check_iterable(iterable: &Expr, errors: &mut Errors) {
    struct Finder(Option<(Span, String, String)>);
    impl Visit<'_> for Finder {
        fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
            let method = call.method.to_string();
            if self.0.is_none() && (method.ends_with("_mut") || method == "as_mut") {
                let collection = place_text(&call.receiver);
                let size = call.args.first().map(|size| {
                    let size = size.to_token_stream().to_string();
                    if matches!(call.args.first(), Some(Expr::Lit(_) | Expr::Path(_))) {
                        size
                    } else {
                        format!("({size})")
                    }
                });
                let rewrite = rewrite_for(&method, &collection, size.as_deref());
                let args = call.args.to_token_stream();
                self.0 = Some((
                    call.method.span(),
                    format!("`{collection}.{method}({args})`"),
                    rewrite,
                ));
            }
            visit::visit_expr_method_call(self, call);
        }
        fn visit_expr_reference(&mut self, reference: &syn::ExprReference) {
            if self.0.is_none()
                && let Some(mutability) = &reference.mutability
            {
                let collection = place_text(&reference.expr);
                self.0 = Some((
                    mutability.span(),
                    format!("`&mut {collection}`"),
                    rewrite_for("iter_mut", &collection, None),
                ));
            }
            visit::visit_expr_reference(self, reference);
        }
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
    }
    let mut finder = Finder(None);
    finder.visit_expr(iterable);
    if let Some((span, how, rewrite)) = finder.0 {
        errors.push_error(syn::Error::new(
            span,
            format!(
                "#[resumable] cannot checkpoint a loop that changes a collection through its own \
                 iterator ({how}): what the interrupted run changed is not saved, and the resumed \
                 run skips it. Loop over its indices (or keys) instead and change it in the \
                 body, which makes it loop state: {rewrite}"
            ),
        ));
    }
}

/// `grid`, `self.cells`: the collection as written; `the collection` for anything else.
fn place_text(expr: &Expr) -> String {
    match expr {
        Expr::Path(path) if path.path.get_ident().is_some() => path.to_token_stream().to_string(),
        Expr::Field(field) => match &field.member {
            syn::Member::Named(name) => format!("{}.{name}", place_text(&field.base)),
            syn::Member::Unnamed(index) => format!("{}.{}", place_text(&field.base), index.index),
        },
        Expr::Paren(paren) => place_text(&paren.expr),
        Expr::Reference(reference) => place_text(&reference.expr),
        Expr::MethodCall(call) if call.args.is_empty() => {
            format!("{}.{}()", place_text(&call.receiver), call.method)
        }
        _ => "the collection".to_owned(),
    }
}

/// The loop over indices (or keys) that does what `collection.method(size)` did.
fn rewrite_for(method: &str, collection: &str, size: Option<&str>) -> String {
    let c = collection;
    match (method, size) {
        ("chunks_exact_mut", Some(n)) => format!(
            "rows of {n}: `for r in 0..{c}.len() / {n} {{ let row = &mut {c}[{n} * r..{n} * r + \
             {n}]; … }}`"
        ),
        ("chunks_mut", Some(n)) => format!(
            "rows of {n}: `for r in 0..{c}.len() / {n} {{ let row = &mut {c}[{n} * r..{n} * r + \
             {n}]; … }}` (with `{c}.len().div_ceil({n})` rows and an end of `({n} * r + \
             {n}).min({c}.len())` if the last row may be short)"
        ),
        ("values_mut", _) => format!(
            "`let keys: Vec<_> = {c}.keys().cloned().collect(); for key in keys {{ let value = \
             {c}.get_mut(&key).unwrap(); … }}`"
        ),
        _ => format!("`for i in 0..{c}.len() {{ let item = &mut {c}[i]; … }}`"),
    }
}
