"""Conformance cases and server profiles for the pictor-vs-Thumbor differential run.

Every case is a plain dict (see `Case fields` below). Cases are generated combinatorially
(URL forms x corpus images, filters x parameters, Accept headers x images, ...) and grouped by
category. `build_cases()` returns the full list; ids are unique and stable, so that
`differences.json` and `baseline.json` can refer to them.

Profiles
--------
A profile is one configuration under which both servers are started. Every profile gets
LOADER=file, STORAGE=no_storage, RESULT_STORAGE=None, QUALITY=80, ALLOW_UNSAFE_URL=False unless
it says otherwise. `root` is relative to the corpus root.

Case fields
-----------
id        unique id, "<category>/<...>"
category  summary group in REPORT.md (thresholds per category live in compare.py)
profile   name of a profile below
path      the request path after the signature segment, no leading slash (the signed message)
sign      "hmac"     -> "/<hmac of path>/<path>"            (default)
          "unsafe"   -> "/unsafe/<path>"
          "none"     -> "/<path>"                            (no signature segment at all)
          "bad"      -> a well-formed signature of another message
          "unpadded" -> the right signature without its trailing "="
          "pct3d"    -> the right signature with "=" written "%3D"
          "stdb64"   -> the right signature in the standard (+/) base64 alphabet
          "literal"  -> "/<signature>/<path>" with the given `signature` (spec vectors)
          "raw"      -> `path` is the full request path and is sent verbatim
signature only for sign="literal"
query     optional query string appended after signing (without "?")
method    GET (default), HEAD, POST, PUT, DELETE or OPTIONS
if_none_match  "own-etag": fetch once, then re-send with If-None-Match = the ETag *that* server sent
headers   optional request headers (e.g. Accept)
threshold optional similarity threshold overriding the category's
expect    optional assertions on *Thumbor's* answer (values observed in the spec); they are a
          self-test of the runner and of the spec: status, content_type, size [w, h], frames,
          meta (a sub-dict that must be contained in the meta JSON), vary (bool), body (text)
"""

from __future__ import annotations

DEFAULT_KEY = "pictor-compat-secret"

PROFILES: dict[str, dict] = {
    # the plain Thumbor defaults (but signed URLs only)
    "default": {"key": DEFAULT_KEY, "root": "."},
    # unsafe URLs allowed: only for grammar cases that need "/unsafe/" to reach the parser
    "unsafe": {"key": DEFAULT_KEY, "root": ".", "ALLOW_UNSAFE_URL": True},
    "orient": {"key": DEFAULT_KEY, "root": ".", "RESPECT_ORIENTATION": True},
    "webp": {"key": DEFAULT_KEY, "root": ".", "AUTO_WEBP": True},
    "maxdim": {"key": DEFAULT_KEY, "root": ".", "MAX_WIDTH": 150, "MAX_HEIGHT": 150},
    "maxpixels": {"key": DEFAULT_KEY, "root": ".", "MAX_PIXELS": 100000},
    # signature vectors of thumbor's handler tests: their images live at the fixture root
    "acme": {"key": "ACME-SEC", "root": "thumbor/images"},
    # signature vectors of libthumbor / thumbor-url: the images do not exist (404 after a valid
    # signature, 400 after a bad one)
    "mykey": {"key": "my-security-key", "root": "."},
    "mykey-upper": {"key": "MY-SECURITY-KEY", "root": "."},
}

T = "thumbor/images/"
IMAGES = {
    "jpg": T + "image.jpg",  # 300x400 RGB JPEG
    "cmyk": T + "Giunchedi%2C_Filippo_January_2015_01-cmyk.jpg",  # 800x533 CMYK
    "gray": T + "grayscale.jpg",  # 100x100 L
    "pal": T + "paletted-transparent.png",  # 300x225 P + tRNS
    "1bit": T + "1bit.png",  # 691x212 P, white margins
    "png16": "sharp/16-bit-grey-alpha.png",  # 109x96 16-bit grey+alpha
    "flag16": "sharp/Flag_of_the_Netherlands-16bit.png",  # 900x600 16-bit RGB
    "gif": T + "animated.gif",  # 100x100, 2 frames
    "webp": T + "image.webp",  # 300x400
    "tif": T + "gradient_8bit.tif",  # 100x100 -> served as PNG
    "rgba": "thumbor/filters/PNG_transparency_demonstration_1.png",  # 300x225 RGBA
    "giu": T + "Giunchedi%2C_Filippo_January_2015_01.jpg",  # 800x533 RGB + ICC
}

# URL option forms (the part between the signature and the image), all on one image
FORMS_FULL = [
    "",
    "300x200/",
    "100x/",
    "x100/",
    "100x0/",
    "0x100/",
    "0x0/",
    "x/",
    "origx100/",
    "200xorig/",
    "origxorig/",
    "1000x1000/",
    "50x50/",
    "1x1/",
    "fit-in/100x100/",
    "fit-in/1000x1000/",
    "fit-in/100x0/",
    "fit-in/origx100/",
    "full-fit-in/100x100/",
    "full-fit-in/1000x50/",
    "adaptive-fit-in/200x100/",
    "adaptive-fit-in/1000x50/",
    "adaptive-full-fit-in/200x100/",
    "-100x100/",
    "100x-100/",
    "-100x-100/",
    "-x/",
    "x-/",
    "-0x-0/",
    "-origx-orig/",
    "fit-in/-100x-100/",
    "10x10:110x60/",
    "10x10:110x60/50x50/",
    "50x50:10x10/",
    "10x10:5000x5000/",
    "0x0:0x0/100x100/",
    "100x100/right/bottom/",
    "100x100/left/top/",
    "200x100/right/",
    "100x200/left/",
    "100x200/right/",
    "200x100/top/",
    "200x100/bottom/",
    "200x100/center/middle/",
    "trim/",
    "trim:bottom-right/",
    "trim:top-left:10/",
    "trim:bottom-right:50/",
    "trim:10/",
    "trim/100x100/",
    "100x100/smart/",
    "debug/100x100/",
    "10x10:200x200/fit-in/50x50/",
]

FORMS_CORE = [
    "",
    "300x200/",
    "100x/",
    "x100/",
    "fit-in/100x100/",
    "full-fit-in/100x100/",
    "adaptive-fit-in/200x100/",
    "-100x-100/",
    "-x/",
    "10x10:110x60/",
    "100x100/right/bottom/",
    "trim/",
    "1000x1000/",
    "50x50/smart/",
]

# forms whose meta JSON is compared on several images
FORMS_META = [
    "",
    "300x200/",
    "100x/",
    "x100/",
    "fit-in/100x100/",
    "full-fit-in/100x100/",
    "adaptive-fit-in/200x100/",
    "adaptive-full-fit-in/200x100/",
    "-x/",
    "-100x-100/",
    "10x10:110x60/50x50/",
    "100x100/right/bottom/",
    "200x100/right/",
    "trim/",
    "1000x1000/",
]


def case(cid, category, path, profile="default", **kw):
    d = {"id": cid, "category": category, "profile": profile, "path": path, "sign": "hmac"}
    d.update(kw)
    return d


def _slug(form: str) -> str:
    s = form.strip("/")
    return s if s else "(none)"


