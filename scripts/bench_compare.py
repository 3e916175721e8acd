#!/usr/bin/env python3
"""B1 and B2 of two checkouts side by side, runs alternating so that the machine's drift falls
on both: B1 is the seed's loop as whole processes (`examples/squares`, `squares_nohint`,
`squares_plain`: a million iterations, a checkpoint every 1000), B2 the criterion bench's
per-iteration loop (`benches/overhead.rs`, 10M iterations). Medians of ROUNDS.

    python3 scripts/bench_compare.py ../before .        # ROUNDS=7
"""
import glob, os, re, statistics, subprocess, sys, tempfile, time

ROUNDS = int(os.environ.get("ROUNDS", "7"))
EXAMPLES = ["squares", "squares_nohint", "squares_plain"]

def build(tree):
    args = ["cargo", "build", "--release", "--locked"] + [a for e in EXAMPLES for a in ("--example", e)]
    subprocess.run(args, cwd=tree, check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["cargo", "bench", "--locked", "--bench", "overhead", "--no-run"], cwd=tree,
                   check=True, stderr=subprocess.DEVNULL)
    bench = max(glob.glob(os.path.join(tree, "target/release/deps/overhead-*")), key=os.path.getmtime)
    return os.path.join(tree, "target/release/examples"), bench

def timed(argv):
    with tempfile.TemporaryDirectory(prefix="resumable-cmp-") as scratch:
        env = dict(os.environ, RESUMABLE_DIR=os.path.join(scratch, "ckpt"))
        start = time.perf_counter()
        subprocess.run(argv, cwd=scratch, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

def b2(bench):
    """The criterion median of the #[resumable] and plain loops, in ms."""
    out = subprocess.run([bench, "--bench", "per-iteration overhead", "--noplot"], check=True,
                         capture_output=True, text=True).stdout
    times = {}
    for name, mid, unit in re.findall(r"overhead, 10M iterations/(.+?)\n\s+time:\s+\[\S+ \S+ (\S+) (\S+)", out):
        times[name.strip()] = float(mid) * {"ms": 1, "µs": 1e-3, "s": 1e3}[unit]
    return times

def main():
    trees = sys.argv[1:3]
    built = [build(tree) for tree in trees]
    b1 = {(t, e): [] for t in range(2) for e in EXAMPLES}
    b2s = {t: [] for t in range(2)}
    for _ in range(ROUNDS):
        for t, (examples, _) in enumerate(built):
            for e in EXAMPLES:
                b1[(t, e)].append(timed([os.path.join(examples, e)]))
    for _ in range(max(3, ROUNDS // 2)):
        for t, (_, bench) in enumerate(built):
            b2s[t].append(b2(bench))
    print(f"{'':28} {trees[0]:>14} {trees[1]:>14}")
    for e in EXAMPLES:
        m = [statistics.median(b1[(t, e)]) * 1e3 for t in range(2)]
        print(f"B1 {e:25} {m[0]:11.1f} ms {m[1]:11.1f} ms")
    for name in b2s[0][0]:
        m = [statistics.median(run[name] for run in b2s[t]) for t in range(2)]
        print(f"B2 {name[:25]:25} {m[0]:11.2f} ms {m[1]:11.2f} ms")
    print(f"(B1 rounds: {ROUNDS}; B2 criterion runs: {len(b2s[0])}; {os.cpu_count()} cores)")

main()
