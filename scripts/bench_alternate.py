#!/usr/bin/env python3
"""Whole-process times of a few commands, run in turn (so the machine's drift falls on all of
them), each in a fresh directory with its own RESUMABLE_DIR; medians and quartiles in ms.
For comparing builds kept side by side (copies of `target/release/examples/squares` of two
commits, say) on a machine that others use too.

    python3 scripts/bench_alternate.py 151 plain=/tmp/squares_plain before=/tmp/a after=/tmp/b
    python3 scripts/bench_alternate.py 31 "n0=/tmp/b 0" "plain0=/tmp/squares_plain 0"
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

def main():
    rounds = int(sys.argv[1])
    commands = [arg.split("=", 1) for arg in sys.argv[2:]]
    times = {label: [] for label, _ in commands}
    for _ in range(rounds):
        for label, command in commands:
            scratch = tempfile.mkdtemp(prefix="resumable-alt-")
            env = dict(os.environ, RESUMABLE_DIR=os.path.join(scratch, "ckpt"))
            start = time.perf_counter()
            subprocess.run(command.split(), cwd=scratch, env=env, stdout=subprocess.DEVNULL, check=True)
            times[label].append((time.perf_counter() - start) * 1e3)
            shutil.rmtree(scratch)
    for label, _ in commands:
        runs = sorted(times[label])
        q1, median, q3 = statistics.quantiles(runs, n=4)
        print(f"{label:20} median {median:7.2f} ms  q1 {q1:7.2f}  q3 {q3:7.2f}  min {runs[0]:7.2f}  max {runs[-1]:7.2f}")
    print(f"({rounds} rounds, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end)")

main()