def geometry_cases():
    out = []
    # image.jpg is a smooth vertical gradient: SSIM hardly sees a wrong crop offset on it (the meta
    # cases check its geometry exactly), so the full set of forms also runs on a detailed photo
    for name in ["jpg", "giu"]:
        for form in FORMS_FULL:
            out.append(case(f"geometry/{name}/{_slug(form)}", "geometry", form + IMAGES[name]))
    for name in ["cmyk", "gray", "pal", "1bit", "png16", "flag16", "webp", "tif", "rgba"]:
        for form in FORMS_CORE:
            out.append(case(f"geometry/{name}/{_slug(form)}", "geometry", form + IMAGES[name]))
    # big inputs of sharp's benchmark
    observed = {  # spec §3.3, §3.5, §3.2, §1.3 [observed] on the 300x400 image.jpg
        "300x200": [300, 200], "100x": [100, 133], "100x0": [100, 133], "x100": [75, 100], "0x100": [75, 100],
        "1000x1000": [1000, 1000], "fit-in/100x100": [75, 100], "fit-in/1000x1000": [300, 400],
        "full-fit-in/100x100": [100, 133], "adaptive-fit-in/200x100": [100, 133],
        "adaptive-full-fit-in/200x100": [150, 200], "adaptive-fit-in/1000x50": [50, 67],
        "full-fit-in/1000x50": [1000, 1333], "origx100": [300, 100], "10x10:5000x5000": [290, 390],
        "10x10:110x60": [100, 50], "50x50:10x10": [300, 400], "debug/100x100": [300, 400], "-x": [300, 400],
    }
    for c in out:
        key = c["id"].split("/", 2)[2]
        if c["id"].startswith("geometry/jpg/") and key in observed:
            c["expect"] = {"status": 200, "size": observed[key]}
    out.append(case("geometry/bench-jpg/fit-in/300x300", "geometry",
                    "fit-in/300x300/sharp/2569067123_aca715a2ee_o.jpg"))
    out.append(case("geometry/bench-png/fit-in/300x300", "geometry",
                    "fit-in/300x300/sharp/alpha-premultiply-2048x1536-paper.png"))
    out.append(case("geometry/940x2/100x100", "geometry", "100x100/" + T + "940x2.png"))
    out.append(case("geometry/940x2/fit-in/100x100", "geometry", "fit-in/100x100/" + T + "940x2.png"))
    out.append(case("geometry/1x1/100x100", "geometry", "100x100/" + T + "1x1.png"))
    out.append(case("geometry/1x1/fit-in/100x100", "geometry", "fit-in/100x100/" + T + "1x1.png"))
    return out


def meta_cases():
    out = []
    for form in FORMS_FULL:
        out.append(case(f"meta/jpg/{_slug(form)}", "meta", "meta/" + form + IMAGES["jpg"]))
    for name in ["gif", "1bit", "giu"]:
        for form in FORMS_META:
            out.append(case(f"meta/{name}/{_slug(form)}", "meta", "meta/" + form + IMAGES[name]))
    extra = {
        "fill-red": "meta/fit-in/100x100/filters:fill(red)/" + IMAGES["jpg"],
        "rotate90": "meta/filters:rotate(90)/" + IMAGES["jpg"],
        "proportion": "meta/filters:proportion(0.5)/" + IMAGES["jpg"],
        "upscale": "meta/fit-in/1000x1000/filters:upscale()/" + IMAGES["jpg"],
        "no_upscale": "meta/1000x1000/filters:no_upscale()/" + IMAGES["jpg"],
        "stretch": "meta/100x50/filters:stretch()/" + IMAGES["jpg"],
        "focal": "meta/100x100/filters:focal(146x156:279x208)/" + IMAGES["jpg"],
        "format-webp": "meta/filters:format(webp)/" + IMAGES["jpg"],
        "autojpg": "meta/filters:autojpg()/" + T + "1bit.png",
        "smart": "meta/100x100/smart/" + IMAGES["jpg"],
        "debug": "debug/meta/100x100/" + IMAGES["jpg"],
        "full-form": "debug/meta/trim/300x200:400x500/adaptive-full-fit-in/-300x-400/left/top/smart/"
        "filters:brightness(100)/" + IMAGES["jpg"],
        "trim-crop": "meta/trim/10x10:100x50/" + T + "1bit.png",
        "pal": "meta/" + IMAGES["pal"],
        "webp": "meta/" + IMAGES["webp"],
        "tif": "meta/" + IMAGES["tif"],
    }
    for k, p in extra.items():
        out.append(case(f"meta/extra/{k}", "meta", p))
    # values observed in the spec (self-test of the runner)
    by_id = {c["id"]: c for c in out}
    by_id["meta/jpg/300x200"]["expect"] = {
        "status": 200,
        "content_type": "application/json",
        "meta": {
            "thumbor": {
                "source": {"url": IMAGES["jpg"], "width": 300, "height": 200, "frameCount": 1},
                "operations": [{"type": "crop", "left": 0, "top": 100, "right": 300, "bottom": 300}],
                "target": {"width": 300, "height": 200},
                "focal_points": [
                    {"x": 150, "y": 200, "z": 1.0, "height": 1, "width": 1, "origin": "alignment"}
                ],
            }
        },
    }
    by_id["meta/jpg/-x"]["expect"] = {"meta": {"thumbor": {"operations": [{"type": "flip_horizontally"}]}}}
    by_id["meta/jpg/10x10:110x60/50x50"]["expect"] = {
        "meta": {"thumbor": {"operations": [
            {"type": "crop", "left": 10, "top": 10, "right": 110, "bottom": 60},
            {"type": "crop", "left": 25, "top": 0, "right": 75, "bottom": 50},
        ]}}
    }
    by_id["meta/jpg/100x100/right/bottom"]["expect"] = {
        "meta": {"thumbor": {"operations": [{"type": "crop", "left": 0, "top": 100, "right": 300, "bottom": 400},
                                            {"type": "resize", "width": 100, "height": 100}]}}
    }
    by_id["meta/jpg/200x100/right"]["expect"] = {
        "meta": {"thumbor": {"operations": [{"type": "crop", "left": 0, "top": 125, "right": 300, "bottom": 275},
                                            {"type": "resize", "width": 200, "height": 100}]}}
    }
    by_id["meta/gif/(none)"]["expect"] = {"meta": {"thumbor": {"source": {"frameCount": 2}}}}
    by_id["meta/1bit/trim"]["expect"] = {
        "meta": {"thumbor": {"operations": [{"type": "crop", "left": 36, "top": 41, "right": 661, "bottom": 158}],
                             "target": {"width": 625, "height": 117}}}
    }
    by_id["meta/extra/fill-red"]["expect"] = {"meta": {"thumbor": {"source": {"width": 100, "height": 100}}}}
    return out


