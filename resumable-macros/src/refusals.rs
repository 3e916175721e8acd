//! Loops whose changes a checkpoint could not see, refused at compile time with what to write
//! instead: each of them would otherwise resume to a different result, silently. The others
//! are beside this file: an iterator that changes what it walks (`iterable.rs`), a binding the
//! loop advances that is not state (`progress.rs`), a file opened for writing before the loop
//! (`output_files.rs`), a state declaration no checkpoint can restore (`declarations.rs`).
//!
//! - A closure bound before the loop names a `let mut` binding (`let mut add = |x| total += x`):
//!   the loop changes `total` through the closure without naming it, so `total` is not state.
//! - A binding changed through a shared reference (`let hits = Cell::new(0)`, `AtomicU64`,
//!   `Mutex`, `RefCell`, …), declared without `mut`, which is how state is found.
//! - A state handle shared with others (`Arc<Mutex<_>>`, `Rc<RefCell<_>>`): a restore replaces
//!   the handle, and the other handles still see the fresh value.
//! - Borrowed state (`let mut best: &str`): a checkpoint cannot restore a borrow.
//! - A `&mut [T]` (or `&mut str`, `&mut dyn Trait`) parameter the loop uses: what it points
//!   to cannot be assigned the restored value.
//! - A static the loop changes (`NEXT_ID.fetch_add(..)`, `LOG.lock()`, a `thread_local!`'s
//!   `.with(|c| c.set(..))`, a `static mut` assigned): a checkpoint does not save it, and a
//!   resumed run goes on from what the new process holds. `skip(NAME)` declares one that never
//!   changes the result.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Expr, Ident, Local, Pat, Stmt, Type};

use crate::errors::Errors;
use crate::names::{is_screaming, last_name, root_path};
use crate::params::Param;

