"""Answer summaries and the comparison of a Thumbor answer with a pictor answer.

An *answer* is what one server returned for one case: status (or "dead"/"timeout"/"error"),
headers, body. `summarize()` turns it into a JSON-able dict (status, content type, header
presence, decoded image facts or meta JSON). `compare()` lists the aspects in which two
answers differ. Image similarity is SSIM (7x7 box window, per RGB channel, averaged) computed in
numpy after flattening alpha on grey 128; images smaller than 7 px on a side use 1 - MAE/255.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
from PIL import Image, ImageSequence

Image.MAX_IMAGE_PIXELS = None  # we decode what the servers produced; sizes are checked first

# similarity threshold per category (SSIM in [0, 1]); a case may override with "threshold"
THRESHOLDS = {
    "grammar": 0.90,
    "http": 0.90,
    "geometry": 0.90,
    "meta": 0.90,
    "filters": 0.85,
    "orientation": 0.90,
    "formats": 0.90,
    "animation": 0.85,
    "negotiation": 0.90,
    "errors": 0.90,
    "signing": 0.90,
    "names": 0.90,
    "limits": 0.90,
}

MAX_FRAMES_COMPARED = 12
MAX_PIXELS_COMPARED = 2_000_000  # larger frames are box-downscaled (same factor on both sides)
GREY = 128.0


def _ctype(headers: dict) -> str | None:
    v = headers.get("content-type")
    if v is None:
        return None
    return v.split(";")[0].strip().lower()


def _frame_to_rgb(frame: Image.Image) -> np.ndarray:
    """RGB float array with alpha flattened on grey 128; 16-bit data scaled to 8 bits."""
    mode = frame.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(frame, dtype=np.float64)
        a = a / 257.0 if a.max(initial=0) > 255 else a
        return np.repeat(a[:, :, None], 3, axis=2)
    if mode == "F":
        a = np.asarray(frame, dtype=np.float64)
        return np.repeat(a[:, :, None], 3, axis=2)
    rgba = np.asarray(frame.convert("RGBA"), dtype=np.float64)
    alpha = rgba[:, :, 3:4] / 255.0
    return rgba[:, :, :3] * alpha + GREY * (1.0 - alpha)


def decode(body: bytes) -> dict:
    """Facts about an image body; raises on undecodable data."""
    im = Image.open(io.BytesIO(body))
    fmt = im.format
    mode = im.mode
    size = list(im.size)
    n = getattr(im, "n_frames", 1)
    durations = []
    frames = []
    for i, fr in enumerate(ImageSequence.Iterator(im)):
        durations.append(fr.info.get("duration", 0) or 0)
        if i < MAX_FRAMES_COMPARED or i == n - 1:
            frames.append((i, _frame_to_rgb(fr.copy())))
    info = {
        "format": fmt,
        "mode": mode,
        "size": size,
        "frames": n,
        "loop": im.info.get("loop"),
        "durations_zero": all(d == 0 for d in durations) if fmt in ("GIF", "WEBP") and n > 1 else None,
        "progressive": bool(im.info.get("progressive") or im.info.get("progression")) if fmt == "JPEG" else None,
    }
    return {"info": info, "frames": frames}


def _box_sum(a: np.ndarray, k: int) -> np.ndarray:
    c = np.cumsum(np.cumsum(a, axis=0), axis=1)
    c = np.pad(c, ((1, 0), (1, 0)))
    return c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]


def _downscale(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    a = a[:h, :w]
    return a.reshape(h // f, f, w // f, f, -1).mean(axis=(1, 3))


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM of two HxWx3 float arrays in 0..255 (same shape)."""
    h, w = x.shape[:2]
    if h * w > MAX_PIXELS_COMPARED:
        f = math.ceil(math.sqrt(h * w / MAX_PIXELS_COMPARED))
        x, y = _downscale(x, f), _downscale(y, f)
        h, w = x.shape[:2]
    k = 7
    if min(h, w) < k:
        return float(1.0 - np.abs(x - y).mean() / 255.0)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    n = k * k
    vals = []
    for ch in range(3):
        a, b = x[:, :, ch], y[:, :, ch]
        ma, mb = _box_sum(a, k) / n, _box_sum(b, k) / n
        va = _box_sum(a * a, k) / n - ma * ma
        vb = _box_sum(b * b, k) / n - mb * mb
        cov = _box_sum(a * b, k) / n - ma * mb
        s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
        vals.append(float(s.mean()))
    return float(np.mean(vals))


def summarize(ans: dict) -> dict:
    """JSON-able facts about one answer (drops the body, keeps decoded facts)."""
    st = ans.get("status")
    headers = ans.get("headers") or {}
    s = {
        "status": st,
        "content_type": _ctype(headers),
        "cache_control": headers.get("cache-control"),
        "has_cache_control": "cache-control" in headers,
        "has_vary": "vary" in headers,
        "vary": headers.get("vary"),
        "has_etag": "etag" in headers,
        "bytes": len(ans.get("body") or b""),
        "elapsed_ms": ans.get("elapsed_ms"),
    }
    if ans.get("error"):
        s["error"] = ans["error"]
    body = ans.get("body") or b""
    ct = s["content_type"] or ""
    if st == 200 and body:
        if ct.startswith("image/"):
            try:
                d = decode(body)
                s.update(d["info"])
                ans["_frames"] = d["frames"]
                ans["_frame_count"] = d["info"]["frames"]
            except Exception as exc:  # the server said image but sent something else
                s["decode_error"] = f"{type(exc).__name__}: {exc}"
        elif ct in ("application/json", "text/javascript"):
            text = body.decode("utf-8", "replace")
            payload = text
            if ct == "text/javascript":  # JSONP: callback(...);
                s["jsonp_callback"] = text.split("(", 1)[0]
                payload = text[len(s["jsonp_callback"]) + 1:].rstrip().rstrip(";").rstrip()
                payload = payload[:-1] if payload.endswith(")") else payload
            try:
                s["meta"] = json.loads(payload)
            except Exception as exc:
                s["decode_error"] = f"{type(exc).__name__}: {exc}"
                s["text"] = text[:500]
        elif ct.startswith("text/"):
            s["text"] = body[:500].decode("utf-8", "replace")
    return s


