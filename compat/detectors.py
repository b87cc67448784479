"""The detectors profile: smart crops of pictor and of Thumbor 7.8 with OpenCV's detectors, compared
on what each crop keeps.

    python3 compat/detectors.py --pictor-bin target/debug/pictor

Both servers run with `DETECTORS = [face_detector, feature_detector]` over the set in
tests/data/detect/smart/ (portraits with the face off-centre, near an edge and small in a wide
scene, and photos without faces; tests/data/detect/make_smart_crop_set.py made it). For each image
and size the runner asks both for the meta JSON of `<size>/smart/<image>` and reads the crop window
and the focal points:

- where Thumbor found faces, a case passes when pictor's crop keeps at least 90 % of the share of
  Thumbor's face boxes that Thumbor's own crop keeps;
- where Thumbor found no face (its feature detector decided), a case passes when the two crop
  windows overlap by at least 70 % (intersection over union).

Exit status 0 when at least 90 % of the cases pass (the goal of issue 17), 1 otherwise, 2 when a
server could not be started. The table goes to compat/DETECTORS.md. The runner installs
`thumbor[opencv]==7.8.0` into compat/.venv (opencv-python-headless from PyPI) when cv2 is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
SET = os.path.join(REPO, "tests", "data", "detect", "smart")
REPORT = os.path.join(HERE, "DETECTORS.md")
SIZES = ["200x200", "100x300", "400x200"]
KEY = "detectors-key"
FACE_KEEP_SHARE = 0.9
WINDOW_OVERLAP = 0.7
GOAL = 0.9


def _venv_has_opencv() -> bool:
    probe = "import cv2, thumbor.detectors.face_detector"
    return os.path.exists(VENV_PY) and subprocess.run([VENV_PY, "-c", probe], capture_output=True).returncode == 0


def bootstrap() -> None:
    """Thumbor's venv (compat/run.py makes it) with OpenCV, then re-exec inside it."""
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(HERE, ".venv"))
    if in_venv and _venv_has_opencv():
        return
    if not os.path.exists(VENV_PY):
        r = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--list"], capture_output=True)
        if r.returncode != 0 or not os.path.exists(VENV_PY):
            print("[detectors] compat/.venv could not be made (see compat/run.py)", file=sys.stderr)
            sys.exit(2)
    if not _venv_has_opencv():
        print("[detectors] installing thumbor[opencv]==7.8.0 into compat/.venv ...", flush=True)
        r = subprocess.run([VENV_PY, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                            "thumbor[opencv]==7.8.0", "numpy<3"])
        if r.returncode != 0 or not _venv_has_opencv():
            print("[detectors] pip could not install thumbor[opencv]", file=sys.stderr)
            sys.exit(2)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__), *sys.argv[1:]])


if __name__ == "__main__":
    bootstrap()

import argparse  # noqa: E402
import concurrent.futures as cf  # noqa: E402
import json  # noqa: E402

sys.path.insert(0, HERE)
import run  # noqa: E402  (servers, signing, settings: the same as the main profiles)

THUMBOR_DETECTORS = ["thumbor.detectors.face_detector", "thumbor.detectors.feature_detector"]


def meta(server: run.Server, image: str, size: str, timeout: float) -> dict | None:
    path = f"meta/{size}/smart/{image}"
    answer = run.fetch(server.port, "GET", "/" + run.sign(KEY, path) + "/" + path, {}, timeout)
    if answer.get("status") != 200:
        return None
    try:
        return json.loads(answer.get("body") or b"")["thumbor"]
    except (ValueError, KeyError):
        return None


def crop_window(doc: dict) -> tuple[float, float, float, float]:
    """The crop the meta JSON reports, or the whole source when nothing was cropped."""
    for op in doc.get("operations", []):
        if op.get("type") == "crop":
            return float(op["left"]), float(op["top"]), float(op["right"]), float(op["bottom"])
    source = doc["source"]
    return 0.0, 0.0, float(source["width"]), float(source["height"])


def face_boxes(doc: dict) -> list[tuple[float, float, float, float]]:
    boxes = []
    for point in doc.get("focal_points", []):
        if point.get("origin") == "Face Detection":
            w, h = float(point["width"]), float(point["height"])
            x, y = float(point["x"]), float(point["y"])
            boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    return boxes


def area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a, b) -> float:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def kept_share(boxes, window) -> float:
    total = sum(area(b) for b in boxes)
    return sum(intersection(b, window) for b in boxes) / total if total else 0.0


