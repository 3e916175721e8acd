//! The function's parameters bound to plain names, as the signature declares them: read once
//! from the tokens, used by the model and by the refusals. A leaf, as `names` is.

use syn::{Ident, ItemFn, Pat};

/// A parameter bound to a plain name (`n: u64`, `mut acc: u64`, `out: &mut Vec<u64>`).
pub struct Param {
    pub ident: Ident,
    /// `mut acc` or `out: &mut T`: the loop can change it, so it is state when the loop names it.
    pub mutable: bool,
    /// `out: &mut T`: its value lives in `*out`.
    pub by_ref_mut: bool,
    /// `out: &mut [T]`, `&mut str`, `&mut dyn Trait`: what it points to cannot be assigned.
    pub unsized_target: Option<String>,
}

/// The parameters of `function` bound to plain names, in order (`self` and patterns are not).
pub fn params(function: &ItemFn) -> Vec<Param> {
    let mut params = Vec::new();
    for input in &function.sig.inputs {
        let syn::FnArg::Typed(typed) = input else {
            continue;
        };
        let Pat::Ident(pat) = &*typed.pat else {
            continue;
        };
        let by_ref_mut = matches!(&*typed.ty, syn::Type::Reference(reference)
            if reference.mutability.is_some());
        let unsized_target = match &*typed.ty {
            syn::Type::Reference(reference) if reference.mutability.is_some() => {
                match &*reference.elem {
                    syn::Type::Slice(_) => Some("[T]".to_owned()),
                    syn::Type::TraitObject(_) => Some("dyn Trait".to_owned()),
                    syn::Type::Path(path) if path.path.is_ident("str") => Some("str".to_owned()),
                    _ => None,
                }
            }
            _ => None,
        };
        params.push(Param {
            ident: pat.ident.clone(),
            mutable: (pat.mutability.is_some() || by_ref_mut) && unsized_target.is_none(),
            by_ref_mut,
            unsized_target,
        });
    }
    params
}
