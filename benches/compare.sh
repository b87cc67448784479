#!/usr/bin/env bash
# pictor against sharp 0.35 (libvips 8.18) and Thumbor 7.8 on the same machine, in the same run:
# each server is started on loopback and driven with the same URLs by examples/loadgen for a
# bounded time per task. Prints req/s, CPU-ms per request (utime+stime of the server and its
# child processes, from /proc), p50/p99 latency and peak RSS per task and server, the ratios, and
# whether issue 7's targets are met.
#
#   benches/compare.sh                       # every server, every task, 15 s each, 3 rounds
#   SECONDS_PER_TASK=20 benches/compare.sh   # longer runs
#   SERVERS="pictor sharp" TASKS="1 3 4" benches/compare.sh
#   ROUNDS=1 TASKS="1 2" benches/compare.sh  # one turn per server (quick look)
#
# Knobs (environment): ROUNDS (3; the servers take turns this many times and the tables show
# each server's median run, so a host whose speed drifts over minutes slows every server alike
# instead of whichever one happened to run then),
# SECONDS_PER_TASK (15), WARMUP_SECONDS (3), CONNECTIONS (16, also the
# "16 concurrent renders" of the memory figure), CACHE_CONNECTIONS (8), WEBP_EFFORT (one libwebp
# method for pictor's WEBP_METHOD and sharp's effort; default: each server's own default),
# THUMBOR_PROCESSES (number of cores), PICTOR_ENV (extra KEY=value settings for pictor),
# PICTOR_BIN (a pictor binary built otherwise, e.g. with another allocator feature), THUMBOR_VENV / SHARP_DIR (reuse an existing install),
# PICTOR_CORPUS, RESULTS (also write the per-run JSON lines there).
#
# Installs into a temp folder: sharp@0.35 with npm (its npm packages ship a prebuilt libvips) and
# thumbor==7.8.0 with pip in a venv (compat/.venv is reused when it already has thumbor 7.8.0).
# Every server listens on 127.0.0.1 only and is stopped by its pid when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

seconds="${SECONDS_PER_TASK:-15}"
warmup="${WARMUP_SECONDS:-3}"
connections="${CONNECTIONS:-16}"
cache_connections="${CACHE_CONNECTIONS:-8}"
servers="${SERVERS:-pictor sharp thumbor}"
rounds="${ROUNDS:-3}"
tasks="${TASKS:-1 2 3 4 5 6}"
thumbor_processes="${THUMBOR_PROCESSES:-$(nproc)}"
corpus="${PICTOR_CORPUS:-$repo/tests/data/corpus}"
[ -d "$corpus/sharp" ] || { echo "compare: corpus not found at $corpus" >&2; exit 1; }
corpus=$(cd "$corpus" && pwd)

