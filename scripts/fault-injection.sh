#!/usr/bin/env bash
# Fault injection into the real system calls of a checkpointing program (manual; not in CI).
#
# Runs the release `squares` example under libfiu's POSIX preload library (`fiu-run -x`), which
# makes write/fsync/rename/open/read/... fail at random with a chosen errno, in a scratch
# RESUMABLE_DIR, over and over. For every faulty run:
#
#   - the run must either complete with the output of an uninterrupted run, or fail with an
#     error that names the checkpoint (`squares.squares.ckpt`, or its temp/lock file);
#   - then a clean run (no faults) in the same directory must complete with that output,
#     without finding a damaged checkpoint (a "moved aside"/"cannot be loaded" message would
#     mean a torn file), and leave the directory empty.
#
# Half of the rounds start from nothing; the other half from a mid-run checkpoint (a run with
# a per-iteration delay, killed with SIGKILL), so the loading path gets faults too.
#
# Each fault point is enabled with `onetime`: at most one injected fault per point per run,
# so the error message that follows is not itself lost to another injected fault. A fault can
# still land on the program's own stdout/stderr (they go through write() too); such runs are
# counted apart ("stdio"), as they are not checkpoint I/O.
#
# Requirements: Debian's fiu-utils (apt-get install -y fiu-utils), cargo.
# Usage: scripts/fault-injection.sh            # ROUNDS=10 per fault point
#        ROUNDS=40 N=50000 scripts/fault-injection.sh
#        KEEP_SCRATCH=1 ...                     # keep the scratch directory for inspection
# The fault points are the libfiu POSIX wrappers' names: see `zcat
# /usr/share/doc/fiu-utils/function_list.gz`. Exit status: 0 if no run broke the rules.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-10}      # rounds per fault point (half fresh, half resumed)
N=${N:-20000}             # iterations: a save every 1000, so N/1000 saves per run
PREP_DELAY_US=100         # per-iteration delay of the run that is killed to leave a checkpoint
PREP_KILL_AFTER=0.5       # seconds

command -v fiu-run >/dev/null || {
    echo "fiu-run not found: apt-get install -y fiu-utils" >&2
    exit 2
}

echo "building the release squares example..."
(cd "$ROOT" && cargo build --release --example squares --quiet)
BIN="$ROOT/target/release/examples/squares"
NAME="squares.squares.ckpt"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/resumable-fault-injection.XXXXXX")
cleanup() {
    if [[ "${KEEP_SCRATCH:-0}" == 1 ]]; then
        echo "scratch kept: $SCRATCH"
    else
        rm -rf "$SCRATCH"
    fi
}
trap cleanup EXIT
DIR="$SCRATCH/ckpt"

# Fault points: "label|fiu-run enable command". errno via failinfo where it makes the fault
# recognisable in messages (28 ENOSPC, 5 EIO, 30 EROFS, 24 EMFILE); none means a random errno
# valid for the call (EINTR among them, which std retries).
POINTS=(
    "write ENOSPC|enable_random name=posix/io/rw/write,probability=0.05,failinfo=28,onetime"
    "write random-errno|enable_random name=posix/io/rw/write,probability=0.05,onetime"
    "write short (reduce)|enable_random name=posix/io/rw/write/reduce,probability=0.5"
    "fsync EIO|enable_random name=posix/io/sync/fsync,probability=0.04,failinfo=5,onetime"
    "writev ENOSPC (log records)|enable_random name=posix/io/rw/writev,probability=0.05,failinfo=28,onetime"
    "fdatasync EIO (background sync, every call)|enable name=posix/io/sync/fdatasync,failinfo=5"
    "rename EROFS|enable_random name=posix/io/dir/rename,probability=0.04,failinfo=30,onetime"
    "open EMFILE|enable_random name=posix/io/oc/open,probability=0.03,failinfo=24,onetime"
    "read EIO|enable_random name=posix/io/rw/read,probability=0.3,failinfo=5,onetime"
    "close random-errno|enable_random name=posix/io/oc/close,probability=0.1"
    "unlink EIO|enable_random name=posix/io/dir/unlink,probability=0.3,failinfo=5,onetime"
    "ftruncate EIO|enable name=posix/io/rw/ftruncate,failinfo=5"
    "all posix/io/*|enable_random name=posix/io/*,probability=0.01,onetime"
)

# The output of an uninterrupted run.
mkdir -p "$DIR"
EXPECTED=$(RESUMABLE_DIR="$DIR" "$BIN" "$N")
rm -rf "$DIR"
echo "uninterrupted output of squares $N: $EXPECTED"
echo

# Leaves a mid-run checkpoint in $DIR: a slow run, killed.
prepare_checkpoint() {
    mkdir -p "$DIR"
    RESUMABLE_DIR="$DIR" "$BIN" "$N" "$PREP_DELAY_US" >/dev/null 2>&1 &
    local pid=$!
    sleep "$PREP_KILL_AFTER"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [[ -f "$DIR/$NAME" || -f "$DIR/$NAME.prev" ]]
}

