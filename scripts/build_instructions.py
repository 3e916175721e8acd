#!/usr/bin/env python3
"""What the attribute costs a user's build, counted instead of timed (issue 25): the
instructions rustc executes to build a crate of annotated functions (release), under
valgrind's callgrind, which gives the same count on every run, busy machine or not, where a
build's time varies by 10% or more. Counts a crate of 1 annotated function, of 8, and of 8
without the attribute (the same functions as `bench_build.py`'s), and reports:

- fixed: what the first annotated function costs beyond the crate without the attribute, most
  of it the runtime's generic code compiled again in the user's crate (once per state type);
- per function: what each further annotated function adds, (8 - 1) / 7;
- the crate of 40 that `bench_build.py` times, estimated from the two.

Needs valgrind (`apt-get install valgrind`); takes a few minutes.

    python3 scripts/build_instructions.py
"""
import os, re, shlex, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_build import manifest, source  # noqa: E402

SIZES = [("one", True, 1), ("eight", True, 8), ("plain", False, 8)]


def rustc_command(workspace, package):
    """The `rustc` command cargo runs for `package`'s own crate, its dependencies built."""
    main = os.path.join(workspace, package, "src", "main.rs")
    os.utime(main)
    out = subprocess.run(
        ["cargo", "build", "--release", "-v", "-p", package],
        cwd=workspace, check=True, capture_output=True, text=True,
    ).stderr
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Running `") and f"--crate-name {package} " in line:
            return line[len("Running `"):-1]
    raise SystemExit(f"no rustc command for {package} in cargo's output")


def instructions(workspace, package):
    """Instructions rustc executes to build `package` (all its threads; not the linker)."""
    command = rustc_command(workspace, package)
    # Rendered diagnostics and a scratch output directory: the build is the same.
    command = re.sub(r"--error-format=json --json=\S+", "", command)
    scratch = tempfile.mkdtemp(prefix="resumable-callgrind-")
    command = re.sub(r"--out-dir \S+", f"--out-dir {scratch}", command)
    try:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out"]
            + shlex.split(command),
            cwd=workspace, capture_output=True, text=True,
        )
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or not found:
            raise SystemExit(f"valgrind failed for {package}:\n{run.stderr[-2000:]}")
        return int(found.group(1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind: apt-get install valgrind")
    workspace = tempfile.mkdtemp(prefix="resumable-build-count-")
    try:
        with open(os.path.join(workspace, "Cargo.toml"), "w") as f:
            members = ", ".join(f'"{name}"' for name, _, _ in SIZES)
            f.write(f'[workspace]\nmembers = [{members}]\nresolver = "3"\n')
        for name, annotated, functions in SIZES:
            os.makedirs(os.path.join(workspace, name, "src"))
            with open(os.path.join(workspace, name, "Cargo.toml"), "w") as f:
                f.write(manifest(name))
            with open(os.path.join(workspace, name, "src", "main.rs"), "w") as f:
                f.write(source(annotated, functions))
        count = {name: instructions(workspace, name) / 1e9 for name, _, _ in SIZES}
        per_function = (count["eight"] - count["one"]) / 7
        # The plain crate of 8 stands for the plain crate of 1 and of 40 (a plain function costs
        # next to nothing).
        fixed = count["one"] - count["plain"]
        forty = fixed + 40 * per_function
        print("rustc's instructions (G), release, callgrind:")
        print(f"  1 annotated function {count['one']:.3f}, 8: {count['eight']:.3f}, "
              f"8 without the attribute: {count['plain']:.3f}")
        print(f"  fixed (the first annotated function): {fixed:.3f}")
        print(f"  each further annotated function: {per_function:.3f}")
        print(f"  a crate of 40, beyond the plain one: {forty:.2f} "
              f"({forty / 40:.3f} per function)")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
