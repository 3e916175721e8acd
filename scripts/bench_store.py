#!/usr/bin/env python3
"""B1 with the store on and off, side by side: the seed's loop (a million squares,
`append(results)`, a checkpoint every 1000: `tests/programs/loop_time.rs`, the same loop as
`examples/squares`) timed from spawn to exit and, inside the function, the loop alone;
alternating runs with `RESUMABLE_STORE` pointing at a local moto S3 server and without it;
medians of ROUNDS runs.

    python3 scripts/bench_store.py          # ROUNDS=7

The server is the tests' (scripts/s3_server.sh install), started here on a free port and
stopped by its pid at the end. The network is loopback, so this measures what the upload
thread costs the loop, not a real network's speed.
"""
import os, shutil, signal, socket, statistics, subprocess, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("ROUNDS", "7"))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def main():
    moto = subprocess.run([os.path.join(ROOT, "scripts", "s3_server.sh"), "install"], check=True,
                          capture_output=True, text=True).stdout.strip()
    subprocess.run(["cargo", "build", "--release", "--bin", "resumable-loop-time"], cwd=ROOT,
                   check=True, stderr=subprocess.DEVNULL)
    exe = os.path.join(ROOT, "target", "release", "resumable-loop-time")
    port = free_port()
    server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                request = urllib.request.Request(f"{endpoint}/bench", method="PUT",
                                                 headers={"Authorization": "AWS test:x"})
                urllib.request.urlopen(request, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        store_env = dict(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                         AWS_REGION="us-east-1", AWS_ENDPOINT=endpoint, AWS_ALLOW_HTTP="true",
                         RESUMABLE_STORE="s3://bench/b1")
        times = {"store off": [], "store on": []}
        loops = {"store off": [], "store on": []}
        outputs = set()
        for _ in range(ROUNDS):
            for name, extra in [("store off", {}), ("store on", store_env)]:
                scratch = tempfile.mkdtemp(prefix="resumable-store-bench-")
                env = dict(os.environ, RESUMABLE_DIR=os.path.join(scratch, "ckpt"), **extra)
                env.pop("RESUMABLE_STORE", None) if not extra else None
                start = time.perf_counter()
                out = subprocess.run([exe], env=env, capture_output=True, text=True, check=True)
                times[name].append(time.perf_counter() - start)
                loop_ns = next(int(line.split()[1]) for line in out.stderr.splitlines()
                               if line.startswith("loop_ns "))
                loops[name].append(loop_ns / 1e9)
                outputs.add(out.stdout.strip())
                shutil.rmtree(scratch)
        assert len(outputs) == 1, outputs
        off, on = statistics.median(times["store off"]), statistics.median(times["store on"])
        print(f"squares, {ROUNDS} alternating runs each, medians (output {outputs.pop()}):")
        print(f"  store off  {off * 1000:7.1f} ms   runs: {', '.join(f'{t*1000:.0f}' for t in times['store off'])}")
        print(f"  store on   {on * 1000:7.1f} ms   runs: {', '.join(f'{t*1000:.0f}' for t in times['store on'])}")
        print(f"  ratio      {on / off:7.2f}x")
        loop_off, loop_on = statistics.median(loops["store off"]), statistics.median(loops["store on"])
        print("the loop alone (timed inside the function), medians:")
        print(f"  store off  {loop_off * 1000:7.1f} ms   runs: {', '.join(f'{t*1000:.1f}' for t in loops['store off'])}")
        print(f"  store on   {loop_on * 1000:7.1f} ms   runs: {', '.join(f'{t*1000:.1f}' for t in loops['store on'])}")
        print(f"  ratio      {loop_on / loop_off:7.2f}x")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

if __name__ == "__main__":
    main()