def grammar_cases():
    img = IMAGES["jpg"]
    out = [
        # out-of-order options become part of the image path -> 404 (file loader)
        case("grammar/filters-before-size", "grammar", "filters:stretch()/100x100/" + img, expect={"status": 404}),
        case("grammar/align-before-size", "grammar", "left/top/100x100/" + img, expect={"status": 404}),
        case("grammar/valign-before-halign", "grammar", "100x100/top/left/" + img, expect={"status": 404}),
        case("grammar/smart-before-size", "grammar", "smart/100x100/" + img),
        case("grammar/full-adaptive-fit-in", "grammar", "full-adaptive-fit-in/100x100/" + img, expect={"status": 404}),
        case("grammar/empty-filters", "grammar", "filters:/" + img, expect={"status": 404}),
        case("grammar/uppercase-fit-in", "grammar", "FIT-IN/100x100/" + img),
        case("grammar/uppercase-size", "grammar", "100X100/" + img),
        case("grammar/meta-before-debug", "grammar", "meta/debug/100x100/" + img),
        case("grammar/trim-extra-part", "grammar", "trim:top-left:10:5/" + img),
        case("grammar/trim-bad-position", "grammar", "trim:middle/" + img),
        case("grammar/negative-crop", "grammar", "-10x10:100x100/" + img),
        case("grammar/crop-without-size", "grammar", "10x10:100x100/" + img),
        case("grammar/double-size", "grammar", "100x100/50x50/" + img),
        case("grammar/size-only-x", "grammar", "x/" + img),
        case("grammar/size-huge-number", "grammar", "99999999999999999999x1/" + img),
        case("grammar/size-big", "grammar", "5000x5000/" + img),
        case("grammar/size-leading-zeros", "grammar", "0100x0100/" + img),
        case("grammar/orig-both-flip", "grammar", "-origx-orig/" + img),
        case("grammar/filters-lazy-slash", "grammar", "filters:foo/bar(1)/" + img),
        case("grammar/filters-two-segments", "grammar", "filters:brightness(10)/filters:contrast(10)/" + img),
        case("grammar/filters-unknown", "grammar", "filters:nonexistent(1)/" + img),
        case("grammar/filters-no-parens", "grammar", "filters:grayscale/" + img),
        case("grammar/filters-colon-arg", "grammar", "filters:fill(red):grayscale()/" + img),
        case("grammar/double-slash-image", "grammar", "300x200//" + img),
        case("grammar/trailing-slash", "grammar", "300x200/" + img + "/"),
        case("grammar/query-string", "grammar", "300x200/" + img, query="foo=bar&x=1"),
        case("grammar/libthumbor-full-form", "grammar",
             "debug/meta/trim/300x200:400x500/adaptive-full-fit-in/-300x-400/left/top/smart/"
             "filters:brightness(100)/" + img),
        case("grammar/all-options-image", "grammar",
             "trim/10x10:290x390/fit-in/-200x-150/right/bottom/smart/filters:brightness(10)/" + img),
        # signature-less paths
        case("grammar/no-signature", "grammar", "300x200/" + img, sign="none", expect={"status": 400}),
        case("grammar/single-segment", "grammar", "/image.jpg", sign="raw", expect={"status": 400}),
        case("grammar/root", "grammar", "/", sign="raw", expect={"status": 400}),
        case("grammar/unsafe-empty", "grammar", "/unsafe/", sign="raw", expect={"status": 400}),
        case("grammar/unsafe-disabled", "grammar", "300x200/" + img, sign="unsafe", expect={"status": 400}),
        # unsafe profile: the parser without signatures
        case("grammar/unsafe/300x200", "grammar", "300x200/" + img, profile="unsafe", sign="unsafe",
             expect={"status": 200, "size": [300, 200]}),
        case("grammar/unsafe/filters-before-size", "grammar", "filters:stretch()/100x100/" + img,
             profile="unsafe", sign="unsafe", expect={"status": 404}),
        case("grammar/unsafe/align-before-size", "grammar", "left/top/100x100/" + img, profile="unsafe",
             sign="unsafe", expect={"status": 404}),
        case("grammar/unsafe/empty", "grammar", "/unsafe/", profile="unsafe", sign="raw", expect={"status": 400}),
        case("grammar/unsafe/root", "grammar", "/", profile="unsafe", sign="raw", expect={"status": 400}),
        case("grammar/unsafe/no-unsafe", "grammar", "/300x200/" + img, profile="unsafe", sign="raw",
             expect={"status": 400}),
        case("grammar/unsafe/single-segment", "grammar", "/" + img.split("/")[-1], profile="unsafe",
             sign="raw", expect={"status": 400}),
        case("grammar/unsafe/uppercase-unsafe", "grammar", "/UNSAFE/300x200/" + img, profile="unsafe",
             sign="raw", expect={"status": 400}),
        case("grammar/unsafe/fit-in", "grammar", "fit-in/100x100/" + img, profile="unsafe", sign="unsafe",
             expect={"status": 200, "size": [75, 100]}),
        # other routes and methods
        case("grammar/healthcheck", "grammar", "/healthcheck", sign="raw",
             expect={"status": 200, "body": "WORKING"}),
        case("grammar/healthcheck-slash", "grammar", "/healthcheck/", sign="raw",
             expect={"status": 200, "body": "WORKING"}),
        case("grammar/head-image", "grammar", "300x200/" + img, method="HEAD", expect={"status": 200}),
        case("grammar/head-missing", "grammar", "300x200/" + T + "missing.jpg", method="HEAD",
             expect={"status": 404}),
        case("grammar/post-image", "grammar", "300x200/" + img, method="POST", expect={"status": 405}),
        case("grammar/get-image-route", "grammar", "/image", sign="raw"),
        case("grammar/head-healthcheck", "grammar", "/healthcheck", sign="raw", method="HEAD"),
    ]
    return out


def http_cases():
    img = IMAGES["jpg"]
    out = [
        case("http/if-none-match-own-etag", "http", "300x200/" + img, if_none_match="own-etag",
             expect={"status": 304}),
        case("http/if-none-match-own-etag-meta", "http", "meta/300x200/" + img, if_none_match="own-etag"),
        case("http/if-none-match-star", "http", "300x200/" + img, headers={"If-None-Match": "*"}),
        case("http/if-none-match-other", "http", "300x200/" + img, headers={"If-None-Match": '"0000"'},
             expect={"status": 200}),
        case("http/if-none-match-on-404", "http", "300x200/" + T + "missing.jpg", headers={"If-None-Match": "*"}),
        case("http/head-if-none-match-own-etag", "http", "300x200/" + img, method="HEAD",
             if_none_match="own-etag"),
        case("http/meta-jsonp-query", "http", "meta/300x200/" + img, query="callback=fn"),
        case("http/meta-jsonp-query-empty", "http", "meta/300x200/" + img, query="callback="),
        case("http/head-meta", "http", "meta/300x200/" + img, method="HEAD"),
        case("http/accept-encoding-gzip", "http", "300x200/" + img, headers={"Accept-Encoding": "gzip"}),
        case("http/max-age-0-headers", "http", "300x200/filters:max_age(0)/" + img),
        case("http/error-404-headers", "http", "300x200/" + T + "missing.jpg"),
        case("http/error-400-headers", "http", "300x200/" + img, sign="bad"),
        case("http/put-image", "http", "300x200/" + img, method="PUT"),
        case("http/delete-image", "http", "300x200/" + img, method="DELETE"),
        case("http/options-image", "http", "300x200/" + img, method="OPTIONS"),
    ]
    return out


