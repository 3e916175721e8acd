//! Rewrites the control flow of the loop body, which runs inside a closure and inside the
//! generated loops (see `expand`), so that it keeps its meaning.
//!
//! `return` and `?` still leave the function (through `Exit`) instead of only the closure:
//!
//! Input:  `return value;`   Output: `return exit(Exit::<R>::Returned(value), ());`
//! Input:  `expr?`           Output: `match try_branch(expr) {
//!                                        Continue(v) => v,
//!                                        Break(e) => return exit(e, ()), // Exit::Failed(Err(e.into()))
//!                                    }`
//!
//! (`exit` makes the closure's return type: `Exit`, or in a function returning a `Result`,
//! `Result<Exit, E>`, so that a `return Err(e)` hidden in a macro, `anyhow::bail!` say, is
//! the closure's own `Err` and leaves the function as that error. The `()` is the state the
//! closure hands back: `(acc,)` for state the body moves, see `moved.rs`.)
//!
//! `break` and `continue` that belong to the `for` loop (unlabelled, or with its label) go to
//! the generated labels, since the user's loop is now two loops and a block:
//!
//! Input:  `break;` or `break 'user;`       Output: `break '__resumable_outer;`
//! Input:  `continue;` or `continue 'user;` Output: `break '__resumable_body;`
//!
//! Those of a loop nested in the body, of a labelled block (`break 'block`), or aimed at another
//! label are left alone; an unlabelled one directly inside a labelled block is left alone too, so
//! that it stays the error (E0695) it is in the user's code. A `break` with a value aimed at the
//! `for` loop is an error, as it is for a `for` loop.
//!
//! Closures, async blocks, `const` blocks and nested items have their own `return`, `?`,
//! `break` and `continue`, so the visitor does not enter them. Macro arguments that parse as
//! comma-separated expressions (`println!`, `assert!`, `vec!`, …) are rewritten too. A macro
//! whose arguments do not parse is an error if it contains `return` or `?` (their meaning would
//! silently change) or a `break` / `continue` that may be the loop's (not in the body of a
//! `loop`, `while` or `for` of the macro's own): left as they are, those land in the generated
//! labelled block, where the compiler rejects them (E0695) with a message about a block the
//! user never wrote. The same holds for one written in a macro's definition, which cannot be
//! seen here: it is an error, never a jump to the wrong place.

use crate::crate_path;
use crate::errors::Errors;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Block, Expr, ExprBreak, ExprForLoop, Ident, Label, Lifetime, Macro, ReturnType, Token,
    parse_quote_spanned,
};

use crate::erase_impl_trait::erase_impl_trait;

/// The generated label of the outer loop: `break` in the body goes there.
pub const OUTER_LABEL: &str = "'__resumable_outer";
/// The generated label of the block around the body: `continue` in the body goes there.
pub const BODY_LABEL: &str = "'__resumable_body";

/// A generated label, at mixed-site hygiene (the user's labels cannot name it) and located at
/// `at` for messages.
pub fn label(name: &str, at: Span) -> Lifetime {
    Lifetime::new(name, Span::mixed_site().located_at(at))
}

/// The function's return type as the loop's closure names it (`impl Trait` made `_`).
pub fn return_type(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Default => quote::quote!(()),
        ReturnType::Type(_, ty) => {
            let erased = erase_impl_trait((**ty).clone());
            quote::quote!(#erased)
        }
    }
}

