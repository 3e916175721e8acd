//! The fingerprint of a function's code, recorded in each checkpoint so that a run of changed
//! code says so when it resumes (or, with `strict`, refuses).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens as _;
use syn::ItemFn;

/// A hash of the tokens of `function`'s signature and body, as written: not its attributes
/// (doc comments are attributes; editing one changes no result), nor whitespace or comments
/// (not tokens). Walked token by token rather than through the stream's `Display`, whose
/// spacing is the compiler's to change.
pub fn fingerprint(function: &ItemFn) -> u64 {
    let mut hash = Fnv::default();
    let mut tokens = function.sig.to_token_stream();
    function.block.to_tokens(&mut tokens);
    feed(tokens, &mut hash);
    hash.0
}

fn feed(tokens: TokenStream, hash: &mut Fnv) {
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("\u{1}", "\u{2}"),
                };
                hash.write(open);
                feed(group.stream(), hash);
                hash.write(close);
            }
            TokenTree::Ident(ident) => hash.write(&ident.to_string()),
            TokenTree::Punct(punct) => {
                hash.write(&punct.as_char().to_string());
                if punct.spacing() == Spacing::Joint {
                    hash.write("\u{3}");
                }
            }
            TokenTree::Literal(literal) => hash.write(&literal.to_string()),
        }
        // Tokens apart: `a b` is not `ab`.
        hash.write("\u{0}");
    }
}

/// FNV-1a, 64 bits: the same on every build and platform.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, text: &str) {
        for byte in text.bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> u64 {
        fingerprint(&syn::parse_str(text).unwrap())
    }

    #[test]
    fn only_a_change_of_the_code_changes_it() {
        let base = of("fn run(n: u64) -> u64 { let mut t = 0; for i in 0..n { t += i; } t }");
        let spaced = of(
            "/// Sums.\nfn run(n: u64) -> u64 {\n    let mut t = 0; // total\n    \
                         for i in 0..n { t += i; }\n    t\n}",
        );
        assert_eq!(base, spaced, "whitespace, comments and docs are not code");
        let fixed = of("fn run(n: u64) -> u64 { let mut t = 0; for i in 0..n { t += i * 2; } t }");
        assert_ne!(base, fixed);
        assert_ne!(of("fn f() { a + b }"), of("fn f() { ab }"));
    }
}
