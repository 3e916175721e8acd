#!/usr/bin/env bash
# A real S3-compatible server for the object-storage integration tests (tests/common/s3.rs).
#
# Why moto: its server honours conditional PUTs (`If-None-Match: *` on an existing key answers
# 412), which the runtime's create-only writes rely on; other servers tried here ignored the
# header and overwrote the object. It keeps its state in memory and runs from a venv.
#
# Usage: scripts/s3_server.sh install [VENV_DIR]   # default VENV_DIR: target/s3-venv
#   Creates the venv with the pinned packages (a no-op when its stamp file already holds
#   them) and prints the path of `moto_server`. Run a server with
#   `moto_server -H 127.0.0.1 -p PORT`; the tests start and stop their own.

set -euo pipefail

PINS="moto[s3]==5.2.5 flask==3.1.3 flask-cors==6.0.5"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

[[ ${1:-} == install ]] || {
    echo "usage: $0 install [VENV_DIR]" >&2
    exit 2
}
VENV=${2:-$ROOT/target/s3-venv}
STAMP=$VENV/.pins

if [[ ! -x $VENV/bin/moto_server || $(cat "$STAMP" 2>/dev/null) != "$PINS" ]]; then
    python3 -m venv "$VENV" >&2
    # shellcheck disable=SC2086 # PINS is a list of requirements
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS >&2
    echo "$PINS" >"$STAMP" # written last: an interrupted install is redone
fi
echo "$VENV/bin/moto_server"
