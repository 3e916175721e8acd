//! The names a loop body can move on a way out of it: a binding the loop reads but does not
//! own can be moved only where the loop ends (a moved binding is gone in the next iteration),
//! in a `return` or `break` with a value, or earlier in the block that ends with one
//! (`let err = Error::new(name); return Err(err);`). After such a move the binding is gone
//! when a failure is handled, so the failure cannot check it (`generated_state.rs`'s `Failure`).

use std::collections::BTreeSet;

use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Block, Expr, Stmt};

use crate::names::names_in;

/// Every name in `body`'s `return`s and valued `break`s, and in the blocks they end.
pub fn moved_on_exit(body: &Block) -> BTreeSet<String> {
    let mut found = ExitNames(BTreeSet::new());
    found.visit_block(body);
    found.0
}

struct ExitNames(BTreeSet<String>);

impl<'ast> Visit<'ast> for ExitNames {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::Return(ret) => {
                if let Some(value) = &ret.expr {
                    names_in(value.to_token_stream(), &mut self.0);
                }
            }
            Expr::Break(brk) => {
                if let Some(value) = &brk.expr {
                    names_in(value.to_token_stream(), &mut self.0);
                }
            }
            // A closure's `return` leaves the closure, not the loop.
            Expr::Closure(_) => return,
            _ => {}
        }
        visit::visit_expr(self, expr);
    }

    fn visit_block(&mut self, block: &'ast Block) {
        let ends_the_loop = matches!(
            block.stmts.last(),
            Some(Stmt::Expr(Expr::Return(_) | Expr::Break(_), _))
        );
        if ends_the_loop {
            for stmt in &block.stmts {
                names_in(stmt.to_token_stream(), &mut self.0);
            }
        }
        visit::visit_block(self, block);
    }
}
