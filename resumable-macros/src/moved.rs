//! State that the loop body moves and gives a new value (`acc = step(acc, i)`,
//! `phase = match phase { … }`): a closure that moves a variable owns it, so code after the
//! loop's closure could not read it. Such a binding is moved into the closure (`let mut acc =
//! acc;` there) and handed back with every way out of it; a panic drops it, so a panic in
//! such a loop saves nothing and the last checkpoint stands.
//!
//! Found syntactically, over-approximating: a binding given a new value with `=` that is also
//! used bare as a call's or method call's argument, a `match` or `if let` scrutinee, a `let`
//! initializer, the right side of an assignment, or an element of a tuple, array or struct
//! literal. (A `Copy` value passed so
//! is not really moved; handing it back costs nothing, only the save after a panic is lost.)
//! A method taking `self` by value (`state = state.next()`) is not seen: it stays the
//! compiler's error.

use proc_macro2::Ident;
use syn::visit::{self, Visit};
use syn::{Block, Expr};

/// The bindings of `state` (in its order) that `body` may move: those it moves and gives a new
/// value, and those a `return` takes with it (`return out`, `return Ok((out, total))`) unless
/// `copied` says they are `Copy` (declared with a literal: `let mut count = 0`).
pub fn moved_state(body: &Block, state: &[Ident], copied: &[Ident]) -> Vec<Ident> {
    let mut finder = Finder {
        state,
        found: Vec::new(),
        assigned: Vec::new(),
        returned: Vec::new(),
    };
    finder.visit_block(body);
    state
        .iter()
        .filter(|ident| {
            (finder.found.contains(ident) && finder.assigned.contains(ident))
                || (finder.returned.contains(ident) && !copied.contains(ident))
        })
        .cloned()
        .collect()
}

/// Whether the value of a `return` takes any of `names` with it (over-approximating: a method
/// call's receiver counts unless the method is one that borrows, `out.len()`).
pub fn takes_any(value: &Expr, names: &[Ident]) -> bool {
    let mut taken = Vec::new();
    taken_by(value, names, &mut taken);
    !taken.is_empty()
}

/// The bindings of `names` that evaluating `expr` as a value moves.
fn taken_by(expr: &Expr, names: &[Ident], taken: &mut Vec<Ident>) {
    // Methods that take `&self` on the types state usually has.
    const BORROWING: &[&str] = &[
        "clone",
        "len",
        "is_empty",
        "iter",
        "to_vec",
        "to_owned",
        "to_string",
        "get",
        "first",
        "last",
        "contains",
        "as_str",
        "as_slice",
        "as_ref",
        "borrow",
        "keys",
        "values",
    ];
    match expr {
        Expr::Path(path) => {
            if let Some(ident) = path.path.get_ident()
                && names.contains(ident)
                && !taken.contains(ident)
            {
                taken.push(ident.clone());
            }
        }
        Expr::Paren(paren) => taken_by(&paren.expr, names, taken),
        Expr::Group(group) => taken_by(&group.expr, names, taken),
        Expr::Field(field) => taken_by(&field.base, names, taken),
        Expr::Try(try_expr) => taken_by(&try_expr.expr, names, taken),
        Expr::Call(call) => call.args.iter().for_each(|arg| taken_by(arg, names, taken)),
        Expr::MethodCall(call) => {
            if !BORROWING.contains(&&*call.method.to_string()) {
                taken_by(&call.receiver, names, taken);
            }
            call.args.iter().for_each(|arg| taken_by(arg, names, taken));
        }
        Expr::Tuple(tuple) => tuple
            .elems
            .iter()
            .for_each(|elem| taken_by(elem, names, taken)),
        Expr::Array(array) => array
            .elems
            .iter()
            .for_each(|elem| taken_by(elem, names, taken)),
        Expr::Struct(literal) => {
            literal
                .fields
                .iter()
                .for_each(|field| taken_by(&field.expr, names, taken));
            if let Some(rest) = &literal.rest {
                taken_by(rest, names, taken);
            }
        }
        Expr::Match(matched) => {
            taken_by(&matched.expr, names, taken);
            matched
                .arms
                .iter()
                .for_each(|arm| taken_by(&arm.body, names, taken));
        }
        Expr::If(branch) => {
            tail_taken(&branch.then_branch, names, taken);
            if let Some((_, other)) = &branch.else_branch {
                taken_by(other, names, taken);
            }
        }
        Expr::Block(block) => tail_taken(&block.block, names, taken),
        _ => {}
    }
}

