//! Refuses, at the user's binding, a declaration no checkpoint could save or restore: state
//! declared without a value, holding borrows, an array longer than serde takes, borrowed by a
//! closure in the loop's iterator; and a `&mut` alias the loop changes its target through.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Expr, ExprForLoop, Ident, Lit, Stmt};

use crate::bindings::single_binding;
use crate::errors::Errors;

/// Refuses, at the user's binding, state that no checkpoint could save or restore and would
/// otherwise fail to compile with a message about the generated code: declared without a value
/// (`let mut last;`), holding borrows inside (`Vec<&'a str>`), an array longer than serde takes
/// (`[u64; 64]`), borrowed by a closure in the loop's iterator (`.filter(|x| *x <
/// limit.get())`); and a binding the loop uses that is a `&mut` borrow of another, which the
/// loop then changes without naming it. Returns the `&mut` aliases found.
pub fn check_declarations(
    prelude: &[Stmt],
    used: &BTreeSet<String>,
    state: &[Ident],
    skipped: &[Ident],
    looped: &ExprForLoop,
    errors: &mut Errors,
) -> Vec<Ident> {
    let mut aliases = Vec::new();
    for stmt in prelude {
        let Stmt::Local(local) = stmt else { continue };
        let Some((binding, ty)) = single_binding(local) else {
            continue;
        };
        let ident = &binding.ident;
        let init = local.init.as_ref().map(|init| &*init.expr);
        if !used.contains(&ident.to_string()) {
            continue;
        }
        if let Some(Expr::Reference(reference)) = init
            && reference.mutability.is_some()
            && !skipped.contains(ident)
        {
            let target = reference
                .expr
                .to_token_stream()
                .to_string()
                .replace(' ', "");
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is a `&mut` borrow of `{target}`: the loop changes `{target}` \
                     through it without naming it, so no checkpoint saves what it changed. Use \
                     `{target}` in the loop directly (declared `let mut`, or a `mut` parameter), \
                     which makes it loop state"
                ),
            ));
            aliases.push(ident.clone());
            continue;
        }
        if !state.contains(ident) {
            continue;
        }
        if init.is_none() {
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is loop state and is declared without a value, which a checkpoint \
                     needs to save and restore from the first iteration on: give it one before \
                     the loop (`let mut {ident} = 0;`, or `let mut {ident}: Option<T> = None;` \
                     set in the loop)"
                ),
            ));
            continue;
        }
        if let Some(ty) = ty
            && !matches!(ty, syn::Type::Reference(_))
            && holds_borrow(ty.to_token_stream())
        {
            let spelled = spelled(ty.to_token_stream());
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is loop state and holds borrows (`{spelled}`), which a checkpoint \
                     cannot restore: a checkpoint reads back owned values. Hold owned ones \
                     (`String` for `&str`, `Vec<T>` for `&[T]`) or indices into what they \
                     borrow from"
                ),
            ));
            continue;
        }
        let length = match (ty, init) {
            (Some(syn::Type::Array(array)), _) => Some(&array.len),
            (None, Some(Expr::Repeat(repeat))) => Some(&*repeat.len),
            _ => None,
        };
        if let Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Int(length),
            ..
        })) = length
            && length.base10_parse::<u64>().is_ok_and(|length| length > 32)
        {
            errors.push_error(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is loop state and an array of {length} elements, and serde (which \
                     checkpoints use) reads and writes arrays of at most 32: hold a `Vec` \
                     (`vec![0; {length}]`), or keep the array inside a struct of yours whose \
                     field says how to serialize it (`serde_big_array::BigArray`, or \
                     `serde_with`'s `#[serde_as(as = \"[_; {length}]\")]`)"
                ),
            ));
        }
    }
    // A closure in the iterator keeps its borrow of the state while the loop runs, and reads
    // the value the state had when the iterator was made.
    struct Closures<'a>(&'a [Ident], Option<Ident>);
    impl syn::visit::Visit<'_> for Closures<'_> {
        fn visit_expr_closure(&mut self, closure: &syn::ExprClosure) {
            if self.1.is_none() {
                self.1 = first_named(closure.body.to_token_stream(), self.0);
            }
        }
    }
    let mut closures = Closures(state, None);
    syn::visit::Visit::visit_expr(&mut closures, &looped.expr);
    if let Some(named) = closures.1 {
        errors.push_error(syn::Error::new(
            named.span(),
            format!(
                "the loop's iterator borrows `{named}`, which is loop state, in a closure: a \
                 resumed run restores `{named}` after the iterator is made, which that borrow \
                 forbids. Test it in the body instead: `for x in items {{ if !(…{named}…) {{ \
                 continue; }} … }}`"
            ),
        ));
    }
    aliases
}

/// Tokens as Rust is written: a space between two words and after a comma only.
fn spelled(tokens: TokenStream) -> String {
    let mut text = String::new();
    let mut word = false;
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::Brace => ("{", "}"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                text.push_str(&format!("{open}{}{close}", spelled(group.stream())));
                word = false;
            }
            TokenTree::Punct(punct) => {
                text.push(punct.as_char());
                if punct.as_char() == ',' || punct.as_char() == ';' {
                    text.push(' ');
                }
                word = false;
            }
            other => {
                if word {
                    text.push(' ');
                }
                text.push_str(&other.to_string());
                word = true;
            }
        }
    }
    text
}

/// Whether a type's tokens hold a reference or a lifetime (`Vec<&str>`, `Cow<'a, str>`).
fn holds_borrow(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Punct(punct) => punct.as_char() == '&' || punct.as_char() == '\'',
        TokenTree::Group(group) => holds_borrow(group.stream()),
        _ => false,
    })
}

/// The first identifier in `tokens` that is one of `names`, as it is spelled there.
fn first_named(tokens: TokenStream, names: &[Ident]) -> Option<Ident> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) if names.contains(&ident) => Some(ident),
        TokenTree::Group(group) => first_named(group.stream(), names),
        _ => None,
    })
}
