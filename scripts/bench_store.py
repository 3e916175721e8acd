#!/usr/bin/env python3
"""The store's benchmarks, against a local moto S3 server (the tests' server,
scripts/s3_server.sh install), started here on a free port and stopped by its pid at the end.
The network is loopback, so these measure what the upload thread costs the loop and how our
transfers compare with bare object_store calls, not a real network's speed.

    python3 scripts/bench_store.py              # b1, then overlap, then throughput
    python3 scripts/bench_store.py b1           # ROUNDS=7
    python3 scripts/bench_store.py overlap      # ROUNDS=5
    python3 scripts/bench_store.py throughput   # ROUNDS=5 SIZE_MB=200

- b1: the seed's loop (a million squares, `append(results)`, a checkpoint every 1000:
  `tests/programs/loop_time.rs`, the same loop as `examples/squares`) timed from spawn to exit
  and, inside the function, the loop alone; alternating runs with `RESUMABLE_STORE` and
  without it.
- overlap: the same loop with 5 us of work per iteration (a 5 s loop), so uploads overlap it:
  the loop's time with the store on and off, and the bytes uploaded against the final state's.
- throughput: benches/store_throughput.rs, a 200 MB log up and down, ours beside bare
  object_store calls.
"""
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

@contextmanager
def server(bucket):
    """A moto server with `bucket`; yields the environment that reaches it."""
    moto = subprocess.run([os.path.join(ROOT, "scripts", "s3_server.sh"), "install"], check=True,
                          capture_output=True, text=True).stdout.strip()
    port = free_port()
    process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT",
                                                 headers={"Authorization": "AWS test:x"})
                urllib.request.urlopen(request, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield dict(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_REGION="us-east-1", AWS_ENDPOINT=endpoint, AWS_ALLOW_HTTP="true")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

def loop_time_exe():
    subprocess.run(["cargo", "build", "--release", "--bin", "resumable-loop-time"], cwd=ROOT,
                   check=True, stderr=subprocess.DEVNULL)
    return os.path.join(ROOT, "target", "release", "resumable-loop-time")

def run_loop(exe, args, store_env):
    """One run in a fresh directory: (seconds spawn to exit, the stderr's numbers, stdout)."""
    scratch = tempfile.mkdtemp(prefix="resumable-store-bench-")
    env = dict(os.environ, RESUMABLE_DIR=os.path.join(scratch, "ckpt"), **store_env)
    if not store_env:
        env.pop("RESUMABLE_STORE", None)
    start = time.perf_counter()
    out = subprocess.run([exe, *args], env=env, capture_output=True, text=True, check=True)
    took = time.perf_counter() - start
    shutil.rmtree(scratch)
    numbers = {line.split()[0]: int(line.split()[1]) for line in out.stderr.splitlines()
               if line.split()[:1] and line.split()[0] in ("loop_ns", "uploaded_bytes", "state_bytes")}
    return took, numbers, out.stdout.strip()

def runs(values, unit=1000, digits=0):
    return ", ".join(f"{v * unit:.{digits}f}" for v in values)

def b1():
    rounds = int(os.environ.get("ROUNDS", "7"))
    exe = loop_time_exe()
    with server("bench") as env:
        store_env = dict(env, RESUMABLE_STORE="s3://bench/b1")
        times = {"store off": [], "store on": []}
        loops = {"store off": [], "store on": []}
        outputs = set()
        for _ in range(rounds):
            for name, extra in [("store off", {}), ("store on", store_env)]:
                took, numbers, out = run_loop(exe, [], extra)
                times[name].append(took)
                loops[name].append(numbers["loop_ns"] / 1e9)
                outputs.add(out)
        assert len(outputs) == 1, outputs
    off, on = statistics.median(times["store off"]), statistics.median(times["store on"])
    print(f"B1: squares, {rounds} alternating runs each, medians (output {outputs.pop()}):")
    print(f"  store off  {off * 1000:7.1f} ms   runs: {runs(times['store off'])}")
    print(f"  store on   {on * 1000:7.1f} ms   runs: {runs(times['store on'])}")
    print(f"  ratio      {on / off:7.2f}x")
    loop_off, loop_on = statistics.median(loops["store off"]), statistics.median(loops["store on"])
    print("the loop alone (timed inside the function), medians:")
    print(f"  store off  {loop_off * 1000:7.1f} ms   runs: {runs(loops['store off'], digits=1)}")
    print(f"  store on   {loop_on * 1000:7.1f} ms   runs: {runs(loops['store on'], digits=1)}")
    print(f"  ratio      {loop_on / loop_off:7.2f}x")

def overlap():
    rounds = int(os.environ.get("ROUNDS", "5"))
    work_ns = os.environ.get("WORK_NS", "5000")
    exe = loop_time_exe()
    with server("bench") as env:
        store_env = dict(env, RESUMABLE_STORE="s3://bench/overlap")
        loops = {"store off": [], "store on": []}
        ratios, outputs = [], set()
        for _ in range(rounds):
            for name, extra in [("store off", {}), ("store on", store_env)]:
                _, numbers, out = run_loop(exe, ["1000000", work_ns], extra)
                loops[name].append(numbers["loop_ns"] / 1e9)
                outputs.add(out)
                if extra:
                    ratios.append(numbers["uploaded_bytes"] / numbers["state_bytes"])
                    state = numbers["state_bytes"]
        assert len(outputs) == 1, outputs
    off, on = statistics.median(loops["store off"]), statistics.median(loops["store on"])
    print(f"B1 with {work_ns} ns of work per iteration, {rounds} alternating runs each, medians:")
    print(f"  loop, store off  {off:6.2f} s   runs: {runs(loops['store off'], 1, 2)}")
    print(f"  loop, store on   {on:6.2f} s   runs: {runs(loops['store on'], 1, 2)}")
    print(f"  ratio            {on / off:6.3f}x")
    print(f"  bytes uploaded / final state ({state} bytes): median {statistics.median(ratios):.2f}x"
          f"   runs: {', '.join(f'{r:.2f}' for r in ratios)}")

def throughput():
    with server("bench") as env:
        env = dict(os.environ, **env, BENCH_STORE_URL="s3://bench/throughput")
        subprocess.run(["cargo", "bench", "--bench", "store_throughput"], cwd=ROOT, env=env,
                       check=True)

def main():
    which = sys.argv[1:] or ["b1", "overlap", "throughput"]
    for name in which:
        {"b1": b1, "overlap": overlap, "throughput": throughput}[name]()

if __name__ == "__main__":
    main()
