//! Loops whose changes a checkpoint could not see, refused at compile time with what to write
//! instead: each of them would otherwise resume to a different result, silently.
//!
//! - The loop's iterator changes a collection (`grid.iter_mut()`, `&mut v`): the cells the
//!   interrupted run changed are not state, and the resumed run skips them.
//! - A closure bound before the loop names a `let mut` binding (`let mut add = |x| total += x`):
//!   the loop changes `total` through the closure without naming it, so `total` is not state.
//! - A binding changed through a shared reference (`let hits = Cell::new(0)`, `AtomicU64`,
//!   `Mutex`, `RefCell`, …), declared without `mut`, which is how state is found.
//! - A state handle shared with others (`Arc<Mutex<_>>`, `Rc<RefCell<_>>`): a restore replaces
//!   the handle, and the other handles still see the fresh value.
//! - Borrowed state (`let mut best: &str`): a checkpoint cannot restore a borrow.
//! - A `&mut [T]` (or `&mut str`, `&mut dyn Trait`) parameter the loop uses: what it points
//!   to cannot be assigned the restored value.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Ident, Local, Pat, Stmt, Type};

use crate::model::Param;

/// Refuses an iterator expression that changes what it walks: a `*_mut` method (`iter_mut`,
/// `values_mut`, `chunks_mut`, …), `as_mut`, or `&mut x`. The message names the collection and
/// shows the loop over indices (or keys) that fits the method.
pub fn check_iterable(iterable: &Expr, errors: &mut Vec<syn::Error>) {
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
        errors.push(syn::Error::new(
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

/// Refuses a `&mut [T]`, `&mut str` or `&mut dyn Trait` parameter that the loop uses (`used`
/// holds the names in its body): state is restored by assignment, which those cannot take.
pub fn check_params(params: &[Param], used: &BTreeSet<String>, errors: &mut Vec<syn::Error>) {
    for param in params {
        let Some(unsized_kind) = &param.unsized_target else {
            continue;
        };
        if used.contains(&param.ident.to_string()) {
            errors.push(syn::Error::new(
                param.ident.span(),
                format!(
                    "`{}` is a `&mut {unsized_kind}` parameter that the loop uses: a checkpoint \
                     restores state by assignment, which a `{unsized_kind}` cannot take. Take an \
                     owned, sized type (`&mut Vec<T>` for `&mut [T]`, `&mut String` for `&mut \
                     str`), or copy it into a `let mut` binding before the loop and back after it",
                    param.ident
                ),
            ));
        }
    }
}

/// A `let` before the loop, as the refusals need it.
struct Declared<'a> {
    ident: &'a Ident,
    mutable: bool,
    ty: Option<&'a Type>,
    init: Option<&'a Expr>,
}

fn declared(prelude: &[Stmt]) -> Vec<Declared<'_>> {
    let mut found = Vec::new();
    for stmt in prelude {
        if let Stmt::Local(Local { pat, init, .. }) = stmt {
            let init = init.as_ref().map(|init| &*init.expr);
            let (pat, ty) = match pat {
                Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
                other => (other, None),
            };
            if let Pat::Ident(binding) = pat {
                found.push(Declared {
                    ident: &binding.ident,
                    mutable: binding.mutability.is_some(),
                    ty,
                    init,
                });
            }
        }
    }
    found
}

/// The closures, interior mutability, shared handles and borrows of the bindings before the
/// loop. `used` holds the names in the loop; `state` the bindings chosen as state; `mutable`
/// every `let mut` binding before the loop (and `self` in a `&mut self` method).
pub fn check_prelude(
    prelude: &[Stmt],
    used: &BTreeSet<String>,
    state: &[Ident],
    mutable: &BTreeSet<String>,
    errors: &mut Vec<syn::Error>,
) {
    for binding in declared(prelude) {
        let name = binding.ident.to_string();
        if !used.contains(&name) {
            continue;
        }
        let is_state = state.contains(binding.ident);
        if let Some(init) = binding.init
            && let Some(captured) = closure_capture(init, mutable)
        {
            errors.push(syn::Error::new(
                binding.ident.span(),
                format!(
                    "`{name}` is a closure that names `{captured}`, so the loop can change \
                     `{captured}` through it without naming it, and a checkpoint would not save \
                     it: pass it in as an argument (`let {name} = |{captured}: &mut _, …| …;` and \
                     `{name}(&mut {captured}, …)` in the loop), or write the closure inside the \
                     loop body"
                ),
            ));
            continue;
        }
        let kind = binding
            .ty
            .map_or_else(Vec::new, |ty| kinds_in(ty.to_token_stream()));
        let kind = if kind.is_empty() {
            binding.init.map_or_else(Vec::new, constructed_kinds)
        } else {
            kind
        };
        if let Some(handle) = kind.iter().find(|kind| *kind == "Rc" || *kind == "Arc")
            && (is_state || kind.iter().any(|kind| is_interior(kind)))
        {
            errors.push(syn::Error::new(
                binding.ident.span(),
                format!(
                    "`{name}` is an `{handle}`, a handle others may share: restoring it would \
                     replace this handle and leave the others with the fresh value. Keep the \
                     value itself in a `let mut` binding that the loop changes, and share it \
                     after the loop"
                ),
            ));
            continue;
        }
        if !binding.mutable
            && !is_state
            && let Some(interior) = kind.iter().find(|kind| is_interior(kind))
        {
            errors.push(syn::Error::new(
                binding.ident.span(),
                format!(
                    "`{name}` (a `{interior}`) can change through a shared reference, but \
                     only `let mut` bindings are loop state: declare it `let mut \
                     {name}` so that it is saved and restored, or hold a plain value in a `let \
                     mut` binding and change it directly"
                ),
            ));
            continue;
        }
        if is_state && is_borrowed(&binding) {
            errors.push(syn::Error::new(
                binding.ident.span(),
                format!(
                    "`{name}` is loop state and holds a borrow, which a checkpoint cannot \
                     restore: use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, or an \
                     index into what it borrows from), or leave it out with `skip({name})`"
                ),
            ));
        }
    }
}

/// Whether `ty` or `init` say the binding holds a reference: `&str`, `= ""`, `= &x`.
fn is_borrowed(binding: &Declared<'_>) -> bool {
    if let Some(ty) = binding.ty {
        return matches!(ty, Type::Reference(_));
    }
    matches!(
        binding.init,
        Some(Expr::Reference(_))
            | Some(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_) | syn::Lit::ByteStr(_),
                ..
            }))
    )
}

