#!/usr/bin/env python3
"""Reference checks of the originals Thumbor 7.8.0 from PyPI cannot decode (it answers 400 for
SVG without cairosvg and HEIC without pillow-heif, and knows no JPEG XL, so the differential suite
can only record that pictor answers 200).

Each SVG case is rendered by pictor (`pictor render`) and by resvg's own CLI from PyPI
(`resvg-cli`, installed into compat/.venv), drawn at 4x pictor's output width and brought to
pictor's exact size with Pillow's Lanczos, and compared:

- size: pictor's answer without a resize must have the intrinsic size resvg gives the file;
  with `fit-in/100x100/` it must be that size fitted into 100x100 by Thumbor's rounding;
- pixels: SSIM of the premultiplied RGB (alpha weighted, so transparent areas compare as black)
  and of the alpha channel, each at least MIN_SSIM.

    python3 compat/reference_formats.py --pictor-bin target/debug/pictor

HEIC and JPEG XL cases (files of tests/data) are rendered by pictor and decoded by Pillow with
pillow-heif (Thumbor's own HEIF plugin, over its bundled libheif) or pillow-jxl-plugin (libjxl),
both from PyPI; the reference is brought to pictor's size by Lanczos when the case resizes:

- size: without a resize pictor's answer has the reference decode's size (orientation applied
  the same way); with `fit-in/WxH/` that size fitted by Thumbor's rounding;
- pixels: SSIM of the premultiplied RGB and of the alpha, each at least MIN_SSIM, after each
  side is brought to sRGB through its own ICC profile (pillow-jxl-plugin hands out some files in
  linear light with a linear profile, pictor in the file's declared space).

`animated.jxl` is left out: pillow-jxl-plugin 1.3.8 reads one frame of an animation (the last),
pictor's still output is the first (tests/formats.rs checks its frames against the GIF it was
made from).

Prints one line per case and exits 1 when any check fails. Runs itself in a venv of its own,
compat/.venv-formats, which it creates when missing (numpy, Pillow, resvg-cli, pillow-heif and
pillow-jxl-plugin from PyPI): not Thumbor's compat/.venv, where pillow-heif would teach Thumbor
to write HEIF and change what compat/run.py compares.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv-formats")
VENV_BIN = os.path.join(VENV, "bin")
# pillow-heif 1.9 asks for Pillow 13; 1.8.1 takes Pillow 12 (Thumbor's, whose numbers were
# recorded with it).
REQUIREMENTS = ["resvg-cli==0.44.0", "pillow-heif==1.8.1", "pillow-jxl-plugin==1.3.8",
                "pillow==12.3.0", "numpy==2.4.6"]
TEST_DATA = os.path.join(ROOT, "tests", "data")
MIN_SSIM = 0.97

CASES = [
    ("thumbor/images/Commons-logo.svg", ""),
    ("thumbor/images/Commons-logo.svg", "fit-in/100x100/"),
    ("thumbor/images/Commons-logo.svg", "fit-in/600x600/"),
    ("thumbor/images/Commons-logo-inches.svg", ""),
    ("thumbor/images/Commons-logo-inches.svg", "fit-in/100x100/"),
    ("thumbor/filters/watermark.svg", "fit-in/300x300/"),
]


# (file under tests/data, request options): pictor's answer against the PyPI decoders'.
RASTER_CASES = [
    ("corpus/thumbor/images/image.heic", "filters:format(png)/"),
    ("corpus/thumbor/images/image.heic", ""),
    ("formats/grid-irot-exif6.heic", "filters:format(png)/"),
    ("formats/grid-irot-exif6.heic", "fit-in/100x100/filters:format(png)/"),
    ("formats/watermark-alpha.heic", "filters:format(png)/"),
    ("formats/flag-10bit.heic", "filters:format(png)/"),
    ("formats/giunchedi.jxl", "filters:format(png)/"),
    ("formats/giunchedi.jxl", "fit-in/300x300/filters:format(png)/"),
    ("formats/watermark-alpha.jxl", "filters:format(png)/"),
    ("formats/p3-icc.jxl", "filters:format(png)/"),
    ("formats/landscape-6.jxl", "filters:format(png)/"),
    ("formats/lossless-jpeg.jxl", "filters:format(png)/"),
]


def ensure_venv() -> str:
    """compat/.venv-formats with REQUIREMENTS; returns its python."""
    python = os.path.join(VENV_BIN, "python")
    marker = os.path.join(VENV, "requirements.txt")
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if os.path.exists(marker) and open(marker).read() == wanted:
        return python
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                    *REQUIREMENTS], check=True)
    with open(marker, "w") as f:
        f.write(wanted)
    return python


def fit_in(width: int, height: int, box: int) -> tuple[int, int]:
    """Thumbor's fit-in for a box of box x box that never upscales (its rounding: the
    non-limiting side is rounded half up from the scaled float)."""
    if width <= box and height <= box:
        return width, height
    if width / box >= height / box:
        return box, max(1, int(round(height * box / width + 1e-9)))
    return max(1, int(round(width * box / height + 1e-9))), box


def premultiplied_ssim(mine, reference) -> tuple[float, float]:
    """SSIM of the premultiplied RGB (alpha weighted, so transparent areas compare as black)
    and of the alpha channel of two RGBA images of one size."""
    import numpy as np
    from compare import ssim

    def planes(image):
        a = np.asarray(image, dtype=np.float64)
        alpha = a[..., 3:4] / 255.0
        return a[..., :3] * alpha, np.repeat(a[..., 3:4], 3, axis=2)

    (mine_rgb, mine_alpha), (ref_rgb, ref_alpha) = planes(mine), planes(reference)
    return ssim(mine_rgb, ref_rgb), ssim(mine_alpha, ref_alpha)


def in_srgb(image):
    """`image` as RGBA with its colours brought to sRGB through its ICC profile, if any."""
    import io

    from PIL import ImageCms

    rgba = image.convert("RGBA")
    profile = image.info.get("icc_profile")
    if not profile:
        return rgba
    rgb = ImageCms.profileToProfile(rgba.convert("RGB"), ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                    ImageCms.createProfile("sRGB"))
    rgb.putalpha(rgba.getchannel("A"))
    return rgb


def raster_cases(pictor_bin: str, work: str) -> int:
    """The HEIC and JPEG XL cases; returns the number that failed."""
    import pillow_heif
    import pillow_jxl  # noqa: F401  (registers the JPEG XL opener)
    from PIL import Image

    pillow_heif.register_heif_opener()
    env = dict(os.environ, FILE_LOADER_ROOT_PATH=TEST_DATA, ALLOW_UNSAFE_URL="True")
    failures = 0
    for relative, options in RASTER_CASES:
        out = os.path.join(work, "pictor-raster")
        subprocess.run([pictor_bin, "render", f"/unsafe/{options}{relative}", "--out", out],
                       env=env, check=True, capture_output=True)
        mine = Image.open(out)
        mine.load()
        mine = in_srgb(mine)
        reference = Image.open(os.path.join(TEST_DATA, relative))
        reference.load()
        reference = in_srgb(reference)
        box = options.split("fit-in/")[1].split("/")[0] if "fit-in/" in options else None
        expected = reference.size if box is None else fit_in(*reference.size, int(box.split("x")[0]))
        problems = []
        if mine.size != expected:
            problems.append(f"size {mine.size} != {expected}")
        if reference.size != mine.size:
            reference = reference.resize(mine.size, Image.LANCZOS)
        scores = premultiplied_ssim(mine, reference)
        if min(scores) < MIN_SSIM:
            problems.append(f"SSIM {scores[0]:.4f} / alpha {scores[1]:.4f} < {MIN_SSIM}")
        status = "ok" if not problems else "FAIL " + "; ".join(problems)
        print(f"[reference] {options}{relative}: {mine.width}x{mine.height}, "
              f"SSIM {scores[0]:.4f}, alpha {scores[1]:.4f}: {status}")
        failures += bool(problems)
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pictor-bin", default=os.path.join(ROOT, "target", "release", "pictor"))
    ap.add_argument("--corpus", default=os.environ.get("PICTOR_CORPUS", os.path.join(ROOT, "tests", "data", "corpus")))
    args = ap.parse_args()
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        venv_python = ensure_venv()
        return subprocess.run([venv_python, os.path.abspath(__file__), *sys.argv[1:]]).returncode
    sys.path.insert(0, HERE)
    import numpy as np
    from PIL import Image
    from compare import ssim

    resvg = os.path.join(VENV_BIN, "resvg")
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
                scores = premultiplied_ssim(mine_compared, reference)
                if min(scores) < MIN_SSIM:
                    problems.append(f"SSIM {scores[0]:.4f} / alpha {scores[1]:.4f} < {MIN_SSIM}")
            status = "ok" if not problems else "FAIL " + "; ".join(problems)
            print(f"[reference] {options}{relative}: {mine.width}x{mine.height}, "
                  f"SSIM {scores[0]:.4f}, alpha {scores[1]:.4f}: {status}")
            failures += bool(problems)
        failures += raster_cases(args.pictor_bin, work)
    total = len(CASES) + len(RASTER_CASES)
    print(f"[reference] {total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
