#!/usr/bin/env python3
"""Makes the HEIC test files of this folder (see README.md) with libheif's `heif-enc` (Debian
bookworm's libheif-examples 1.15, x265 encoder) and Pillow (for the source pictures).

heif-enc 1.15 writes neither grids nor `irot`, so the iPhone-style file is assembled here: each
tile is encoded by heif-enc on its own, and its coded data and `hvcC` are put into a new file with
a `grid` item, an `irot` rotation, the tiles' ICC profile and an Exif item, as an iPhone writes
them. The same assembler writes `huge-grid.heic`, a grid that declares 30000x30000 pixels
over four small tiles (a MAX_PIXELS test: refused from the header, never decoded).

    python3 tests/data/formats/make_heic.py /path/to/corpus   # needs Pillow, heif-enc
"""

import os
import struct
import subprocess
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def children(data: bytes):
    """(type, payload) of each box in `data` (32-bit sizes only: what heif-enc writes)."""
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        yield kind, data[at + 8:at + size]
        at += size


def child(data: bytes, kind: bytes, skip: int = 0) -> bytes:
    return next(payload for k, payload in children(data[skip:]) if k == kind)


def encoded_tile(heic: bytes):
    """The coded data, the whole `hvcC` box and the `colr` box (or None) of heif-enc's file
    of one image (item 1 in one extent; iloc with 4-byte offsets and lengths)."""
    meta = child(heic, b"meta")[4:]
    ipco = child(child(meta, b"iprp"), b"ipco")
    boxes = {k: box(k, p) for k, p in children(ipco)}
    iloc = child(meta, b"iloc")
    version = iloc[0]
    assert iloc[4] == 0x44 and iloc[5] >> 4 in (0, 4) and iloc[5] & 15 == 0, iloc[4:6].hex()
    base_size = iloc[5] >> 4
    at = 6
    count = struct.unpack(">H", iloc[at:at + 2])[0]
    at += 2
    for _ in range(count):
        item_id = struct.unpack(">H", iloc[at:at + 2])[0]
        at += 2 + (2 if version in (1, 2) else 0) + 2  # construction method, data reference
        base = struct.unpack(">I", iloc[at:at + 4])[0] if base_size else 0
        at += base_size
        extents = struct.unpack(">H", iloc[at:at + 2])[0]
        at += 2
        offset, length = struct.unpack(">II", iloc[at:at + 8])
        at += 8 * extents
        if item_id == 1:
            assert extents == 1
            return heic[base + offset:base + offset + length], boxes[b"hvcC"], boxes.get(b"colr")
    raise ValueError("no item 1")


def heif_enc(image: Image.Image, work: str, *options: str) -> bytes:
    png = os.path.join(work, "tile.png")
    out = os.path.join(work, "tile.heic")
    image.save(png, icc_profile=image.info.get("icc_profile"))
    subprocess.run(["heif-enc", *options, png, "-o", out], check=True, capture_output=True)
    with open(out, "rb") as f:
        return f.read()


