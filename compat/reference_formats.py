#!/usr/bin/env python3
"""Reference checks of the originals Thumbor 7.8.0 from PyPI cannot decode (it answers 400 for
SVG without cairosvg, so the differential suite can only record that pictor answers 200).

Each SVG case is rendered by pictor (`pictor render`) and by resvg's own CLI from PyPI
(`resvg-cli`, installed into compat/.venv), drawn at 4x pictor's output width and brought to
pictor's exact size with Pillow's Lanczos, and compared:

- size: pictor's answer without a resize must have the intrinsic size resvg gives the file;
  with `fit-in/100x100/` it must be that size fitted into 100x100 by Thumbor's rounding;
- pixels: SSIM of the premultiplied RGB (alpha weighted, so transparent areas compare as black)
  and of the alpha channel, each at least MIN_SSIM.

    python3 compat/reference_formats.py --pictor-bin target/debug/pictor

Prints one line per case and exits 1 when any check fails. Needs the venv run.py creates
(numpy, Pillow) and runs itself with it; installs resvg-cli into it when missing.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_BIN = os.path.join(HERE, ".venv", "bin")
RESVG_CLI = "resvg-cli==0.44.0"
MIN_SSIM = 0.97

CASES = [
    ("thumbor/images/Commons-logo.svg", ""),
    ("thumbor/images/Commons-logo.svg", "fit-in/100x100/"),
    ("thumbor/images/Commons-logo.svg", "fit-in/600x600/"),
    ("thumbor/images/Commons-logo-inches.svg", ""),
    ("thumbor/images/Commons-logo-inches.svg", "fit-in/100x100/"),
    ("thumbor/filters/watermark.svg", "fit-in/300x300/"),
]


def ensure_resvg() -> str:
    resvg = os.path.join(VENV_BIN, "resvg")
    if not os.path.exists(resvg):
        subprocess.run([os.path.join(VENV_BIN, "python"), "-m", "pip", "install",
                        "--disable-pip-version-check", "-q", RESVG_CLI], check=True)
    return resvg


def fit_in(width: int, height: int, box: int) -> tuple[int, int]:
    """Thumbor's fit-in for a box of box x box that never upscales (its rounding: the
    non-limiting side is rounded half up from the scaled float)."""
    if width <= box and height <= box:
        return width, height
    if width / box >= height / box:
        return box, max(1, int(round(height * box / width + 1e-9)))
    return max(1, int(round(width * box / height + 1e-9))), box


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pictor-bin", default=os.path.join(ROOT, "target", "release", "pictor"))
    ap.add_argument("--corpus", default=os.environ.get("PICTOR_CORPUS", os.path.join(ROOT, "tests", "data", "corpus")))
    args = ap.parse_args()
    venv_python = os.path.join(VENV_BIN, "python")
    if os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(HERE, ".venv")):
        if not os.path.exists(venv_python):
            print("[reference] compat/.venv is missing: run compat/run.py once to create it")
            return 1
        return subprocess.run([venv_python, os.path.abspath(__file__), *sys.argv[1:]]).returncode
    sys.path.insert(0, HERE)
    import numpy as np
    from PIL import Image
    from compare import ssim

    resvg = ensure_resvg()
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, FILE_LOADER_ROOT_PATH=args.corpus, ALLOW_UNSAFE_URL="True")
        for relative, options in CASES:
            source = os.path.join(args.corpus, relative)
            out = os.path.join(work, "pictor.png")
            subprocess.run([args.pictor_bin, "render", f"/unsafe/{options}{relative}", "--out", out],
                           env=env, check=True, capture_output=True)
            with open(out, "rb") as f:
                mine = Image.open(io.BytesIO(f.read())).convert("RGBA")
            intrinsic = os.path.join(work, "intrinsic.png")
            subprocess.run([resvg, source, intrinsic], check=True, capture_output=True)
            natural = Image.open(intrinsic).size
            expected = natural if not options else fit_in(*natural, int(options.split("/")[1].split("x")[0]))
            reference_png = os.path.join(work, "reference.png")
            # resvg keeps the aspect ratio and rounds the other side itself, so the reference is
            # drawn 4x larger and brought to pictor's exact size by Pillow's Lanczos.
            subprocess.run([resvg, "-w", str(4 * mine.width), source, reference_png],
                           check=True, capture_output=True)
            reference = Image.open(reference_png).convert("RGBA").resize(mine.size, Image.LANCZOS)
            mine_compared = mine
            problems = []
            if mine.size != expected:
                problems.append(f"size {mine.size} != {expected}")
            if reference.size != mine_compared.size:
                problems.append(f"resvg drew {reference.size}")
                scores = (0.0, 0.0)
            else:
                def planes(image):
                    a = np.asarray(image, dtype=np.float64)
                    alpha = a[..., 3:4] / 255.0
                    return a[..., :3] * alpha, np.repeat(a[..., 3:4], 3, axis=2)
                (mine_rgb, mine_alpha), (ref_rgb, ref_alpha) = planes(mine_compared), planes(reference)
                scores = (ssim(mine_rgb, ref_rgb), ssim(mine_alpha, ref_alpha))
                if min(scores) < MIN_SSIM:
                    problems.append(f"SSIM {scores[0]:.4f} / alpha {scores[1]:.4f} < {MIN_SSIM}")
            status = "ok" if not problems else "FAIL " + "; ".join(problems)
            print(f"[reference] {options}{relative}: {mine.width}x{mine.height}, "
                  f"SSIM {scores[0]:.4f}, alpha {scores[1]:.4f}: {status}")
            failures += bool(problems)
    print(f"[reference] {len(CASES) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