def judge(thumbor: dict, pictor: dict) -> dict:
    t_window, p_window = crop_window(thumbor), crop_window(pictor)
    union = area(t_window) + area(p_window) - intersection(t_window, p_window)
    overlap = intersection(t_window, p_window) / union if union else 1.0
    faces = face_boxes(thumbor)
    result = {"thumbor_faces": len(faces), "pictor_faces": len(face_boxes(pictor)), "overlap": overlap}
    if faces:
        t_keeps, p_keeps = kept_share(faces, t_window), kept_share(faces, p_window)
        result.update(kind="faces", thumbor_keeps=t_keeps, pictor_keeps=p_keeps,
                      passed=p_keeps >= FACE_KEEP_SHARE * t_keeps)
    else:
        result.update(kind="features", passed=overlap >= WINDOW_OVERLAP)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictor-bin", default=os.path.join(REPO, "target", "release", "pictor"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--report", default=REPORT)
    args = parser.parse_args()

    images = sorted(f for f in os.listdir(SET) if f.endswith(".jpg"))
    settings = {"SECURITY_KEY": KEY, "ALLOW_UNSAFE_URL": False, "FILE_LOADER_ROOT_PATH": SET,
                "QUALITY": 80, "MAX_PIXELS": 75_000_000}
    os.makedirs(os.path.join(run.WORK, "logs"), exist_ok=True)
    conf = os.path.join(run.WORK, "thumbor-detectors.conf")
    with open(conf, "w") as f:
        f.write(run.thumbor_conf({**settings, "DETECTORS": THUMBOR_DETECTORS}))
    env = run.pictor_env(settings)
    env["DETECTORS"] = ",".join(THUMBOR_DETECTORS)
    thumbor = run.Server("thumbor[detectors]",
                         lambda port: [os.path.join(HERE, ".venv", "bin", "thumbor"), "-p", str(port),
                                       "-i", "127.0.0.1", "-c", conf, "-l", "warning"],
                         None, os.path.join(run.WORK, "logs", "thumbor-detectors.log"))
    pictor = run.Server("pictor[detectors]",
                        lambda port: [args.pictor_bin, "serve", "--bind", f"127.0.0.1:{port}"],
                        env, os.path.join(run.WORK, "logs", "pictor-detectors.log"))
    try:
        for server in (thumbor, pictor):
            ok, why = server.start()
            if not ok:
                print(f"[detectors] {server.name} could not be started: {why}\n{server.log_tail()}",
                      file=sys.stderr)
                return 2

        def one(case):
            image, size = case
            t, p = meta(thumbor, image, size, args.timeout), meta(pictor, image, size, args.timeout)
            if t is None or p is None:
                return case, {"kind": "error", "passed": False,
                              "error": f"no meta JSON from {'Thumbor' if t is None else 'pictor'}"}
            return case, judge(t, p)

        cases = [(image, size) for image in images for size in SIZES]
        with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(one, cases))
    finally:
        thumbor.stop()
        pictor.stop()

    passed = sum(1 for _, r in results if r["passed"])
    share = passed / len(results) if results else 0.0
    lines = [
        "# Smart crop: pictor against Thumbor 7.8 with OpenCV's detectors",
        "",
        "Made by `python3 compat/detectors.py` (see its docstring for the rules). "
        f"DETECTORS = face, feature; {len(images)} images of tests/data/detect/smart/ at {', '.join(SIZES)}.",
        "",
        f"**{passed} of {len(results)} cases pass ({share:.0%}; goal {GOAL:.0%}).**",
        "",
        "| image | size | decided by | faces T/P | Thumbor keeps | pictor keeps | window overlap | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (image, size), r in results:
        if r["kind"] == "error":
            lines.append(f"| {image} | {size} | {r['error']} | | | | | fail |")
            continue
        keeps = (f"{r['thumbor_keeps']:.0%} | {r['pictor_keeps']:.0%}" if r["kind"] == "faces" else "– | –")
        lines.append(f"| {image} | {size} | {r['kind']} | {r['thumbor_faces']}/{r['pictor_faces']} | {keeps} | "
                     f"{r['overlap']:.0%} | {'pass' if r['passed'] else 'FAIL'} |")
    with open(args.report, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[4:]) if len(results) < 200 else lines[4])
    print(f"[detectors] report: {os.path.relpath(args.report, REPO)}")
    return 0 if share >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
