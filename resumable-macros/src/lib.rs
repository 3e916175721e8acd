//! The `#[resumable]` attribute. Use it through the `resumable` crate, which documents it.

use proc_macro::TokenStream;

/// See the `resumable` crate.
#[proc_macro_attribute]
pub fn resumable(args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
