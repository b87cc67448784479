#!/usr/bin/env bash
# Overload test on loopback: drives pictor at several times its capacity with a mix of cached
# and uncached URLs for a bounded time, and reports served / shed (503) / other errors,
# p50/p99 latency of served requests and pictor's peak RSS (which must stay under
# RENDER_MEMORY_MB + MEMORY_CACHE_MB + 100 MB).
#
#   benches/load.sh            # 60 s overload run
#   benches/load.sh --soak     # also a 10-minute soak: RSS and open fds sampled every 30 s
#   SECONDS_PER_RUN=20 benches/load.sh   # shorter run
set -euo pipefail
cd "$(dirname "$0")/.."
soak=0
[ "${1:-}" = "--soak" ] && soak=1
run_seconds="${SECONDS_PER_RUN:-60}"
corpus="${PICTOR_CORPUS:-$(pwd)/tests/data/corpus}"
render_mb="${RENDER_MEMORY_MB:-512}"
cache_mb="${MEMORY_CACHE_MB:-64}"

./scripts/setup.sh >/dev/null
cargo build --release --quiet
cargo build --release --quiet --example loadgen
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

FILE_LOADER_ROOT_PATH="$corpus" RENDER_MEMORY_MB="$render_mb" MEMORY_CACHE_MB="$cache_mb" \
  RUST_LOG=error ./target/release/pictor serve --bind 127.0.0.1:0 > "$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on http:\/\///p' "$work/out")
[ -n "$addr" ] || { echo "pictor did not start"; cat "$work/err"; exit 1; }

# Half hot URLs (cache hits after the first), half unique sizes of large originals (renders).
{
  for i in $(seq 1 400); do
    echo "/unsafe/300x200/thumbor/images/image.jpg"
    echo "/unsafe/$((200 + i))x$((150 + i))/sharp/2569067123_aca715a2ee_o.jpg"
    echo "/unsafe/fit-in/400x300/thumbor/filters/source.jpg"
    echo "/unsafe/$((100 + i))x0/sharp/alpha-premultiply-2048x1536-paper.png"
  done
} > "$work/paths"

rss_mb() { awk '/VmRSS/ {printf "%d", $2/1024}' /proc/$pid/status; }
hwm_mb() { awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$pid/status; }
fds() { ls /proc/$pid/fd | wc -l; }

echo "pictor $addr: overload run ${run_seconds}s, 64 connections (capacity: $((2 * $(nproc))) renders at once)"
result=$(./target/release/examples/loadgen --addr "$addr" --paths "$work/paths" \
  --connections 64 --seconds "$run_seconds")
echo "$result"
peak=$(hwm_mb)
limit=$((render_mb + cache_mb + 64 + 100))
python3 - "$result" "$peak" "$limit" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); peak = int(sys.argv[2]); limit = int(sys.argv[3])
statuses = {int(k): v for k, v in r["statuses"].items()}
served, shed = statuses.get(200, 0), statuses.get(503, 0)
other = sum(v for k, v in statuses.items() if k not in (200, 503)) + r["errors"]
print(f"served {served} ({r['req_per_s']} req/s), shed {shed}, other errors {other}, "
      f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, peak RSS {peak} MB (limit {limit} MB)")
ok = other == 0 and peak <= limit and served > 0
print("load: OK" if ok else "load: FAILED")
sys.exit(0 if ok else 1)
PY

if [ "$soak" = 1 ]; then
  echo "soak: 10 minutes, sampling RSS and open fds every 30 s"
  for round in $(seq 1 20); do
    ./target/release/examples/loadgen --addr "$addr" --paths "$work/paths" \
      --connections 16 --seconds 30 > /dev/null
    echo "t=$((round * 30))s rss=$(rss_mb)MB fds=$(fds)"
  done
fi