def exif_with_orientation(orientation: int) -> bytes:
    """An Exif item's data: the 4-byte offset to the TIFF header, then a big-endian TIFF with
    one IFD holding only Orientation."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    tiff += struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(">I", 0)
    return struct.pack(">I", 0) + tiff


def grid_file(tiles, columns: int, rows: int, width: int, height: int, tile_size: int,
              irot: int = 0, exif: bytes = b"") -> bytes:
    """A HEIC whose primary item is a `grid` of `tiles` (encoded_tile results, row by row)."""
    grid_id = 1
    tile_ids = list(range(2, 2 + len(tiles)))
    exif_id = 2 + len(tiles) if exif else None
    ftyp = box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heicmiaf")
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I", 0) + b"pict" + bytes(12) + b"\0")
    pitm = full_box(b"pitm", 0, 0, struct.pack(">H", grid_id))

    def infe(item_id: int, kind: bytes, hidden: bool) -> bytes:
        return full_box(b"infe", 2, 1 if hidden else 0, struct.pack(">HH", item_id, 0) + kind + b"\0")

    entries = [infe(grid_id, b"grid", False)] + [infe(i, b"hvc1", True) for i in tile_ids]
    if exif_id:
        entries.append(infe(exif_id, b"Exif", False))
    iinf = full_box(b"iinf", 0, 0, struct.pack(">H", len(entries)) + b"".join(entries))
    refs = box(b"dimg", struct.pack(">HH", grid_id, len(tile_ids)) + b"".join(struct.pack(">H", i) for i in tile_ids))
    if exif_id:
        refs += box(b"cdsc", struct.pack(">HHH", exif_id, 1, grid_id))
    iref = full_box(b"iref", 0, 0, refs)

    # Properties: one hvcC per tile, the tiles' ispe, the grid's ispe, its colr and irot.
    properties = [hvcc for _, hvcc, _ in tiles]
    properties.append(full_box(b"ispe", 0, 0, struct.pack(">II", tile_size, tile_size)))
    tile_ispe = len(properties)
    properties.append(full_box(b"ispe", 0, 0, struct.pack(">II", width, height)))
    grid_ispe = len(properties)
    grid_properties = [(grid_ispe, False)]
    colr = tiles[0][2]
    if colr:
        properties.append(colr)
        colr_index = len(properties)
        grid_properties.append((colr_index, True))
    if irot:
        properties.append(box(b"irot", bytes([irot & 3])))
        grid_properties.append((len(properties), True))
    ipco = box(b"ipco", b"".join(properties))
    associations = [(grid_id, grid_properties)]
    for n, tile_id in enumerate(tile_ids):
        tile_properties = [(n + 1, True), (tile_ispe, False)]
        if colr:
            tile_properties.append((colr_index, True))
        associations.append((tile_id, tile_properties))
    ipma_payload = struct.pack(">I", len(associations))
    for item_id, props in associations:
        ipma_payload += struct.pack(">HB", item_id, len(props))
        ipma_payload += bytes((0x80 if essential else 0) | index for index, essential in props)
    iprp = box(b"iprp", ipco + full_box(b"ipma", 0, 0, ipma_payload))

    grid_data = struct.pack(">BBBBHH", 0, 0, rows - 1, columns - 1, width, height)
    items = [(grid_id, grid_data)] + [(i, t[0]) for i, t in zip(tile_ids, tiles)]
    if exif_id:
        items.append((exif_id, exif))

    def meta_with(offsets) -> bytes:
        iloc_payload = bytes([0x44, 0x00]) + struct.pack(">H", len(items))
        for (item_id, data), offset in zip(items, offsets):
            iloc_payload += struct.pack(">HHHII", item_id, 0, 1, offset, len(data))
        iloc = full_box(b"iloc", 0, 0, iloc_payload)
        return full_box(b"meta", 0, 0, hdlr + pitm + iloc + iinf + iref + iprp)

    head = len(ftyp) + len(meta_with([0] * len(items))) + 8
    offsets, at = [], head
    for _, data in items:
        offsets.append(at)
        at += len(data)
    mdat = box(b"mdat", b"".join(data for _, data in items))
    return ftyp + meta_with(offsets) + mdat


def quadrants(width: int, height: int) -> Image.Image:
    """Red, green, blue and white quadrants (top-left, top-right, bottom-left, bottom-right),
    each with a soft diagonal gradient so the reference check has texture to compare."""
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            shade = (x + y) % 64
            top, left = y < height // 2, x < width // 2
            if top and left:
                pixels[x, y] = (200 + shade // 2, shade, shade)
            elif top:
                pixels[x, y] = (shade, 170 + shade, shade)
            elif left:
                pixels[x, y] = (shade, shade, 190 + shade)
            else:
                pixels[x, y] = (220 + shade // 2, 220 + shade // 2, 220 + shade // 2)
    return image


def main() -> int:
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "corpus")
    with tempfile.TemporaryDirectory() as work:
        # iPhone-style: 3x2 tiles of 256 holding 720x480 (the last column and row cropped by the
        # grid), Display P3 profile, stored landscape with irot 3 (90 degrees clockwise) and
        # EXIF orientation 6 saying the same: displayed 480x720, and rotated once only.
        p3_icc = Image.open(os.path.join(corpus, "sharp", "p3.png")).info["icc_profile"]
        picture = quadrants(768, 512).crop((0, 0, 720, 480))
        canvas = Image.new("RGB", (768, 512))
        canvas.paste(picture)
        tiles = []
        for row in range(2):
            for column in range(3):
                tile = canvas.crop((column * 256, row * 256, column * 256 + 256, row * 256 + 256))
                tile.info["icc_profile"] = p3_icc
                tiles.append(encoded_tile(heif_enc(tile, work, "-q", "60")))
        with open(os.path.join(HERE, "grid-irot-exif6.heic"), "wb") as f:
            f.write(grid_file(tiles, 3, 2, 720, 480, 256, irot=3, exif=exif_with_orientation(6)))

        # 30000x30000 declared over four 256x256 tiles.
        small = quadrants(256, 256)
        tile = encoded_tile(heif_enc(small, work, "-q", "30"))
        with open(os.path.join(HERE, "huge-grid.heic"), "wb") as f:
            f.write(grid_file([tile] * 4, 2, 2, 30000, 30000, 256))

        # Alpha: the watermark (straight alpha, 30x30).
        watermark = Image.open(os.path.join(corpus, "thumbor", "images", "watermark.png")).convert("RGBA")
        with open(os.path.join(HERE, "watermark-alpha.heic"), "wb") as f:
            f.write(heif_enc(watermark, work, "-q", "90"))

        # 10-bit: heif-enc writes 10 bits from a 16-bit PNG (its default -b 10).
        flag = Image.open(os.path.join(corpus, "sharp", "Flag_of_the_Netherlands-16bit.png"))
        flag_png = os.path.join(work, "flag.png")
        with open(os.path.join(corpus, "sharp", "Flag_of_the_Netherlands-16bit.png"), "rb") as src, \
                open(flag_png, "wb") as dst:
            dst.write(src.read())
        out = os.path.join(work, "flag.heic")
        subprocess.run(["heif-enc", "-q", "50", "-b", "10", flag_png, "-o", out], check=True, capture_output=True)
        assert flag.size == (900, 600)
        with open(out, "rb") as src, open(os.path.join(HERE, "flag-10bit.heic"), "wb") as dst:
            dst.write(src.read())

        # The decode benches' photo, beside the JPEG, PNG and JPEG XL of the same picture.
        photo = Image.open(os.path.join(corpus, "thumbor", "images", "Giunchedi%2C_Filippo_January_2015_01.png"))
        with open(os.path.join(HERE, "giunchedi.heic"), "wb") as f:
            f.write(heif_enc(photo.convert("RGB"), work, "-q", "50"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
