#!/usr/bin/env python3
"""B2's hot loops as machine code: the innermost loop of each of `benches/overhead.rs`'s
annotated functions, from the release bench binary, with addresses, stack offsets and register names
masked, so that two builds can be compared instruction by instruction (a change to the generated
code must leave the loop between boundaries as it was; issue 10 and issue 25 check it so).

    python3 scripts/hot_loops.py > after.txt            # this tree's bench binary
    python3 scripts/hot_loops.py path/to/overhead-* > before.txt
    diff before.txt after.txt

The innermost loop is the shortest backward branch in the function: from its target to the
branch, the instructions one iteration runs when no boundary is due.
"""
import glob, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Register names masked too (MASK_REGISTERS=0 keeps them): the allocator may swap registers
# between builds with the same instructions.
MASK_REGISTERS = os.environ.get("MASK_REGISTERS", "1") != "0"
FUNCTIONS = ["overhead::checkpointed", "overhead::checkpointed_marked", "overhead::checkpointed_nest"]


def bench_binary():
    subprocess.run(["cargo", "bench", "--bench", "overhead", "--no-run", "--quiet"], cwd=ROOT, check=True)
    found = [p for p in glob.glob(os.path.join(ROOT, "target/release/deps/overhead-*"))
             if os.access(p, os.X_OK) and not p.endswith(".d")]
    return max(found, key=os.path.getmtime)


def disassemble(binary, function):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", binary],
                         capture_output=True, text=True, check=True).stdout
    body, inside = [], False
    for line in out.splitlines():
        if line.endswith(">:"):
            name = line.split("<", 1)[1][:-2]
            inside = name == function
            continue
        if inside and line.strip():
            address, _, text = line.strip().partition(":")
            body.append((int(address, 16), text.strip()))
    return body


def innermost_loop(body):
    best = None
    for address, text in body:
        match = re.match(r"j\w+\s+([0-9a-f]+)", text)
        if match:
            target = int(match.group(1), 16)
            if target <= address and (best is None or address - target < best[1] - best[0]):
                best = (target, address)
    if best is None:
        return []
    return [text for address, text in body if best[0] <= address <= best[1]]


def masked(text):
    text = re.sub(r"\b[0-9a-f]{4,}\b", "ADDR", text)  # branch targets, absolute addresses
    text = re.sub(r"<[^>]*>", "", text)
    text = re.sub(r"-?0x[0-9a-f]+\(%rsp\)", "OFF(%rsp)", text)
    if MASK_REGISTERS:
        text = re.sub(r"%r(sp)\b", r"%R\1", text)  # the stack pointer stays named
        text = re.sub(r"%[re]?(?:[a-d]x|[sd]i|bp|\d+[dwb]?)\b", "%REG", text)
        text = text.replace("%R", "%r")
    return text


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else bench_binary()
    for function in FUNCTIONS:
        loop = innermost_loop(disassemble(binary, function))
        print(f"== {function}: {len(loop)} instructions")
        for text in loop:
            print("   ", masked(text))


if __name__ == "__main__":
    main()
