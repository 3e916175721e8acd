//! The bindings that `let`s and patterns declare, and what the statements before the loop say
//! about them (closures that read other bindings, `Copy` literals). A leaf, as `names` is.

use std::collections::BTreeSet;

use quote::ToTokens;
use syn::{Expr, Ident, Lit, Pat, Stmt};

use crate::names::names_in;

/// A binding a `let` or a parameter declares.
pub struct Binding {
    pub ident: Ident,
    pub mutable: bool,
}

/// The bindings the top-level `let`s of `stmts` leave in scope: later `let`s shadow earlier
/// ones of the same name.
pub fn bindings_of(prelude: &[Stmt]) -> Vec<Binding> {
    let mut bindings: Vec<Binding> = Vec::new();
    for stmt in prelude {
        if let Stmt::Local(local) = stmt {
            let mut found = Vec::new();
            collect_bindings(&local.pat, &mut found);
            for binding in found {
                bindings.retain(|old| old.ident != binding.ident);
                bindings.push(binding);
            }
        }
    }
    bindings
}

/// Adds the bindings `pat` declares to `found`, in order.
pub fn collect_bindings(pat: &Pat, found: &mut Vec<Binding>) {
    match pat {
        Pat::Ident(pat) => {
            found.push(Binding {
                ident: pat.ident.clone(),
                mutable: pat.mutability.is_some(),
            });
            if let Some((_, sub)) = &pat.subpat {
                collect_bindings(sub, found);
            }
        }
        Pat::Type(pat) => collect_bindings(&pat.pat, found),
        Pat::Paren(pat) => collect_bindings(&pat.pat, found),
        Pat::Tuple(pat) => pat
            .elems
            .iter()
            .for_each(|pat| collect_bindings(pat, found)),
        Pat::TupleStruct(pat) => pat
            .elems
            .iter()
            .for_each(|pat| collect_bindings(pat, found)),
        Pat::Struct(pat) => pat
            .fields
            .iter()
            .for_each(|field| collect_bindings(&field.pat, found)),
        Pat::Slice(pat) => pat
            .elems
            .iter()
            .for_each(|pat| collect_bindings(pat, found)),
        Pat::Reference(pat) => collect_bindings(&pat.pat, found),
        _ => {}
    }
}

/// Adds to `used` (the names the loop's body reads) what each closure declared before the loop
/// that it calls reads, and so on: the loop reads those through the closure.
pub fn through_closures(prelude: &[Stmt], used: &mut BTreeSet<String>) {
    let closures: Vec<(Ident, &Expr)> = prelude
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::Local(local) => Some(local),
            _ => None,
        })
        .filter_map(|local| {
            let init = local.init.as_ref().map(|init| &*init.expr)?;
            let mut found = Vec::new();
            collect_bindings(&local.pat, &mut found);
            match (found.as_slice(), init) {
                ([binding], Expr::Closure(_)) => Some((binding.ident.clone(), init)),
                _ => None,
            }
        })
        .collect();
    loop {
        let before = used.len();
        for (ident, closure) in &closures {
            if used.contains(&ident.to_string()) {
                names_in(closure.to_token_stream(), used);
            }
        }
        if used.len() == before {
            break;
        }
    }
}

/// `let name` or `let name: Type` (any `mut`, `ref`): the binding and its type, if written.
pub fn single_binding(local: &syn::Local) -> Option<(&syn::PatIdent, Option<&syn::Type>)> {
    let (pat, ty) = match &local.pat {
        Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
        other => (other, None),
    };
    match pat {
        Pat::Ident(binding) => Some((binding, ty)),
        _ => None,
    }
}

/// The bindings declared with a number, `bool` or `char` literal (`let mut count = 0`), or a
/// type that is one of those (`let mut best: u64 = …`): `Copy`, so a `return` of one does not
/// move it.
pub fn copied_literals(prelude: &[Stmt]) -> Vec<Ident> {
    const PRIMITIVE: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char",
    ];
    let mut copied: Vec<Ident> = Vec::new();
    for stmt in prelude {
        let Stmt::Local(local) = stmt else { continue };
        let Some((binding, ty)) = single_binding(local) else {
            continue;
        };
        let primitive_type = matches!(ty, Some(syn::Type::Path(path))
            if PRIMITIVE.iter().any(|name| path.path.is_ident(name)));
        let literal = local.init.as_ref().is_some_and(|init| {
            matches!(&*init.expr, Expr::Lit(lit)
                if matches!(lit.lit, Lit::Int(_) | Lit::Float(_) | Lit::Bool(_) | Lit::Char(_)))
        });
        copied.retain(|ident| *ident != binding.ident);
        if primitive_type || (ty.is_none() && literal) {
            copied.push(binding.ident.clone());
        }
    }
    copied
}