/// Refuses a `&mut [T]`, `&mut str` or `&mut dyn Trait` parameter that the loop uses (`used`
/// holds the names in its body): state is restored by assignment, which those cannot take.
pub fn check_params(params: &[Param], used: &BTreeSet<String>, errors: &mut Errors) {
    for param in params {
        let Some(unsized_kind) = &param.unsized_target else {
            continue;
        };
        if used.contains(&param.ident.to_string()) {
            errors.push_error(syn::Error::new(
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
    errors: &mut Errors,
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
            errors.push_error(syn::Error::new(
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
            errors.push_error(syn::Error::new(
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
            errors.push_error(syn::Error::new(
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
            errors.push_error(syn::Error::new(
                binding.ident.span(),
                format!(
                    "`{name}` is loop state and holds a borrow, which a checkpoint cannot \
                     restore: use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, or an \
                     index into what it borrows from)"
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
            crate::names::names_in(closure.body.to_token_stream(), &mut named);
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

/// Methods that change what they are called on through `&`: what a static (only ever reached
/// through `&`) is changed with. `get`, `load`, `read`, `borrow` and `with` read.
fn changes_through_shared(method: &str) -> bool {
    method.starts_with("fetch_")
        || method.starts_with("compare_exchange")
        || matches!(
            method,
            "store"
                | "swap"
                | "lock"
                | "try_lock"
                | "write"
                | "try_write"
                | "borrow_mut"
                | "try_borrow_mut"
                | "with_borrow_mut"
                | "set"
                | "replace"
                | "take"
                | "update"
                | "get_mut"
                // Concurrent collections (`DashMap`, `SegQueue`) change through `&` too.
                | "push"
                | "push_back"
                | "push_front"
                | "pop"
                | "pop_back"
                | "pop_front"
                | "insert"
                | "remove"
                | "clear"
                | "extend"
                | "entry"
                | "append"
                | "retain"
                | "truncate"
        )
}

/// Where a loop body changes what `tracked` picks out (the statics; in a `with` closure, its
/// parameter): each found once, first place first, with its tokens and how.
struct Changes<'a> {
    tracked: &'a dyn Fn(&syn::Path) -> bool,
    found: Vec<(String, TokenStream, String)>,
}

impl Changes<'_> {
    fn note(&mut self, path: &syn::Path, how: String) {
        let name = path.to_token_stream().to_string().replace(' ', "");
        if !self.found.iter().any(|(seen, _, _)| *seen == name) {
            self.found.push((name, path.to_token_stream(), how));
        }
    }

    fn tracked_root<'e>(&self, expr: &'e Expr) -> Option<&'e syn::Path> {
        root_path(expr).filter(|path| (self.tracked)(path))
    }
}

impl Visit<'_> for Changes<'_> {
    fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
        let method = call.method.to_string();
        if let Some(path) = self.tracked_root(&call.receiver) {
            if changes_through_shared(&method) {
                let args = if call.args.is_empty() { "" } else { "…" };
                self.note(path, format!("`.{method}({args})`"));
            } else if method == "with" || method == "with_borrow" {
                // A `thread_local!` key: its closure gets the value; it changes it when the
                // closure calls a changing method on (or assigns through) its parameter.
                for arg in &call.args {
                    if let Expr::Closure(closure) = arg
                        && closure_changes_its_input(closure)
                    {
                        self.note(path, format!("`.{method}(|…| …)` that changes it"));
                    }
                }
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_assign(&mut self, assign: &syn::ExprAssign) {
        if let Some(path) = self.tracked_root(&assign.left) {
            self.note(path, "an assignment".to_owned());
        }
        visit::visit_expr_assign(self, assign);
    }

    fn visit_expr_binary(&mut self, binary: &syn::ExprBinary) {
        use syn::BinOp::*;
        let assigns = matches!(
            binary.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | BitAndAssign(_)
                | BitOrAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        );
        if assigns && let Some(path) = self.tracked_root(&binary.left) {
            self.note(path, "an assignment".to_owned());
        }
        visit::visit_expr_binary(self, binary);
    }

    fn visit_expr_reference(&mut self, reference: &syn::ExprReference) {
        if reference.mutability.is_some()
            && let Some(path) = self.tracked_root(&reference.expr)
        {
            self.note(path, "`&mut`".to_owned());
        }
        visit::visit_expr_reference(self, reference);
    }

    // `assert!(SEEN.lock().unwrap().insert(x))`: a macro whose arguments are expressions.
    fn visit_macro(&mut self, mac: &syn::Macro) {
        use syn::punctuated::Punctuated;
        if let Ok(args) = mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }

    // An item declared in the body (a `fn`) is not the loop.
    fn visit_item(&mut self, _: &syn::Item) {}
}

/// Whether a `with` closure changes what it is given: a changing method called on its
/// parameter, or an assignment through it (`|c| c.set(c.get() + 1)`, `|v| v.borrow_mut()…`).
fn closure_changes_its_input(closure: &syn::ExprClosure) -> bool {
    let mut params = BTreeSet::new();
    for input in &closure.inputs {
        crate::names::names_in(input.to_token_stream(), &mut params);
    }
    let tracked = |path: &syn::Path| {
        path.get_ident()
            .is_some_and(|ident| params.contains(&ident.to_string()))
    };
    let mut changes = Changes {
        tracked: &tracked,
        found: Vec::new(),
    };
    changes.visit_expr(&closure.body);
    !changes.found.is_empty()
}

/// Refuses a static (or `thread_local!`) the loop body changes: a checkpoint does not save it,
/// so a resumed run would go on from what the new process holds. `skipped` are the statics
/// named in `skip(...)`, declared not to change the result; each must be named in the loop.
/// Constants and reads (`MAX.min(x)`, `u64::MAX`, `CONFIG.limit`, `NEXT.load(…)`) pass.
pub fn check_statics(
    body: &syn::Block,
    locals: &BTreeSet<String>,
    skipped: &[Ident],
    errors: &mut Errors,
) {
    let tracked = |path: &syn::Path| {
        let name = last_name(path);
        is_screaming(&name)
            && !(path.segments.len() == 1 && locals.contains(&name))
            && !skipped.iter().any(|skipped| *skipped == name)
    };
    let mut changes = Changes {
        tracked: &tracked,
        found: Vec::new(),
    };
    changes.visit_block(body);
    for (name, tokens, how) in changes.found {
        let last = name.rsplit("::").next().unwrap_or(&name).to_owned();
        errors.push_error(syn::Error::new_spanned(
            tokens,
            format!(
                "`{name}` is a static that the loop changes ({how}): a checkpoint does not save \
                 it, so a resumed run would go on from what it holds in the new process, not \
                 from where the interrupted run left it. Make its value loop state: {rewrite}; \
                 or pass the value in and return it. If it never changes the function's result \
                 (a counter for logs or tests), name it in `skip({last})`",
                rewrite = static_rewrite(&name, &how),
            ),
        ));
    }
    let mut named = BTreeSet::new();
    crate::names::names_in(body.to_token_stream(), &mut named);
    for skipped in skipped {
        if !named.contains(&skipped.to_string()) {
            errors.push_error(syn::Error::new(
                skipped.span(),
                format!(
                    "`{skipped}` is not named in the loop, so there is nothing to skip: \
                     `skip(...)` takes the bindings before the loop, and the statics it changes, \
                     that never change the result"
                ),
            ));
        }
    }
}

/// How to keep a static's value as loop state, by how the loop changes it.
fn static_rewrite(name: &str, how: &str) -> String {
    let local = name
        .rsplit("::")
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    if how.contains("lock") || how.contains("write") {
        format!(
            "`let mut {local} = {name}.lock().unwrap().clone();` before the loop, change \
             `{local}` in it, and `*{name}.lock().unwrap() = {local};` after it"
        )
    } else if how.contains("with") || how.contains("borrow") {
        format!(
            "`let mut {local} = {name}.with(|v| v.get());` before the loop (`.take()` for a \
             value that is not `Copy`), change `{local}` in it, and `{name}.with(|v| \
             v.set({local}));` after it"
        )
    } else if how.contains("assignment") || how.contains("&mut") {
        format!(
            "a `let mut {local}` binding before the loop that the loop changes, written to \
             `{name}` after it"
        )
    } else {
        format!(
            "`let mut {local} = {name}.load(Ordering::Relaxed);` before the loop, change \
             `{local}` in it, and `{name}.store({local}, Ordering::Relaxed);` after it"
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use syn::{Block, parse_quote};

    use super::check_statics;
    use crate::errors::Errors;

    /// The statics `body` is refused for, as they are spelled.
    fn statics_refused(body: Block) -> Vec<String> {
        let mut errors = Errors::default();
        check_statics(&body, &BTreeSet::new(), &[], &mut errors);
        errors.first_quoted()
    }

    #[test]
    fn a_static_changed_through_a_shared_reference_is_refused_wherever_the_body_does_it() {
        let refused = statics_refused(parse_quote!({
            let id = NEXT_ID.fetch_add(1, Relaxed);
            REGISTRY.get().unwrap().lock().unwrap().push(id);
            assert!(SEEN.lock().unwrap().insert(id));
            COUNTS[id % 4].fetch_add(1, Relaxed);
            STATE.inner.store(id, Relaxed);
            Self::CALLS.swap(0, Relaxed);
            TOTAL.with(|total| total.set(total.get() + id));
            CACHE.with_borrow_mut(|cache| cache.clear());
            if let Some(x) = stats::LAST.write().ok() {
                drop(x)
            }
            let _ = &mut SCRATCH;
            (*LIMIT) += 1;
        }));
        assert_eq!(
            refused,
            [
                "NEXT_ID",
                "REGISTRY",
                "SEEN",
                "COUNTS",
                "STATE",
                "Self::CALLS",
                "TOTAL",
                "CACHE",
                "stats::LAST",
                "SCRATCH",
                "LIMIT",
            ]
        );
    }

    #[test]
    fn constants_and_reads_of_statics_are_not_refused() {
        let refused = statics_refused(parse_quote!({
            total += MAX.min(x) + u64::MAX.min(1) + CONFIG.threshold + TABLE[i];
            total += LIMIT.load(Relaxed) + ONCE.get().copied().unwrap_or(0);
            total += NAMES.iter().take(2).count() + SCALE.with(|scale| scale.get());
            total += SETTINGS.read().unwrap().len() + LOCAL.with_borrow(|v| v.len());
            fn helper() {
                NEXT_ID.fetch_add(1, Relaxed);
            }
        }));
        assert!(refused.is_empty(), "{refused:?}");
    }
}
