//! The one collector of an expansion's errors, as serde_derive's `Ctxt`: every stage pushes
//! what it finds, each error at the user's tokens, and the expansion reports them all at once
//! (combined into one `syn::Error`, in the order found). A leaf, as `names` is.

use proc_macro2::Span;

/// The errors found so far.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// An error at `span`.
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push_error(syn::Error::new(span, message));
    }

    /// An error made elsewhere (`syn::Error::new_spanned`, a parse error).
    pub fn push_error(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// All of them as one error, or `Ok` when there were none.
    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }

    /// For the analyses' unit tests: what each error names first between backquotes (the
    /// binding or the call it refuses).
    #[cfg(test)]
    pub fn first_quoted(self) -> Vec<String> {
        let errors = self.0.into_iter().flatten();
        errors
            .map(|error| error.to_string().split('`').nth(1).unwrap().to_owned())
            .collect()
    }
}
