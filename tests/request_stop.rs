//! `resumable::request_stop()`: a loop running on one thread, asked from another, saves at its
//! next iteration boundary and unwinds with a `resumable::Stopped` payload; calling the function
//! again resumes at `stopped.index` and returns what an uninterrupted call returns.
//!
//! One test in its own test binary: the stop request is global to the process, and the test
//! changes the current directory (the checkpoint goes to `.resumable` there).

mod common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::scratch;
use resumable::resumable;

const N: u64 = 10_000;
const CHECKPOINT: &str = "request-stop-test.ckpt";

/// The indices the loop started, in order: the record of what ran.
static EXECUTED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn executed() -> Vec<u64> {
    EXECUTED.lock().unwrap().clone()
}

/// One iteration's state update: an order-sensitive hash.
fn mix(hash: u64, i: u64) -> u64 {
    (hash ^ i)
        .wrapping_mul(0x0000_0100_0000_01B3)
        .rotate_left(7)
}

#[resumable(every = 1000, name = "request-stop-test", signals = false, key = (), skip(EXECUTED))]
fn slow_hash(n: u64) -> (u64, u64) {
    let mut hash = 0xCBF2_9CE4_8422_2325u64;
    let mut count = 0u64;
    for i in 0..n {
        EXECUTED.lock().unwrap().push(i);
        std::thread::sleep(Duration::from_micros(50));
        hash = mix(hash, i);
        count += 1;
    }
    (hash, count)
}

/// What `slow_hash(n)` returns, without a checkpoint in sight.
fn plain(n: u64) -> (u64, u64) {
    (0..n).fold((0xCBF2_9CE4_8422_2325, 0), |(hash, count), i| {
        (mix(hash, i), count + 1)
    })
}

#[test]
fn request_stop_saves_unwinds_with_stopped_and_the_next_call_resumes_there() {
    let dir = scratch("cwd");
    std::env::set_current_dir(&dir).unwrap();
    let checkpoints = match std::env::var_os("RESUMABLE_DIR") {
        Some(set) if !set.is_empty() => PathBuf::from(set),
        _ => dir.join(".resumable"),
    };
    let checkpoint = checkpoints.join(CHECKPOINT);
    let expected = plain(N);

    // The loop runs on one thread; another asks it to stop once it is well under way.
    let worker = std::thread::spawn(|| slow_hash(N));
    let asker = std::thread::spawn(|| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while EXECUTED.lock().unwrap().len() < 100 {
            assert!(Instant::now() < deadline, "the loop never started");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        resumable::request_stop();
    });
    asker.join().unwrap();
    let payload = worker
        .join()
        .expect_err("the loop finished although it was asked to stop");
    let stopped = *payload
        .downcast::<resumable::Stopped>()
        .unwrap_or_else(|_| panic!("the payload is not a resumable::Stopped"));
    let k = stopped.index;
    assert!(0 < k && k < N, "stopped at {k}");
    // It stopped at a boundary: iterations 0..k ran, no other.
    assert_eq!(executed(), (0..k).collect::<Vec<_>>());
    assert!(
        checkpoint.exists(),
        "no checkpoint at {}",
        checkpoint.display()
    );

    // The next call resumes at k and returns the uninterrupted result.
    EXECUTED.lock().unwrap().clear();
    assert_eq!(slow_hash(N), expected);
    assert_eq!(executed(), (k..N).collect::<Vec<_>>());
    assert!(
        !checkpoint.exists(),
        "the completed call left its checkpoint"
    );

    // The request was used up: a fresh call runs to the end.
    EXECUTED.lock().unwrap().clear();
    assert_eq!(slow_hash(N), expected);
    assert_eq!(executed(), (0..N).collect::<Vec<_>>());
    eprintln!("request_stop: stopped at {k}, resumed there");

    std::env::set_current_dir(std::env::temp_dir()).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
