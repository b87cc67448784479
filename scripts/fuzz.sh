#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ and runs each for a bounded time (FUZZ_SECONDS, default 60),
# then prints how many inputs each ran. Crashes land in fuzz/artifacts/<target>/: fix them, then
# copy each input into fuzz/regressions/<target>/ so `cargo test` replays it forever.
#
# No cargo-fuzz and no nightly: libFuzzer comes from the libfuzzer-sys crate, and
# fuzz/instrumenting-rustc adds the coverage instrumentation to pictor and the targets only, so
# the build shares the dependencies `cargo test` built in the same target folder (default
# ./target; FUZZ_TARGET_DIR to change). `scripts/fuzz.sh target…` runs only those targets.
# FUZZ_CORPUS (default fuzz/corpus) is where each target's growing corpus lives; FUZZ_JOBS how
# many targets run at once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
./scripts/setup.sh
seconds="${FUZZ_SECONDS:-60}"
# FUZZ_SEED fixes libFuzzer's random seed (CI sets it, so a run is repeatable); unset, each
# run explores anew.
seed_flag=()
if [ -n "${FUZZ_SEED:-}" ]; then seed_flag=(-seed="$FUZZ_SEED"); fi
if [ $# -gt 0 ]; then
  targets=("$@")
else
  # Every [[bin]] of fuzz/Cargo.toml.
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^pictor-fuzz$')
fi
target_dir="${FUZZ_TARGET_DIR:-$root/target}"
bins=()
for target in "${targets[@]}"; do bins+=(--bin "$target"); done
echo "=== building ${#targets[@]} fuzz targets in $target_dir"
RUSTC_WRAPPER="$root/fuzz/instrumenting-rustc" CARGO_TARGET_DIR="$target_dir" \
  cargo build --manifest-path fuzz/Cargo.toml "${bins[@]}"

# FUZZ_JOBS targets run at once (default 1; CI runs one per core). Each writes its own log;
# the results are printed in the targets' order once all have run.
jobs="${FUZZ_JOBS:-1}"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Runs one target; its exit status is the fuzzer's.
fuzz_one() {
  local target=$1
  local corpus="${FUZZ_CORPUS:-fuzz/corpus}/$target"
  local artifacts="fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  # The saved regressions seed the run (read, never written); new inputs go to the corpus.
  # libFuzzer's progress lines (and what decoders print) stay in the log; a crash shows its
  # tail, with the panic and the input's file.
  local rc=0
  "$target_dir/debug/$target" "$corpus" "fuzz/regressions/$target" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 "${seed_flag[@]}" \
    -artifact_prefix="$artifacts/" >"$logs/$target.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$target.status"
}

echo "=== fuzzing ${#targets[@]} targets for ${seconds}s each, $jobs at a time"
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$target" &
done
wait

status=0
summary=()
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  echo "=== fuzz $target for ${seconds}s"
  if [ "$(cat "$logs/$target.status" 2>/dev/null || echo 1)" = 0 ]; then
    grep -a -E '^(Done|stat::)' "$log" || true
  else
    tail -n 60 "$log"
    echo "fuzz $target found a crash: see fuzz/artifacts/$target/" >&2
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  summary+=("$target: ${runs:-?} runs in ${seconds}s")
done
echo "=== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
