//! Where an iteration first touches the loop's state: a failure before that point leaves the
//! state exactly as the failing iteration found it, so saving then resumes at that iteration
//! and is right; a failure after it would save a half-updated state, so it saves nothing and
//! the last checkpoint stands.
//!
//! "Touches" is "names": the first top-level statement of the body whose tokens (macro
//! arguments included) name a state binding, or invoke a `macro_rules!` defined in the function
//! whose definition names one (see [`mark`] for the `if`s it looks into and the updates it
//! marks inside). Everything from the mark on counts as touched, whatever path the iteration
//! takes through the rest. The mark is one store of the iteration counter to a local, the
//! only per-iteration cost of this, and only in loops that have a statement before the mark.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{BinOp, Block, Expr, Stmt};

/// When a failure inside the checkpointed loop may save the state as it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FirstUse {
    /// No statement names the state: a failure always leaves it untouched.
    Never,
    /// The body's first statement touches it: a failure never saves.
    AtStart,
    /// Generated code marks the iteration as touched where it first may be (see [`mark`]).
    Marked,
}

/// The names that touch the state: its bindings, and the `macro_rules!` defined in `prelude`
/// (the function's statements before the loop) whose definitions name them.
pub fn touching(state: &BTreeSet<String>, prelude: &[Stmt]) -> BTreeSet<String> {
    let mut touching = state.clone();
    for stmt in prelude {
        if let Some((name, definition)) = macro_rules_of(stmt)
            && names_any(definition, &touching)
        {
            touching.insert(name);
        }
    }
    touching
}

/// Puts `marker` (an assignment) where each path through `body` may first touch the state
/// (`touching`): before the first statement that names it, or inside that statement around
/// the operand whose value changes the state, which then reads
/// `match OPERAND { value => { marker; value } }` — a `match`, so that the operand's
/// temporaries live as long as before, to the end of the statement. An `if` whose condition
/// only reads (`if start < n`, the form a `while` loop takes) is looked into: each branch is
/// marked the same way, and so are the statements after it.
pub fn mark(body: &mut Block, touching: &BTreeSet<String>, marker: Expr) -> FirstUse {
    if !mark_block(&mut body.stmts, touching, &marker) {
        return FirstUse::Never;
    }
    let inserted = Stmt::Expr(marker, Some(Default::default()))
        .to_token_stream()
        .to_string();
    if body
        .stmts
        .first()
        .is_some_and(|first| first.to_token_stream().to_string() == inserted)
    {
        // Touched before anything can fail: no marker needed, a failure never saves.
        body.stmts.remove(0);
        return FirstUse::AtStart;
    }
    FirstUse::Marked
}

/// Marks `stmts`; whether any statement names the state.
fn mark_block(stmts: &mut Vec<Stmt>, touching: &BTreeSet<String>, marker: &Expr) -> bool {
    let mut named = false;
    let mut at = 0;
    while at < stmts.len() {
        if !names_any(stmts[at].to_token_stream(), touching) {
            at += 1;
            continue;
        }
        named = true;
        if let Stmt::Expr(Expr::If(branch), _) = &mut stmts[at]
            && reads_only(&branch.cond)
        {
            mark_if(branch, touching, marker);
            at += 1;
            continue;
        }
        if let Some(operand) = last_operand(&mut stmts[at], touching) {
            let value = syn::Ident::new(
                "__resumable_operand",
                proc_macro2::Span::mixed_site().located_at(syn::spanned::Spanned::span(&*operand)),
            );
            // Built as a tree, not parsed from tokens: syn prints the scrutinee in
            // parentheses where Rust needs them (`Point { x, y }`, a struct literal).
            let mut matched: syn::ExprMatch = syn::parse_quote!(match () {
                #value => {
                    #marker;
                    #value
                }
            });
            matched.expr = Box::new(operand.clone());
            *operand = Expr::Match(matched);
        } else {
            stmts.insert(at, Stmt::Expr(marker.clone(), Some(Default::default())));
        }
        return true;
    }
    named
}

