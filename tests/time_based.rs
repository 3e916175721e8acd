//! `every = "…"`: a save at the first iteration boundary after each interval.

use std::path::Path;
use std::time::Duration;

use common::saved_index;
use resumable::resumable;

mod common;

/// 2 ms per iteration, a save every 20 ms; at iteration 60 (about 120 ms in), looks at what
/// was saved so far.
#[resumable(every = "20ms", name = "time-based", key = ())]
fn slow_sum(n: u64) -> (u64, Option<u64>) {
    let mut sum = 0;
    let mut seen_at_60 = None;
    for i in 0..n {
        std::thread::sleep(Duration::from_millis(2));
        if i == 60 {
            seen_at_60 = Some(saved_index(Path::new(".resumable/time-based.ckpt")).unwrap_or(0));
        }
        sum += i;
    }
    (sum, seen_at_60)
}

#[test]
fn a_duration_saves_at_the_first_boundary_after_each_interval() {
    let (sum, seen) = slow_sum(80);
    assert_eq!(sum, (0..80).sum::<u64>());
    let seen = seen.unwrap();
    // About 6 intervals passed by iteration 60: the newest save is a few iterations behind it.
    assert!(
        (30..=60).contains(&seen),
        "newest checkpoint at iteration {seen}"
    );
    assert!(!Path::new(".resumable/time-based.ckpt").exists());
}
