#!/usr/bin/env bash
# Starts an S3-compatible server (moto, in-memory) on loopback for the integration tests.
#
#   scripts/s3-test-server.sh [PORT]      # PORT 0 or none: a free port
#
# Prints, then serves in the foreground until killed (the process becomes the server, so
# killing its PID stops it):
#   PICTOR_S3_ENDPOINT=http://127.0.0.1:PORT
#   PICTOR_S3_ACCESS_KEY=...        (an IAM user allowed s3:*; other keys are refused)
#   PICTOR_S3_SECRET_KEY=...
#   PICTOR_S3_READY
# PICTOR_S3_AUTH=0: no authentication (any keys; fixed keys printed, same after a restart).
#
# moto is installed once into a venv ($PICTOR_MOTO_VENV, default
# ${CARGO_TARGET_DIR:-target}/moto-venv) from PyPI; installs are serialized with flock so
# parallel tests can call this script.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="${PICTOR_MOTO_VENV:-$target/moto-venv}"
mkdir -p "$(dirname "$venv")"
(
  flock 9
  if ! "$venv/bin/python" -c "import moto.server, boto3, flask" >/dev/null 2>&1; then
    echo "s3-test-server: installing moto[server] into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.1,<6' >&2
  fi
) 9>"$venv.lock"
exec "$venv/bin/python" "$repo/scripts/s3_test_server.py" "${1:-0}"
