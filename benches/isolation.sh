#!/usr/bin/env bash
# Isolation of urgent renders from background work: the p99 latency of a fixed visitor load
# (closed loop, CONNECTIONS connections, every request a render: unique sizes, memory cache
# off) without and with a 10,000-path pre-heat backlog running (POST /preheat, large renders
# into file result storage, BACKGROUND_RENDERS=1). Rounds alternate (quiet, backlog, quiet,
# backlog...) so a change in the machine's load shows in both. Target: with the backlog, urgent
# p99 within 10% of without. Prints one line per round and the medians.
#
#   benches/isolation.sh                          # release build, 3 rounds of 30 s each way
#   ROUNDS=2 SECONDS_PER_RUN=20 benches/isolation.sh
#   PICTOR_BIN=target/debug/pictor LOADGEN_BIN=target/debug/examples/loadgen benches/isolation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
run_seconds="${SECONDS_PER_RUN:-30}"
connections="${CONNECTIONS:-2}"
corpus="${PICTOR_CORPUS:-$(pwd)/tests/data/corpus}"
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${PICTOR_BIN:-}" ]; then
  cargo build --release --quiet
  cargo build --release --quiet --example loadgen
  PICTOR_BIN="$target/release/pictor"
  LOADGEN_BIN="$target/release/examples/loadgen"
fi
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
key=isolation-bench-key-0123456789

start_pictor() {
  rm -rf "$work/results" && mkdir -p "$work/results"
  : > "$work/out"
  FILE_LOADER_ROOT_PATH="$corpus" MEMORY_CACHE_MB=0 RESULT_STORAGE=file \
    RESULT_STORAGE_FILE_STORAGE_ROOT_PATH="$work/results" SECURITY_KEY=isolation \
    SIGNING_API_KEYS="bench:$key:*" METRICS_BIND=127.0.0.1:0 BACKGROUND_RENDERS=1 \
    RUST_LOG=error "$PICTOR_BIN" serve --bind 127.0.0.1:0 > "$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/.*listening on http:\/\///p' "$work/out")
  metrics=$(sed -n 's/.*metrics on http:\/\///p' "$work/out")
  [ -n "$addr" ] || { echo "pictor did not start"; cat "$work/err"; exit 1; }
}
stop_pictor() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
metric() { curl -s "http://$metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# Visitors: unique sizes (each a render) of a small and a mid-sized original.
for i in $(seq 1 4000); do
  echo "/unsafe/$((100 + i % 900))x$((80 + i / 900))/thumbor/images/image.jpg"
  echo "/unsafe/fit-in/$((200 + i % 600))x$((150 + i / 600))/thumbor/filters/800px-Katherine_Maher.jpg"
done > "$work/paths"

# The backlog: 10,000 renders of a 2725x2225 JPEG, posted 1000 paths at a time.
preheat() {
  for batch in $(seq 0 9); do
    python3 - "$batch" > "$work/body" <<'PY'
import json, sys
b = int(sys.argv[1])
print(json.dumps({"paths": [f"{300 + (b * 1000 + i) % 1500}x{200 + (b * 1000 + i) // 1500}/sharp/2569067123_aca715a2ee_o.jpg" for i in range(1000)]}))
PY
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $key" \
      --data-binary @"$work/body" "http://$addr/preheat")
    [ "$status" = 202 ] || { echo "POST /preheat answered $status"; exit 1; }
  done
}

load() {
  "$LOADGEN_BIN" --addr "$addr" --paths "$work/paths" --connections "$connections" \
    --seconds "$run_seconds" | python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["statuses"]; print(r["p99_ms"], r["p50_ms"], r["req_per_s"], s.get("200", 0), sum(v for k, v in s.items() if k != "200") + r["errors"])'
}

echo "urgent load: $connections connections, ${run_seconds}s per run, $rounds rounds; $(nproc) cores"
quiet=(); busy=()
for round in $(seq 1 "$rounds"); do
  start_pictor
  read -r p99 p50 rps ok bad < <(load)
  echo "round $round without backlog: p99 ${p99} ms, p50 ${p50} ms, ${rps} req/s, ${ok} ok, ${bad} not ok"
  quiet+=("$p99")
  stop_pictor
  start_pictor
  preheat
  read -r p99 p50 rps ok bad < <(load)
  rendered=$(metric 'pictor_background_paths_total{outcome="rendered"}')
  waiting=$(metric pictor_background_queued_paths)
  echo "round $round with backlog:    p99 ${p99} ms, p50 ${p50} ms, ${rps} req/s, ${ok} ok, ${bad} not ok; background rendered ${rendered}, ${waiting} still queued"
  [ "${waiting:-0}" -gt 0 ] || echo "  (the backlog ran dry before the run ended: make it longer or the run shorter)"
  busy+=("$p99")
  stop_pictor
done
python3 - "${quiet[*]}" "${busy[*]}" <<'PY'
import statistics, sys
quiet = [float(x) for x in sys.argv[1].split()]
busy = [float(x) for x in sys.argv[2].split()]
q, b = statistics.median(quiet), statistics.median(busy)
change = (b - q) / q * 100
print(f"median urgent p99: {q:.1f} ms without backlog, {b:.1f} ms with it ({change:+.1f}%); target within 10%")
PY
