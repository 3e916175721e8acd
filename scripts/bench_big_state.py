#!/usr/bin/env python3
"""Issue 11's cost table for a state changed in place: a `Vec<f64>` of 10 MB, 100 MB and 1 GB
(tests/programs/big_state.rs), a checkpoint after every step. For each size:

- run 1: 6 steps, fails at step 5 (a checkpoint is left): the loop's median and longest stop
  per checkpoint (from inside the loop), the process's peak memory, the checkpoint
  directory's peak size on disk (sampled every 5 ms, allocated blocks);
- run 2: the same command without the failure: it resumes at step 5; its wall time (process
  start, resume, one step) and its peak memory.

    python3 scripts/bench_big_state.py                 # 10 MB, 100 MB, 1 GB
    SIZES_MB=200,1000 python3 scripts/bench_big_state.py
    WRITTEN=1 SIZES_MB=200 python3 scripts/bench_big_state.py  # state resident before the loop
    TENSOR=1 SIZES_MB=100 python3 scripts/bench_big_state.py   # the same as a candle `Var`
    BIG_STATE_BIN=path/to/resumable-big-state python3 scripts/bench_big_state.py  # another build

With WRITTEN=1 the program builds its state element by element (`--written`), so all of it
is resident before the loop; otherwise it starts from `vec![0.0; len]`, whose pages the
kernel maps only as the first step writes them (a resume that decodes beside the prelude's
value looks free then). Peak memory is the kernel's `ru_maxrss` of the child. Run it on an otherwise idle machine.
"""
import os, shutil, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES_MB = [int(s) for s in os.environ.get("SIZES_MB", "10,100,1000").split(",")]
STEPS = 6
WRITTEN = os.environ.get("WRITTEN", "") not in ("", "0")
TENSOR = os.environ.get("TENSOR", "") not in ("", "0")

def disk_bytes(path):
    total = 0
    for entry in os.scandir(path):
        try:
            total += entry.stat(follow_symlinks=False).st_blocks * 512
        except FileNotFoundError:
            pass
    return total

def main():
    binary = os.environ.get("BIG_STATE_BIN")
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--bin", "resumable-big-state"],
                       cwd=ROOT, check=True, capture_output=True)
        binary = os.path.join(ROOT, "target", "release", "resumable-big-state")
    print(f"{'state':>8} {'stop/ckpt med':>13} {'max':>7} {'peak mem':>9} {'x':>5} "
          f"{'peak disk':>9} {'x':>5} {'resume':>7} {'peak mem':>9} {'x':>5}")
    for mb in SIZES_MB:
        length = mb * 1_000_000 // 8
        state = length * 8
        scratch = tempfile.mkdtemp(prefix="resumable-big-")
        ckpt = os.path.join(scratch, "ckpt")
        os.makedirs(ckpt)
        argv = [binary, str(length), str(STEPS)] + (["--written"] if WRITTEN else []) + (["--tensor"] if TENSOR else [])
        first = measure(argv + ["--fail-at", "5", "--times"], ckpt)
        if first["code"] == 0:
            sys.exit(f"run 1 did not fail as asked: {first['err']}")
        gaps = sorted(float(line.split()[1]) for line in first["err"].splitlines()
                      if line.startswith("gap_ms"))
        median_ms, max_ms = gaps[len(gaps) // 2], gaps[-1]
        second = measure(argv, ckpt)
        if second["code"] != 0 or "resuming" not in second["err"]:
            sys.exit(f"run 2 did not resume: {second['err']}")
        print(f"{mb:>5} MB {median_ms:>10.0f} ms {max_ms:>4.0f} ms "
              f"{first['rss'] / 1e6:>6.0f} MB {first['rss'] / state:>5.2f} "
              f"{first['disk'] / 1e6:>6.0f} MB {first['disk'] / state:>5.2f} "
              f"{second['wall']:>5.2f} s {second['rss'] / 1e6:>6.0f} MB {second['rss'] / state:>5.2f}")
        shutil.rmtree(scratch)
    print(f"(steps: {STEPS}, a checkpoint after each; state {'written' if WRITTEN else 'zeroed'}"
          f" before the loop; machine: {os.cpu_count()} cores)")

def measure(argv, ckpt):
    """Runs argv with its checkpoints in ckpt: wall time, exit code, stderr, the peak size of
    ckpt on disk, and the child's peak resident memory."""
    peak_disk = [0]
    done = threading.Event()
    def sample():
        while not done.is_set():
            peak_disk[0] = max(peak_disk[0], disk_bytes(ckpt))
            time.sleep(0.005)
    sampler = threading.Thread(target=sample)
    sampler.start()
    # RUST_BACKTRACE=1 (set on some machines) makes the failing run symbolize a backtrace:
    # ~40 MB of std's, not the checkpoint's.
    env = dict(os.environ, RESUMABLE_DIR=ckpt, RUST_BACKTRACE="0")
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "code": code, "err": err, "disk": peak_disk[0],
            "rss": usage.ru_maxrss * 1024}

if __name__ == "__main__":
    main()