def _filter_specs():
    """(id, filter string, size form, image key, threshold override or None)."""
    jpg = "jpg"
    s = []

    def f(fid, filt, form="", img=jpg, thr=None, **kw):
        s.append((fid, filt, form, img, thr, kw))

    f("brightness/40", "brightness(40)")
    f("brightness/-40", "brightness(-40)")
    f("brightness/0", "brightness(0)")
    f("brightness/300", "brightness(300)")
    f("brightness/invalid-x", "brightness(x)")
    f("brightness/invalid-empty", "brightness()")
    f("brightness/spaces", "brightness(%2020%20)")
    f("contrast/20", "contrast(20)")
    f("contrast/-50", "contrast(-50)")
    f("contrast/100", "contrast(100)")
    f("contrast/-100", "contrast(-100)")
    f("contrast/invalid", "contrast(x)")
    f("rgb/10,2,4", "rgb(10,2,4)")
    f("rgb/-20,0,20", "rgb(-20,0,20)")
    f("rgb/invalid-2args", "rgb(1,2)")
    f("saturation/0", "saturation(0)")
    f("saturation/0.5", "saturation(0.5)")
    f("saturation/1.5", "saturation(1.5)")
    f("saturation/10", "saturation(10)")
    f("saturation/-1", "saturation(-1)")
    f("saturation/invalid", "saturation(abc)")
    f("colorize/40,80,20,ffffff", "colorize(40,80,20,ffffff)")
    f("colorize/100,0,0,ff0000", "colorize(100,0,0,ff0000)")
    f("colorize/invalid-3args", "colorize(1,2,3)")
    f("colorize/short-hex", "colorize(40,80,20,fff)")
    f("equalize", "equalize()")
    f("equalize/gray", "equalize()", img="gray")
    f("noise/200,123", "noise(200,123)", thr=0.2)
    f("noise/10", "noise(10)", thr=0.2)
    f("noise/0", "noise(0)", thr=0.2)
    f("blur/4,2", "blur(4,2)")
    f("blur/8", "blur(8)")
    f("blur/500", "blur(500)")
    f("blur/1", "blur(1)")
    f("blur/2,0.5", "blur(2,0.5)")
    f("blur/invalid-0", "blur(0)")
    f("blur/rgba", "blur(10)", img="rgba")
    f("blur/pal", "blur(5)", img="pal")
    f("sharpen/2,1,true", "sharpen(2,1,true)")
    f("sharpen/5,2,false", "sharpen(5,2,false)")
    f("sharpen/invalid-2args", "sharpen(1,1)")
    f("convolution/blur-normalized", "convolution(1;2;1;2;4;2;1;2;1,3,true)")
    f("convolution/edge", "convolution(-1;-1;-1;-1;8;-1;-1;-1;-1,3,false)")
    f("convolution/identity", "convolution(0;0;0;0;1;0;0;0;0,3)")
    f("convolution/1x3", "convolution(1;2;1,3,true)")
    f("convolution/bad-columns", "convolution(1;1;1;1,3)")
    f("curve/typical", "curve([(0,0),(255,255)],[(0,50),(16,51),(32,69),(58,85),(92,120),(157,181),(204,208),"
      "(255,255)],[(0,0),(255,255)],[(0,0),(255,255)])")
    f("curve/invalid", "curve(1,2,3,4)")
    f("grayscale", "grayscale()")
    f("grayscale/rgba", "grayscale()", img="rgba")
    f("grayscale/pal", "grayscale()", img="pal")
    f("round_corner/50", "round_corner(50,255,0,0)")
    f("round_corner/50|75", "round_corner(50|75,255,0,0)")
    f("round_corner/transparent", "round_corner(50,0,0,255,1)")
    f("round_corner/transparent-png", "round_corner(30,0,0,0,true)", img="pal")
    f("round_corner/huge", "round_corner(500,0,0,0)")
    f("round_corner/invalid", "round_corner(a,0,0,0)")
    f("fill/red", "fill(red)", "fit-in/400x400/")
    f("fill/0000ff", "fill(0000ff)", "fit-in/400x400/")
    f("fill/auto", "fill(auto)", "fit-in/400x400/")
    f("fill/blur", "fill(blur)", "fit-in/400x400/")
    f("fill/transparent", "fill(transparent)", "fit-in/400x400/")
    f("fill/transparent-png", "fill(transparent)", "fit-in/400x400/", img="rgba")
    f("fill/red-fill-transparent", "fill(red,true)", "fit-in/400x400/", img="rgba")
    f("fill/red-no-fill-transparent", "fill(red,false)", "fit-in/400x400/", img="rgba")
    f("fill/blur-png", "fill(blur,true)", "fit-in/400x400/", img="rgba")
    f("fill/no-fit-in", "fill(red)", "100x100/")
    f("fill/zero-side", "fill(red)", "fit-in/400x0/")
    f("fill/unknown-colour", "fill(notacolour)", "fit-in/400x400/")
    f("fill/no-args", "fill()", "fit-in/400x400/")
    f("background_color/blue", "background_color(blue)", img="rgba")
    f("background_color/auto", "background_color(auto)", img="rgba")
    f("background_color/hex", "background_color(ff0000)", img="rgba")
    f("background_color/jpg", "background_color(blue)")
    f("watermark/center", "watermark(thumbor/filters/watermark.png,center,center,60)")
    f("watermark/10,10,0", "watermark(thumbor/filters/watermark.png,10,10,0)")
    f("watermark/negative", "watermark(thumbor/filters/watermark.png,-10,-10,50)")
    f("watermark/repeat", "watermark(thumbor/filters/watermark.png,repeat,repeat,70)")
    f("watermark/repeat-center", "watermark(thumbor/filters/watermark.png,repeat,center,70)")
    f("watermark/percent", "watermark(thumbor/filters/watermark.png,4p,-30p,60)")
    f("watermark/resize-width", "watermark(thumbor/filters/watermark.png,30,-50,20,50)")
    f("watermark/resize-height", "watermark(thumbor/filters/watermark.png,30,-50,20,none,70)")
    f("watermark/big", "watermark(thumbor/filters/watermarkBig.png,-10,-100,50)")
    f("watermark/alpha-100", "watermark(thumbor/filters/watermark.png,0,0,100)")
    f("watermark/quoted-url", "watermark('thumbor/filters/watermark.png',center,center,0)")
    f("watermark/missing", "watermark(thumbor/filters/nope.png,0,0,0)")
    f("watermark/not-an-image", "watermark(thumbor/images/qtables.xml,0,0,0)")
    f("watermark/invalid-pos", "watermark(thumbor/filters/watermark.png,left,0,0)")
    f("watermark/on-png", "watermark(thumbor/filters/watermark.png,center,center,30)", img="pal")
    f("frame/watermark", "frame(thumbor/filters/watermark.png)", "100x100/")
    f("frame/missing", "frame(thumbor/filters/nope.png)", "100x100/")
    f("quality/10", "quality(10)")
    f("quality/100", "quality(100)")
    f("quality/0", "quality(0)", thr=0.7)  # encoder noise dominates at quality 0
    f("quality/150", "quality(150)")
    f("quality/webp-10", "format(webp):quality(10)")
    f("format/png", "format(png)")
    f("format/webp", "format(webp)")
    f("format/gif", "format(gif)")
    f("format/jpeg", "format(jpeg)")
    f("format/JPG", "format(JPG)")
    f("format/invalid", "format(asdf)")
    f("format/avif", "format(avif)")
    f("format/heic", "format(heic)")
    f("format/png-to-jpeg", "format(jpeg)", img="rgba")
    f("format/png-to-webp", "format(webp)", img="rgba")
    f("format/pal-to-gif", "format(gif)", img="pal")
    f("max_bytes/5000", "max_bytes(5000)", img="giu")
    f("max_bytes/35000", "max_bytes(35000)", img="giu")
    f("max_bytes/100", "max_bytes(100)")
    f("max_bytes/png", "max_bytes(1000)", img="pal")
    f("max_bytes/webp", "format(webp):max_bytes(3000)", img="giu")
    f("max_age/0", "max_age(0)")
    f("max_age/60", "max_age(60)")
    f("max_age/invalid", "max_age(abc)")
    f("autojpg/enable", "autojpg()", img="1bit")
    f("autojpg/true", "autojpg(true)", img="1bit")
    f("autojpg/false", "autojpg(false)", img="1bit")
    f("autojpg/transparent", "autojpg()", img="pal")
    f("autojpg/rgba", "autojpg()", img="rgba")
    f("strip_exif", "strip_exif()")
    f("strip_icc", "strip_icc()", img="giu")
    f("rotate/90", "rotate(90)")
    f("rotate/180", "rotate(180)")
    f("rotate/270", "rotate(270)")
    f("rotate/45", "rotate(45)")
    f("rotate/-90", "rotate(-90)")
    f("rotate/450", "rotate(450)")
    f("rotate/with-resize", "rotate(90)", "100x50/")
    f("upscale/fit-in-1000", "upscale()", "fit-in/1000x1000/")
    f("upscale/fit-in-1000x0", "upscale()", "fit-in/1000x0/")
    f("upscale/no-fit-in", "upscale()", "50x50/")
    f("proportion/0.5", "proportion(0.5)")
    f("proportion/0.6", "proportion(0.6)")
    f("proportion/with-size", "proportion(0.5)", "100x100/")
    f("proportion/0", "proportion(0)")
    f("proportion/1.5", "proportion(1.5)")
    f("proportion/1.0", "proportion(1.0)")
    f("proportion/-0.5", "proportion(-0.5)")
    f("proportion/tiny", "proportion(0.001)")
    f("no_upscale/1000", "no_upscale()", "1000x1000/")
    f("no_upscale/100", "no_upscale()", "100x100/")
    f("no_upscale/width-only", "no_upscale()", "1000x0/")
    f("focal/rect", "focal(146x156:279x208)", "100x100/")
    f("focal/zero", "focal(0x0:0x0)", "100x100/")
    f("focal/garbage", "focal(lkasjdklfjlkajsfd)", "100x100/")
    f("focal/out-of-image", "focal(1000x1000:2000x2000)", "100x100/")
    f("stretch", "stretch()", "100x50/")
    f("stretch/fit-in", "stretch()", "fit-in/100x50/")
    f("red_eye", "red_eye()")
    f("cover/jpg", "cover()")
    f("unknown", "nonexistent(1)")
    f("chain/three", "brightness(10):contrast(10):grayscale()")
    f("chain/invalid-middle", "brightness(10):contrast(x):grayscale()")
    f("chain/format-quality", "format(png):quality(50)", "100x100/")
    # post-transform filters on a GIF are skipped by Thumbor (known difference)
    f("gif/grayscale", "grayscale()", img="gif")
    f("gif/format-png", "format(png)", img="gif")
    f("gif/fill", "fill(red)", "fit-in/200x200/", img="gif")
    f("gif/brightness", "brightness(50)", img="gif")
    f("gif/cover", "cover()", img="gif")
    f("gif/rotate", "rotate(90)", img="gif")
    f("png16/brightness", "brightness(20)", img="png16")
    f("png16/grayscale", "grayscale()", img="png16")
    f("cmyk/brightness", "brightness(20)", img="cmyk")
    f("webp/blur", "blur(3)", img="webp")
    return s


