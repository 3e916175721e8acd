//! End to end: the example programs run as child processes that are SIGKILLed, fail, or find
//! their checkpoint corrupted, and are run again. Whatever happens in between, the run that
//! finally succeeds prints what an uninterrupted run prints.
//!
//! Every child gets its own `RESUMABLE_DIR` under the system temp dir. The kill times come
//! from a clock-seeded PRNG whose seed is printed; `KILL_RESUME_SEED=<seed>` replays them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Rng, example, find_checkpoint, resumed_at, scratch};

/// `squares` arguments: 20,000 iterations of 20 µs, a checkpoint every 1000 iterations.
const SQUARES_ARGS: [&str; 2] = ["20000", "20"];
/// The checkpoint name of `examples/squares` (its file has the key, `n`, in it).
const SQUARES: &str = "squares.squares";
const FALLIBLE_CKPT: &str = "fallible.fetch_all.ckpt";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The example `name` with `args`, checkpointing into `dir`, its output captured.
fn command(name: &str, args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new(example(name));
    cmd.args(args)
        .env("RESUMABLE_DIR", dir)
        .env_remove("RESUMABLE_RESET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(name: &str, args: &[&str], dir: &Path) -> Output {
    command(name, args, dir).output().expect("spawn example")
}

fn run_with_reset(name: &str, args: &[&str], dir: &Path) -> Output {
    command(name, args, dir)
        .env("RESUMABLE_RESET", "1")
        .output()
        .expect("spawn example")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Output of a run that must have succeeded; its stdout.
fn succeeded(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The stdout of one uninterrupted run in a directory of its own.
fn uninterrupted(name: &str, args: &[&str], test: &str) -> String {
    let dir = scratch(&format!("{test}-clean"));
    let out = succeeded(&run(name, args, &dir), &format!("uninterrupted {name}"));
    assert!(!out.is_empty(), "{name} printed nothing");
    assert_eq!(checkpoints(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
    out
}

/// The files in `dir`, sorted, less the `.lock` sidecar a run that did not finish leaves (it
/// holds only a process id; the next run takes it over).
fn files(dir: &Path) -> Vec<String> {
    common::files(dir)
        .into_iter()
        .filter(|name| !name.ends_with(".ckpt.lock"))
        .collect()
}

/// Names of the `.ckpt` files in `dir`.
fn checkpoints(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|name| name.ends_with(".ckpt"))
        .collect()
}

/// Waits until the checkpoint `name` exists in `dir` (the child has saved one) and returns its
/// path, or until the child has exited.
fn wait_for_checkpoint(child: &mut std::process::Child, dir: &Path, name: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(path) = find_checkpoint(dir, name) {
            return path;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended with no checkpoint {name} in {}",
            dir.display()
        );
        assert!(
            Instant::now() < deadline,
            "no checkpoint {name} in {} after 30 s",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Leaves a checkpoint of `fallible` in `dir`: the run with `--fail-at k` fails at item `k`.
fn failed_fallible(dir: &Path, k: u64) -> PathBuf {
    let output = run("fallible", &["--fail-at", &k.to_string()], dir);
    assert!(!output.status.success(), "--fail-at {k} succeeded");
    let path = dir.join(FALLIBLE_CKPT);
    assert!(path.exists(), "the failed run left no checkpoint");
    path
}

/// Removes the previous generation beside `path`, so a damaged `path` has no fallback.
fn drop_previous_generation(path: &Path) {
    let _ = std::fs::remove_file(common::previous(path));
}

// ---------------------------------------------------------------------------------------------
// (a) SIGKILL at random moments

#[test]
fn killed_at_random_moments_then_resumed_prints_the_uninterrupted_output() {
    let expected = uninterrupted("squares", &SQUARES_ARGS, "kill");
    let dir = scratch("kill");
    let mut rng = Rng::from_clock("kill", "KILL_RESUME_SEED");

    let mut kills = 0;
    let mut resumed = Vec::new();
    let mut runs = 0;
    let stdout = loop {
        runs += 1;
        assert!(runs < 100, "squares never finished");
        let mut child = command("squares", &SQUARES_ARGS, &dir).spawn().unwrap();
        if kills < 5 {
            let delay = rng.range(30, 300);
            std::thread::sleep(Duration::from_millis(delay));
            if kills == 0 {
                // However slow the machine, one kill must come after a checkpoint exists, so
                // that some restart has something to resume from.
                wait_for_checkpoint(&mut child, &dir, SQUARES);
            }
            // If the child already finished, this does nothing and it exits 0 below.
            let _ = child.kill();
            kills += 1;
        }
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        if let Some(k) = resumed_at(&stderr, "squares") {
            assert!(
                k > 0 && k % 1000 == 0,
                "resumed at {k}, not at a periodic checkpoint"
            );
            resumed.push(k);
        }
        if output.status.success() {
            break text(&output.stdout);
        }
        // A kill can land after the result was printed, before the process exited.
        assert!(
            output.stdout.is_empty() || output.stdout == expected.as_bytes(),
            "a killed run printed {:?}",
            text(&output.stdout)
        );
    };
    // A kill during a save leaves its temporary file (`.<name>.tmp-<pid>`); nothing removes it.
    let temps: Vec<String> = files(&dir)
        .into_iter()
        .filter(|name| name.contains(".tmp-"))
        .collect();
    eprintln!(
        "kill: {kills} kills, {runs} runs, resumed at {resumed:?}, temp files left {temps:?}"
    );
    assert_eq!(stdout, expected);
    assert!(!resumed.is_empty(), "no restart resumed from a checkpoint");
    assert_eq!(checkpoints(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// (b) an error from `?` saves the failing iteration; the next run starts there

#[test]
fn failed_run_resumes_at_the_failing_item_and_prints_the_uninterrupted_output() {
    let expected = uninterrupted("fallible", &[], "fail");
    let mut rng = Rng::from_clock("fail", "KILL_RESUME_SEED");
    // The first item, one on a periodic-save boundary (every = 10), the last, a random one.
    for k in [0, 40, 99, rng.range(1, 99)] {
        let dir = scratch(&format!("fail-{k}"));
        let output = run("fallible", &["--fail-at", &k.to_string()], &dir);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "--fail-at {k}: {stderr}");
        assert!(output.stdout.is_empty());
        assert!(
            stderr.contains(&format!("fetching item {k} timed out")),
            "{stderr}"
        );
        assert_eq!(checkpoints(&dir), [FALLIBLE_CKPT]);

        let output = run("fallible", &[], &dir);
        let stdout = succeeded(&output, "fallible after a failure");
        assert_eq!(
            resumed_at(&text(&output.stderr), "fetch_all"),
            Some(k),
            "{}",
            text(&output.stderr)
        );
        assert_eq!(stdout, expected, "--fail-at {k}");
        assert_eq!(checkpoints(&dir), Vec::<String>::new());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// `RESUMABLE_RESET` reads as every `RESUMABLE_*` switch does: `0`, `false`, `no`, `off` (any
/// case) and empty keep the checkpoint; `1`, `true`, `yes`, `on` start over.
#[test]
fn resumable_reset_off_keeps_the_checkpoint_and_on_starts_over() {
    for (value, resets) in [
        ("off", false),
        ("FALSE", false),
        ("No", false),
        ("0", false),
        ("", false),
        ("1", true),
        ("ON", true),
        ("yes", true),
    ] {
        let dir = scratch(&format!("reset-{}", value.to_ascii_lowercase()));
        failed_fallible(&dir, 40);
        let output = command("fallible", &[], &dir)
            .env("RESUMABLE_RESET", value)
            .output()
            .expect("spawn example");
        let stderr = text(&output.stderr);
        succeeded(&output, &format!("RESUMABLE_RESET={value:?}"));
        let resumed = resumed_at(&stderr, "fetch_all");
        let expected = if resets { None } else { Some(40) };
        assert_eq!(resumed, expected, "RESUMABLE_RESET={value:?}: {stderr}");
        let set_aside = common::files(&dir)
            .iter()
            .any(|name| name.contains(".reset-"));
        assert_eq!(
            set_aside,
            resets,
            "RESUMABLE_RESET={value:?}: {:?}",
            common::files(&dir)
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// A value no switch takes (`RESUMABLE_RESET=flase`) is refused before the loop starts, naming
/// the variable: the job neither starts over nor runs as if it were unset; the checkpoint is
/// untouched and a run without the typo resumes. The same for `RESUMABLE_SIGNALS`,
/// `RESUMABLE_QUIET` and a lease that is not seconds.
#[test]
fn an_unreadable_resumable_variable_is_refused_and_changes_nothing() {
    let dir = scratch("unreadable-variable");
    let path = failed_fallible(&dir, 40);
    let before = std::fs::read(&path).unwrap();
    let files_before = common::files(&dir);
    for (variable, value) in [
        ("RESUMABLE_RESET", "flase"),
        ("RESUMABLE_SIGNALS", "of"),
        ("RESUMABLE_QUIET", "2"),
        ("RESUMABLE_STORE_LEASE", "30x"),
    ] {
        let output = command("fallible", &[], &dir)
            .env(variable, value)
            .output()
            .expect("spawn example");
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{variable}={value}: {stderr}");
        assert!(
            stderr.contains(&format!("environment variable {variable}=\"{value}\"")),
            "{variable}={value}: {stderr}"
        );
        assert_eq!(resumed_at(&stderr, "fetch_all"), None, "{stderr}");
        assert_eq!(common::files(&dir), files_before, "{variable}={value}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{variable}={value}");
    }
    let output = run("fallible", &[], &dir);
    let stderr = text(&output.stderr);
    succeeded(&output, "fallible without the typo");
    assert_eq!(resumed_at(&stderr, "fetch_all"), Some(40), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// (c) a completed run leaves no checkpoint behind

#[test]
fn completed_runs_leave_no_checkpoint() {
    let dir = scratch("complete");
    succeeded(&run("squares", &["3500", "0"], &dir), "squares");
    succeeded(&run("fallible", &[], &dir), "fallible");
    // Also after a resumed run.
    failed_fallible(&dir, 55);
    succeeded(&run("fallible", &[], &dir), "fallible");
    assert_eq!(files(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// (d) a damaged checkpoint stops the program, untouched, until RESUMABLE_RESET=1

/// A run on the damaged checkpoint at `path` must fail, name the file and RESUMABLE_RESET, and
/// leave the file as it was; a run with RESUMABLE_RESET=1 then starts over, succeeds with
/// `expected`, and leaves the damaged file moved aside.
fn refuses_then_resets(name: &str, args: &[&str], path: &Path, expected: &str, case: &str) {
    let dir = path.parent().unwrap();
    let file_name = path.file_name().unwrap().to_str().unwrap();
    let damaged = std::fs::read(path).unwrap();

    let output = run(name, args, dir);
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "{case}: ran on a damaged checkpoint"
    );
    assert!(output.stdout.is_empty(), "{case}: {}", text(&output.stdout));
    assert!(
        stderr.contains(&format!("resumable: checkpoint {}", path.display())),
        "{case}: stderr does not name {}:\n{stderr}",
        path.display()
    );
    assert!(stderr.contains("RESUMABLE_RESET"), "{case}: {stderr}");
    assert!(!stderr.contains("resuming"), "{case}: {stderr}");
    assert_eq!(
        std::fs::read(path).unwrap(),
        damaged,
        "{case}: file changed"
    );
    assert_eq!(files(dir), [file_name], "{case}");

    let output = run_with_reset(name, args, dir);
    assert_eq!(succeeded(&output, case), expected, "{case}");
    assert!(!text(&output.stderr).contains("resuming"), "{case}");
    let left = files(dir);
    assert_eq!(left.len(), 1, "{case}: {left:?}");
    assert!(
        left[0].starts_with(file_name) && left[0].contains(".reset-"),
        "{case}: {left:?}"
    );
    assert_eq!(
        std::fs::read(dir.join(&left[0])).unwrap(),
        damaged,
        "{case}: the file moved aside is not the damaged one"
    );
}

#[test]
fn damaged_checkpoints_are_refused_untouched_and_reset_moves_them_aside() {
    let expected = uninterrupted("fallible", &[], "damage");
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage); 4] = [
        // In the header: a log whose header is damaged has nothing to fall back on. (Damage in
        // its records falls back to the record before: see the next test.)
        ("flipped byte", |bytes| bytes[20] ^= 0xFF),
        ("truncated", |bytes| bytes.truncate(20)),
        ("foreign bytes", |bytes| *bytes = b"hello".to_vec()),
        ("empty", Vec::clear),
    ];
    for (case, damage) in cases {
        let dir = scratch(&format!("damage-{}", case.replace(' ', "-")));
        let path = failed_fallible(&dir, 37);
        drop_previous_generation(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        damage(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        refuses_then_resets("fallible", &[], &path, &expected, case);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_damaged_newest_record_falls_back_to_the_one_before() {
    let expected = uninterrupted("fallible", &[], "fallback");
    let dir = scratch("fallback");
    // Saves at 10, 20, 30, then at the failure, 37, one record each: the record before the
    // newest is iteration 30. Damage the newest (its checksum is the file's last 4 bytes).
    let path = failed_fallible(&dir, 37);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 6;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let output = run("fallible", &[], &dir);
    let stderr = text(&output.stderr);
    assert_eq!(succeeded(&output, "fallback"), expected);
    assert!(
        stderr.contains("warning") && stderr.contains("checksum"),
        "{stderr}"
    );
    assert_eq!(resumed_at(&stderr, "fetch_all"), Some(30), "{stderr}");
    // The damaged file is kept, a copy byte for byte.
    let left = files(&dir);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains(".damaged-"), "{left:?}");
    assert_eq!(std::fs::read(dir.join(&left[0])).unwrap(), bytes);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_checkpoint_of_other_state_is_refused_untouched() {
    let expected = uninterrupted("fallible", &[], "other");
    let dir = scratch("other");
    let path = dir.join(FALLIBLE_CKPT);
    // A whole, valid checkpoint file, but of something else.
    resumable::save(&path, &vec![1u64, 2, 3]).unwrap();
    refuses_then_resets("fallible", &[], &path, &expected, "other state");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_checkpoint_of_a_killed_run_is_refused_untouched() {
    let expected = uninterrupted("squares", &SQUARES_ARGS, "killed-damage");
    let dir = scratch("killed-damage");
    let mut child = command("squares", &SQUARES_ARGS, &dir).spawn().unwrap();
    let path = wait_for_checkpoint(&mut child, &dir, SQUARES);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "squares finished before the kill");
    // A kill during a save can leave the temporary file; only the checkpoint matters here.
    for name in files(&dir) {
        if dir.join(&name) != path {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    drop_previous_generation(&path);
    // A bit of the log's header: nothing to fall back on. (Damage in a record falls back to
    // the record before it; see `a_damaged_newest_record_falls_back_to_the_one_before`.)
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    refuses_then_resets(
        "squares",
        &SQUARES_ARGS,
        &path,
        &expected,
        "killed, one bit of the header flipped",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Regression: a SIGKILL between creating a save's temporary file and renaming it left
/// `.<name>.ckpt.tmp-<pid>` behind, and nothing removed it; one per killed pid piled up.
/// The next run of the function now removes those of dead processes.
#[test]
fn a_completed_run_removes_temp_files_left_by_a_killed_save() {
    let dir = scratch("stale-temp");
    // What `storage::write_atomically` of a process with pid 4000000 leaves when killed
    // between creating its temporary file and renaming it.
    let stale = dir.join(format!(".{FALLIBLE_CKPT}.tmp-4000000"));
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    failed_fallible(&dir, 5);
    succeeded(&run("fallible", &[], &dir), "fallible");
    let left = files(&dir);
    std::fs::remove_dir_all(dir).unwrap();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "{} is still there",
        stale.display()
    );
}

// ---------------------------------------------------------------------------------------------
// A method: `examples/simulation`, whose `&mut self` is the state

#[test]
fn a_killed_simulation_method_resumes_bit_identical() {
    let args = ["600", "1500"];
    let expected = uninterrupted("simulation", &args, "simulation");
    let dir = scratch("simulation");
    let mut child = command("simulation", &args, &dir).spawn().unwrap();
    wait_for_checkpoint(&mut child, &dir, "simulation.Grid_f64_.run");
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(
        !output.status.success(),
        "simulation finished before the kill"
    );
    let output = run("simulation", &args, &dir);
    let stderr = text(&output.stderr);
    assert!(
        resumed_at(&stderr, "run").is_some_and(|at| at > 0),
        "{stderr}"
    );
    assert_eq!(succeeded(&output, "simulation resumed"), expected);
    assert_eq!(files(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// An async fn: `examples/crawl` over a directory of files

#[test]
fn a_killed_async_crawl_resumes_and_prints_the_uninterrupted_report() {
    let dir = scratch("crawl");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..300u32 {
        let content: String = (0..(i % 37) + 1).map(|j| format!("{i}-{j};")).collect();
        std::fs::write(data.join(format!("file-{i:04}.txt")), content).unwrap();
    }
    let data_arg = data.to_str().unwrap().to_owned();
    let expected = {
        let scratch_dir = dir.join("uninterrupted");
        std::fs::create_dir_all(&scratch_dir).unwrap();
        succeeded(
            &run("crawl", &[&data_arg, "0"], &scratch_dir),
            "crawl uninterrupted",
        )
    };
    assert_eq!(expected.lines().count(), 300);
    let mut child = command("crawl", &[&data_arg, "3000"], &dir)
        .spawn()
        .unwrap();
    wait_for_checkpoint(&mut child, &dir, "crawl.crawl");
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "crawl finished before the kill");
    let output = run("crawl", &[&data_arg, "0"], &dir);
    let stderr = text(&output.stderr);
    assert!(
        resumed_at(&stderr, "crawl").is_some_and(|at| at > 0),
        "{stderr}"
    );
    assert_eq!(succeeded(&output, "crawl resumed"), expected);
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Epochs of batches with a seeded RNG in the state: `examples/train`

#[test]
fn a_killed_training_run_resumes_to_bit_identical_weights() {
    let args = ["60", "600"];
    let expected = uninterrupted("train", &args, "train");
    let dir = scratch("train");
    let mut rng = Rng::from_clock("train", "KILL_RESUME_SEED");
    // Killed five times, at random moments (the first once a checkpoint exists), then run to
    // the end: each restart resumes inside an epoch, at a periodic checkpoint (every 25
    // batches, counted over the whole run).
    let mut resumed = Vec::new();
    let mut runs = 0;
    let stdout = loop {
        runs += 1;
        assert!(runs < 100, "train never finished");
        let mut child = command("train", &args, &dir).spawn().unwrap();
        if runs <= 5 {
            if runs == 1 {
                wait_for_checkpoint(&mut child, &dir, "train.train");
            }
            std::thread::sleep(Duration::from_millis(rng.range(20, 200)));
            let _ = child.kill();
        }
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        if let Some(k) = resumed_at(&stderr, "train") {
            assert!(k > 0 && k % 25 == 0, "resumed at {k}: {stderr}");
            resumed.push(k);
        }
        if output.status.success() {
            break text(&output.stdout);
        }
    };
    eprintln!("train: {runs} runs, resumed at {resumed:?}");
    assert!(!resumed.is_empty(), "no restart resumed from a checkpoint");
    assert_eq!(stdout, expected);
    assert_eq!(files(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

/// SIGTERM in the middle of an epoch: the nest saves at the next batch boundary, the process
/// ends as SIGTERM would, and the next run resumes inside that epoch.
#[test]
fn a_training_run_stopped_by_sigterm_resumes_inside_the_epoch() {
    use std::os::unix::process::ExitStatusExt as _;
    let args = ["60", "600"];
    let expected = uninterrupted("train", &args, "train-term");
    let dir = scratch("train-term");
    let mut child = command("train", &args, &dir).spawn().unwrap();
    let path = wait_for_checkpoint(&mut child, &dir, "train.train");
    std::thread::sleep(Duration::from_millis(30));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("spawn kill");
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.signal(), Some(15), "{}", text(&output.stderr));
    let saved = resumable::__private::saved_index(&path).expect("a checkpoint");

    let output = run("train", &args, &dir);
    let stderr = text(&output.stderr);
    assert_eq!(resumed_at(&stderr, "train"), Some(saved), "{stderr}");
    // 16 batches per epoch: the position names the epoch and the batch.
    let position = format!(
        "(outer iteration {}, inner iteration {})",
        saved / 16,
        saved % 16
    );
    assert!(stderr.contains(&position), "{position} not in:\n{stderr}");
    assert_eq!(succeeded(&output, "train resumed"), expected);
    assert_eq!(files(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}
