//! Examples run as programs: what `bundle` saves with `resumable::save` comes back equal from
//! `resumable::load`, and loading it as another type is refused; the progress bar; and
//! `filter_lines` killed and run again.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{example, scratch};

fn run_bundle(dir: &Path) -> Output {
    Command::new(example("bundle"))
        .env("RESUMABLE_DIR", dir)
        .output()
        .expect("spawn bundle")
}

#[test]
fn bundle_loads_what_it_saved_and_refuses_the_wrong_type() {
    let dir = scratch("bundle");
    let path = dir.join("model_bundle.ckpt");

    // Twice: the second run replaces the file the first one left.
    for attempt in 1..=2 {
        let output = run_bundle(&dir);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "run {attempt}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        let lines: Vec<&str> = stdout.lines().collect();
        let saved_to = format!("saved the model bundle to {}", path.display());
        let expected_start = [
            saved_to.as_str(),
            "weights: [0.42, -1.5, 2.25]",
            "scaler.mean: [0.5, 0.49, 0.51]",
            "scaler.scale: [0.29, 0.28, 0.3]",
            r#"feature_names: ["feat1", "feat2", "feat3"]"#,
        ];
        assert_eq!(lines[..expected_start.len()], expected_start, "{stdout}");

        let metadata = lines[5]
            .strip_prefix("metadata: version 1.0, created_by Benjamin, timestamp ")
            .unwrap_or_else(|| panic!("metadata line: {}", lines[5]));
        let timestamp: u64 = metadata.parse().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            now.abs_diff(timestamp) < 3600,
            "timestamp {timestamp}, now {now}"
        );

        assert_eq!(lines[6], "loaded == saved: true");
        assert!(
            lines[7].starts_with("prediction for [0.2, 0.5, 0.9]: "),
            "{stdout}"
        );

        let refused = lines[8];
        let expected_refusal = format!(
            "loading it as Vec<f64> fails: checkpoint {} was saved with different state",
            path.display()
        );
        assert!(refused.starts_with(&expected_refusal), "{refused}");
        assert!(
            refused.contains("ModelBundle") && refused.contains("Vec<f64>"),
            "the refusal names neither type: {refused}"
        );
        assert_eq!(lines.len(), 9, "{stdout}");
    }

    // The file is left where the example said, and is refused here too as another type.
    let err = resumable::load::<Vec<f64>>(&path).unwrap_err();
    assert!(
        err.to_string().contains("was saved with different state"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Regression: `resumable::load` errors used to advise `RESUMABLE_RESET=1`, which only the
/// `#[resumable]` runtime reads; following the advice gave the same error again.
#[test]
fn load_errors_do_not_advise_a_reset_that_load_ignores() {
    let dir = scratch("reset");
    let path = dir.join("garbage.ckpt");
    std::fs::write(&path, b"hello").unwrap();
    let err = resumable::load::<Vec<f64>>(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(dir).unwrap();
    assert!(err.contains("remove the file"), "{err}");
    assert!(!err.contains("RESUMABLE_RESET"), "{err}");
}

/// The `progress` feature (on for the examples): a bar with the position, the total, the rate
/// and where the run resumed, on a terminal only. `script(1)` gives the example a terminal.
#[test]
fn the_progress_bar_draws_on_a_terminal_and_nowhere_else() {
    let dir = scratch("progress");
    let squares = example("squares");
    // A first run, killed once it has saved a checkpoint, leaves a point to resume from. It
    // runs without a terminal and is killed directly: no shell or signal handler in between.
    let mut first = Command::new(&squares)
        .args(["4000", "2000"])
        .env("RESUMABLE_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn squares");
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::find_checkpoint(&dir, "squares.squares").is_none() {
        assert!(first.try_wait().unwrap().is_none(), "squares ended first");
        assert!(Instant::now() < deadline, "no checkpoint after 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&first.stderr).contains("ETA"),
        "a bar without a terminal"
    );

    // `squares 4000 0` with a terminal for its stderr: the bar, and where it resumed.
    let output = Command::new("script")
        .args([
            "-qec",
            &format!("{} 4000 0", squares.display()),
            "/dev/null",
        ])
        .env("RESUMABLE_DIR", &dir)
        .output()
        .expect("spawn script(1)");
    let drawn = String::from_utf8_lossy(&output.stdout).replace('\r', "\n");
    assert!(output.status.success(), "{}\n{drawn}", output.status);
    assert!(drawn.contains("/4,000"), "no bar with a total:\n{drawn}");
    assert!(drawn.contains("/s"), "no rate:\n{drawn}");
    assert!(drawn.contains("ETA"), "no ETA:\n{drawn}");
    assert!(
        !drawn.contains("/0 "),
        "a bar drawn before its total:\n{drawn}"
    );
    assert!(drawn.contains("(resumed at "), "no resume point:\n{drawn}");
    assert!(drawn.contains("4000 "), "the run did not finish:\n{drawn}");

    // Not a terminal: no bar at all.
    let output = Command::new(&squares)
        .args(["3000", "0"])
        .env("RESUMABLE_DIR", &dir)
        .output()
        .expect("spawn squares");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("ETA"),
        "a bar without a terminal:\n{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs example `name` with `args` and `delay_us` (its last argument, slowing it down) twice:
/// once uninterrupted, and once killed with SIGKILL after its first checkpoint, then run again
/// without the delay. Returns the uninterrupted run's output and the resumed run's.
fn killed_and_run_again(name: &str, args: &[&str], delay_us: &str) -> (Output, Output) {
    let run = |dir: &Path, delay_us: &str| {
        let mut command = Command::new(example(name));
        command
            .args(args)
            .arg(delay_us)
            .current_dir(dir)
            .env("RESUMABLE_DIR", dir.join("ckpt"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let reference = scratch(&format!("{name}-reference"));
    let uninterrupted = run(&reference, "0").output().unwrap();
    assert!(uninterrupted.status.success());

    let dir = scratch(name);
    let mut child = run(&dir, delay_us).spawn().unwrap();
    let started = Instant::now();
    while !dir.join("ckpt").read_dir().is_ok_and(|mut files| {
        files.any(|file| file.is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".ckpt")))
    }) {
        assert!(started.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let resumed = run(&dir, "0").output().unwrap();
    (uninterrupted, resumed)
}

/// `filter_lines`, as the README shows it: killed with SIGKILL while it runs, run again with
/// the same command, it prints what an uninterrupted run prints (the lines kept, the output's
/// checksum) and says where it resumed.
#[test]
fn filter_lines_killed_and_run_again_prints_the_uninterrupted_result() {
    // 20,000 lines of 100 µs each: two seconds; killed after the first checkpoint (10,000).
    let (uninterrupted, resumed) = killed_and_run_again("filter_lines", &["20000"], "100");
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming filter at iteration 10000"),
        "{stderr}"
    );
    assert_eq!(resumed.stdout, uninterrupted.stdout, "{stderr}");
}

/// `train_candle`, as the README shows it: a candle network killed with SIGKILL while it
/// trains, run again with the same command, ends with the uninterrupted run's weights, bit for
/// bit (the hash of every weight's bits), and says where it resumed.
#[test]
fn train_candle_killed_and_run_again_ends_with_the_same_weights() {
    // 1500 steps of at least 1 ms each; killed after the first checkpoint (step 100).
    let (uninterrupted, resumed) = killed_and_run_again("train_candle", &["1500"], "1000");
    assert!(String::from_utf8_lossy(&uninterrupted.stdout).starts_with("weights "));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("resuming train at iteration "), "{stderr}");
    assert_eq!(resumed.stdout, uninterrupted.stdout, "{stderr}");
}

/// `train_burn`, as the README shows it: a burn model and its Adam optimizer, killed with
/// SIGKILL while they train and run again with the same command, end with the uninterrupted
/// run's weights, bit for bit (the hash of every weight's bits); the run says where it resumed.
#[test]
fn train_burn_killed_and_run_again_ends_with_the_same_weights() {
    // 1500 steps of at least 1 ms each; killed after the first checkpoint (step 100).
    let (uninterrupted, resumed) = killed_and_run_again("train_burn", &["1500"], "1000");
    assert!(String::from_utf8_lossy(&uninterrupted.stdout).starts_with("weights "));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("resuming train at iteration "), "{stderr}");
    assert_eq!(resumed.stdout, uninterrupted.stdout, "{stderr}");
}
