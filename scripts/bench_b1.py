#!/usr/bin/env python3
"""B1 and B5 side by side: the seed's loop (1,000,000 iterations, all results kept, a checkpoint
every 1000) as the seed's pickle script and as `examples/squares` (with `append(results)`),
`examples/squares_nohint` (no hint: growth found and verified by the runtime) and
`examples/squares_whole` (a state the runtime cannot see growing: a whole snapshot at every
checkpoint), each against the same loop with no checkpoints. Whole processes, timed from spawn
to exit; medians of ROUNDS runs.

    python3 scripts/bench_b1.py            # ROUNDS=5
    ROUNDS=9 python3 scripts/bench_b1.py

"Written" is the bytes the process handed to write(2) (`wchar` of /proc/<pid>/io, read once it
exited and before it is reaped): every checkpoint byte, whether or not the kernel wrote it to
the disk before the file was removed. Run it on an otherwise idle machine.
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench")
ROUNDS = int(os.environ.get("ROUNDS", "5"))

def run(argv, cwd, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Wait for the exit without reaping, so /proc/<pid>/io is still there to read.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    elapsed = time.perf_counter() - start
    with open(f"/proc/{proc.pid}/io") as io:
        wchar = int(next(line for line in io if line.startswith("wchar:")).split()[1])
    _, status, _ = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode().strip()
    if status != 0:
        sys.exit(f"{argv} failed: {proc.stderr.read().decode()}")
    return elapsed, wchar, out

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
    subprocess.run(["cargo", "build", "--release", "--example", "squares", "--example", "squares_nohint",
                    "--example", "squares_whole", "--example", "squares_plain"],
                   cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    examples = os.path.join(ROOT, "target", "release", "examples")
    rows = [
        measure("python seed_loop.py (pickle every 1000)", ["python3", os.path.join(BENCH, "seed_loop.py")], True),
        measure("python plain_loop.py (no checkpoints)", ["python3", os.path.join(BENCH, "plain_loop.py")], True),
        measure("squares (every = 1000, append(results))", [os.path.join(examples, "squares")], True),
        measure("squares_nohint (every = 1000)", [os.path.join(examples, "squares_nohint")], True),
        measure("squares_whole (every = 1000, whole snapshots)", [os.path.join(examples, "squares_whole")], True),
        measure("squares_plain (no checkpoints)", [os.path.join(examples, "squares_plain")], True),
    ]
    seed = rows[0][1]
    print(f"{'program':50} {'median s':>10} {'x seed':>9} {'MB written':>11}  output")
    for name, median, wrote, out in rows:
        print(f"{name:50} {median:10.3f} {seed / median:9.1f} {wrote / 1e6:11.1f}  {out}")
    plain = rows[5][1]
    for name, median, _, _ in rows[2:5]:
        print(f"{name.split()[0]} / squares_plain: {median / plain:.1f}x")
    print(f"(rounds: {ROUNDS}, machine: {os.cpu_count()} cores)")

main()
