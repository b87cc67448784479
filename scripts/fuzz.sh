#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (default 60 s each; FUZZ_SECONDS to change).
# Crashes land in fuzz/artifacts/<target>/: fix them, then copy each input into
# fuzz/regressions/<target>/ so `cargo test` replays it forever.
# Uses the stable toolchain (RUSTC_BOOTSTRAP enables the sanitizer flags cargo-fuzz passes).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
seconds="${FUZZ_SECONDS:-60}"
targets=("${@:-url_parse filters_parse render jpeg_planes sign_prefix}")
status=0
for target in ${targets[@]}; do
  mkdir -p "fuzz/corpus/$target"
  cp -n fuzz/regressions/"$target"/seed-* "fuzz/corpus/$target/" 2>/dev/null || true
  echo "=== fuzz $target for ${seconds}s"
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1; then
    echo "fuzz $target found a crash: see fuzz/artifacts/$target/" >&2
    status=1
  fi
done
exit $status