def filter_cases():
    out = []
    for fid, filt, form, img, thr, kw in _filter_specs():
        c = case(f"filters/{fid}", "filters", f"{form}filters:{filt}/{IMAGES[img]}", **kw)
        if thr is not None:
            c["threshold"] = thr
        out.append(c)
    # extract_focal: the image is itself a thumbor URL with a crop
    out.append(case("filters/extract_focal", "filters",
                    "100x100/filters:extract_focal()/thumbor.host/unsafe/100x100:200x200/" + IMAGES["jpg"]))
    # spec observations
    by_id = {c["id"]: c for c in out}
    by_id["filters/rotate/45"]["expect"] = {"status": 200, "size": [300, 400]}
    by_id["filters/rotate/90"]["expect"] = {"status": 200, "size": [400, 300]}
    by_id["filters/proportion/0.5"]["expect"] = {"size": [150, 200]}
    by_id["filters/proportion/with-size"]["expect"] = {"size": [50, 50]}
    by_id["filters/no_upscale/1000"]["expect"] = {"size": [300, 400]}
    by_id["filters/upscale/fit-in-1000"]["expect"] = {"size": [750, 1000]}
    by_id["filters/upscale/fit-in-1000x0"]["expect"] = {"size": [300, 400]}
    by_id["filters/stretch"]["expect"] = {"size": [100, 50]}
    by_id["filters/gif/format-png"]["expect"] = {"content_type": "image/gif"}
    by_id["filters/gif/cover"]["expect"] = {"status": 500}
    by_id["filters/max_age/0"]["expect"] = {"status": 200, "cache_control": None}
    by_id["filters/max_age/60"]["expect"] = {"cache_control": "max-age=60,public"}
    return out


def orientation_cases():
    out = []
    forms = ["", "100x50/", "fit-in/150x150/"]
    for profile in ["default", "orient"]:
        for kind in ["Landscape", "Portrait"]:
            for n in range(1, 9):
                for form in forms:
                    out.append(case(f"orientation/{profile}/{kind}_{n}/{_slug(form)}", "orientation",
                                    f"{form}sharp/{kind}_{n}.jpg", profile=profile))
                if profile == "orient":
                    out.append(case(f"orientation/{profile}/{kind}_{n}/meta", "orientation",
                                    f"meta/sharp/{kind}_{n}.jpg", profile=profile))
    exif = T + "Giunchedi%2C_Filippo_January_2015_01-cmyk-orientation-exif.jpg"
    out.append(case("orientation/orient/cmyk-exif6/meta", "orientation", "meta/0x0/" + exif, profile="orient",
                    expect={"meta": {"thumbor": {"target": {"width": 533, "height": 800}}}}))
    out.append(case("orientation/default/cmyk-exif6/meta", "orientation", "meta/0x0/" + exif))
    out.append(case("orientation/orient/cmyk-exif6/100x100", "orientation", "100x100/" + exif, profile="orient"))
    out.append(case("orientation/orient/no_upscale", "orientation",
                    "1000x1000/filters:no_upscale()/sharp/Landscape_6.jpg", profile="orient"))
    out.append(case("orientation/orient/broken-exif-tag", "orientation", "10x10/" + T + "broken-exif-tag.jpg",
                    profile="orient"))
    out.append(case("orientation/orient/thumbor-exif-png", "orientation", "100x100/" + T + "thumbor-exif.png",
                    profile="orient"))
    out.append(case("orientation/orient/flowers", "orientation", "fit-in/200x200/sharp/flowers.jpeg",
                    profile="orient"))
    return out