work=$(mktemp -d /tmp/pictor-compare.XXXXXX)
pids=()
cleanup() {
  local pid child
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    for child in $(process_tree "$pid"); do kill "$child" 2>/dev/null || true; done
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- tasks: one URL each, identical for every server ---------------------------------------
declare -A task_path task_name
task_path[1]="/unsafe/720x588/sharp/2569067123_aca715a2ee_o.jpg"
task_name[1]="JPEG 2725x2225 -> 720x588 q80"
task_path[2]="/unsafe/300x200/thumbor/filters/source.jpg"
task_name[2]="JPEG 800x533 -> 300x200 q80"
task_path[3]="/unsafe/720x540/sharp/alpha-premultiply-2048x1536-paper.png"
task_name[3]="PNG RGBA 2048x1536 -> 720x540"
task_path[4]="/unsafe/720x588/filters:format(webp)/sharp/2569067123_aca715a2ee_o.jpg"
task_name[4]="JPEG 2725x2225 -> 720x588 WebP q80"
task_path[5]="/unsafe/300x200/thumbor/filters/source.jpg"
task_name[5]="cache hit (one URL)"
# Smart crop with DETECTORS face + feature, detecting on every request (pictor with
# FOCAL_POINTS_CACHE_ENTRIES=0, Thumbor with no storage); sharp has no face detector and runs
# its attention strategy instead (shown, not compared).
task_path[6]="/unsafe/200x400/smart/thumbor/filters/source.jpg"
task_name[6]="smart crop, face + feature detectors"

# ---- build pictor and the load generator ---------------------------------------------------
./scripts/setup.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
echo "compare: building pictor (release)" >&2
nice cargo build --release --quiet --bin pictor --example loadgen
pictor_bin="${PICTOR_BIN:-$CARGO_TARGET_DIR/release/pictor}"
loadgen_bin="$CARGO_TARGET_DIR/release/examples/loadgen"
# WebP effort: each server's own default (pictor: WEBP_METHOD's default; sharp and Pillow: 4)
# unless WEBP_EFFORT sets one for both pictor and sharp.
pictor_webp_method="${WEBP_EFFORT:-$(sed -n 's/^ *webp_method: \([0-9]\),$/\1/p' src/imaging/settings.rs | head -1)}"
sharp_webp_effort="${WEBP_EFFORT:-4}"

# ---- sharp ---------------------------------------------------------------------------------
install_sharp() {
  local dir="${SHARP_DIR:-$work/sharp}"
  if [ ! -d "$dir/node_modules/sharp" ]; then
    echo "compare: npm install sharp@0.35 into $dir" >&2
    mkdir -p "$dir"
    (cd "$dir" && npm init -y >/dev/null 2>&1 &&
      npm install --no-audit --no-fund --loglevel=error sharp@0.35 >&2) || {
      echo "compare: sharp could not be installed (npm registry unreachable, or its prebuilt" \
        "libvips package missing); skipping sharp" >&2
      return 1
    }
  fi
  sharp_module="$dir/node_modules/sharp"
  cat > "$work/sharp-server.js" <<'JS'
// The same work as pictor for the compare.sh task URLs: /unsafe/WxH/[smart/][filters:format(webp)/]NAME
// (smart: sharp's attention strategy, having no face detector)
// (cover crop around the centre, Lanczos3, alpha premultiplied by libvips, then the same
// encoder settings pictor uses by default).
const http = require('http');
const fs = require('fs');
const path = require('path');
const sharp = require(process.env.SHARP_MODULE);
sharp.cache(false); // every request does the whole work, as pictor with its cache off
const root = path.resolve(process.env.ROOT);
const effort = Number(process.env.WEBP_EFFORT);
const route = /^\/unsafe\/(\d+)x(\d+)\/(smart\/)?(?:filters:format\((webp|jpeg|png)\)\/)?(.+)$/;
const fail = (res, status) => { res.writeHead(status); res.end(); };
http.createServer((req, res) => {
  const m = route.exec(req.url);
  if (!m) return fail(res, 400);
  const file = path.resolve(root, decodeURIComponent(m[5]));
  if (!file.startsWith(root + path.sep)) return fail(res, 404);
  fs.readFile(file, (err, input) => {
    if (err) return fail(res, 404);
    const format = m[4] || (file.endsWith('.png') ? 'png' : 'jpeg');
    const position = m[3] ? sharp.strategy.attention : 'centre';
    let image = sharp(input).resize(Number(m[1]), Number(m[2]), { fit: 'cover', kernel: 'lanczos3', position });
    if (format === 'jpeg') {
      image = image.jpeg({ quality: 80, progressive: true, optimiseCoding: true, chromaSubsampling: '4:2:0' });
    } else if (format === 'webp') {
      image = image.webp({ quality: 80, effort });
    } else {
      image = image.png({ compressionLevel: 6, adaptiveFiltering: true });
    }
    image.toBuffer((e, body) => {
      if (e) return fail(res, 400);
      res.writeHead(200, { 'Content-Type': 'image/' + format, 'Content-Length': body.length });
      res.end(body);
    });
  });
}).listen(0, '127.0.0.1', function () {
  console.log('listening on 127.0.0.1:' + this.address().port);
});
JS
}

# ---- thumbor -------------------------------------------------------------------------------
thumbor_ok() { "$1/bin/python" -c "import importlib.metadata as m, sys, cv2; sys.exit(m.version('thumbor') != '7.8.0')" 2>/dev/null; }
install_thumbor() {
  local venv="${THUMBOR_VENV:-}"
  if [ -z "$venv" ] && thumbor_ok "$repo/compat/.venv"; then venv="$repo/compat/.venv"; fi
  if [ -z "$venv" ]; then
    venv="$work/thumbor-venv"
    echo "compare: pip install thumbor[opencv]==7.8.0 into $venv" >&2
    python3 -m venv "$venv" &&
      "$venv/bin/python" -m pip install --disable-pip-version-check -q "thumbor[opencv]==7.8.0" >&2 || {
      echo "compare: thumbor could not be installed; skipping thumbor" >&2
      return 1
    }
  fi
  thumbor_ok "$venv" || { echo "compare: $venv has no thumbor 7.8.0; skipping thumbor" >&2; return 1; }
  thumbor_bin="$venv/bin/thumbor"
  cat > "$work/thumbor.conf" <<CONF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$corpus'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
QUALITY = 80
PROGRESSIVE_JPEG = True
CONF
  { cat "$work/thumbor.conf"
    echo "DETECTORS = ['thumbor.detectors.face_detector', 'thumbor.detectors.feature_detector']"
  } > "$work/thumbor-smart.conf"
}

# ---- starting and measuring servers ---------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts "$@" with its output in $work/$name.out, waits for $ready_url (or a "listening on
# HOST:PORT" line), and sets server_pid and server_addr.
start_server() {
  local name=$1 ready_port=$2
  shift 2
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  server_pid=$!
  pids+=("$server_pid")
  server_addr=""
  for _ in $(seq 300); do
    if [ "$ready_port" = "-" ]; then
      server_addr=$(sed -n 's/.*listening on \(http:\/\/\)\{0,1\}\([0-9.]*:[0-9]*\).*/\2/p' "$work/$name.out" | head -1)
    elif curl -sf -o /dev/null "http://127.0.0.1:$ready_port/healthcheck"; then
      server_addr="127.0.0.1:$ready_port"
    fi
    [ -n "$server_addr" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "compare: $name did not start" >&2
  tail -5 "$work/$name.err" >&2
  return 1
}

# The server process and all its descendants (Thumbor forks one worker per core).
process_tree() {
  local root=$1
  python3 - "$root" <<'PY'
import os, sys
root = int(sys.argv[1]); children = {}
for d in os.listdir('/proc'):
    if d.isdigit():
        try:
            fields = open(f'/proc/{d}/stat').read().rsplit(')', 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(d))
        except OSError:
            pass
todo, seen = [root], []
while todo:
    p = todo.pop(); seen.append(p); todo.extend(children.get(p, []))
print(' '.join(map(str, seen)))
PY
}
cpu_ticks() { # utime + stime of the given pids
  local total=0 pid fields
  for pid in "$@"; do
    fields=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(echo "$fields" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
reset_peak_rss() { local pid; for pid in "$@"; do echo 5 > "/proc/$pid/clear_refs" 2>/dev/null || true; done; }
peak_rss_kb() { local total=0 pid kb; for pid in "$@"; do
  kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0); total=$((total + ${kb:-0})); done; echo "$total"; }

# Stops the current server and every process it forked, by pid.
stop_server() {
  local tree pid
  tree=$(process_tree "$server_pid")
  for pid in $tree; do kill "$pid" 2>/dev/null || true; done
  wait "$server_pid" 2>/dev/null || true
}

ticks_per_second=$(getconf CLK_TCK)
results="$work/results.jsonl"
: > "$results"

# Drives task $2 on server $1 at $server_addr and appends one JSON line to $results.
measure() {
  local server=$1 task=$2 conns=$3 path=${task_path[$2]} tree before after line peak
  curl -sf -o "$work/out-$server-$task" "http://$server_addr$path" || {
    echo "compare: $server answered task $task with an error; skipped" >&2
    return 0
  }
  "$loadgen_bin" --addr "$server_addr" --path "$path" --connections "$conns" \
    --seconds "$warmup" > /dev/null
  tree=$(process_tree "$server_pid")
  # shellcheck disable=SC2086
  reset_peak_rss $tree
  # shellcheck disable=SC2086
  before=$(cpu_ticks $tree)
  line=$("$loadgen_bin" --addr "$server_addr" --path "$path" --connections "$conns" --seconds "$seconds")
  # shellcheck disable=SC2086
  after=$(cpu_ticks $tree)
  # shellcheck disable=SC2086
  peak=$(peak_rss_kb $tree)
  python3 - "$server" "$task" "$line" "$((after - before))" "$ticks_per_second" "$peak" \
    "$(stat -c %s "$work/out-$server-$task")" "$conns" >> "$results" <<'PY'
import json, sys
server, task, line, ticks, hz, peak, size, conns = sys.argv[1:]
r = json.loads(line)
served = r["served"]
r.update(server=server, task=int(task), connections=int(conns), output_bytes=int(size),
         cpu_ms_per_req=(int(ticks) * 1000 / int(hz) / served) if served else None,
         peak_rss_mb=round(int(peak) / 1024, 1))
print(json.dumps(r))
PY
  tail -1 "$results" >&2
}

echo "compare: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${seconds}s per task," \
  "${connections} connections, WebP effort pictor $pictor_webp_method / sharp $sharp_webp_effort / Thumbor 4" >&2

for round in $(seq "$rounds"); do
for server in $servers; do
  [ "$rounds" = 1 ] || echo "compare: round $round of $rounds, $server" >&2
  case $server in
    pictor)
      start_server pictor - env -i PATH="$PATH" HOME="$HOME" FILE_LOADER_ROOT_PATH="$corpus" \
        MEMORY_CACHE_MB=0 MAX_QUEUED_RENDERS=256 RUST_LOG=error WEBP_METHOD="$pictor_webp_method" \
        ${PICTOR_ENV:-} "$pictor_bin" serve --bind 127.0.0.1:0 || continue
      for task in $tasks; do [ "$task" -ge 5 ] || measure pictor "$task" "$connections"; done
      stop_server
      if [[ " $tasks " == *" 6 "* ]]; then
        start_server pictor-smart - env -i PATH="$PATH" HOME="$HOME" FILE_LOADER_ROOT_PATH="$corpus" \
          MEMORY_CACHE_MB=0 FOCAL_POINTS_CACHE_ENTRIES=0 MAX_QUEUED_RENDERS=256 RUST_LOG=error \
          DETECTORS=face,feature ${PICTOR_ENV:-} "$pictor_bin" serve --bind 127.0.0.1:0 || continue
        measure pictor 6 "$connections"
        stop_server
      fi
      if [[ " $tasks " == *" 5 "* ]]; then
        start_server pictor-cache - env -i PATH="$PATH" HOME="$HOME" FILE_LOADER_ROOT_PATH="$corpus" \
          MEMORY_CACHE_MB=256 RUST_LOG=error ${PICTOR_ENV:-} "$pictor_bin" serve --bind 127.0.0.1:0 || continue
        measure pictor 5 "$cache_connections"
        stop_server
      fi
      ;;
    sharp)
      install_sharp || continue
      start_server sharp - env SHARP_MODULE="$sharp_module" ROOT="$corpus" WEBP_EFFORT="$sharp_webp_effort" \
        node "$work/sharp-server.js" || continue
      for task in $tasks; do [ "$task" = 5 ] || measure sharp "$task" "$connections"; done
      stop_server
      ;;
    thumbor)
      install_thumbor || continue
      port=$(free_port)
      start_server thumbor "$port" "$thumbor_bin" -p "$port" -i 127.0.0.1 -c "$work/thumbor.conf" \
        -l error --processes "$thumbor_processes" || continue
      for task in $tasks; do [ "$task" -ge 5 ] || measure thumbor "$task" "$connections"; done
      stop_server
      if [[ " $tasks " == *" 6 "* ]]; then
        port=$(free_port)
        start_server thumbor-smart "$port" "$thumbor_bin" -p "$port" -i 127.0.0.1 \
          -c "$work/thumbor-smart.conf" -l error --processes "$thumbor_processes" || continue
        measure thumbor 6 "$connections"
        stop_server
      fi
      ;;
    *) echo "compare: unknown server $server" >&2 ;;
  esac
