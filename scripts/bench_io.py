#!/usr/bin/env python3
"""Files in and out (issue 23), whole processes of `resumable-io-job` (tests/programs/io_job.rs):

    python3 scripts/bench_io.py resume   # time to the first new line, resuming at 90% of 2 GB
    python3 scripts/bench_io.py seed     # a million lines in, a million out, every 1000

`resume`: a 2 GB line file is read until line 90% (`STOP_AT`: the process exits, as a kill),
then resumed ROUNDS times from a copy of that checkpoint (the output cut back to what the
interrupted run had written); each resume prints the time from
its start to the first line it handles. `resumable` reads through `io::Lines` (a resume
seeks), `std-skip` through `BufRead::lines` (a resume skips the lines before with `nth`).
`seed`: the whole job, `resumable` (`io::Lines` into `io::Output`, a checkpoint every 1000
lines) against `plain` (`BufRead::lines` into `BufWriter<File>`, no attribute), alternating.
Medians of ROUNDS (default 7); the file is in the page cache (written just before).
"""
import os, re, shutil, statistics, subprocess, sys, tempfile, time

ROUNDS = int(os.environ.get("ROUNDS", "7"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "resumable-io-job"],
                   cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    return os.path.join(ROOT, "target/release/resumable-io-job")

def write_lines(path, size):
    """Lines of 20 to 180 bytes up to `size` bytes; returns their number."""
    state, lines, written = 0x9E3779B97F4A7C15, 0, 0
    alphabet = b"abcdefghijklmnopqrstuvwxyz" * 8
    with open(path, "wb", buffering=1 << 20) as out:
        while written < size:
            state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
            state ^= state >> 7
            state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
            n = 20 + state % 161
            out.write(alphabet[state % 26:state % 26 + n] + b"\n")
            written += n + 1
            lines += 1
    return lines

def run(job, mode, work, env=None):
    start = time.perf_counter()
    done = subprocess.run([job, mode, "input.txt", "output.txt"], cwd=work,
                          env=dict(os.environ, RESUMABLE_DIR=os.path.join(work, "ckpt"), **(env or {})),
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return done, elapsed

def resume(job, work):
    lines = write_lines(os.path.join(work, "input.txt"), 2 << 30)
    stop = str(lines * 9 // 10)
    print(f"input: 2 GiB, {lines} lines; interrupted at line {stop}")
    for mode in ["resumable", "std-skip"]:
        shutil.rmtree(os.path.join(work, "ckpt"), ignore_errors=True)
        done, _ = run(job, mode, work, {"STOP_AT": stop})
        assert done.returncode == 3, done.stderr
        shutil.copytree(os.path.join(work, "ckpt"), os.path.join(work, "saved"))
        output = os.path.join(work, "output.txt")
        interrupted = os.path.getsize(output) if os.path.exists(output) else 0
        firsts, totals = [], []
        for _ in range(ROUNDS):
            shutil.rmtree(os.path.join(work, "ckpt"))
            shutil.copytree(os.path.join(work, "saved"), os.path.join(work, "ckpt"))
            # The output as the interrupted run left it (the round before completed it).
            if os.path.exists(output):
                os.truncate(output, interrupted)
            done, elapsed = run(job, mode, work)
            assert done.returncode == 0, done.stderr
            firsts.append(float(re.search(r"first_line_ms (\S+)", done.stderr).group(1)))
            totals.append(elapsed * 1e3)
        shutil.rmtree(os.path.join(work, "saved"))
        print(f"{mode:10} first new line {statistics.median(firsts):9.1f} ms  "
              f"(whole resumed run {statistics.median(totals):8.1f} ms)")

def seed(job, work):
    lines = 0
    with open(os.path.join(work, "input.txt"), "w") as out:
        for i in range(1_000_000):
            out.write(f"{i} {i * i}\n")
            lines += 1
    times = {"resumable": [], "plain": []}
    for _ in range(ROUNDS):
        for mode in times:
            shutil.rmtree(os.path.join(work, "ckpt"), ignore_errors=True)
            done, elapsed = run(job, mode, work)
            assert done.returncode == 0, done.stderr
            times[mode].append(elapsed * 1e3)
    med = {mode: statistics.median(t) for mode, t in times.items()}
    for mode, m in med.items():
        print(f"{mode:10} {m:8.1f} ms (median of {ROUNDS})")
    print(f"ratio resumable/plain {med['resumable'] / med['plain']:.2f}x")

def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "seed"
    job = build()
    with tempfile.TemporaryDirectory(prefix="resumable-bench-io-") as work:
        {"resume": resume, "seed": seed}[what](job, work)

if __name__ == "__main__":
    main()