FORMAT_SOURCES = {
    "jpg": IMAGES["jpg"],
    "cmyk-small": T + "cmyk.jpg",
    "cmyk-icc": T + "cmyk-icc.jpg",
    "gray-icc": T + "grayscale-icc.jpg",
    "gray-giu": T + "Giunchedi%2C_Filippo_January_2015_01-grayscale.jpg",
    "png-giu": T + "Giunchedi%2C_Filippo_January_2015_01.png",
    "1bit": IMAGES["1bit"],
    "thumbor-exif-png": T + "thumbor-exif.png",
    "pal": IMAGES["pal"],
    "palette-256": T + "256_color_palette.png",
    "1x1-png": T + "1x1.png",
    "940x2-png": T + "940x2.png",
    "20x20-jpg": T + "20x20.jpg",
    "webp": IMAGES["webp"],
    "webp-lossy-big": "sharp/4.webp",
    "webp-alpha": "sharp/5_webp_a.webp",
    "webp-animated": "sharp/animated-loop-3.webp",
    "webp-big-height": "sharp/big-height.webp",
    "tif": IMAGES["tif"],
    "tif16-lsb": T + "gradient_lsb_16bperchannel.tif",
    "tif16-msb": T + "gradient_msb_16bperchannel.tif",
    "jp2": T + "image.jp2",
    "psd": T + "1x1.psd",
    "avif": T + "image.avif",
    "avif-pitm": "sharp/pitm.avif",
    "heic": T + "image.heic",
    "svg": T + "Commons-logo.svg",
    "svg-inches": T + "Commons-logo-inches.svg",
    "png16-grey-alpha": IMAGES["png16"],
    "png16-rgb": IMAGES["flag16"],
    "png-p3": "sharp/p3.png",
    "png-prophoto": "sharp/prophoto.png",
    "png-full-transparent": "sharp/full-transparent.png",
    "png-gradients": "sharp/gradients-rgb8.png",
    "png-rgba-bird": "sharp/embedgravitybird.png",
    "jpg-invalid-quantization": T + "invalid_quantization.jpg",
    "jpg-broken-exif": T + "broken-exif-tag.jpg",
    "jpg-truncated-bluesquare": T + "BlueSquare_truncated.jpg",
    "jpg-cmyk-channel": "sharp/Channel_digital_image_CMYK_color.jpg",
    "jpg-gray-concert": "sharp/concert.jpg",
    "jpg-gamma-gray": "sharp/gamma_dalai_lama_gray.jpg",
    "no-extension": T + "image",
}


def format_cases():
    out = []
    for name, path in FORMAT_SOURCES.items():
        for form in ["", "fit-in/100x100/"]:
            out.append(case(f"formats/{name}/{_slug(form)}", "formats", form + path))
    by_id = {c["id"]: c for c in out}
    by_id["formats/jpg/(none)"]["expect"] = {"status": 200, "content_type": "image/jpeg", "size": [300, 400],
                                            "cache_control": "max-age=86400,public"}
    by_id["formats/tif/(none)"]["expect"] = {"content_type": "image/png"}
    by_id["formats/jp2/(none)"]["expect"] = {"content_type": "image/jpeg"}
    by_id["formats/pal/(none)"]["expect"] = {"content_type": "image/png", "mode": "P"}
    by_id["formats/jpg-truncated-bluesquare/(none)"]["expect"] = {"status": 200}
    by_id["formats/jpg-invalid-quantization/(none)"]["expect"] = {"status": 200}
    return out


ANIMATIONS = {
    "animated": IMAGES["gif"],
    "one-frame": T + "animated-one-frame.gif",
    "small-full-colour": T + "SmallFullColourGIF.gif",
    "rotating-earth": T + "Rotating_earth_(large).gif",
    "loop-3": "sharp/animated-loop-3.gif",
    "rotating-squares": "sharp/rotating-squares.gif",
}


def animation_cases():
    out = []
    forms = ["", "50x50/", "fit-in/60x60/", "-x/", "10x10:60x60/", "full-fit-in/150x150/"]
    for name, path in ANIMATIONS.items():
        for form in forms:
            out.append(case(f"animation/{name}/{_slug(form)}", "animation", form + path))
    out.append(case("animation/animated/meta", "animation", "meta/" + IMAGES["gif"]))
    out.append(case("animation/rotating-earth/meta-100x100", "animation", "meta/100x100/" + ANIMATIONS["rotating-earth"]))
    by_id = {c["id"]: c for c in out}
    by_id["animation/animated/(none)"]["expect"] = {"status": 200, "content_type": "image/gif", "frames": 2,
                                                   "durations_zero": True}
    return out


ACCEPTS = {
    "none": None,
    "star": "*/*",
    "webp": "image/webp",
    "webp-browser": "image/webp,*/*;q=0.8",
    "webp-q0": "image/webp;q=0",
    "avif-webp": "image/avif,image/webp,image/apng,*/*;q=0.8",
    "png": "image/png",
    "html": "text/html",
    "upper-webp": "IMAGE/WEBP",
}


def negotiation_cases():
    out = []
    for img in ["jpg", "pal", "gif", "rgba"]:
        for aname, accept in ACCEPTS.items():
            hdrs = {"Accept": accept} if accept is not None else {}
            out.append(case(f"negotiation/webp/{img}/{aname}", "negotiation", "100x100/" + IMAGES[img],
                            profile="webp", headers=hdrs))
    extra = [
        ("one-frame-gif", "100x100/" + T + "animated-one-frame.gif", "image/webp"),
        ("format-png", "100x100/filters:format(png)/" + IMAGES["jpg"], "image/webp"),
        ("format-invalid", "100x100/filters:format(asdf)/" + IMAGES["jpg"], "image/webp"),
        ("format-jpeg", "100x100/filters:format(jpeg)/" + IMAGES["jpg"], "image/webp"),
        ("meta", "meta/100x100/" + IMAGES["jpg"], "image/webp"),
        ("error-404", "100x100/" + T + "missing.jpg", "image/webp"),
        ("16383-side", "fit-in/16383x1/" + T + "940x2.png", "image/webp"),
        ("tif", "100x100/" + IMAGES["tif"], "image/webp"),
        ("webp-source-no-accept", "100x100/" + IMAGES["webp"], ""),
    ]
    for name, p, accept in extra:
        out.append(case(f"negotiation/webp/extra/{name}", "negotiation", p, profile="webp",
                        headers={"Accept": accept}))
    for aname in ["webp", "webp-browser", "star"]:
        out.append(case(f"negotiation/default/jpg/{aname}", "negotiation", "100x100/" + IMAGES["jpg"],
                        headers={"Accept": ACCEPTS[aname]}))
    by_id = {c["id"]: c for c in out}
    by_id["negotiation/webp/jpg/webp-browser"]["expect"] = {"content_type": "image/webp", "vary": True}
    by_id["negotiation/webp/jpg/star"]["expect"] = {"content_type": "image/jpeg", "vary": True}
    by_id["negotiation/webp/jpg/webp-q0"]["expect"] = {"content_type": "image/webp"}
    by_id["negotiation/webp/gif/webp"]["expect"] = {"content_type": "image/gif", "vary": False}
    by_id["negotiation/webp/extra/format-png"]["expect"] = {"content_type": "image/png", "vary": False}
    by_id["negotiation/webp/extra/format-invalid"]["expect"] = {"vary": True}
    by_id["negotiation/default/jpg/webp"]["expect"] = {"content_type": "image/jpeg", "vary": False}
    return out


def _path_with_urlsafe_signature(path: str) -> str:
    """A variant of `path` (same image, same geometry) whose DEFAULT_KEY signature contains - or _,
    so that the standard-alphabet spelling really differs from the URL-safe one."""
    import base64
    import hashlib
    import hmac

    for n in range(200):
        p = path if n == 0 else path.replace("300x200/", f"300x200/{n}x{n}:{300 - n}x{400 - n}/", 1)
        sig = base64.urlsafe_b64encode(hmac.new(DEFAULT_KEY.encode(), p.encode(), hashlib.sha1).digest()).decode()
        if "-" in sig or "_" in sig:
            return p
    raise ValueError("no variant with a URL-safe-only signature character")


