#!/usr/bin/env python3
"""Checks the minimum supported Rust version (MSRV) as far as this machine can.

Only one toolchain can be installed here, so the crates are never built with the MSRV itself.
What can be checked without it:
- our own code: clippy's `incompatible_msrv` lint (on in CI's `clippy -D warnings`) refuses std
  APIs stabilized after the `rust-version` our crates declare;
- our dependencies (this script): no package in Cargo.lock may declare a newer
  `rust-version` than ours, or a user on our MSRV could not build the versions we test.

Exits 1 naming the packages that need a newer Rust than our crates say they do.
"""

import json
import subprocess
import sys


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
    too_new = [
        f"{package['name']} {package['version']} needs Rust {package['rust_version']}"
        for package in metadata["packages"]
        if package.get("rust_version") and version(package["rust_version"]) > msrv
    ]
    shown = ".".join(map(str, msrv))
    if too_new:
        print(f"check_msrv: our crates declare rust-version {shown}, but:", file=sys.stderr)
        for line in too_new:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(f"MSRV {shown}: all {len(metadata['packages'])} locked packages build with it")


if __name__ == "__main__":
    main()
