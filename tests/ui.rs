//! Compile-fail tests: each misuse of `#[resumable]` gets a clear error at the right tokens;
//! and forms that must compile (and run) as they do without the attribute.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