def error_cases():
    out = []

    def e(cid, p, **kw):
        out.append(case(f"errors/{cid}", "errors", p, **kw))

    e("missing-file", "300x200/" + T + "missing.jpg", expect={"status": 404})
    e("missing-dir", "300x200/nodir/image.jpg", expect={"status": 404})
    e("directory", "300x200/thumbor/images/", expect={"status": 404})
    e("invalid-1-byte", "300x200/" + T + "image_invalid.jpg", expect={"status": 400})
    e("invalid-1-byte-meta", "meta/" + T + "image_invalid.jpg")
    e("text-file-readme", "README.md")
    e("text-file-xml", "100x100/" + T + "qtables.xml")
    e("text-file-watermark", "thumbor/filters/watermark")
    e("truncated-bluesquare", "100x100/" + T + "BlueSquare_truncated.jpg", expect={"status": 200})
    e("truncated-jpg", "100x100/sharp/truncated.jpg")
    e("truncated-png", "100x100/sharp/truncated.png")
    e("corrupt-header-jpg", "100x100/sharp/corrupt-header.jpg")
    for name, p in [("16384x16384", T + "16384x16384.png"), ("16383x16383", T + "16383x16383.png"),
                    ("9643x10328", T + "9643x10328.jpg"), ("giant-image", "sharp/giant-image.jpg"),
                    ("65536-uint32", "sharp/65536-uint32-limit.png")]:
        e(f"bomb/{name}", p, expect={"status": 400})
        e(f"bomb/{name}/100x100", "100x100/" + p, expect={"status": 400})
        e(f"bomb/{name}/meta", "meta/" + p)
    # signatures
    img = "300x200/" + IMAGES["jpg"]
    e("sig/valid", img, expect={"status": 200})
    e("sig/bad", img, sign="bad", expect={"status": 400})
    e("sig/unpadded", img, sign="unpadded", expect={"status": 400})
    e("sig/pct3d", img, sign="pct3d", expect={"status": 200})
    e("sig/std-base64", _path_with_urlsafe_signature("300x200/" + IMAGES["jpg"]), sign="stdb64",
      expect={"status": 400})
    e("sig/garbage", img, sign="literal", signature="notasignature", expect={"status": 400})
    e("sig/empty-segment", "/" + "/" + img, sign="raw", expect={"status": 400})
    e("sig/unsafe-disabled", img, sign="unsafe", expect={"status": 400})
    e("sig/over-decoded-path", "300x200/" + T + "image%2Ejpg")
    # traversal
    e("traversal/dotdot", "300x200/../../etc/passwd", expect={"status": 404})
    e("traversal/dotdot-corpus-readme", "thumbor/../README.md")
    e("traversal/dotdot-inside-root", "300x200/thumbor/../" + IMAGES["jpg"])
    e("traversal/pct2e", "300x200/%2e%2e/%2e%2e/etc/passwd", expect={"status": 404})
    e("traversal/pct2f", "300x200/..%2f..%2fetc%2fpasswd", expect={"status": 404})
    e("traversal/absolute", "300x200//etc/passwd")
    e("traversal/double-encoded", "300x200/%252e%252e/%252e%252e/etc/passwd")
    # other hostile or odd
    e("nul-byte", "300x200/" + T + "image.jpg%00.png")
    e("very-long-name", "300x200/" + "a" * 3000 + ".jpg")
    e("cover-on-jpg-with-size", "100x100/filters:cover()/" + IMAGES["jpg"])
    e("frame-bad", "100x100/filters:frame(thumbor/images/image_invalid.jpg)/" + IMAGES["jpg"])
    e("watermark-bad", "100x100/filters:watermark(thumbor/images/image_invalid.jpg,0,0,0)/" + IMAGES["jpg"])
    return out


def signing_cases():
    out = []

    def s(cid, profile, path, **kw):
        out.append(case(f"signing/{cid}", "signing", path, profile=profile, **kw))

    # libthumbor vectors: the signature is given verbatim; the images do not exist -> 404
    s("libthumbor/300x200", "mykey", "300x200/my.server.com/some/path/to/image.jpg", sign="literal",
      signature="8ammJH8D-7tXy6kU3lTvoXlhu4o=", expect={"status": 404})
    s("libthumbor/crop", "mykey", "10x10:200x200/300x200/my.server.com/some/path/to/image.jpg", sign="literal",
      signature="B35oBEIwztbc3jm7vsdqLez2C78=", expect={"status": 404})
    s("libthumbor/filters", "mykey",
      "10x10:200x200/300x200/filters:brightness(20):contrast(10)/my.server.com/some/path/to/image.jpg",
      sign="literal", signature="as8U2DbUUtTMgvPF26LkjS3MocY=", expect={"status": 404})
    s("libthumbor/300x200-bad", "mykey", "300x200/my.server.com/some/path/to/image.jpg", sign="bad",
      expect={"status": 400})
    s("libthumbor/300x200-unpadded", "mykey", "300x200/my.server.com/some/path/to/image.jpg",
      sign="literal", signature="8ammJH8D-7tXy6kU3lTvoXlhu4o", expect={"status": 400})
    s("thumbor-url/upper-key", "mykey-upper", "200x300/myserver.com/myimg.jpg", sign="literal",
      signature="G_dykuWBGyEil5JnNh9cBke0Ajo=", expect={"status": 404})
    s("thumbor-url/upper-key-wrong-case", "mykey", "200x300/myserver.com/myimg.jpg", sign="literal",
      signature="G_dykuWBGyEil5JnNh9cBke0Ajo=", expect={"status": 400})
    # thumbor handler-test vectors (ACME-SEC, root = fixture images)
    s("acme/smart", "acme", "smart/image.jpg", sign="literal", signature="_wIUeSaeHw8dricKG2MGhqu5thk=",
      expect={"status": 200})
    s("acme/smart-pct3d", "acme", "smart/image.jpg", sign="literal", signature="_wIUeSaeHw8dricKG2MGhqu5thk%3D",
      expect={"status": 200})
    s("acme/unicode", "acme", "smart/alabama1_ap620%C3%A9.jpg", sign="literal",
      signature="lc6e3kkm_2Ww7NWho8HPOe-sqLU=", expect={"status": 200})
    s("acme/fill-blue", "acme", "filters:fill(blue)/image.jpg", sign="literal",
      signature="5YRxzS2yxZxj9SZ50SoZ11eIdDI=", expect={"status": 200})
    s("acme/meta-animated", "acme", "meta/animated.gif", sign="literal", signature="oGi9XL4nHJKGEKVHjHEp1Jg1KpM=",
      expect={"status": 200, "content_type": "application/json"})
    s("acme/animated", "acme", "animated.gif", sign="literal", signature="gTr2Xr9lbzIa2CT_dL_O0GByeR0=",
      expect={"status": 200, "content_type": "image/gif"})
    s("acme/hash-injection", "acme", "/_wIUeSaeHw8dricKG2MGhqu5thk=/sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg",
      sign="raw", expect={"status": 400})
    s("acme/hash-injection-pct3d", "acme",
      "/_wIUeSaeHw8dricKG2MGhqu5thk%3D/sma/_wIUeSaeHw8dricKG2MGhqu5thk%3D/rt/image.jpg",
      sign="raw", expect={"status": 400})
    s("acme/signature-of-other-url", "acme", "smart/animated.gif", sign="literal",
      signature="_wIUeSaeHw8dricKG2MGhqu5thk=", expect={"status": 400})
    s("acme/std-base64-alphabet", "acme", "/+wIUeSaeHw8dricKG2MGhqu5thk=/smart/image.jpg", sign="raw",
      expect={"status": 400})
    s("acme/unpadded", "acme", "smart/image.jpg", sign="literal", signature="_wIUeSaeHw8dricKG2MGhqu5thk",
      expect={"status": 400})
    s("acme/unicode-decoded-signed", "acme", "smart/alabama1_ap620%C3%A9.jpg", sign="literal",
      signature="lc6e3kkm_2Ww7NWho8HPOe-sqLU%3D", expect={"status": 200})
    s("acme/unsafe", "acme", "smart/image.jpg", sign="unsafe", expect={"status": 400})
    s("acme/runner-signed", "acme", "100x100/image.jpg", expect={"status": 200})
    s("acme/runner-signed-unicode", "acme", "100x100/alabama1_ap620%C3%A9.jpg", expect={"status": 200})
    s("acme/runner-signed-cyrillic", "acme",
      "100x100/15967251_212831_19242645_%D0%90%D0%B3%D0%B0%D1%82%D0%B0%D0%B2%D0%97%D0%BE%D0%BE%D0%BF%D0%B0"
      "%D1%80%D0%BA%D0%B5.jpg", expect={"status": 200})
    s("acme/trailing-slash-sig", "acme", "/_wIUeSaeHw8dricKG2MGhqu5thk=//smart/image.jpg", sign="raw",
      expect={"status": 400})
    s("acme/lowercased-signature", "acme", "smart/image.jpg", sign="literal",
      signature="_wiueSaeHw8dricKG2MGhqu5thk=", expect={"status": 400})
    return out


