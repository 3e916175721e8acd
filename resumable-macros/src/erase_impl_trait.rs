//! `impl Trait` cannot be written in a closure's return type: replace it with `_`.
//!
//! Input:  `Result<impl Iterator<Item = u8>, E>`   Output: `Result<_, E>`

use syn::visit_mut::{self, VisitMut};
use syn::{Type, TypeInfer};

/// The function's return type as the loop closure can name it.
pub fn erase_impl_trait(mut ty: Type) -> Type {
    EraseImplTrait.visit_type_mut(&mut ty);
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

struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            let underscore_token = syn::Token![_](impl_trait.impl_token.span);
            *ty = Type::Infer(TypeInfer {
                attrs: Vec::new(),
                underscore_token,
            });
        } else {
            visit_mut::visit_type_mut(self, ty);
        }
    }
}
