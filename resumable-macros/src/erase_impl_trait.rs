//! `impl Trait` cannot be written in a closure's return type: replace it with `_`.
//!
//! Input:  `Result<impl Iterator<Item = u8>, E>`   Output: `Result<_, E>`
//!
//! Nor can `_` stand in a type whose associated type is projected (`<Result<_, E> as
//! ResultLike>::Error` is "type annotations needed"): there it becomes `()`.
//!
//! Input:  `Result<impl Iterator<Item = u8>, E>`   Output: `Result<(), E>`

use syn::visit_mut::{self, VisitMut};
use syn::{Type, TypeInfer};

/// The function's return type as the loop closure can name it.
pub fn erase_impl_trait(mut ty: Type) -> Type {
    EraseImplTrait {
        with: Erased::Infer,
    }
    .visit_type_mut(&mut ty);
    ty
}

/// The function's return type with `()` for each `impl Trait`: as good as the real one for
/// projecting its `ResultLike::Error`, which does not depend on the `Ok` type. (An `impl
/// Trait` in the error type itself gives `()` there, which the body's `Err` does not match:
/// a compile error, never a wrong type.)
pub fn impl_trait_as_unit(mut ty: Type) -> Type {
    EraseImplTrait { with: Erased::Unit }.visit_type_mut(&mut ty);
    ty
}

/// Whether the type is itself `impl Trait` (so it can never be a `Result`).
pub fn is_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Paren(inner) => is_impl_trait(&inner.elem),
        Type::Group(inner) => is_impl_trait(&inner.elem),
        _ => false,
    }
}

/// What an `impl Trait` becomes.
enum Erased {
    Infer,
    Unit,
}

struct EraseImplTrait {
    with: Erased,
}

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            let span = impl_trait.impl_token.span;
            *ty = match self.with {
                Erased::Infer => Type::Infer(TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](span),
                }),
                Erased::Unit => syn::parse_quote_spanned!(span=> ()),
            };
        } else {
            visit_mut::visit_type_mut(self, ty);
        }
    }
}