fn mark_if(branch: &mut syn::ExprIf, touching: &BTreeSet<String>, marker: &Expr) {
    mark_block(&mut branch.then_branch.stmts, touching, marker);
    match branch.else_branch.as_mut().map(|(_, other)| &mut **other) {
        Some(Expr::Block(block)) => {
            mark_block(&mut block.block.stmts, touching, marker);
        }
        Some(Expr::If(other)) if reads_only(&other.cond) => mark_if(other, touching, marker),
        Some(other) => {
            // `else if` with a condition that may change the state: marked before it.
            let original = other.clone();
            *other = syn::parse_quote!({ #marker; #original });
        }
        None => {}
    }
}

/// Whether evaluating `expr` can only read what it names: comparisons, arithmetic and
/// logic over bindings, fields, literals, constructors and shared references (`start < n`,
/// `!done`, `at == Some(i)`).
fn reads_only(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Field(field) => reads_only(&field.base),
        Expr::Paren(paren) => reads_only(&paren.expr),
        Expr::Group(group) => reads_only(&group.expr),
        Expr::Cast(cast) => reads_only(&cast.expr),
        Expr::Unary(unary) => {
            matches!(unary.op, syn::UnOp::Not(_) | syn::UnOp::Neg(_)) && reads_only(&unary.expr)
        }
        Expr::Binary(binary) => {
            !is_assign_op(&binary.op) && reads_only(&binary.left) && reads_only(&binary.right)
        }
        Expr::Index(index) => reads_only(&index.expr) && reads_only(&index.index),
        Expr::Reference(reference) => reference.mutability.is_none() && reads_only(&reference.expr),
        // `Some(start)`: a tuple struct or variant, which builds a value and runs no code.
        Expr::Call(call) => {
            let constructor = matches!(&*call.func, Expr::Path(path)
            if path.path.segments.last().is_some_and(|last| {
                last.ident.to_string().starts_with(|c: char| c.is_ascii_uppercase())
            }));
            constructor && call.args.iter().all(reads_only)
        }
        Expr::Tuple(tuple) => tuple.elems.iter().all(reads_only),
        _ => false,
    }
}

/// In `STATE.method(…, LAST)`, `STATE = VALUE` and `STATE op= VALUE` whose operands name no
/// state (and `STATE` is a binding or a field of one): `LAST` or `VALUE`, which is computed
/// after everything else in the statement and before the state changes. A `?` or a panic in
/// the operands leaves the state untouched, as in `values.push(fetch(i)?)`.
fn last_operand<'a>(stmt: &'a mut Stmt, state: &BTreeSet<String>) -> Option<&'a mut Expr> {
    let Stmt::Expr(expr, _) = stmt else {
        return None;
    };
    let (place, mut operands): (&Expr, Vec<&mut Expr>) = match expr {
        Expr::MethodCall(call) => (&call.receiver, call.args.iter_mut().collect()),
        Expr::Assign(assign) => (&assign.left, vec![&mut *assign.right]),
        Expr::Binary(binary) if is_assign_op(&binary.op) => {
            (&binary.left, vec![&mut *binary.right])
        }
        _ => return None,
    };
    let plain = is_state_place(place, state)
        && operands
            .iter()
            .all(|operand| !names_any(operand.to_token_stream(), state))
        // A closure's parameter types come from the method's signature, which a `match`
        // around it would hide.
        && !matches!(operands.last().map(|last| &**last), Some(Expr::Closure(_)));
    operands.pop().filter(|_| plain)
}

