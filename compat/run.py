#!/usr/bin/env python3
"""Differential conformance run: pictor against the real Thumbor 7.8.0.

Usage (from anywhere; any Python >= 3.9 can launch it, it re-executes itself in compat/.venv):

    python3 compat/run.py                      # full comparison, pictor = <repo>/target/release/pictor
    python3 compat/run.py --pictor-bin PATH    # another pictor binary
    python3 compat/run.py --thumbor-only       # only Thumbor: report its answers + self-test
    python3 compat/run.py --only 'filters/'    # only cases whose id matches a regex
    python3 compat/run.py --update-baseline    # raise compat/baseline.json if agreement improved
    python3 compat/run.py --list               # print the case ids and exit
    python3 compat/run.py --golden-write       # pictor only: store every answer's hash (golden.json)
    python3 compat/run.py --golden-check       # pictor only: the same bytes as golden.json?

Other options: --corpus DIR (default $PICTOR_CORPUS, else the repository's tests/data/corpus),
--jobs N (parallel requests, default 4), --timeout S (per request,
default 30), --report PATH (default compat/REPORT.md), --save-bodies (write both answers of every
differing case to compat/out/bodies/ for inspection).

What it does: creates compat/.venv on first use (pip install thumbor==7.8.0 numpy; skipped when
already installed), then for each configuration profile used by the cases (cases.py: PROFILES)
starts Thumbor (`thumbor -p PORT -i 127.0.0.1 -c CONF`) and pictor (`pictor serve --bind
127.0.0.1:PORT`, configured by Thumbor-named environment variables) on free loopback ports, waits
for /healthcheck, sends every case to both, compares the answers (compare.py), classifies each case
as agree / known difference (differences.json) / differ, and writes compat/REPORT.md plus
compat/out/results.json. Both servers are always stopped (try/finally, atexit, SIGTERM/SIGINT).

The golden mode is the refactoring guard: it runs only pictor (no Thumbor) over every case and
over a hostile set (each corpus format truncated and corrupted, absurd sizes and filters), and
stores or compares the status, content type and SHA-1 of every body in compat/golden.json; a
check lists each case whose answer changed and exits 1.

Exit status: 0 ok; 1 agreement below compat/baseline.json or a runner self-test failed;
2 Thumbor could not be started (or the virtualenv could not be built).
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
THUMBOR_VERSION = "7.8.0"
PIP_PACKAGES = [f"thumbor=={THUMBOR_VERSION}", "numpy<3"]
APT_HINT = (
    "thumbor 7.8.0 installs from wheels on Debian 12 / Python 3.11 without system packages.\n"
    "If pip tried to compile something and failed, install the build tools and headers:\n"
    "    apt-get install -y python3-dev build-essential libjpeg-dev zlib1g-dev libcurl4-openssl-dev libssl-dev"
)


def _venv_ready() -> bool:
    if not os.path.exists(VENV_PY):
        return False
    probe = (
        "import importlib.metadata as m, sys;"
        f"sys.exit(0 if m.version('thumbor') == '{THUMBOR_VERSION}' else 1);"
    )
    ok = subprocess.run([VENV_PY, "-c", probe + "import numpy, PIL"], capture_output=True).returncode == 0
    return ok


def bootstrap() -> None:
    """Make sure compat/.venv has thumbor 7.8.0 and numpy, then re-exec inside it."""
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(VENV)
    if in_venv and _venv_ready():
        return
    if not _venv_ready():
        print(f"[compat] preparing virtualenv {VENV} ...", flush=True)
        if not os.path.exists(VENV_PY):
            r = subprocess.run([sys.executable, "-m", "venv", VENV])
            if r.returncode != 0:
                print("[compat] could not create the virtualenv (Debian: apt-get install -y python3-venv)")
                sys.exit(2)
        r = subprocess.run([VENV_PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", *PIP_PACKAGES])
        if r.returncode != 0 or not _venv_ready():
            print("[compat] pip install failed.\n" + APT_HINT)
            sys.exit(2)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__), *sys.argv[1:]])


if __name__ == "__main__":
    bootstrap()

# ---- everything below runs inside the virtualenv ----------------------------------------------

import argparse  # noqa: E402
import atexit  # noqa: E402
import base64  # noqa: E402
import collections  # noqa: E402
import concurrent.futures as cf  # noqa: E402
import fnmatch  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, HERE)
import cases as cases_mod  # noqa: E402
import compare  # noqa: E402
import report  # noqa: E402

WORK = os.path.join(HERE, ".work")
OUT = os.path.join(HERE, "out")
HEALTH_TIMEOUT = 60.0


# ---- signing ------------------------------------------------------------------------------------


def sign(key: str, message: str) -> str:
    """Thumbor/libthumbor base64_hmac_sha1: urlsafe base64 with padding over the raw path."""
    mac = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii")


def request_path(case: dict, key: str) -> str:
    mode = case.get("sign", "hmac")
    p = case["path"]
    if mode == "raw":
        full = p
    elif mode == "none":
        full = "/" + p
    elif mode == "unsafe":
        full = "/unsafe/" + p
    elif mode == "literal":
        full = "/" + case["signature"] + "/" + p
    else:
        sig = sign(key, p)
        if mode == "bad":
            sig = sign(key, p + "x")
        elif mode == "unpadded":
            sig = sig.rstrip("=")
        elif mode == "pct3d":
            sig = sig.replace("=", "%3D")
        elif mode == "stdb64":
            sig = sig.replace("-", "+").replace("_", "/")
        full = "/" + sig + "/" + p
    if case.get("query"):
        full += "?" + case["query"]
    return full


# ---- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process (Thumbor or pictor) that can be (re)started and stopped.

    `generation` counts (re)starts, so that a request that failed while another thread restarted
    the server can tell "my request broke it" from "it was restarted under me"."""

    registry: list["Server"] = []

    def __init__(self, name: str, argv_for_port, env: dict | None, log_path: str):
        self.name = name
        self.argv_for_port = argv_for_port
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.generation = 0
        self.started_ok = False
        self.lock = threading.Lock()
        self.restarts: list[str] = []
        Server.registry.append(self)

    def start(self) -> tuple[bool, str]:
        self.port = free_port()
        self.generation += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== start {time.strftime('%H:%M:%S')} port {self.port}\n".encode())
            log.flush()
            try:
                self.proc = subprocess.Popen(
                    self.argv_for_port(self.port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self.env,
                    start_new_session=True,
                )
            except OSError as exc:
                self.started_ok = False
                return False, f"cannot execute: {exc}"
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.started_ok = False
                return False, f"exited with status {self.proc.returncode} before /healthcheck answered"
            ans = fetch(self.port, "GET", "/healthcheck", {}, 2.0)
            if ans.get("status") == 200 and (ans.get("body") or b"").strip() == b"WORKING":
                self.started_ok = True
                return True, ""
            time.sleep(0.2)
        self.stop()
        self.started_ok = False
        return False, f"/healthcheck did not answer 200 WORKING within {HEALTH_TIMEOUT:.0f}s"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                p.wait(timeout=5)
        self.proc = None

    def restart(self, reason: str) -> None:
        """Caller holds self.lock. The crash or hang is recorded for the report."""
        self.restarts.append(reason)
        self.stop()
        ok, why = self.start()
        if not ok:
            self.restarts.append(f"restart failed: {why}")

    def log_tail(self, n: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def stop_all() -> None:
    for s in list(Server.registry):
        s.stop()


def _on_signal(signum, _frame):
    stop_all()
    raise SystemExit(128 + signum)


# ---- HTTP ---------------------------------------------------------------------------------------


def fetch(port: int, method: str, path: str, headers: dict, timeout: float) -> dict:
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        hdrs: dict[str, str] = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        return {"status": r.status, "headers": hdrs, "body": body,
                "elapsed_ms": round((time.monotonic() - t0) * 1000)}
    except (socket.timeout, TimeoutError):
        return {"status": "timeout", "error": f"no answer within {timeout}s",
                "elapsed_ms": round((time.monotonic() - t0) * 1000)}
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                "elapsed_ms": round((time.monotonic() - t0) * 1000)}
    finally:
        conn.close()


def _settle(server: Server, ans: dict) -> None:
    """A crash closes the socket a moment before the process can be reaped: wait for it briefly."""
    if ans["status"] == "error" and server.proc is not None:
        try:
            server.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass


def ask(server: Server | None, case: dict, path: str, timeout: float) -> dict:
    """Send one case. When the server dies or hangs, it is restarted and the case is retried once,
    alone (under the server lock), so that the report blames the request that really breaks it:
    "dead" (crashed twice) or "timeout" (hung twice); a victim of another request's crash passes."""
    if server is None:
        return {"status": "not-run"}
    if not server.started_ok:
        return {"status": "not-started", "error": "server could not be started"}
    headers = dict(case.get("headers") or {})
    method = case.get("method", "GET")
    gen = server.generation
    ans = fetch(server.port, method, path, headers, timeout)
    if ans["status"] not in ("error", "timeout"):
        return ans
    with server.lock:
        if server.generation == gen:  # nobody restarted it since our request was sent
            _settle(server, ans)
            if ans["status"] == "error" and server.alive():
                return ans  # connection-level error from a live server
            what = "hung" if ans["status"] == "timeout" else "died"
            server.restart(f"{case['id']} ({what}; retried alone)")
        if not server.started_ok:
            return {"status": "not-started", "error": "server could not be restarted"}
        retry = fetch(server.port, method, path, headers, timeout)
        if retry["status"] not in ("error", "timeout"):
            return retry
        _settle(server, retry)
        if retry["status"] == "error" and server.alive():
            return retry
        what = "hung" if retry["status"] == "timeout" else "died"
        server.restart(f"{case['id']} ({what} again on the retry)")
        status = "timeout" if what == "hung" else "dead"
        return {"status": status, "error": f"server {what} on this request ({retry.get('error')})",
                "elapsed_ms": retry.get("elapsed_ms")}


def ask_case(server: Server | None, case: dict, path: str, timeout: float) -> dict:
    """`ask`, plus conditional requests: with "if_none_match": "own-etag" the case is first fetched
    plainly and then re-sent with If-None-Match set to the ETag that *this* server returned."""
    if server is None or case.get("if_none_match") != "own-etag":
        return ask(server, case, path, timeout)
    plain = {k: v for k, v in case.items() if k != "if_none_match"}
    first = ask(server, plain, path, timeout)
    etag = (first.get("headers") or {}).get("etag")
    if not etag:
        first = dict(first)
        first["error"] = "no ETag on the first answer: conditional request not sent"
        return first
    cond = dict(plain)
    cond["headers"] = dict(plain.get("headers") or {}, **{"If-None-Match": etag})
    return ask(server, cond, path, timeout)


# ---- configuration ------------------------------------------------------------------------------


def find_corpus(arg: str | None) -> str:
    cands = [arg] if arg else []
    if os.environ.get("PICTOR_CORPUS"):
        cands.append(os.environ["PICTOR_CORPUS"])
    cands.append(os.path.join(REPO, "tests", "data", "corpus"))
    for c in cands:
        if c and os.path.isdir(os.path.join(c, "thumbor", "images")):
            return os.path.realpath(c)
    print(f"[compat] corpus not found (tried {cands}); use --corpus", file=sys.stderr)
    sys.exit(2)


def corpus_label(corpus: str) -> str:
    repo = os.path.realpath(REPO)
    return os.path.relpath(corpus, repo) if corpus.startswith(repo + os.sep) else corpus


def profile_settings(profile: dict, corpus: str) -> dict:
    root = os.path.realpath(os.path.join(corpus, profile["root"]))
    s = {
        "SECURITY_KEY": profile["key"],
        "ALLOW_UNSAFE_URL": profile.get("ALLOW_UNSAFE_URL", False),
        "FILE_LOADER_ROOT_PATH": root,
        "QUALITY": 80,
        "AUTO_WEBP": profile.get("AUTO_WEBP", False),
        "RESPECT_ORIENTATION": profile.get("RESPECT_ORIENTATION", False),
        "MAX_WIDTH": profile.get("MAX_WIDTH", 0),
        "MAX_HEIGHT": profile.get("MAX_HEIGHT", 0),
        "MAX_PIXELS": profile.get("MAX_PIXELS", 75_000_000),
    }
    return s


def thumbor_conf(settings: dict) -> str:
    lines = [
        "LOADER = 'thumbor.loaders.file_loader'",
        "STORAGE = 'thumbor.storages.no_storage'",
        "RESULT_STORAGE = None",
    ]
    for k, v in settings.items():
        lines.append(f"{k} = {v!r}")
    return "\n".join(lines) + "\n"


def pictor_env(settings: dict) -> dict:
    """A clean environment: pictor reads Thumbor-named keys from it, so nothing else may leak in."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "RUST_LOG") if k in os.environ}
    env["RUST_BACKTRACE"] = "1"
    for k, v in settings.items():
        env[k] = ("True" if v else "False") if isinstance(v, bool) else str(v)
    env["LOADER"] = "file"
    env["MEMORY_CACHE_MB"] = "0"
    return env


# ---- classification -----------------------------------------------------------------------------


def load_differences() -> list[dict]:
    with open(os.path.join(HERE, "differences.json")) as f:
        return json.load(f)["differences"]


def _status_matches(want, st) -> bool:
    wants = want if isinstance(want, list) else [want]
    return any(w == st or (isinstance(w, str) and w == compare.status_class(st)) for w in wants)


def _entry_applies(entry: dict, case: dict, t: dict) -> bool:
    if not any(fnmatch.fnmatchcase(case["id"], pat) for pat in entry["cases"]):
        return False
    when = entry.get("when", {})
    if "thumbor_status" in when and not _status_matches(when["thumbor_status"], t["status"]):
        return False
    if "thumbor_content_type" in when and t.get("content_type") not in when["thumbor_content_type"]:
        return False
    return True


def _expect_holds(entry: dict, t: dict, p: dict, sim: float | None) -> bool:
    """What pictor must answer for the entry to apply (so that pictor regressions still show)."""
    for k, v in entry.get("expect", {}).items():
        if k == "status":
            if not _status_matches(v, p["status"]):
                return False
        elif k == "min_similarity":
            if sim is None or sim < v:
                return False
        elif k == "frames_ge_thumbor":
            if (p.get("frames") or 0) < (t.get("frames") or 0):
                return False
        elif p.get(k) != v:
            return False
    return True


def classify(case: dict, t: dict, p: dict, diffs: list[dict], sim: float | None,
             entries: list[dict]) -> tuple[str, list[str]]:
    if not diffs:
        return "agree", []
    used = []
    for dd in diffs:
        ok = False
        for e in entries:
            if dd["aspect"] in e["aspects"] and _entry_applies(e, case, t) and _expect_holds(e, t, p, sim):
                if e["id"] not in used:
                    used.append(e["id"])
                ok = True
                break
        if not ok:
            return "differ", []
    return "known", used


# ---- main ---------------------------------------------------------------------------------------


def run_profile(name: str, cases: list[dict], args, corpus: str, results: dict, problems: list[str]) -> bool:
    profile = cases_mod.PROFILES[name]
    settings = profile_settings(profile, corpus)
    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    conf_path = os.path.join(WORK, f"thumbor-{name}.conf")
    with open(conf_path, "w") as f:
        f.write(thumbor_conf(settings))
    thumbor_bin = os.path.join(VENV, "bin", "thumbor")
    thumbor = None if args.pictor_only else Server(
        f"thumbor[{name}]",
        lambda port: [thumbor_bin, "-p", str(port), "-i", "127.0.0.1", "-c", conf_path, "-l", "warning"],
        None,
        os.path.join(WORK, "logs", f"thumbor-{name}.log"),
    )
    pictor = None
    try:
        ok, why = thumbor.start() if thumbor else (True, "")
        if not ok:
            print(f"[compat] Thumbor ({name}) could not be started: {why}\n{thumbor.log_tail()}", file=sys.stderr)
            return False
        if not args.thumbor_only:
            pictor = Server(
                f"pictor[{name}]",
                lambda port: [args.pictor_bin, "serve", "--bind", f"127.0.0.1:{port}"],
                pictor_env(settings),
                os.path.join(WORK, "logs", f"pictor-{name}.log"),
            )
            ok, why = pictor.start()
            if not ok:
                msg = f"pictor ({name}) could not be started: {why}"
                print(f"[compat] {msg}\n{pictor.log_tail()}", file=sys.stderr)
                problems.append(msg + "\n" + pictor.log_tail(10))

        def one(case):
            path = request_path(case, profile["key"])
            if args.pictor_only:
                answer = ask_case(pictor, case, path, args.timeout)
                return {"case": case, "url": path, "golden": golden_entry(answer, "noise(" in path)}
            t_ans = ask_case(thumbor, case, path, args.timeout)
            p_ans = ask_case(pictor, case, path, args.timeout) if pictor else None
            t = compare.summarize(t_ans)
            res = {"case": case, "url": path, "thumbor": t}
            if p_ans is not None:
                p = compare.summarize(p_ans)
                diffs, sim = compare.compare(case, t, p, t_ans, p_ans)
                res.update(pictor=p, diffs=diffs, similarity=sim)
            if case.get("expect"):
                res["selftest"] = compare.check_expect(case["expect"], t)
            if args.save_bodies and (p_ans is None or res.get("diffs")):
                save_bodies(case["id"], t_ans, p_ans)
            return res

        with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for res in pool.map(one, cases):
                results[res["case"]["id"]] = res
        for s in (thumbor, pictor):
            if s is not None and s.restarts:
                problems.append(f"{s.name} was restarted {len(s.restarts)} time(s) after: " + "; ".join(s.restarts))
        return True
    finally:
        if thumbor is not None:
            thumbor.stop()
        if pictor is not None:
            pictor.stop()


def golden_entry(ans: dict, random: bool) -> dict:
    """What the golden file keeps of an answer: status, content type and the body's SHA-1 (not
    for `noise()`, whose pixels are random by design)."""
    body = ans.get("body") or b""
    return {
        "status": ans.get("status"),
        "type": compare._ctype(ans.get("headers") or {}) or "",
        "sha1": "random" if random else hashlib.sha1(body).hexdigest(),
    }


def hostile_cases() -> list[dict]:
    """The golden mode's hostile set: every corpus format cut short and with bytes flipped, plus
    absurd sizes, crops and filters on a good image (as tests/hostile.rs), all under /unsafe/."""
    root = find_corpus(None)
    sources = {"jpg": "thumbor/images/image.jpg", "png": "thumbor/images/paletted-transparent.png",
               "gif": "thumbor/images/animated.gif", "webp": "thumbor/images/image.webp",
               "tif": "thumbor/images/gradient_8bit.tif", "jp2": "thumbor/images/image.jp2",
               "psd": "thumbor/images/1x1.psd", "avif": "thumbor/images/image.avif"}
    folder = os.path.join(WORK, "hostile")
    os.makedirs(folder, exist_ok=True)
    names = []
    for ext, rel in sources.items():
        data = open(os.path.join(root, rel), "rb").read()
        for cut in (8, 32, 100, len(data) // 3, len(data) // 2, len(data) - 1):
            names.append((f"truncated-{cut}.{ext}", data[:cut]))
        for i, at in enumerate((12, 30, len(data) // 4, len(data) // 2)):
            flipped = bytearray(data)
            for j in range(at, min(at + 16, len(flipped))):
                flipped[j] ^= 0x5A
            names.append((f"corrupt-{i}.{ext}", bytes(flipped)))
    for name, data in names:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    ok_image = os.path.join(folder, "ok.jpg")
    with open(os.path.join(root, sources["jpg"]), "rb") as src, open(ok_image, "wb") as dst:
        dst.write(src.read())
    cases = []
    for name, _ in names:
        for form in ("", "fit-in/100x100/"):
            cases.append({"id": f"hostile/{form}{name}", "category": "hostile", "profile": "golden-hostile",
                          "path": f"{form}{name}", "sign": "unsafe"})
    for options in ("99999x99999", "fit-in/99999x99999", "0x0:99999999999999x99999999999999/100x100",
                    "trim:99999999999", "filters:blur(150)", "filters:noise(9999999)",
                    "filters:round_corner(99999,255,255,255)", "filters:proportion(0.000001)",
                    "filters:quality(0)", "filters:max_bytes(1)", "filters:watermark(ok.jpg,99999,-99999,9999)",
                    "fit-in/4000x4000/filters:fill(blur)", "filters:rotate(-2147483648)"):
        cases.append({"id": f"hostile/options/{options}", "category": "hostile", "profile": "golden-hostile",
                      "path": f"{options}/ok.jpg", "sign": "unsafe"})
    return cases


def golden(args, all_cases: list[dict], corpus: str) -> int:
    """--golden-write / --golden-check: pictor's answers to every case, as hashes."""
    cases_mod.PROFILES["golden-hostile"] = {"key": cases_mod.DEFAULT_KEY, "root": os.path.join(WORK, "hostile"),
                                            "ALLOW_UNSAFE_URL": True}
    if not args.only:
        all_cases = all_cases + hostile_cases()
    results: dict[str, dict] = {}
    problems: list[str] = []
    by_profile = collections.defaultdict(list)
    for c in all_cases:
        by_profile[c["profile"]].append(c)
    for name in by_profile:
        if not run_profile(name, by_profile[name], args, corpus, results, problems):
            return 2
    answers = {cid: r["golden"] for cid, r in sorted(results.items())}
    path = os.path.join(HERE, "golden.json")
    if args.golden_write:
        with open(path, "w") as f:
            json.dump(answers, f, indent=0, sort_keys=True)
            f.write("\n")
        print(f"[compat] golden: {len(answers)} answers written to {os.path.relpath(path)}")
        return 0
    with open(path) as f:
        stored = json.load(f)
    changed = [cid for cid, ans in answers.items() if cid in stored and stored[cid] != ans]
    missing = [cid for cid in stored if cid not in answers and not args.only]
    for cid in changed:
        print(f"[compat] golden: {cid}: {stored[cid]} -> {answers[cid]}")
    for cid in missing:
        print(f"[compat] golden: {cid} was not asked")
    print(f"[compat] golden: {len(answers)} answers, {len(changed)} changed, {len(missing)} missing"
          + ("" if not problems else "; " + "; ".join(problems)))
    return 1 if changed or missing or problems else 0


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
              "image/avif": "avif", "application/json": "json", "text/javascript": "js"}