done
done

[ -n "${RESULTS:-}" ] && cp "$results" "$RESULTS"

# ---- the table, the ratios and the targets -----------------------------------------------------
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# With ROUNDS > 1 each (server, task) has several runs: keep the median one by req/s.
runs = {}
for r in rows:
    runs.setdefault((r["server"], r["task"]), []).append(r)
by = {key: sorted(rs, key=lambda r: r["req_per_s"])[(len(rs) - 1) // 2] for key, rs in runs.items()}
if any(len(rs) > 1 for rs in runs.values()):
    print("runs per server and task:", max(len(rs) for rs in runs.values()), "(medians below)")
    for (server, task), rs in sorted(runs.items()):
        print(f"  task {task} {server}: " + ", ".join(f"{r['req_per_s']:.1f}" for r in rs) + " req/s")
    print()
names = {1: "JPEG 2725x2225 -> 720x588", 2: "JPEG 800x533 -> 300x200", 3: "PNG RGBA 2048x1536 -> 720x540",
         4: "JPEG -> 720x588 WebP", 5: "cache hit, one URL", 6: "smart crop, face + feature"}
def cell(r, key, fmt):
    return fmt.format(r[key]) if r and r.get(key) is not None else "-"
print("| task | server | req/s | CPU-ms/req | p50 ms | p99 ms | peak RSS MB | bytes | non-200 |")
print("|---|---|---|---|---|---|---|---|---|")
for task in sorted({r["task"] for r in rows}):
    for server in ("pictor", "sharp", "thumbor"):
        r = by.get((server, task))
        if not r:
            continue
        bad = sum(v for k, v in r["statuses"].items() if k != "200") + r["errors"]
        print(f"| {task}. {names[task]} | {server} | {cell(r,'req_per_s','{:.1f}')} | "
              f"{cell(r,'cpu_ms_per_req','{:.1f}')} | {cell(r,'p50_ms','{:.1f}')} | {cell(r,'p99_ms','{:.2f}')} | "
              f"{cell(r,'peak_rss_mb','{:.0f}')} | {r['output_bytes']} | {bad} |")
print()
def ratio(task, other):
    p, o = by.get(("pictor", task)), by.get((other, task))
    if not p or not o or not o["req_per_s"]:
        return None
    return p["req_per_s"] / o["req_per_s"]
print("| task | pictor/sharp req/s | pictor/thumbor req/s | sharp/pictor CPU-ms | thumbor/pictor CPU-ms |")
print("|---|---|---|---|---|")
for task in sorted({r["task"] for r in rows if r["task"] != 5}):
    p = by.get(("pictor", task))
    def cpu(other):
        o = by.get((other, task))
        if not p or not o or not p["cpu_ms_per_req"] or not o["cpu_ms_per_req"]:
            return "-"
        return f"{o['cpu_ms_per_req'] / p['cpu_ms_per_req']:.2f}x"
    fmt = lambda v: "-" if v is None else f"{v:.2f}x"
    print(f"| {task} | {fmt(ratio(task, 'sharp'))} | {fmt(ratio(task, 'thumbor'))} | {cpu('sharp')} | {cpu('thumbor')} |")
print()
checks = [
    ("task 1 >= 1.5x sharp", ratio(1, "sharp"), lambda v: v >= 1.5),
    ("task 3 >= 1.2x sharp", ratio(3, "sharp"), lambda v: v >= 1.2),
    ("task 2 >= 3x thumbor", ratio(2, "thumbor"), lambda v: v >= 3.0),
    ("task 4 >= 1.5x sharp", ratio(4, "sharp"), lambda v: v >= 1.5),
    ("task 6 (smart) faster than thumbor", ratio(6, "thumbor"), lambda v: v > 1.0),
]
hit = by.get(("pictor", 5))
if hit:
    checks.append(("cache hit >= 30000 req/s, p99 < 2 ms", hit["req_per_s"],
                   lambda v, h=hit: v >= 30000 and h["p99_ms"] < 2.0))
one = by.get(("pictor", 1))
if one:
    checks.append((f"peak RSS <= 256 MB during {one['connections']} concurrent task-1 renders",
                   one["peak_rss_mb"], lambda v: v <= 256))
for name, value, ok in checks:
    if value is None:
        print(f"target: {name}: not measured")
    else:
        print(f"target: {name}: {value:.2f} -> {'met' if ok(value) else 'NOT met'}")
PY