fn is_assign_op(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

/// `total`, `self.items`, `stats.count.hits`: evaluating it has no effect of its own.
fn is_state_place(expr: &Expr, state: &BTreeSet<String>) -> bool {
    match expr {
        Expr::Path(path) => path
            .path
            .get_ident()
            .is_some_and(|ident| state.contains(&ident.to_string())),
        Expr::Field(field) => is_state_place(&field.base, state),
        _ => false,
    }
}

/// `macro_rules! name { … }` as (name, definition).
fn macro_rules_of(stmt: &Stmt) -> Option<(String, TokenStream)> {
    match stmt {
        Stmt::Item(syn::Item::Macro(item)) if item.mac.path.is_ident("macro_rules") => {
            Some((item.ident.as_ref()?.to_string(), item.mac.tokens.clone()))
        }
        Stmt::Macro(mac) if mac.mac.path.is_ident("macro_rules") => {
            let mut tokens = mac.mac.tokens.clone().into_iter();
            match tokens.next()? {
                TokenTree::Ident(name) => Some((name.to_string(), tokens.collect())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `tokens` name any of `names` (an identifier, at any depth).
fn names_any(tokens: TokenStream, names: &BTreeSet<String>) -> bool {
    let mut found = BTreeSet::new();
    crate::names::names_in(tokens, &mut found);
    !found.is_disjoint(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn state(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    /// The body marked, as text, and what `mark` found.
    fn marked(body: TokenStream, names: &[&str], prelude: &[Stmt]) -> (FirstUse, String) {
        let mut body: Block = syn::parse2(body).unwrap();
        let at = mark(
            &mut body,
            &touching(&state(names), prelude),
            parse_quote!(dirty = 1),
        );
        (at, body.to_token_stream().to_string().replace(' ', ""))
    }

    #[test]
    fn the_first_statement_naming_state_is_marked() {
        let body = quote::quote!({
            let y = parse(x)?;
            log!("{}", y);
            let z = total + y;
            out.push(z);
        });
        let (at, text) = marked(body.clone(), &["total", "out"], &[]);
        assert_eq!(at, FirstUse::Marked);
        assert!(
            text.contains("log!(\"{}\",y);dirty=1;letz=total+y;"),
            "{text}"
        );
        assert_eq!(marked(body.clone(), &["y"], &[]).0, FirstUse::AtStart);
        assert_eq!(marked(body, &["other"], &[]).0, FirstUse::Never);
    }

    #[test]
    fn macro_arguments_and_local_macros_count() {
        let body = quote::quote!({
            let y = parse(x)?;
            bump!(y);
            println!("{}", total);
        });
        let prelude: Vec<Stmt> = vec![parse_quote!(
            macro_rules! bump {
                ($e:expr) => {
                    total += $e
                };
            }
        )];
        let (_, text) = marked(body.clone(), &["total"], &prelude);
        assert!(text.contains("dirty=1;bump!(y);"), "{text}");
        let (_, text) = marked(body, &["total"], &[]);
        assert!(text.contains("dirty=1;println!"), "{text}");
    }

    #[test]
    fn an_update_whose_operands_name_no_state_is_marked_inside() {
        let names = ["values", "total", "this"];
        for (body, inside) in [
            (
                quote::quote!({
                    values.push(fetch(i)?);
                }),
                true,
            ),
            (quote::quote!({ this.items.insert(k, fetch(i)?) }), true),
            (
                quote::quote!({
                    total += parse(x)?;
                }),
                true,
            ),
            (
                quote::quote!({
                    total = total.checked_mul(x)?;
                }),
                false,
            ),
            (
                quote::quote!({
                    values.push(total);
                }),
                false,
            ),
            (
                quote::quote!({
                    values.retain(|v| *v > 0);
                }),
                false,
            ),
            (
                quote::quote!({
                    values.clear();
                }),
                false,
            ),
            (
                quote::quote!({
                    index(values).push(x);
                }),
                false,
            ),
        ] {
            let (at, text) = marked(body, &names, &[]);
            if inside {
                assert_eq!(at, FirstUse::Marked, "{text}");
                assert!(text.contains("=>{dirty=1;__resumable_operand}"), "{text}");
            } else {
                assert_eq!(at, FirstUse::AtStart, "{text}");
                assert!(!text.contains("dirty"), "{text}");
            }
        }
    }

    #[test]
    fn an_if_that_only_reads_is_looked_into_and_so_are_the_statements_after_it() {
        // What `while start < n { … }` becomes.
        let (at, text) = marked(
            quote::quote!({
                if start < n {
                    if fail == Some(start) {
                        panic!("at {}", start);
                    }
                    steps.push(count(start));
                    start += 1;
                } else {
                    break;
                }
            }),
            &["start", "steps"],
            &[],
        );
        assert_eq!(at, FirstUse::Marked);
        assert!(
            text.contains("panic!(\"at{}\",start);}dirty=1;steps.push(count(start));"),
            "{text}"
        );
        let (_, text) = marked(
            quote::quote!({
                if ready {
                    hits += 1;
                }
                out.push(x);
            }),
            &["ready", "hits", "out"],
            &[],
        );
        assert_eq!(text.matches("dirty=1").count(), 2, "{text}");
        // A condition that may change the state is touched where it starts.
        let (at, _) = marked(
            quote::quote!({
                if let Some(job) = queue.pop() {
                    done.push(job);
                }
            }),
            &["queue", "done"],
            &[],
        );
        assert_eq!(at, FirstUse::AtStart);
    }
}