/// The types that change through a shared reference.
fn is_interior(kind: &str) -> bool {
    matches!(
        kind,
        "Cell" | "RefCell" | "UnsafeCell" | "OnceCell" | "OnceLock" | "Mutex" | "RwLock"
    ) || kind.starts_with("Atomic")
}

/// The names of interior-mutable types and shared handles in a type's tokens.
fn kinds_in(tokens: TokenStream) -> Vec<String> {
    let mut kinds = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if is_interior(&name) || name == "Rc" || name == "Arc" {
                    kinds.push(name);
                }
            }
            TokenTree::Group(group) => kinds.extend(kinds_in(group.stream())),
            _ => {}
        }
    }
    kinds
}

/// The kinds an initializer builds with `Kind::new(…)` (`Arc::new(Mutex::new(…))`,
/// `AtomicU64::new(0)`, `Rc::clone(&x)`, `RefCell::default()`), outermost first.
fn constructed_kinds(init: &Expr) -> Vec<String> {
    match init {
        Expr::Call(call) => {
            let mut kinds = Vec::new();
            if let Expr::Path(path) = &*call.func {
                let segments: Vec<String> = path
                    .path
                    .segments
                    .iter()
                    .map(|segment| segment.ident.to_string())
                    .collect();
                if let [.., kind, _constructor] = segments.as_slice()
                    && (is_interior(kind) || kind == "Rc" || kind == "Arc")
                {
                    kinds.push(kind.clone());
                }
            }
            for arg in &call.args {
                kinds.extend(constructed_kinds(arg));
            }
            kinds
        }
        Expr::Paren(paren) => constructed_kinds(&paren.expr),
        _ => Vec::new(),
    }
}

/// The first `let mut` binding (of `mutable`) named by the closure that `init` is (`|x| …`,
/// `move |x| …`, `Box::new(|x| …)`). A closure only called in the initializer
/// (`(0..5).map(|_| next(&mut seed))`) is not kept, so it changes nothing later.
fn closure_capture(init: &Expr, mutable: &BTreeSet<String>) -> Option<String> {
    match init {
        Expr::Closure(closure) => {
            let mut named = BTreeSet::new();
            crate::model::names_in(closure.body.to_token_stream(), &mut named);
            named.intersection(mutable).next().cloned()
        }
        Expr::Paren(paren) => closure_capture(&paren.expr, mutable),
        Expr::Call(call) => call
            .args
            .iter()
            .find_map(|arg| closure_capture(arg, mutable)),
        _ => None,
    }
}
