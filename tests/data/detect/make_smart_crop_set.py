"""Makes the smart-crop comparison set in tests/data/detect/smart/ (compat/detectors.py reads it).

Run once with compat/.venv's Python (Pillow and OpenCV from `thumbor[opencv]`); the images are
committed, so nothing runs this in CI. Its sources are in the repository's corpus
(tests/data/corpus, the default; another corpus with the same layout may be named):

    compat/.venv/bin/python tests/data/detect/make_smart_crop_set.py [CORPUS]

From each of four portraits (faces roughly centred) it makes the cases a centre crop gets wrong:
the face near the left and the right edge (a crop and its mirror), the portrait beside a blurred
scene (face off-centre in a wide picture, both ways round), and the portrait small in a wide
scene. Photos without faces are taken as they are, at most 1000 px wide. The face positions the
placement uses come from OpenCV's cascade, called as Thumbor calls it.
"""

import os
import sys

import cv2
from PIL import Image, ImageFilter, ImageOps

PORTRAITS = {
    # name: path under the corpus (all 800x533, Wikimedia Commons, CC BY-SA; see README.md)
    "maher": "thumbor/filters/source.jpg",
    "giunchedi": "thumbor/images/Giunchedi%2C_Filippo_January_2015_01.jpg",
    "henner": "thumbor/filters/800px-Christophe_Henner_-_June_2016.jpg",
    "guido": "thumbor/filters/800px-Guido-portrait-2014.jpg",
}
SCENES = ["sharp/Landscape_1.jpg", "sharp/flowers.jpeg", "sharp/Landscape_1.jpg", "sharp/flowers.jpeg"]
NO_FACES = {
    "waterfall": "sharp/Landscape_1.jpg",
    "dice": "thumbor/filters/PNG_transparency_demonstration_1.png",
    "saw": "sharp/2569067123_aca715a2ee_o.jpg",
    "concert": "sharp/concert.jpg",
    "balloons": "thumbor/images/weird_normalize_error.jpg",
}
CASCADE = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_alt.xml")


def face_of(image: Image.Image) -> tuple[int, int, int, int]:
    gray = cv2.cvtColor(cv2.imread(image.filename), cv2.COLOR_BGR2GRAY) if hasattr(image, "filename") else None
    minimum = max(20, min(image.size) // 15)
    faces = cv2.CascadeClassifier(CASCADE).detectMultiScale(gray, 1.2, 4, minSize=(minimum, minimum))
    left, top, width, height = max(faces, key=lambda f: f[2] * f[3])
    return int(left), int(top), int(width), int(height)


def scene(path: str, size: tuple[int, int]) -> Image.Image:
    picture = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    return ImageOps.fit(picture, size, Image.LANCZOS).filter(ImageFilter.GaussianBlur(6))


def save(image: Image.Image, name: str, out: str) -> None:
    image.save(os.path.join(out, name + ".jpg"), quality=88)


def main(corpus: str) -> None:
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smart")
    os.makedirs(out, exist_ok=True)
    for index, (name, relative) in enumerate(PORTRAITS.items()):
        portrait = Image.open(os.path.join(corpus, relative))
        left, top, width, height = face_of(portrait)
        portrait = portrait.convert("RGB")
        w, h = portrait.size
        centre = left + width // 2
        save(portrait, f"{name}", out)
        # The face's centre about 1.2 face widths from the left edge, 520 px wide.
        start = max(0, centre - int(width * 1.2))
        edge = portrait.crop((start, 0, min(w, start + 520), h))
        save(edge, f"{name}_edge_left", out)
        save(ImageOps.mirror(edge), f"{name}_edge_right", out)
        # Beside a blurred scene: 1400 px wide, the portrait at one end.
        wide = scene(os.path.join(corpus, SCENES[index]), (1400, h))
        wide.paste(portrait, (0, 0))
        save(wide, f"{name}_beside_scene", out)
        save(ImageOps.mirror(wide), f"{name}_beside_scene_mirror", out)
        # Small in a wide scene: the portrait at 45 % in a 1800x600 scene, off to the right.
        small = portrait.resize((int(w * 0.45), int(h * 0.45)), Image.LANCZOS)
        wide = scene(os.path.join(corpus, SCENES[-1 - index]), (1800, 600))
        wide.paste(small, (1800 - small.width - 60, 600 - small.height - 40))
        save(wide, f"{name}_small_in_scene", out)
    for name, relative in NO_FACES.items():
        picture = ImageOps.exif_transpose(Image.open(os.path.join(corpus, relative))).convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture).convert("RGB")
        if picture.width > 1000:
            picture = picture.resize((1000, round(picture.height * 1000 / picture.width)), Image.LANCZOS)
        save(picture, f"noface_{name}", out)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "corpus"))
