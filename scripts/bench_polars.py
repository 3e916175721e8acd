#!/usr/bin/env python3
"""A polars DataFrame grown by 2M rows (issue 26), whole processes of `resumable-polars-rows`
(tests/programs/polars_rows.rs), side by side:

    python3 scripts/bench_polars.py            # ROUNDS=7 by default

`plain`: the loop without `#[resumable]`; `resumable`: the same loop with a checkpoint every
20 batches of 10,000 rows (10 checkpoints), the frame found growing (nothing declared);
`declared`: the same with `append(df)`; `whole`: the frame in a serde newtype, saved whole by
polars' serde at each checkpoint (the runtime before the `polars` feature). The modes alternate within each round; each run starts
with no checkpoint and ends with none (a completed run removes it). Prints each mode's median
wall time, its ratio to `plain`, and its median peak memory (VmHWM).
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROUNDS = int(os.environ.get("ROUNDS", "7"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ["plain", "resumable", "declared", "whole"]

def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "resumable-polars-rows"],
                   cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    return os.path.join(ROOT, "target/release/resumable-polars-rows")

def run(program, mode, work):
    ckpt = os.path.join(work, "ckpt")
    shutil.rmtree(ckpt, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([program, mode], cwd=work, capture_output=True, text=True,
                          env=dict(os.environ, RESUMABLE_DIR=ckpt, RESUMABLE_QUIET="1"))
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    fields = done.stdout.split()
    return elapsed, int(fields[fields.index("peak_kb") + 1]), " ".join(fields[:8])

def main():
    program = build()
    times = {mode: [] for mode in MODES}
    peaks = {mode: [] for mode in MODES}
    frames = set()
    with tempfile.TemporaryDirectory() as work:
        for _ in range(ROUNDS):
            for mode in MODES:
                elapsed, peak, frame = run(program, mode, work)
                times[mode].append(elapsed)
                peaks[mode].append(peak)
                frames.add(frame)
    assert len(frames) == 1, f"the modes built other frames: {frames}"
    plain = statistics.median(times["plain"])
    print(f"2,000,000 rows in batches of 10,000, a checkpoint every 20 batches; {ROUNDS} rounds")
    for mode in MODES:
        median = statistics.median(times[mode])
        print(f"{mode:10} {median * 1000:7.0f} ms  {median / plain:4.2f}x  "
              f"peak {statistics.median(peaks[mode]) / 1024:5.0f} MB  "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times[mode])})")

if __name__ == "__main__":
    sys.exit(main())