/// The state the loop's closure hands back with every way out of it: `()`, or the bindings it
/// moved in, `Some((acc, phase,))` (see `moved.rs`); `None` from a `return` whose value took
/// them (`return out`).
pub fn handed_back(by_value: &[Ident]) -> TokenStream {
    if by_value.is_empty() {
        quote::quote!(())
    } else {
        quote::quote!(::core::option::Option::Some((#(#by_value,)*)))
    }
}

/// Rewrites the loop body in place (see above). `enclosing` is the label of the loop around
/// it in a nest, which its body cannot leave; `value_slot` is the local a `break value` of a
/// `loop` whose value is used stores it in, and the bindings that value may not take. Returns
/// whether such a `break` was seen, or the errors for what could not be rewritten.
pub fn rewrite(
    looped: &mut ExprForLoop,
    enclosing: Option<&Label>,
    return_type: &TokenStream,
    by_value: &[Ident],
    value_slot: Option<(Ident, Vec<Ident>)>,
) -> syn::Result<bool> {
    let mut visitor = ControlFlow::new(looped, enclosing, return_type, by_value);
    visitor.value_slot = value_slot;
    visitor.visit_block_mut(&mut looped.body);
    visitor.errors.finish()?;
    Ok(visitor.value_breaks)
}

/// Rewrites `return` and `?` in statements of a nest's outer loop around its inner loop (which
/// run in the closure too); their `break` and `continue` stay the outer loop's own.
pub fn rewrite_returns(stmts: &mut [syn::Stmt], return_type: &TokenStream) -> syn::Result<()> {
    let mut visitor = ControlFlow {
        return_type: return_type.clone(),
        handed_back: quote::quote!(()),
        by_value: Vec::new(),
        value_slot: None,
        value_breaks: false,
        errors: Errors::default(),
        user_label: None,
        enclosing_label: None,
        unlabeled_ours: false,
        label_ours: false,
    };
    for stmt in stmts {
        visitor.visit_stmt_mut(stmt);
    }
    visitor.errors.finish()
}

struct ControlFlow {
    /// The function's return type, as the loop's closure names it: a `return value` is
    /// checked against it at `value`.
    return_type: TokenStream,
    /// The state the closure hands back with every way out of it (see `moved.rs`): `()`, or
    /// `(acc, phase,)`.
    handed_back: TokenStream,
    /// The state the closure owns (see `moved.rs`): a `return` whose value takes any of it
    /// hands back `None`.
    by_value: Vec<Ident>,
    /// A `loop` whose value is used: the local its `break value` stores the value in, and the
    /// bindings that value may not take (see `model::LoopValue`).
    value_slot: Option<(Ident, Vec<Ident>)>,
    /// Whether a `break` of that loop was seen.
    value_breaks: bool,
    /// What could not be rewritten, reported at once.
    errors: Errors,
    /// The `for` loop's label, without the `'`.
    user_label: Option<String>,
    /// In a nest, the outer loop's label: the inner loop's body runs in a closure and cannot
    /// leave the outer loop.
    enclosing_label: Option<String>,
    /// Whether an unlabelled `break` / `continue` here is the `for` loop's: not inside a nested
    /// loop, nor directly inside a labelled block.
    unlabeled_ours: bool,
    /// Whether the user's label here is still the `for` loop's (no nested loop or block
    /// shadows it).
    label_ours: bool,
}

impl ControlFlow {
    fn new(
        looped: &ExprForLoop,
        enclosing: Option<&Label>,
        return_type: &TokenStream,
        by_value: &[Ident],
    ) -> ControlFlow {
        ControlFlow {
            return_type: return_type.clone(),
            handed_back: handed_back(by_value),
            by_value: by_value.to_vec(),
            value_slot: None,
            value_breaks: false,
            errors: Errors::default(),
            user_label: looped
                .label
                .as_ref()
                .map(|label| label.name.ident.to_string()),
            enclosing_label: enclosing.map(|label| label.name.ident.to_string()),
            unlabeled_ours: true,
            label_ours: true,
        }
    }

    fn push_error(&mut self, error: syn::Error) {
        self.errors.push_error(error);
    }

    /// Whether a `break` / `continue` with this label leaves the `for` loop.
    fn is_ours(&self, label: Option<&Lifetime>) -> bool {
        match label {
            None => self.unlabeled_ours,
            Some(label) => {
                self.label_ours && self.user_label.as_deref() == Some(&*label.ident.to_string())
            }
        }
    }

    /// An error for a `break` / `continue` of the outer loop of a nest in its inner loop.
    fn check_enclosing(&mut self, label: Option<&Lifetime>, keyword: Span) {
        let enclosing = self.enclosing_label.as_deref();
        if let Some(label) = label
            && enclosing == Some(&*label.ident.to_string())
        {
            self.push_error(syn::Error::new(
                keyword,
                format!(
                    "the checkpointed inner loop cannot `break` or `continue` its outer loop \
                     (`{label}`): set a flag, `break` the inner loop, and `break {label}` or \
                     `continue {label}` after it"
                ),
            ));
        }
    }

    /// Visits the inside of a nested loop or labelled block (`label` its label, if any).
    fn inside(&mut self, label: Option<&Label>, visit: impl FnOnce(&mut Self)) {
        let saved = (self.unlabeled_ours, self.label_ours);
        self.unlabeled_ours = false;
        if label.is_some_and(|label| self.is_ours(Some(&label.name))) {
            self.label_ours = false;
        }
        visit(self);
        (self.unlabeled_ours, self.label_ours) = saved;
    }
}

impl VisitMut for ControlFlow {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(ret) => {
                let takes_state = ret
                    .expr
                    .as_ref()
                    .is_some_and(|value| crate::moved::takes_any(value, &self.by_value));
                if let Some(value) = &mut ret.expr {
                    self.visit_expr_mut(value);
                }
                let span = ret.return_token.span;
                let value = match &ret.expr {
                    Some(value) => value.to_token_stream(),
                    None => quote_spanned!(span=> ()),
                };
                let return_type = &self.return_type;
                let handed_back = if takes_state {
                    quote_spanned!(span=> ::core::option::Option::None)
                } else {
                    self.handed_back.clone()
                };
                let rt = crate_path::at(span);
                *expr = parse_quote_spanned! {span=>
                    return #rt::__private::exit(
                        #rt::__private::Exit::<#return_type>::Returned(#value),
                        #handed_back,
                    )
                };
            }
            Expr::Try(try_expr) => {
                self.visit_expr_mut(&mut try_expr.expr);
                let span = try_expr.question_token.span;
                // `(a - b)?` becomes a call's argument: without its parentheses, which there
                // would trip `unused_parens` in the user's code.
                let mut inner = &*try_expr.expr;
                while let Expr::Paren(paren) = inner {
                    inner = &paren.expr;
                }
                let handed_back = &self.handed_back;
                let value =
                    syn::Ident::new("__resumable_value", Span::mixed_site().located_at(span));
                let residual =
                    syn::Ident::new("__resumable_residual", Span::mixed_site().located_at(span));
                let rt = crate_path::at(span);
                *expr = parse_quote_spanned! {span=>
                    match #rt::__private::try_branch(#inner) {
                        ::core::ops::ControlFlow::Continue(#value) => #value,
                        ::core::ops::ControlFlow::Break(#residual) => {
                            return #rt::__private::exit(#residual, #handed_back)
                        }
                    }
                };
            }
            Expr::Break(brk) => {
                if let Some(value) = &mut brk.expr {
                    self.visit_expr_mut(value);
                }
                self.check_enclosing(brk.label.as_ref(), brk.break_token.span);
                if self.is_ours(brk.label.as_ref())
                    && let Some((slot, kept)) = &self.value_slot
                {
                    // A `loop` whose value is used: the value is kept for after the loop.
                    let span = brk.break_token.span;
                    let value = match &brk.expr {
                        Some(value) => (**value).clone(),
                        None => parse_quote_spanned!(span=> ()),
                    };
                    if crate::moved::takes_any(&value, kept) {
                        let error = syn::Error::new_spanned(
                            &value,
                            "this `break` takes loop state out of the checkpointed loop, which \
                             the checkpointing code still reads after it: break with a copy \
                             (`.clone()`), or read the state after the loop",
                        );
                        self.push_error(error);
                        return;
                    }
                    self.value_breaks = true;
                    let outer = label(OUTER_LABEL, span);
                    *expr = parse_quote_spanned! {span=>
                        {
                            #slot = ::core::option::Option::Some(#value);
                            break #outer;
                        }
                    };
                } else if self.is_ours(brk.label.as_ref()) {
                    if let Some(value) = &brk.expr {
                        self.push_error(syn::Error::new_spanned(
                            value,
                            "`break` with a value cannot leave a `for` loop: only `loop` \
                             returns a value",
                        ));
                    } else {
                        brk.label = Some(label(OUTER_LABEL, brk.break_token.span));
                    }
                }
            }
            Expr::Continue(cont) if !self.is_ours(cont.label.as_ref()) => {
                self.check_enclosing(cont.label.as_ref(), cont.continue_token.span);
            }
            Expr::Continue(cont) => {
                let span = cont.continue_token.span;
                *expr = Expr::Break(ExprBreak {
                    attrs: std::mem::take(&mut cont.attrs),
                    break_token: Token![break](span),
                    label: Some(label(BODY_LABEL, span)),
                    expr: None,
                });
            }
            Expr::ForLoop(looped) => {
                // The iterable is evaluated outside the nested loop.
                self.visit_pat_mut(&mut looped.pat);
                self.visit_expr_mut(&mut looped.expr);
                let body = &mut looped.body;
                self.inside(looped.label.as_ref(), |this| this.visit_block_mut(body));
            }
            Expr::While(looped) => {
                let (cond, body) = (&mut looped.cond, &mut looped.body);
                self.inside(looped.label.as_ref(), |this| {
                    this.visit_expr_mut(cond);
                    this.visit_block_mut(body);
                });
            }
            Expr::Loop(looped) => {
                let body = &mut looped.body;
                self.inside(looped.label.as_ref(), |this| this.visit_block_mut(body));
            }
            Expr::Block(block) if block.label.is_some() => {
                let body: &mut Block = &mut block.block;
                self.inside(block.label.as_ref(), |this| this.visit_block_mut(body));
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        if self
            .mentions_control_flow(mac.tokens.clone(), false, self.unlabeled_ours)
            .is_none()
        {
            return;
        }
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        match mac.parse_body_with(parser) {
            Ok(mut args) => {
                for arg in &mut args {
                    self.visit_expr_mut(arg);
                }
                mac.tokens = args.into_token_stream();
            }
            Err(_) => {
                let Some((offending, what)) =
                    self.mentions_control_flow(mac.tokens.clone(), true, self.unlabeled_ours)
                else {
                    return;
                };
                let message = match what {
                    Mention::ReturnOrTry => {
                        "#[resumable] cannot see into this macro, and it contains `return` or \
                         `?`, which must leave the function through the checkpointing code: \
                         compute the value with `?` in a `let` before the macro call"
                    }
                    Mention::BreakOrContinue => {
                        "#[resumable] cannot see into this macro, and it contains a `break` or \
                         `continue` of the resumable loop, which must go through the \
                         checkpointing code: decide in the macro and `break` / `continue` \
                         outside it"
                    }
                };
                self.push_error(syn::Error::new(offending, message));
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Mention {
    ReturnOrTry,
    BreakOrContinue,
}

impl ControlFlow {
    /// Whether `tokens` contain a `return`, a `?`, or a `break` / `continue` that may be the
    /// loop's, anywhere. Over-approximates (a closure's own `?`, a nested loop's own unlabelled
    /// `break` count too), which only costs a parse: macros without any are left untouched.
    ///
    /// With `skip_loop_bodies`, for the error on a macro that does not parse: an unlabelled
    /// `break` / `continue` in the first `{ … }` after `loop`, `while` or `for` is taken to be
    /// that loop's. A wrong guess cannot change what the program does: one of the `for` loop's
    /// left as it is lands in the generated labelled block, where the compiler rejects it.
    fn mentions_control_flow(
        &self,
        tokens: TokenStream,
        skip_loop_bodies: bool,
        unlabeled_ours: bool,
    ) -> Option<(Span, Mention)> {
        let mut tokens = tokens.into_iter().peekable();
        let mut loop_body_next = false;
        while let Some(tree) = tokens.next() {
            let found = match tree {
                TokenTree::Ident(ident) if ident == "return" => {
                    Some((ident.span(), Mention::ReturnOrTry))
                }
                TokenTree::Punct(punct) if punct.as_char() == '?' => {
                    Some((punct.span(), Mention::ReturnOrTry))
                }
                TokenTree::Ident(ident) if ident == "break" || ident == "continue" => {
                    // `'name` is a `'` punct then an ident.
                    let labelled = matches!(tokens.peek(),
                        Some(TokenTree::Punct(punct)) if punct.as_char() == '\'');
                    let ours = if labelled {
                        tokens.next();
                        match tokens.next() {
                            Some(TokenTree::Ident(name)) => {
                                let name = Some(name.to_string());
                                self.user_label == name || self.enclosing_label == name
                            }
                            _ => false,
                        }
                    } else {
                        unlabeled_ours
                    };
                    ours.then(|| (ident.span(), Mention::BreakOrContinue))
                }
                TokenTree::Ident(ident)
                    if skip_loop_bodies
                        && (ident == "loop" || ident == "while" || ident == "for") =>
                {
                    loop_body_next = true;
                    None
                }
                TokenTree::Group(group) => {
                    let body = loop_body_next && group.delimiter() == Delimiter::Brace;
                    if body {
                        loop_body_next = false;
                    }
                    self.mentions_control_flow(
                        group.stream(),
                        skip_loop_bodies,
                        unlabeled_ours && !body,
                    )
                }
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;
    use syn::{ExprForLoop, parse_quote};

    use super::rewrite;

    /// The rewritten body, as text with single spaces.
    fn rewritten(mut looped: ExprForLoop) -> String {
        rewrite(&mut looped, None, &quote::quote!(_), &[], None).expect("rewrites");
        looped.body.to_token_stream().to_string()
    }

    fn error(mut looped: ExprForLoop) -> String {
        rewrite(&mut looped, None, &quote::quote!(_), &[], None)
            .expect_err("an error")
            .to_string()
    }

    #[test]
    fn the_loops_own_break_and_continue_go_to_the_generated_labels() {
        let body = rewritten(parse_quote! {
            'user: for i in 0..3 {
                if a { break; }
                if b { continue; }
                if c { break 'user; }
                if d { continue 'user; }
                let x = { if e { break; } 1 };
                let Some(y) = f else { continue };
            }
        });
        assert_eq!(
            body.matches("break '__resumable_outer").count(),
            3,
            "{body}"
        );
        assert_eq!(body.matches("break '__resumable_body").count(), 3, "{body}");
        assert!(
            !body.contains("continue") && !body.contains("'user"),
            "{body}"
        );
    }

    #[test]
    fn nested_loops_blocks_and_closures_keep_theirs() {
        let body = rewritten(parse_quote! {
            'user: for i in 0..3 {
                for j in { if a { break; } 0..2 } { break; continue; break 'user; }
                while b { continue; }
                'inner: loop { break 'inner; continue 'inner; }
                'block: { break 'block; }
                'user: loop { break 'user; }
                'b2: { break; }
                let f = || loop { break; };
                let g = async { continue };
            }
        });
        let expected: ExprForLoop = parse_quote! {
            'user: for i in 0..3 {
                for j in { if a { break '__resumable_outer; } 0..2 } {
                    break; continue; break '__resumable_outer;
                }
                while b { continue; }
                'inner: loop { break 'inner; continue 'inner; }
                'block: { break 'block; }
                'user: loop { break 'user; }
                'b2: { break; }
                let f = || loop { break; };
                let g = async { continue };
            }
        };
        assert_eq!(body, expected.body.to_token_stream().to_string());
    }

    #[test]
    fn macro_arguments_are_rewritten_or_refused() {
        let body = rewritten(parse_quote! {
            'user: for i in 0..3 {
                println!("{}", if a { continue } else { 1 });
                assert!(b, "{}", { break 'user; });
                opaque!(=> break 'other);
                opaque!(=> while a { break; } loop { continue } for x in y { break; });
            }
        });
        assert!(body.contains("break '__resumable_body"), "{body}");
        assert!(body.contains("break '__resumable_outer"), "{body}");
        assert!(body.contains("break 'other"), "{body}");
        for looped in [
            parse_quote!(for i in 0..3 {
                opaque!(=> break);
            }),
            parse_quote!('user: for i in 0..3 {
                opaque!(=> continue 'user);
            }),
            parse_quote!('user: for i in 0..3 {
                opaque!(=> loop { continue 'user; });
            }),
            parse_quote!(for i in 0..3 {
                opaque!(=> loop {} { break; });
            }),
        ] {
            assert!(error(looped).contains("a `break` or `continue`"));
        }
        assert!(
            error(parse_quote!(for i in 0..3 {
                opaque!(=> x?);
            }))
            .contains("`?`")
        );
    }

    #[test]
    fn break_with_a_value_out_of_the_for_loop_is_an_error() {
        let message = error(parse_quote!(for i in 0..3 {
            break 1;
        }));
        assert!(message.contains("`break` with a value"), "{message}");
    }
}