TOTAL_RUNS=0
TOTAL_BAD=0
SUMMARY=()
DETAILS="$SCRATCH/violations.log"
: >"$DETAILS"

printf '%-22s %5s %5s %6s %6s %6s %7s %6s %6s %5s\n' \
    "fault point" runs ok failed stdio BAD visible clean torn left
for point in "${POINTS[@]}"; do
    label=${point%%|*}
    command=${point#*|}
    runs=0 ok=0 failed=0 stdio=0 bad=0 visible=0 clean=0 torn=0 left=0
    for ((round = 0; round < ROUNDS; round++)); do
        rm -rf "$DIR"
        mode=fresh
        if ((round % 2 == 1)); then
            mode=resumed
            prepare_checkpoint || {
                echo "could not leave a checkpoint to resume from" >&2
                exit 2
            }
        fi
        mkdir -p "$DIR"

        # The faulty run.
        set +e
        RESUMABLE_DIR="$DIR" timeout 60 fiu-run -x -f "" -c "$command" \
            "$BIN" "$N" >"$SCRATCH/out" 2>"$SCRATCH/err"
        status=$?
        set -e
        runs=$((runs + 1))
        out=$(cat "$SCRATCH/out")
        if grep -q "os error\|Input/output error\|No space left\|Read-only file system\|Too many open files" "$SCRATCH/err"; then
            visible=$((visible + 1))
        fi
        verdict=""
        if ((status == 0)) && [[ "$out" == "$EXPECTED" ]]; then
            ok=$((ok + 1))
        elif ((status != 0)) && grep -q "failed printing to std\(out\|err\)" "$SCRATCH/err"; then
            stdio=$((stdio + 1))
        elif ((status == 101)) && [[ -z "$out" ]] && grep -q "$NAME" "$SCRATCH/err"; then
            failed=$((failed + 1))
        else
            verdict="faulty run ($mode): exit $status, stdout '$out'"
        fi

        # The clean run: must complete as an uninterrupted run, from an intact checkpoint.
        set +e
        RESUMABLE_DIR="$DIR" timeout 60 "$BIN" "$N" >"$SCRATCH/clean-out" 2>"$SCRATCH/clean-err"
        clean_status=$?
        set -e
        clean_out=$(cat "$SCRATCH/clean-out")
        if grep -q "moved to\|cannot be loaded\|damaged" "$SCRATCH/clean-err"; then
            torn=$((torn + 1))
            verdict+="${verdict:+; }clean run found a damaged checkpoint"
        fi
        if ((clean_status == 0)) && [[ "$clean_out" == "$EXPECTED" ]]; then
            clean=$((clean + 1))
        else
            verdict+="${verdict:+; }clean run: exit $clean_status, stdout '$clean_out'"
        fi
        leftovers=$(ls -A "$DIR")
        if [[ -n "$leftovers" ]]; then
            left=$((left + 1))
            verdict+="${verdict:+; }left in the directory after the clean run: $(echo $leftovers)"
        fi

        if [[ -n "$verdict" ]]; then
            bad=$((bad + 1))
            {
                echo "== $label, round $round ($mode): $verdict"
                echo "-- faulty run stderr:"
                cat "$SCRATCH/err"
                echo "-- clean run stderr:"
                cat "$SCRATCH/clean-err"
            } >>"$DETAILS"
        fi
    done
    printf '%-22s %5d %5d %6d %6d %6d %7d %6d %6d %5d\n' \
        "$label" "$runs" "$ok" "$failed" "$stdio" "$bad" "$visible" "$clean" "$torn" "$left"
    TOTAL_RUNS=$((TOTAL_RUNS + runs))
    TOTAL_BAD=$((TOTAL_BAD + bad))
done

cat <<EOF

runs     faulty runs (each followed by a clean run); half start from a mid-run checkpoint
ok       completed with the uninterrupted output
failed   stopped with an error naming the checkpoint (exit 101, no output)
stdio    the fault hit the program's own stdout/stderr ("failed printing to ..."), not the
         checkpoint
BAD      broke a rule: another exit or output, an error not naming the checkpoint, a failed
         or damaged clean run, or files left behind (details below)
visible  an injected fault shows in stderr (an OS error message); faults on ignored or
         retried calls (the lock file's pid, close, EINTR, short writes) do not show
clean    clean runs afterwards that completed with the uninterrupted output
torn     clean runs that found a damaged checkpoint (moved aside or refused)
left     clean runs that left files in the checkpoint directory
EOF
echo
echo "total: $TOTAL_RUNS faulty runs, $TOTAL_RUNS clean runs, $TOTAL_BAD broke a rule"
if ((TOTAL_BAD > 0)); then
    echo
    echo "violations:"
    cat "$DETAILS"
    exit 1
fi
