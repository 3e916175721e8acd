//! Points where this project's own tests, with the `test-hooks` feature, pause a save, hear
//! what a run made durable, or break a sync on purpose. Without the feature each is nothing.
//! On its own, so that every file of `store` can use it without a circle.

/// Test-only: `RESUMABLE_TEST_PAUSE_AT=<point>` makes every save stop at that point for
/// `RESUMABLE_TEST_PAUSE_MS` (default 200) milliseconds after printing
/// `resumable-test: paused at <point>` on stderr, so a test can kill the process exactly
/// there. Points of the background sync of a new log: `before-sync`, `before-rotate`,
/// `before-rename`, `after-rename`. Only with the `test-hooks` feature (this project's own
/// tests turn it on): a user's program never reads those variables.
#[cfg(feature = "test-hooks")]
pub(crate) fn test_hook(point: &str) {
    use std::sync::OnceLock;
    use std::time::Duration;

    static PAUSE: OnceLock<Option<(String, Duration)>> = OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        let at = std::env::var("RESUMABLE_TEST_PAUSE_AT").ok()?;
        let ms = std::env::var("RESUMABLE_TEST_PAUSE_MS").ok();
        let ms = ms.and_then(|ms| ms.parse().ok()).unwrap_or(200);
        Some((at, Duration::from_millis(ms)))
    });
    if let Some((at, duration)) = pause
        && at == point
    {
        eprintln!("resumable-test: paused at {point}");
        std::thread::sleep(*duration);
    }
}

/// Without the `test-hooks` feature: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn test_hook(_point: &str) {}

/// Test-only: `RESUMABLE_TEST_REPORT=1` prints `resumable-test: <event>` on stderr where a
/// run reaches a point a power-loss test needs to know of (`durable <index>` once the
/// checkpoint at that index is synced and in place; `complete` as a finished loop removes its
/// files), so it can tell what a resume after a power loss must at least find.
#[cfg(feature = "test-hooks")]
pub(crate) fn test_report(event: std::fmt::Arguments<'_>) {
    use std::sync::OnceLock;

    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("RESUMABLE_TEST_REPORT").is_some()) {
        eprintln!("resumable-test: {event}");
    }
}

/// Without the `test-hooks` feature: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn test_report(_event: std::fmt::Arguments<'_>) {}

/// Test-only: `RESUMABLE_TEST_SKIP_SYNC=data` (the logs' fsync) or `dir` (the directory's)
/// turns that sync into nothing: the broken build a power-loss test must catch, to show it
/// can fail.
#[cfg(feature = "test-hooks")]
pub(crate) fn test_skips_sync(what: &str) -> bool {
    use std::sync::OnceLock;

    static SKIP: OnceLock<Option<String>> = OnceLock::new();
    SKIP.get_or_init(|| std::env::var("RESUMABLE_TEST_SKIP_SYNC").ok())
        .as_deref()
        == Some(what)
}

/// Without the `test-hooks` feature: every sync runs.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn test_skips_sync(_what: &str) -> bool {
    false
}