def save_bodies(case_id: str, t_ans: dict, p_ans: dict | None) -> None:
    """Write both bodies of a case to out/bodies/ for inspection (differing cases only)."""
    d = os.path.join(OUT, "bodies")
    os.makedirs(d, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", case_id)[:150]
    for who, ans in (("thumbor", t_ans), ("pictor", p_ans)):
        if ans and ans.get("body"):
            ct = compare._ctype(ans.get("headers") or {}) or ""
            with open(os.path.join(d, f"{stem}.{who}.{EXTENSIONS.get(ct, 'bin')}"), "wb") as f:
                f.write(ans["body"])


def pictor_version(binary: str) -> str:
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description="pictor vs Thumbor 7.8.0 differential conformance")
    ap.add_argument("--pictor-bin", default=os.path.join(REPO, "target", "release", "pictor"))
    ap.add_argument("--thumbor-only", action="store_true")
    ap.add_argument("--corpus")
    ap.add_argument("--only", help="regex on case ids")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--report", default=os.path.join(HERE, "REPORT.md"))
    ap.add_argument("--update-baseline", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--golden-write", action="store_true",
                    help="pictor only: store status, type and body SHA-1 of every answer in compat/golden.json")
    ap.add_argument("--golden-check", action="store_true",
                    help="pictor only: compare every answer with compat/golden.json (exit 1 on a change)")
    ap.add_argument("--save-bodies", action="store_true",
                    help="write both bodies of every differing case to compat/out/bodies/")
    args = ap.parse_args()
    args.pictor_only = args.golden_write or args.golden_check
    if args.pictor_only and args.thumbor_only:
        ap.error("--thumbor-only and the golden mode exclude each other")

    all_cases = cases_mod.build_cases()
    if args.only:
        rx = re.compile(args.only)
        all_cases = [c for c in all_cases if rx.search(c["id"])]
    if args.list:
        for c in all_cases:
            print(c["id"])
        return 0
    if not all_cases:
        print("[compat] no case selected", file=sys.stderr)
        return 1
    if not args.thumbor_only:
        args.pictor_bin = os.path.abspath(args.pictor_bin)
        if not os.access(args.pictor_bin, os.X_OK):
            print(f"[compat] pictor binary not found: {args.pictor_bin} (build it, pass --pictor-bin, "
                  "or use --thumbor-only)", file=sys.stderr)
            return 2
    corpus = find_corpus(args.corpus)

    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if args.pictor_only:
        return golden(args, all_cases, corpus)

    # runner self-test: the signer reproduces the spec's vectors
    signer_failures = [
        f"sign({k!r}, {m!r}) = {sign(k, m)} (spec: {s})" for k, m, s in cases_mod.SIGNATURE_VECTORS if sign(k, m) != s
    ]

    started = time.monotonic()
    results: dict[str, dict] = {}
    problems: list[str] = []
    by_profile = collections.defaultdict(list)
    for c in all_cases:
        by_profile[c["profile"]].append(c)
    for name in cases_mod.PROFILES:
        if name not in by_profile:
            continue
        print(f"[compat] profile {name}: {len(by_profile[name])} cases", flush=True)
        if not run_profile(name, by_profile[name], args, corpus, results, problems):
            stop_all()
            return 2
    elapsed = time.monotonic() - started

    entries = load_differences()
    ordered = [results[c["id"]] for c in all_cases]
    if not args.thumbor_only:
        for r in ordered:
            r["verdict"], r["known"] = classify(r["case"], r["thumbor"], r["pictor"], r["diffs"], r["similarity"],
                                                entries)
    selftest_failures = [(r["case"]["id"], r["selftest"]) for r in ordered if r.get("selftest")]

    baseline_path = os.path.join(HERE, "baseline.json")
    baseline = {"agreement": 0.0}
    if os.path.exists(baseline_path):
        with open(baseline_path) as f:
            baseline = json.load(f)

    meta = {
        "mode": "thumbor-only" if args.thumbor_only else "full",
        "pictor_bin": None if args.thumbor_only else args.pictor_bin,
        "pictor_version": None if args.thumbor_only else pictor_version(args.pictor_bin),
        # Relative when it is the repository's own copy, so the report reads the same on every machine.
        "corpus": corpus_label(corpus),
        "elapsed_s": round(elapsed, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "thumbor_version": THUMBOR_VERSION,
        "problems": problems,
        "signer_failures": signer_failures,
        "selftest_failures": selftest_failures,
        "baseline": baseline,
        "filtered": bool(args.only),
        "differences": entries,
    }
    totals = report.totals(ordered) if not args.thumbor_only else None
    meta["totals"] = totals
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": ordered}, f, indent=1, default=str)
    with open(args.report, "w") as f:
        f.write(report.render(ordered, meta))
    print(f"[compat] {len(ordered)} cases in {elapsed:.1f}s; report: {os.path.relpath(args.report)}")

    rc = 0
    if signer_failures or selftest_failures:
        print(f"[compat] runner self-test failures: {len(signer_failures) + len(selftest_failures)}")
        rc = 1
    if totals:
        agreement = totals["agreement"]
        print(f"[compat] agree {totals['agree']}, known difference {totals['known']}, differ {totals['differ']}"
              f" -> agreement {agreement:.4f} (baseline {baseline.get('agreement', 0.0):.4f})")
        if not args.only:
            if agreement + 1e-9 < float(baseline.get("agreement", 0.0)):
                print("[compat] agreement fell below the baseline")
                rc = 1
            elif args.update_baseline and agreement > float(baseline.get("agreement", 0.0)) + 1e-9:
                with open(baseline_path, "w") as f:
                    json.dump({"agreement": math.floor(agreement * 10000) / 10000, "agree": totals["agree"], "known": totals["known"],
                               "cases": totals["cases"]}, f, indent=2)
                    f.write("\n")
                print(f"[compat] baseline raised to {agreement:.4f}")
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
