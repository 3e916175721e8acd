//! Parsing `#[resumable(every = N, name = "…", state(a, b) | skip(c), append(a), key = expr,
//! inner = 'label, loop = 'label, signals = false, dir = expr, strict, crate = path)]`.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lifetime, Lit, LitBool, LitStr, Path, Token, parenthesized};

mod kw {
    syn::custom_keyword!(every);
    syn::custom_keyword!(name);
    syn::custom_keyword!(state);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(signals);
    syn::custom_keyword!(append);
    syn::custom_keyword!(key);
    syn::custom_keyword!(inner);
    syn::custom_keyword!(dir);
    syn::custom_keyword!(strict);
}

/// The attribute's arguments, each kept with its tokens for error spans.
#[derive(Default)]
pub struct Args {
    /// `every = 1000` or `every = "30s"`.
    pub every: Option<Lit>,
    pub name: Option<LitStr>,
    /// `state(a, b)`: exactly these bindings are the state.
    pub state: Option<(Span, Vec<Ident>)>,
    /// `skip(c)`: the default state, less these bindings.
    pub skip: Option<(Span, Vec<Ident>)>,
    /// `signals = false`: leave SIGINT and SIGTERM to the program.
    pub signals: Option<LitBool>,
    /// `append(a)`: these state bindings only grow; checkpoints write what was appended.
    pub append: Option<(Span, Vec<Ident>)>,
    /// `key = (n, path)`: one checkpoint per value of the expression.
    pub key: Option<Expr>,
    /// `inner = 'batches`: checkpoint inside this loop, nested in the top-level loop.
    pub inner: Option<Lifetime>,
    /// `loop = 'main`: the top-level loop that checkpoints, where the function has several.
    pub looped: Option<Lifetime>,
    /// `dir = expr`: this function's checkpoint directory, evaluated on entry.
    pub dir: Option<Expr>,
    /// `crate = path` or `crate = "path"`: the runtime crate, where the dependency is renamed.
    pub krate: Option<Path>,
    /// `strict`: refuse to resume a checkpoint saved by other code of the function.
    pub strict: Option<Span>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::every) {
                let keyword: kw::every = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut args.every, input.parse()?, keyword.span)?;
            } else if lookahead.peek(kw::name) {
                let keyword: kw::name = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut args.name, input.parse()?, keyword.span)?;
            } else if lookahead.peek(kw::state) {
                let span = input.parse::<kw::state>()?.span;
                set_once(&mut args.state, (span, parse_idents(input)?), span)?;
            } else if lookahead.peek(kw::skip) {
                let span = input.parse::<kw::skip>()?.span;
                set_once(&mut args.skip, (span, parse_idents(input)?), span)?;
            } else if lookahead.peek(kw::append) {
                let span = input.parse::<kw::append>()?.span;
                set_once(&mut args.append, (span, parse_idents(input)?), span)?;
            } else if lookahead.peek(kw::key) {
                let keyword: kw::key = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut args.key, input.parse()?, keyword.span)?;
            } else if lookahead.peek(kw::inner) {
                let keyword: kw::inner = input.parse()?;
                input.parse::<Token![=]>()?;
                let label = input.parse::<Lifetime>().map_err(|err| {
                    syn::Error::new(
                        err.span(),
                        "`inner` takes the label of the loop to checkpoint in, with its quote: \
                         `inner = 'batches` for `'batches: for batch in …`",
                    )
                })?;
                set_once(&mut args.inner, label, keyword.span)?;
            } else if lookahead.peek(Token![loop]) {
                let keyword: Token![loop] = input.parse()?;
                input.parse::<Token![=]>()?;
                let label = input.parse::<Lifetime>().map_err(|err| {
                    syn::Error::new(
                        err.span(),
                        "`loop` takes the label of the top-level loop to checkpoint, with its \
                         quote: `loop = 'main` for `'main: for item in items`",
                    )
                })?;
                set_once(&mut args.looped, label, keyword.span)?;
            } else if lookahead.peek(kw::dir) {
                let keyword: kw::dir = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut args.dir, input.parse()?, keyword.span)?;
            } else if lookahead.peek(Token![crate]) {
                let keyword: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                // `crate = "path"` as serde spells it, or the path itself.
                let path = if input.peek(LitStr) {
                    input.parse::<LitStr>()?.parse::<Path>()?
                } else {
                    input.parse::<Path>()?
                };
                set_once(&mut args.krate, path, keyword.span)?;
            } else if lookahead.peek(kw::strict) {
                let span = input.parse::<kw::strict>()?.span;
                set_once(&mut args.strict, span, span)?;
            } else if lookahead.peek(kw::signals) {
                let keyword: kw::signals = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut args.signals, input.parse()?, keyword.span)?;
            } else if input.peek(Ident) {
                let unknown: Ident = input.parse()?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!(
                        "unknown option `{unknown}`; #[resumable] takes `every = N`, \
                         `name = \"…\"`, `state(a, b, …)`, `skip(a, …)`, `append(a, …)`, \
                         `key = expr`, `inner = 'label`, `loop = 'label`, `signals = false`, \
                         `dir = expr`, `strict` and `crate = path`"
                    ),
                ));
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

impl Args {
    /// Takes the statics out of `skip(...)` (the names spelled `LIKE_THIS` that `is_binding`
    /// does not know): they are not bindings to leave out of the state, but statics the loop
    /// changes, declared not to change the result (a counter for logs or tests).
    pub fn take_skipped_statics(&mut self, is_binding: impl Fn(&Ident) -> bool) -> Vec<Ident> {
        let Some((span, skipped)) = self.skip.take() else {
            return Vec::new();
        };
        let (statics, bindings): (Vec<Ident>, Vec<Ident>) =
            skipped.into_iter().partition(|ident| {
                crate::names::is_screaming(&ident.to_string()) && !is_binding(ident)
            });
        if !bindings.is_empty() {
            self.skip = Some((span, bindings));
        }
        statics
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, "this option is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// `(a, b, c)`
fn parse_idents(input: ParseStream) -> syn::Result<Vec<Ident>> {
    let content;
    parenthesized!(content in input);
    // `parse_any`: `self` may be listed too, in a method.
    let idents = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
    Ok(idents.into_iter().collect())
}
