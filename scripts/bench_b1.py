#!/usr/bin/env python3
"""B1 and B5 side by side: the seed's loop (1,000,000 iterations, all results kept, a checkpoint
every 1000) as the seed's pickle script and as `examples/squares`, each against the same loop
with no checkpoints. Whole processes, timed from spawn to exit; medians of ROUNDS runs.

    python3 scripts/bench_b1.py            # ROUNDS=5
    ROUNDS=9 python3 scripts/bench_b1.py

Bytes written are the process's block output (getrusage ru_oublock x 512): what reached the
disk, fsyncs included. Run it on an otherwise idle machine.
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench")
ROUNDS = int(os.environ.get("ROUNDS", "5"))

def run(argv, cwd, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode().strip()
    if status != 0:
        sys.exit(f"{argv} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_oublock * 512, out

def measure(name, argv, fresh):
    times, written, outs = [], [], set()
    for _ in range(ROUNDS):
        scratch = tempfile.mkdtemp(prefix="resumable-b1-")
        env = dict(os.environ, RESUMABLE_DIR=os.path.join(scratch, "ckpt"))
        elapsed, wrote, out = run(argv, scratch, env)
        shutil.rmtree(scratch)
        times.append(elapsed); written.append(wrote); outs.add(out)
    assert len(outs) == 1, f"{name}: outputs differ: {outs}"
    return name, statistics.median(times), statistics.median(written), outs.pop()

def main():
    subprocess.run(["cargo", "build", "--release", "--example", "squares", "--example", "squares_plain"],
                   cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    examples = os.path.join(ROOT, "target", "release", "examples")
    rows = [
        measure("python seed_loop.py (pickle every 1000)", ["python3", os.path.join(BENCH, "seed_loop.py")], True),
        measure("python plain_loop.py (no checkpoints)", ["python3", os.path.join(BENCH, "plain_loop.py")], True),
        measure("squares (#[resumable(every = 1000)])", [os.path.join(examples, "squares")], True),
        measure("squares_plain (no checkpoints)", [os.path.join(examples, "squares_plain")], True),
    ]
    seed = rows[0][1]
    print(f"{'program':45} {'median s':>10} {'x seed':>9} {'MB written':>11}  output")
    for name, median, wrote, out in rows:
        print(f"{name:45} {median:10.3f} {seed / median:9.1f} {wrote / 1e6:11.1f}  {out}")
    squares, plain = rows[2][1], rows[3][1]
    print(f"\nsquares / squares_plain: {squares / plain:.1f}x   (rounds: {ROUNDS}, machine: {os.cpu_count()} cores)")

main()