def names_cases():
    out = []
    names = {
        "no-extension": ("image", 200),
        "space-encoded": ("image%20.jpg", 200),
        "literal-pct20": ("image%20space.jpg", 200),
        "literal-pct20-double-encoded": ("image%2520space.jpg", 200),
        "literal-pct20-trailing": ("image2%20.jpg", 200),
        "literal-query": ("image.jpg%3Fts%3D1", 200),
        "literal-hash": ("image.jpg%23something", 200),
        "alabama-pct": ("alabama1_ap620%C3%A9.jpg", 200),
        "alabama-double-encoded": ("alabama1_ap620%25C3%25A9.jpg", 200),
        "cyrillic-pct": ("15967251_212831_19242645_%D0%90%D0%B3%D0%B0%D1%82%D0%B0%D0%B2%D0%97%D0%BE%D0%BE"
                         "%D0%BF%D0%B0%D1%80%D0%BA%D0%B5.jpg", 200),
        "maracuja-absent": ("maracuj%C3%A1.jpg", 404),
        "encoded-dot": ("image%2Ejpg", 200),
        "comma-encoded": ("Giunchedi%2C_Filippo_January_2015_01.jpg", 200),
        "comma-literal": ("Giunchedi,_Filippo_January_2015_01.jpg", 200),
        "comma-double-encoded": ("Giunchedi%252C_Filippo_January_2015_01.jpg", 200),
        "parentheses": ("Rotating_earth_%28large%29.gif", 200),
        "parentheses-literal": ("Rotating_earth_(large).gif", 200),
        "plus-not-space": ("image+.jpg", 404),
        "space-as-plus-missing": ("image+space.jpg", 404),
    }
    for cid, (name, status) in names.items():
        out.append(case(f"names/{cid}", "names", "50x50/" + T + name, expect={"status": status}))
    out.append(case("names/encoded-slashes", "names", "50x50/thumbor%2Fimages%2Fimage.jpg"))
    out.append(case("names/query-literal", "names", "50x50/" + T + "image.jpg", query="ts=1",
                    expect={"status": 200}))
    return out


def limits_cases():
    out = []
    imgs = {
        "jpg": IMAGES["jpg"],
        "gray": IMAGES["gray"],
        "giu": IMAGES["giu"],
        "weird": T + "weird_normalize_error.jpg",
        "1bit": IMAGES["1bit"],
        "gif": IMAGES["gif"],
    }
    forms = ["", "200x200/", "1000x0/", "10x10:110x60/", "fit-in/500x500/", "orig x orig".replace(" ", "") + "/"]
    for name, p in imgs.items():
        for form in forms:
            out.append(case(f"limits/maxdim/{name}/{_slug(form)}", "limits", form + p, profile="maxdim"))
        out.append(case(f"limits/maxdim/{name}/meta", "limits", "meta/" + p, profile="maxdim"))
        out.append(case(f"limits/maxdim/{name}/meta-crop", "limits", "meta/10x10:110x60/" + p, profile="maxdim"))
    for name, p, status in [("jpg-over", IMAGES["jpg"], 400), ("gray-under", IMAGES["gray"], 200),
                            ("giu-over", IMAGES["giu"], 400), ("gif-under", IMAGES["gif"], 200),
                            ("1x1", T + "1x1.png", 200), ("pal-under", IMAGES["pal"], 200)]:
        kw = {"expect": {"status": status}} if status else {}
        out.append(case(f"limits/maxpixels/{name}", "limits", "100x100/" + p, profile="maxpixels", **kw))
    return out


def build_cases() -> list[dict]:
    cases = (
        grammar_cases()
        + http_cases()
        + geometry_cases()
        + meta_cases()
        + filter_cases()
        + orientation_cases()
        + format_cases()
        + animation_cases()
        + negotiation_cases()
        + error_cases()
        + signing_cases()
        + names_cases()
        + limits_cases()
    )
    seen = set()
    for c in cases:
        if c["id"] in seen:
            raise ValueError(f"duplicate case id {c['id']}")
        seen.add(c["id"])
        if c["profile"] not in PROFILES:
            raise ValueError(f"{c['id']}: unknown profile {c['profile']}")
    return cases


# spec §2.2: (key, signed string, signature); checked against the runner's signer at start-up
SIGNATURE_VECTORS = [
    ("my-security-key", "300x200/my.server.com/some/path/to/image.jpg", "8ammJH8D-7tXy6kU3lTvoXlhu4o="),
    ("my-security-key", "10x10:200x200/300x200/my.server.com/some/path/to/image.jpg",
     "B35oBEIwztbc3jm7vsdqLez2C78="),
    ("my-security-key",
     "10x10:200x200/300x200/filters:brightness(20):contrast(10)/my.server.com/some/path/to/image.jpg",
     "as8U2DbUUtTMgvPF26LkjS3MocY="),
    ("ACME-SEC", "smart/image.jpg", "_wIUeSaeHw8dricKG2MGhqu5thk="),
    ("ACME-SEC", "smart/alabama1_ap620%C3%A9.jpg", "lc6e3kkm_2Ww7NWho8HPOe-sqLU="),
    ("ACME-SEC", "filters:fill(blue)/image.jpg", "5YRxzS2yxZxj9SZ50SoZ11eIdDI="),
    ("ACME-SEC", "meta/animated.gif", "oGi9XL4nHJKGEKVHjHEp1Jg1KpM="),
    ("ACME-SEC", "animated.gif", "gTr2Xr9lbzIa2CT_dL_O0GByeR0="),
    ("MY-SECURITY-KEY", "200x300/myserver.com/myimg.jpg", "G_dykuWBGyEil5JnNh9cBke0Ajo="),
]


if __name__ == "__main__":
    import collections

    all_cases = build_cases()
    print(len(all_cases), "cases")
    for cat, n in collections.Counter(c["category"] for c in all_cases).items():
        print(f"  {cat}: {n}")