fn tail_taken(block: &Block, names: &[Ident], taken: &mut Vec<Ident>) {
    if let Some(syn::Stmt::Expr(tail, None)) = block.stmts.last() {
        taken_by(tail, names, taken);
    }
}

struct Finder<'a> {
    state: &'a [Ident],
    /// Used by value somewhere.
    found: Vec<Ident>,
    /// Given a new value with `=`: a binding moved and not given a new value would be gone
    /// at the next iteration (or it was moved on a way out, `return Some((i, total))`).
    assigned: Vec<Ident>,
    /// Taken by the value of a `return`.
    returned: Vec<Ident>,
}

impl Finder<'_> {
    /// Records `expr` if it is a bare state binding, used by value here.
    fn by_value(&mut self, expr: &Expr) {
        let expr = match expr {
            Expr::Paren(paren) => &*paren.expr,
            Expr::Group(group) => &*group.expr,
            other => other,
        };
        if let Expr::Path(path) = expr
            && let Some(ident) = path.path.get_ident()
            && ident != "self"
            && self.state.contains(ident)
            && !self.found.contains(ident)
        {
            self.found.push(ident.clone());
        }
    }
}

impl Visit<'_> for Finder<'_> {
    fn visit_expr(&mut self, expr: &Expr) {
        match expr {
            // Their own captures and bodies.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => return,
            Expr::Call(call) => call.args.iter().for_each(|arg| self.by_value(arg)),
            Expr::MethodCall(call) => call.args.iter().for_each(|arg| self.by_value(arg)),
            Expr::Match(matched) => self.by_value(&matched.expr),
            Expr::Return(ret) => {
                if let Some(value) = &ret.expr {
                    taken_by(value, self.state, &mut self.returned);
                }
            }
            Expr::Let(binding) => self.by_value(&binding.expr),
            Expr::Assign(assign) => {
                self.by_value(&assign.right);
                if let Expr::Path(path) = &*assign.left
                    && let Some(ident) = path.path.get_ident()
                {
                    self.assigned.push(ident.clone());
                }
            }
            Expr::Tuple(tuple) => tuple.elems.iter().for_each(|elem| self.by_value(elem)),
            Expr::Array(array) => array.elems.iter().for_each(|elem| self.by_value(elem)),
            Expr::Struct(literal) => literal
                .fields
                .iter()
                .for_each(|field| self.by_value(&field.expr)),
            _ => {}
        }
        visit::visit_expr(self, expr);
    }

    fn visit_local(&mut self, local: &syn::Local) {
        if let Some(init) = &local.init {
            self.by_value(&init.expr);
        }
        visit::visit_local(self, local);
    }

    fn visit_item(&mut self, _: &syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn moved(body: Block) -> Vec<String> {
        let state: Vec<Ident> = ["acc", "phase", "total", "out"]
            .iter()
            .map(|name| Ident::new(name, proc_macro2::Span::call_site()))
            .collect();
        moved_state(&body, &state, &[])
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn moves_by_value_are_found_and_borrows_are_not() {
        assert_eq!(
            moved(parse_quote!({
                acc = step(acc, i);
                phase = match phase {
                    P::A => P::B,
                    other => other,
                };
                total += acc.len();
                out.push(x);
            })),
            ["acc", "phase"]
        );
        assert_eq!(
            moved(parse_quote!({
                total = total.wrapping_mul(31) + i;
                out.extend(&acc);
                let f = move || acc;
                report(&phase);
            })),
            Vec::<String>::new()
        );
        assert_eq!(
            moved(parse_quote!({
                let next = (acc, 1);
                acc = next.0;
            })),
            ["acc"]
        );
        // Taken by a `return`: owned by the loop's closure, so that the code after it still
        // has the binding on the other ways out.
        let returns: Block = parse_quote!({
            if i == 3 {
                return Some((i, total));
            }
            if i == 4 {
                return Ok(Summary {
                    out,
                    n: phase.len(),
                });
            }
            total += i;
        });
        assert_eq!(moved(returns.clone()), ["total", "out"]);
        // ... unless it is `Copy`: then the `return` copies it.
        let state: Vec<Ident> = ["total", "out"]
            .iter()
            .map(|name| Ident::new(name, proc_macro2::Span::call_site()))
            .collect();
        assert_eq!(moved_state(&returns, &state, &state[..1]), state[1..]);
    }
}