def json_diff(a, b, path="$") -> list[str]:
    """Structural differences; numbers compare as numbers (100 == 100.0)."""
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, num) and isinstance(b, num):
        return [] if abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a))) else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: missing in thumbor")
            elif k not in b:
                out.append(f"{path}.{k}: missing in pictor")
            else:
                out.extend(json_diff(a[k], b[k], f"{path}.{k}"))
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(json_diff(x, y, f"{path}[{i}]"))
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def json_contains(expected, actual, path="$") -> list[str]:
    """Differences where `expected` (a sub-structure) is not found in `actual`."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected object, got {actual!r}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{path}.{k}: missing")
            else:
                out.extend(json_contains(v, actual[k], f"{path}.{k}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        out = []
        for i, (x, y) in enumerate(zip(expected, actual)):
            out.extend(json_contains(x, y, f"{path}[{i}]"))
        return out
    return json_diff(expected, actual, path)


def status_class(st) -> str:
    if isinstance(st, int):
        return f"{st // 100}xx"
    return str(st)


def similarity(t_ans: dict, p_ans: dict) -> float | None:
    """Minimum SSIM over Thumbor's compared frames.

    Same frame count: frame i against frame i. Different counts (one side merged or dropped
    frames): each Thumbor frame against its best match among pictor's decoded frames."""
    tf, pf = t_ans.get("_frames"), p_ans.get("_frames")
    if not tf or not pf:
        return None
    same_count = t_ans.get("_frame_count") == p_ans.get("_frame_count")
    pmap = dict(pf)
    vals = []
    for i, a in tf:
        if same_count:
            b = pmap.get(i)
            if b is not None and a.shape == b.shape:
                vals.append(ssim(a, b))
        else:
            cands = [ssim(a, b) for _, b in pf if a.shape == b.shape]
            if cands:
                vals.append(max(cands))
    return min(vals) if vals else None


def compare(case: dict, t: dict, p: dict, t_ans: dict, p_ans: dict) -> tuple[list[dict], float | None]:
    """Differences between two summaries: list of {aspect, thumbor, pictor} and the similarity."""
    diffs = []

    def d(aspect, tv, pv, note=None):
        item = {"aspect": aspect, "thumbor": tv, "pictor": pv}
        if note:
            item["note"] = note
        diffs.append(item)

    if t["status"] != p["status"]:
        d("status", t["status"], p["status"])
        return diffs, None
    sim = None
    if t["status"] == 200:
        if t["content_type"] != p["content_type"]:
            d("content_type", t["content_type"], p["content_type"])
        if t.get("text") is not None and t.get("text") != p.get("text") and "meta" not in t:
            d("body", t.get("text"), p.get("text"))
    for h in ("has_cache_control", "has_vary", "has_etag"):
        if t[h] != p[h]:
            d(h[4:], t[h], p[h])
    if t.get("cache_control") and p.get("cache_control") and t["cache_control"] != p["cache_control"]:
        d("cache_control_value", t["cache_control"], p["cache_control"])
    if p.get("decode_error") and not t.get("decode_error"):
        d("decode", None, p["decode_error"])
        return diffs, None
    if t.get("jsonp_callback") != p.get("jsonp_callback"):
        d("jsonp_callback", t.get("jsonp_callback"), p.get("jsonp_callback"))
    if "meta" in t or "meta" in p:
        if "meta" not in p or "meta" not in t:
            d("meta", "meta" in t, "meta" in p)
        else:
            jd = json_diff(t["meta"], p["meta"])
            if jd:
                d("meta", None, None, "; ".join(jd[:8]) + (" ..." if len(jd) > 8 else ""))
    if "size" in t and "size" in p:
        if t["size"] != p["size"]:
            d("size", t["size"], p["size"])
        if t["frames"] != p["frames"]:
            d("frames", t["frames"], p["frames"])
        if t.get("durations_zero") is not None and t.get("durations_zero") != p.get("durations_zero"):
            d("gif_timing", "zero" if t["durations_zero"] else "kept", "zero" if p.get("durations_zero") else "kept")
        if t["size"] == p["size"]:
            sim = similarity(t_ans, p_ans)
            thr = case.get("threshold", THRESHOLDS.get(case["category"], 0.9))
            if sim is None:
                d("similarity", None, None, "not comparable")
            elif sim < thr:
                d("similarity", None, round(sim, 4), f"below threshold {thr}")
    elif "size" in t and "size" not in p:
        d("image", True, False)
    return diffs, sim


def check_expect(expect: dict, t: dict) -> list[str]:
    """Self-test: spec-observed values that Thumbor's answer must show."""
    out = []
    for k, v in expect.items():
        if k == "meta":
            if "meta" not in t:
                out.append("meta: no JSON")
            else:
                out.extend("meta " + x for x in json_contains(v, t["meta"]))
        elif k == "vary":
            if t["has_vary"] != v:
                out.append(f"vary: expected {v}, got {t['has_vary']}")
        elif k == "body":
            if t.get("text") != v:
                out.append(f"body: expected {v!r}, got {t.get('text')!r}")
        else:
            if t.get(k) != v:
                out.append(f"{k}: expected {v!r}, got {t.get(k)!r}")
    return out
