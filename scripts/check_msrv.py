#!/usr/bin/env python3
"""Checks the minimum supported Rust version (MSRV) as far as this machine can.

Only one toolchain can be installed here, so the crates are never built with the MSRV itself.
What can be checked without it:
- our own code: clippy's `incompatible_msrv` lint (on in CI's `clippy -D warnings`) refuses std
  APIs stabilized after the `rust-version` our crates declare;
- our dependencies (this script): no package in Cargo.lock may declare a newer
  `rust-version` than ours, or a user on our MSRV could not build the versions we test.

Exits 1 naming the packages that need a newer Rust than our crates say they do. The one
exception is what only an opt-in feature whose framework needs a newer Rust brings in
(`FEATURE_ROOTS`: burn needs 1.95): those packages are listed, not refused, and the feature's
docs say what Rust it needs.
"""

import json
import subprocess
import sys


# The packages an opt-in feature of ours brings in that declare a newer Rust than ours, and
# the feature: a package reachable from our crates only through these is that feature's.
FEATURE_ROOTS = {"burn": "burn", "burn-core": "burn", "burn-optim": "burn"}


def reachable_without(metadata, roots):
    """The package ids reachable from our crates without passing through `roots` (names)."""
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    names = {package["id"]: package["name"] for package in metadata["packages"]}
    seen = set()
    stack = list(metadata["workspace_members"])
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for dep in nodes[current]["deps"]:
            if names[dep["pkg"]] not in roots:
                stack.append(dep["pkg"])
    return seen


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    ours = {
        package["name"]: package["rust_version"]
        for package in metadata["packages"]
        if package["id"] in metadata["workspace_members"]
    }
    if None in ours.values():
        sys.exit(f"check_msrv: a crate of ours declares no rust-version: {ours}")
    msrv = min(version(declared) for declared in ours.values())
    newer = [
        package
        for package in metadata["packages"]
        if package.get("rust_version") and version(package["rust_version"]) > msrv
    ]
    ours_alone = reachable_without(metadata, FEATURE_ROOTS)

    def describe(p):
        return f"{p['name']} {p['version']} needs Rust {p['rust_version']}"

    too_new = [describe(p) for p in newer if p["id"] in ours_alone]
    shown = ".".join(map(str, msrv))
    for package in newer:
        if package["id"] not in ours_alone:
            features = " or ".join(f"`{f}`" for f in sorted(set(FEATURE_ROOTS.values())))
            print(f"check_msrv: {describe(package)}: only through the {features} feature")
    if too_new:
        print(f"check_msrv: our crates declare rust-version {shown}, but:", file=sys.stderr)
        for line in too_new:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(f"MSRV {shown}: all {len(metadata['packages'])} locked packages build with it")


if __name__ == "__main__":
    main()
