#!/usr/bin/env python3
"""What the attribute costs a user's build (issue 25): a crate of 40 functions, each an 8-line
function with a 3-line loop, built with `#[resumable(every = 1000)]` on each and without it.
Release builds of the user crate only (its dependencies built once, before), timed from
`cargo build` to its end after the crate's source was touched; medians of ROUNDS builds,
alternating. Also the binary's size. Reports per annotated function: (with - without) / 40,
the issue's measurement, which carries the runtime's fixed size and link time divided by 40;
and the marginal cost, a crate of 80 annotated functions against the crate of 40: what one
more annotated function costs.

    python3 scripts/bench_build.py           # ROUNDS=5
    ROUNDS=9 FUNCTIONS=40 python3 scripts/bench_build.py
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
FUNCTIONS = int(os.environ.get("FUNCTIONS", "40"))


def source(annotated, functions):
    lines = ["use resumable::resumable;" if annotated else "", ""]
    for i in range(functions):
        if annotated:
            lines.append("#[resumable(every = 1000)]")
        lines += [
            f"pub fn f{i}(n: u64) -> Vec<u64> {{",
            "    let mut out = Vec::new();",
            "    for j in 0..n {",
            f"        out.push(j * {i + 1});",
            "    }",
            "    out",
            "}",
            "",
        ]
    lines.append("fn main() {")
    lines.append("    let n = std::env::args().count() as u64;")
    lines.append("    let mut total = 0;")
    for i in range(functions):
        lines.append(f"    total += f{i}(n).len();")
    lines.append('    println!("{total}");')
    lines.append("}")
    return "\n".join(lines) + "\n"


def manifest(name):
    return f"""[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
resumable = {{ path = "{os.path.join(ROOT, 'resumable')}" }}
"""


def build(workspace, package):
    main = os.path.join(workspace, package, "src", "main.rs")
    os.utime(main)
    start = time.perf_counter()
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", package],
        cwd=workspace, check=True,
    )
    return time.perf_counter() - start


def main():
    workspace = tempfile.mkdtemp(prefix="resumable-build-bench-")
    try:
        with open(os.path.join(workspace, "Cargo.toml"), "w") as f:
            f.write('[workspace]\nmembers = ["with", "without", "twice"]\nresolver = "3"\n')
        crates = [("with", True, FUNCTIONS), ("without", False, FUNCTIONS),
                  ("twice", True, 2 * FUNCTIONS)]
        for package, annotated, functions in crates:
            os.makedirs(os.path.join(workspace, package, "src"))
            with open(os.path.join(workspace, package, "Cargo.toml"), "w") as f:
                f.write(manifest(package))
            with open(os.path.join(workspace, package, "src", "main.rs"), "w") as f:
                f.write(source(annotated, functions))
        packages = [package for package, _, _ in crates]
        # The dependencies, once (and a first build of each crate, not counted).
        for package in packages:
            build(workspace, package)
        times = {package: [] for package in packages}
        for _ in range(ROUNDS):
            for package in packages:
                times[package].append(build(workspace, package))
        size = {
            package: os.path.getsize(os.path.join(workspace, "target", "release", package))
            for package in packages
        }
        with_s = statistics.median(times["with"])
        without_s = statistics.median(times["without"])
        twice_s = statistics.median(times["twice"])
        print(f"{FUNCTIONS} functions, release, medians of {ROUNDS} builds")
        print(f"build: {with_s:.2f} s with the attribute, {without_s:.2f} s without: "
              f"+{(with_s - without_s) / FUNCTIONS * 1000:.1f} ms per function")
        print(f"binary: {size['with'] / 1024:.1f} KiB with, {size['without'] / 1024:.1f} KiB "
              f"without: +{(size['with'] - size['without']) / FUNCTIONS / 1024:.1f} KiB per function")
        print(f"one more annotated function ({2 * FUNCTIONS} against {FUNCTIONS}): "
              f"+{(twice_s - with_s) / FUNCTIONS * 1000:.1f} ms, "
              f"+{(size['twice'] - size['with']) / FUNCTIONS / 1024:.1f} KiB")
        print("all builds (s): " + ", ".join(
            f"{package} {[round(t, 2) for t in times[package]]}" for package in packages))
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
