//! Compile-fail tests: each misuse of `#[resumable]` gets a clear error at the right tokens.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
