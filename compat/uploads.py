#!/usr/bin/env python3
"""The "uploads" profile: Thumbor 7.8's upload API (`/image`) against pictor's.

Usage (any Python >= 3.9; it re-executes itself in compat/.venv, which `compat/run.py` builds):

    python3 compat/uploads.py                      # pictor = <repo>/target/release/pictor
    python3 compat/uploads.py --pictor-bin PATH

Starts Thumbor and pictor with uploads on (UPLOAD_ENABLED, UPLOAD_PUT_ALLOWED,
UPLOAD_DELETE_ALLOWED, UPLOAD_MAX_SIZE, the file storage in a folder of its own for each), walks
both through the same sequence of uploads, reads, renders, replacements, removals and refusals,
and compares at every step the status code, the `Location` (the random 32-hex id read as `{id}`)
and, for answers with a body, the `Content-Type` (and the bytes of an original read back). The
upload API is stateful (each server makes its own ids), so these steps are not cases of run.py's
case pool. Prints one line per step; exit status 0 when both agree on every step (or the step is
a known difference listed in KNOWN below, with pictor's answer pinned), 1 otherwise, 2 when a
server could not be started.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")

if __name__ == "__main__" and os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(HERE, ".venv")):
    if not os.path.exists(VENV_PY):
        print("[uploads] compat/.venv is missing: run `python3 compat/run.py --list` once to build it")
        sys.exit(2)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__), *sys.argv[1:]])

import argparse  # noqa: E402
import atexit  # noqa: E402
import http.client  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

sys.path.insert(0, HERE)
import run  # noqa: E402

IMAGES = os.path.join(run.REPO, "tests", "data", "corpus", "thumbor", "images")
MAX_SIZE = 20000
ID = re.compile(r"[0-9a-f]{32}")

# Steps where pictor answers differently on purpose: step name -> (why, pictor's answer).
KNOWN = {
    "truncated-png": (
        "pictor refuses an upload cut short (no IEND); Pillow opens the header and stores it",
        {"status": 415},
    ),
}


def read(name: str) -> bytes:
    with open(os.path.join(IMAGES, name), "rb") as f:
        return f.read()


def multipart(field: str, filename: str, content: bytes) -> tuple[str, bytes]:
    boundary = "pictorCompatBoundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nphoto\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def steps() -> list[tuple[str, str, str, dict, bytes, bytes | None]]:
    """(name, method, path, headers, body, expected body of a read-back original)."""
    jpeg, png, big = read("image.jpg"), read("1x1.png"), read("gradient_8bit.tif")
    assert len(big) > MAX_SIZE > len(jpeg)
    form_type, form = multipart("media", "dot.png", png)
    other_type, other = multipart("other", "dot.png", png)
    return [
        ("post-slug", "POST", "/image", {"Slug": "cat.jpg"}, jpeg, None),
        ("get-location", "GET", "/image/{id}/cat.jpg", {}, b"", jpeg),
        ("get-id", "GET", "/image/{id}", {}, b"", jpeg),
        ("head-id", "HEAD", "/image/{id}", {}, b"", None),
        ("render-id", "GET", "/unsafe/30x20/{id}", {}, b"", None),
        ("render-with-filename", "GET", "/unsafe/30x20/{id}/cat.jpg", {}, b"", None),
        ("post-content-type", "POST", "/image", {"Content-Type": "image/png"}, png, None),
        ("post-no-name", "POST", "/image", {}, jpeg, None),
        ("post-form", "POST", "/image", {"Content-Type": form_type}, form, None),
        ("post-form-without-media", "POST", "/image", {"Content-Type": other_type}, other, None),
        ("put", "PUT", "/image/{id}", {}, png, None),
        ("get-replaced", "GET", "/image/{id}", {}, b"", png),
        ("delete", "DELETE", "/image/{id}", {}, b"", None),
        ("get-deleted", "GET", "/image/{id}", {}, b"", None),
        ("delete-again", "DELETE", "/image/{id}", {}, b"", None),
        ("render-deleted", "GET", "/unsafe/30x20/{id}", {}, b"", None),
        ("not-an-image", "POST", "/image", {"Slug": "a.jpg"}, b"this is not an image", None),
        ("empty", "POST", "/image", {}, b"", None),
        ("truncated-png", "POST", "/image", {}, read("watermark.png")[:3000], None),
        ("truncated-jpeg-over-max-size", "POST", "/image", {}, read("BlueSquare_truncated.jpg"), None),
        ("over-max-size", "POST", "/image", {}, big, None),
        ("get-upload-endpoint", "GET", "/image", {}, b"", None),
        ("patch", "PATCH", "/image/{id}", {}, b"", None),
        ("post-to-id", "POST", "/image/{id}", {}, png, None),
        ("unknown-id", "GET", "/image/0123456789abcdef0123456789abcdef", {}, b"", None),
    ]


def send(port: int, method: str, path: str, headers: dict, body: bytes) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body if body or method in ("POST", "PUT") else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return {"status": r.status, "location": r.getheader("Location"),
                "content_type": r.getheader("Content-Type"), "body": data}
    except (OSError, http.client.HTTPException) as exc:
        return {"status": f"error: {exc}", "location": None, "content_type": None, "body": b""}
    finally:
        conn.close()


def summary(answer: dict, expected_body: bytes | None) -> dict:
    s = {"status": answer["status"]}
    if answer["location"]:
        s["location"] = ID.sub("{id}", answer["location"])
    if answer["status"] == 200 and answer["body"]:
        s["content_type"] = (answer["content_type"] or "").split(";")[0]
    if expected_body is not None and answer["status"] == 200:
        s["original"] = answer["body"] == expected_body
    return s


def walk(server: run.Server) -> list[dict]:
    answers, image_id = [], "none"
    for name, method, path, headers, body, expected in steps():
        answer = send(server.port, method, path.replace("{id}", image_id), headers, body)
        if name == "post-slug" and answer["location"]:
            found = ID.search(answer["location"])
            image_id = found.group(0) if found else image_id
        answers.append(summary(answer, expected))
    return answers


def main() -> int:
    ap = argparse.ArgumentParser(description="Thumbor 7.8 upload API vs pictor's")
    ap.add_argument("--pictor-bin", default=os.path.join(run.REPO, "target", "release", "pictor"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pictor-compat-uploads-")
    atexit.register(shutil.rmtree, work, True)
    atexit.register(run.stop_all)
    loader_root = os.path.realpath(os.path.join(run.REPO, "tests", "data", "corpus"))
    common = {
        "SECURITY_KEY": run.cases_mod.DEFAULT_KEY,
        "ALLOW_UNSAFE_URL": True,
        "FILE_LOADER_ROOT_PATH": loader_root,
        "UPLOAD_ENABLED": True,
        "UPLOAD_PUT_ALLOWED": True,
        "UPLOAD_DELETE_ALLOWED": True,
        "UPLOAD_MAX_SIZE": MAX_SIZE,
    }
    conf = os.path.join(work, "thumbor.conf")
    with open(conf, "w") as f:
        f.write("LOADER = 'thumbor.loaders.file_loader'\nSTORAGE = 'thumbor.storages.file_storage'\n"
                "UPLOAD_PHOTO_STORAGE = 'thumbor.storages.file_storage'\nRESULT_STORAGE = None\n")
        for k, v in {**common, "FILE_STORAGE_ROOT_PATH": os.path.join(work, "thumbor-storage")}.items():
            f.write(f"{k} = {v!r}\n")
    thumbor = run.Server("thumbor[uploads]",
                         lambda port: [os.path.join(HERE, ".venv", "bin", "thumbor"), "-p", str(port),
                                       "-i", "127.0.0.1", "-c", conf, "-l", "warning"],
                         None, os.path.join(work, "thumbor.log"))
    env = run.pictor_env({**common, "STORAGE": "file",
                          "FILE_STORAGE_ROOT_PATH": os.path.join(work, "pictor-storage")})
    pictor = run.Server("pictor[uploads]",
                        lambda port: [os.path.abspath(args.pictor_bin), "serve", "--bind", f"127.0.0.1:{port}"],
                        env, os.path.join(work, "pictor.log"))
    for server in (thumbor, pictor):
        ok, why = server.start()
        if not ok:
            print(f"[uploads] {server.name} could not be started: {why}\n{server.log_tail()}")
            return 2
    expected = walk(thumbor)
    got = walk(pictor)
    failures = 0
    for (name, method, path, *_), t, p in zip(steps(), expected, got):
        if t == p:
            verdict = "agree"
        elif name in KNOWN and all(p.get(k) == v for k, v in KNOWN[name][1].items()):
            verdict = "known: " + KNOWN[name][0]
        else:
            verdict = "DIFFER"
            failures += 1
        print(f"{verdict[:5]:5}  {name:26} {method:6} {path:40} thumbor={t} pictor={p}"
              + (f"\n       ({verdict})" if verdict.startswith("known") else ""))
    print(f"[uploads] {len(expected) - failures}/{len(expected)} steps agree or are known differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
