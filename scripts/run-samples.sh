#!/usr/bin/env bash
# Builds pictor and serves the bundled sample images on http://127.0.0.1:8888 (unsafe URLs on),
# e.g. curl -o thumb.jpg http://127.0.0.1:8888/unsafe/fit-in/300x200/portrait.jpg
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release
export FILE_LOADER_ROOT_PATH="${FILE_LOADER_ROOT_PATH:-$PWD/samples}"
exec ./target/release/pictor serve --bind "${BIND:-127.0.0.1:8888}" "$@"
