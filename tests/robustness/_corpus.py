"""Seeded generators of malformed (and valid-but-odd) inputs for tests/robustness/test_fuzz.py.

Every generator takes a numpy Generator and returns a list of `Case`s: a file name, its bytes and what
must happen (`bad`: one clear error naming the file; `odd`: decoded and predicted, with the shape it must
have after EXIF rotation). Nothing here imports TensorFlow.
"""

import dataclasses
import functools
import io
import json
import pickle
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image

IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "WEBP": ".webp", "TIFF": ".tiff"}
MAGIC = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff\xe0", "GIF": b"GIF89a", "BMP": b"BM",
         "WEBP": b"RIFF\x00\x01\x00\x00WEBPVP8 ", "TIFF": b"II*\x00"}


@dataclasses.dataclass
class Case:
    name: str
    data: bytes
    kind: str = "bad"            # "bad": one clear error; "odd": valid, must predict
    why: str = ""                # what is wrong (for assertion messages)
    shape: tuple = None          # odd images: (H, W) after EXIF rotation, as load_image must return it


def _rgb(rng, w=40, h=30):
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _encode(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


# --------------------------------------------------------------------------- huge headers

def _png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_claiming(w, h):
    """A small PNG whose IHDR claims w x h RGB pixels (its IDAT holds almost nothing)."""
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


def gif_claiming(w, h):
    return (b"GIF89a" + struct.pack("<HHBBB", w, h, 0, 0, 0) + b"," + struct.pack("<HHHHB", 0, 0, w, h, 0)
            + b"\x02\x02\x44\x01\x00;")


def bmp_claiming(w, h):
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + b"\0" * 16


def jpeg_claiming(w, h):
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, h, w, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11" + b"\x00\x3f\x00"
    return b"\xff\xd8" + sof + sos + b"\x00" * 32 + b"\xff\xd9"


def tiff_claiming(w, h):
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8),
               (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def webp_claiming(w, h):
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


HUGE = {"PNG": png_claiming, "GIF": gif_claiming, "BMP": bmp_claiming, "JPEG": jpeg_claiming,
        "TIFF": tiff_claiming, "WEBP": webp_claiming}


# --------------------------------------------------------------------------- hostile containers (issue 22)

@functools.lru_cache(maxsize=2)
def big_png(w=12000, h=12000):
    """A real w x h RGB PNG of zeros (12000x12000: 420 KB that decode to 432 MB), written row by row."""
    co = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * w)
    idat = b"".join(co.compress(row) for _ in range(h)) + co.flush()
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))


def lying_ico(png, claim=16):
    """An ICO whose directory says claim x claim but whose one image is `png` (Pillow decodes it in Image.open)."""
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", claim, claim, 0, 0, 1, 32, len(png), 22) + png


def lying_icns(png, icon=b"ic09"):
    """An ICNS whose one icon's type says 512x512 (ic09) but whose PNG is `png` (Pillow decodes it in load())."""
    entry = icon + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


def _patch_tiff_page(data, page, w, h):
    """A little-endian TIFF with page `page`'s ImageWidth / ImageLength set to w, h (its strips unchanged)."""
    data = bytearray(data)
    offset = struct.unpack_from("<I", data, 4)[0]
    for _ in range(page):
        n = struct.unpack_from("<H", data, offset)[0]
        offset = struct.unpack_from("<I", data, offset + 2 + 12 * n)[0]
    n = struct.unpack_from("<H", data, offset)[0]
    for i in range(n):
        at = offset + 2 + 12 * i
        tag, typ = struct.unpack_from("<HH", data, at)
        if tag in (256, 257):
            struct.pack_into("<H" if typ == 3 else "<I", data, at + 8, w if tag == 256 else h)
    return bytes(data)


def _patch_sof(data, index, w, h):
    """A JPEG stream (MPO: several) with its `index`-th SOF0 frame header set to w x h."""
    at, data = -1, bytearray(data)
    for _ in range(index + 1):
        at = data.index(b"\xff\xc0", at + 1)
    struct.pack_into(">HH", data, at + 5, h, w)
    return bytes(data)


def _gif_frame(w, h):
    return b"," + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x02\x02\x44\x01\x00"


def hostile_images():
    """Containers whose header says small but which hold (or would decode) a 12000x12000 image: refused when
    it is the frame decoded (the first), decoded fine when only a later frame is huge (never decoded)."""
    small = Image.new("RGB", (16, 16), (200, 30, 30))
    other = Image.new("RGB", (16, 16), (30, 30, 200))
    tiff = _encode(small, "TIFF", save_all=True, append_images=[other])
    mpo = _encode(small, "MPO", save_all=True, append_images=[other])
    gif = _encode(small, "GIF")
    screen = b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0, 0, 0)
    big = "12000x12000 = 144 MP"
    return [
        Case("lying.ico", lying_ico(big_png()), why=f"ICO directory says 16x16, its PNG is {big}"),
        Case("lying.icns", lying_icns(big_png()), why=f"ICNS icon type says 512x512, its PNG is {big}"),
        Case("huge-first-frame.gif", screen + _gif_frame(12000, 12000) + b";", why=f"16x16 screen, first frame {big}"),
        Case("huge-first-page.tiff", _patch_tiff_page(tiff, 0, 12000, 12000), why=f"first TIFF page {big}"),
        Case("huge-first-frame.mpo", _patch_sof(mpo, 0, 12000, 12000), why=f"first MPO frame {big}"),
        Case("huge-second-page.tiff", _patch_tiff_page(tiff, 1, 12000, 12000), kind="odd", shape=(16, 16),
             why="second page huge, never decoded"),
        Case("huge-second-frame.mpo", _patch_sof(mpo, 1, 12000, 12000), kind="odd", shape=(16, 16),
             why="second frame huge, never decoded"),
        Case("huge-second-frame.gif", gif[:-1] + _gif_frame(12000, 12000) + b";", kind="odd", shape=(16, 16),
             why="second frame huge, never decoded"),
    ]


class _Amplify:
    """Pickles as numpy's _reconstruct(ndarray, (n,), b'b'): an n-byte array from a 100-byte file, unchecked."""

    def __init__(self, n):
        self.n = n

    def __reduce__(self):
        return np.ndarray.__reduce__(np.zeros(1, np.uint8))[0], (np.ndarray, (self.n,), b"b")


def amplifying_cifar_batch(n=1_540_000_000 // 6):
    """The audit's batch: a dict whose b'data' _reconstruct asks for n bytes (six of them: 1.54 GB)."""
    return pickle.dumps({b"data": _Amplify(n), b"labels": [0]}, protocol=2)


# --------------------------------------------------------------------------- images

def bad_images(rng, truncations=10, junk=6):
    """Truncated files, random bytes behind real magic numbers, huge headers, empty files, wrong extensions."""
    cases = []
    for fmt, ext in IMAGE_FORMATS.items():
        data = _encode(_rgb(rng), fmt)
        for i in range(truncations):
            cut = int(rng.integers(1, len(data) - 1))
            cases.append(Case(f"trunc{i}-{fmt.lower()}{ext}", data[:cut], why=f"{fmt} truncated at {cut}/{len(data)}"))
        for i in range(junk):
            body = rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8).tobytes()
            cases.append(Case(f"junk{i}-{fmt.lower()}{ext}", MAGIC[fmt] + body, why=f"random bytes behind {fmt} magic"))
        cases.append(Case(f"empty{ext}", b"", why="0 bytes"))
    for fmt, make in HUGE.items():
        big = (16384, 16384) if fmt == "WEBP" else (65500, 65500) if fmt in ("GIF", "JPEG") else (100000, 100000)
        ext = IMAGE_FORMATS[fmt]
        cases.append(Case(f"bomb-{fmt.lower()}{ext}", make(*big), why=f"header claims {big[0]}x{big[1]}"))
        # between this package's limit and PIL's own: PIL alone would try to decode it
        cases.append(Case(f"large-{fmt.lower()}{ext}", make(8000, 8000), why="header claims 8000x8000 (64 MP)"))
    cases += [
        Case("text.png", b"hello, I am not an image\n", why="text named .png"),
        Case("json.jpg", json.dumps({"a": 1}).encode(), why="JSON named .jpg"),
        Case("zip.gif", _zip({"x": b"y"}), why="a zip named .gif"),
        Case("npz.bmp", _npz(x=np.zeros(3)), why="an .npz named .bmp"),
        Case("html.webp", b"<html><body>hi</body></html>", why="HTML named .webp"),
        Case("noext", bytes(rng.integers(0, 256, 200, dtype=np.uint8)), why="random bytes, no extension"),
        Case("svg.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', why="SVG"),
    ]
    return cases


def odd_images(rng):
    """Valid images in awkward modes: all must decode and predict (EXIF orientation applied)."""
    im = _rgb(rng)
    frames = [_rgb(rng) for _ in range(3)]
    palette = im.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    gray16 = Image.fromarray(rng.integers(0, 65536, (30, 40)).astype(np.uint16))
    cases = [
        Case("anim.gif", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)),
        Case("anim.png", _encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50)),
        Case("anim.webp", _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)),
        Case("gray16.png", _encode(gray16, "PNG")),
        Case("gray16.tiff", _encode(gray16, "TIFF")),
        Case("float.tiff", _encode(Image.fromarray(rng.random((30, 40)).astype(np.float32)), "TIFF")),
        Case("cmyk.jpg", _encode(im.convert("CMYK"), "JPEG")),
        Case("cmyk.tiff", _encode(im.convert("CMYK"), "TIFF")),
        Case("onebit.png", _encode(im.convert("1"), "PNG")),
        Case("onebit.bmp", _encode(im.convert("1"), "BMP")),
        Case("palette-transparent.png", _encode(palette, "PNG", transparency=0)),
        Case("palette-transparent.gif", _encode(palette, "GIF", transparency=0)),
        Case("gray-alpha.png", _encode(im.convert("LA"), "PNG")),
        Case("rgba.webp", _encode(im.convert("RGBA"), "WEBP")),
        Case("ycbcr.jpg", _encode(im, "JPEG", subsampling=2)),
        Case("png-named.jpg", _encode(im, "PNG")),                    # wrong extension, valid content
        Case("tiny-1x1.png", _encode(_rgb(rng, 1, 1), "PNG")),
        Case("wide-300x2.png", _encode(_rgb(rng, 300, 2), "PNG")),
    ]
    for c in cases:
        c.kind, c.shape = "odd", None
    # EXIF orientation 1..8 on a 40 x 20 (w x h) JPEG: 5-8 swap width and height
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        shape = (40, 20) if orientation >= 5 else (20, 40)
        cases.append(Case(f"exif{orientation}.jpg", _encode(_rgb(rng, 40, 20), "JPEG", exif=exif.tobytes()),
                          kind="odd", shape=shape))
    return cases


# --------------------------------------------------------------------------- model files

def _zip(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return b.getvalue()


def _npz(**arrays):
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def corrupt_keras_files(rng, good, n_trunc=4):
    """A valid .keras (bytes) made invalid: truncated, flipped bytes, members missing or garbage."""
    cases = []
    for i in range(n_trunc):
        cut = int(rng.integers(1, len(good) - 1))
        cases.append(Case(f"trunc{i}.keras", good[:cut], why=f".keras truncated at {cut}/{len(good)}"))
    flipped = bytearray(good)
    for pos in rng.integers(len(good) // 4, len(good) - 100, 40):
        flipped[pos] ^= 0xFF
    cases.append(Case("flipped.keras", bytes(flipped), why="bytes flipped inside the archive"))
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    cases.append(Case("no-config.keras", _zip({k: v for k, v in members.items() if k != "config.json"}),
                      why="config.json missing"))
    cases.append(Case("bad-config.keras", _zip({**members, "config.json": b"{not json"}), why="config.json not JSON"))
    cases.append(Case("no-weights.keras", _zip({k: v for k, v in members.items() if not k.endswith(".h5")}),
                      why="model.weights.h5 missing"))
    cases.append(Case("garbage-weights.keras", _zip({**members, "model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 64}),
                      why="model.weights.h5 garbage"))
    cases.append(Case("empty.keras", b"", why="0 bytes"))
    cases.append(Case("text.keras", b"not a keras file", why="text"))
    return cases


def corrupt_tflite_files(rng, good, n_trunc=4):
    cases = []
    for i in range(n_trunc):
        cut = int(rng.integers(1, len(good) - 1))
        cases.append(Case(f"trunc{i}.tflite", good[:cut], why=f".tflite truncated at {cut}/{len(good)}"))
    cases.append(Case("junk-id.tflite", b"\x1c\x00\x00\x00TFL3" + bytes(rng.integers(0, 256, 500, dtype=np.uint8)),
                      why="random bytes behind the TFL3 identifier"))
    cases.append(Case("empty.tflite", b"", why="0 bytes"))
    cases.append(Case("zeros.tflite", b"\0" * 256, why="zeros"))
    return cases


def corrupt_weights_files(rng, good, n_trunc=3):
    cases = []
    for i in range(n_trunc):
        cut = int(rng.integers(1, len(good) - 1))
        cases.append(Case(f"trunc{i}.weights.h5", good[:cut], why=f".weights.h5 truncated at {cut}/{len(good)}"))
    cases.append(Case("junk.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)),
                      why="random bytes behind the HDF5 signature"))
    cases.append(Case("empty.weights.h5", b"", why="0 bytes"))
    return cases


def bad_cards(card):
    """model_card.json variants: not JSON, not an object, fields missing or of the wrong type."""
    drop = lambda *keys: {k: v for k, v in card.items() if k not in keys}  # noqa: E731
    return [
        Case("notjson", b"{this is not json", why="not JSON"),
        Case("empty", b"", why="0 bytes"),
        Case("list", b"[1, 2, 3]", why="a JSON list"),
        Case("binary", bytes(range(256)), why="binary"),
        Case("no-class-names", json.dumps(drop("class_names")).encode(), why="class_names missing"),
        Case("no-input-shape", json.dumps(drop("input_shape")).encode(), why="input_shape missing"),
        Case("shape-string", json.dumps({**card, "input_shape": "32x32x3"}).encode(), why="input_shape a string"),
        Case("shape-4ch", json.dumps({**card, "input_shape": [16, 16, 4]}).encode(), why="4 channels"),
        Case("names-not-list", json.dumps({**card, "class_names": "cat"}).encode(), why="class_names a string"),
        Case("names-count", json.dumps({**card, "class_names": card["class_names"][:3]}).encode(),
             why="3 class names for 10 outputs"),
    ] + hostile_cards(card)


def hostile_cards(card):
    """Crafted cards (issue 22): nesting that breaks a recursive parser, a huge file, values of the wrong type
    where the demo's card renders them, an input_shape that would allocate ~14 GB."""
    edit = lambda **kw: json.dumps({**card, **kw}).encode()  # noqa: E731
    return [
        Case("nested", b"[" * 100_000, why="100,000 nested ["),
        Case("nested-object", b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, why="50,000 nested objects"),
        Case("too-large", b'{"pad": "' + b" " * (2 << 20) + b'"}', why="2 MB"),
        Case("macs-x", edit(macs="x"), why='macs "x"'),
        Case("params-list", edit(params=[1, 2]), why="params a list"),
        Case("versions-list", edit(versions=["keras 3"]), why="versions a list"),
        Case("kwargs-list", edit(model={"name": "resnet8", "kwargs": [1, 2]}), why="model.kwargs a list"),
        Case("top1-abc", edit(metrics={"test_top1_accuracy": "abc"}), why='test_top1_accuracy "abc"'),
        Case("top1-range", edit(metrics={"test_top1_accuracy": 93.4}), why="test_top1_accuracy 93.4 (not in [0, 1])"),
        Case("shape-60000", edit(input_shape=[60000, 60000, 3]), why="input_shape [60000, 60000, 3]"),
        Case("names-objects", edit(class_names=[{"a": 1}] * len(card["class_names"])), why="class names objects"),
    ]


# --------------------------------------------------------------------------- datasets

def bad_npz(rng):
    x = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    y = rng.integers(0, 3, 20)
    ok = dict(x_train=x, y_train=y, x_test=x[:6], y_test=y[:6])
    v = lambda **kw: _npz(**{**ok, **kw})  # noqa: E731
    drop = lambda k: _npz(**{a: b for a, b in ok.items() if a != k})  # noqa: E731
    return [
        Case("no-y-test.npz", drop("y_test"), why="y_test missing"),
        Case("wrong-keys.npz", _npz(images=x, labels=y), why="keys images/labels"),
        Case("extra-key.npz", v(x_val=x), why="unexpected key x_val"),
        Case("x-2d.npz", v(x_train=x.reshape(20, -1)), why="x_train 2-D"),
        Case("x-5d.npz", v(x_train=x[:, None]), why="x_train 5-D"),
        Case("x-2ch.npz", v(x_train=x[..., :2], x_test=x[:6, ..., :2]), why="2 channels"),
        Case("x-shape-mismatch.npz", v(x_test=rng.integers(0, 256, (6, 9, 9, 3), dtype=np.uint8)), why="test 9x9 vs 8x8"),
        Case("x-float-range.npz", v(x_train=x.astype(np.float32) * 4), why="pixel values up to 1020"),
        Case("x-negative.npz", v(x_train=x.astype(np.int16) - 300), why="negative pixels"),
        Case("x-complex.npz", v(x_train=x.astype(np.complex64)), why="complex pixels"),
        Case("x-nan.npz", v(x_train=np.where(x > 250, np.nan, x.astype(np.float32))), why="NaN pixels"),
        Case("x-strings.npz", v(x_train=np.array(["a"] * 20)), why="strings"),
        Case("y-float.npz", v(y_train=y + 0.5), why="fractional labels"),
        Case("y-negative.npz", v(y_train=y - 5), why="negative labels"),
        Case("y-2d.npz", v(y_train=np.stack([y, y], 1)), why="labels 2-D"),
        Case("y-length.npz", v(y_train=y[:7]), why="7 labels for 20 images"),
        Case("y-out-of-range.npz", v(class_names=np.array(["a", "b"])), why="labels up to 2 for 2 class names"),
        Case("empty-split.npz", v(x_test=x[:0], y_test=y[:0]), why="empty test split"),
        Case("object.npz", _npz_object(), why="object array (needs pickle)"),
        Case("not-zip.npz", b"PK\x03\x04" + bytes(rng.integers(0, 256, 200, dtype=np.uint8)), why="random bytes"),
        Case("truncated.npz", v()[: 300], why="truncated"),
        Case("empty.npz", b"", why="0 bytes"),
    ]


def _npz_object():
    b = io.BytesIO()
    arrays = dict(x_train=np.array([{"a": 1}] * 4, dtype=object), y_train=np.zeros(4, int),
                  x_test=np.zeros((2, 8, 8, 3), np.uint8), y_test=np.zeros(2, int))
    np.savez(b, **arrays)
    return b.getvalue()


def idx_bytes(arr, magic=None):
    arr = np.asarray(arr, np.uint8)
    head = magic if magic is not None else b"\x00\x00\x08" + bytes([arr.ndim])
    return head + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()


IDX_NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def idx_folders(rng):
    """IDX folders with one broken file each."""
    x = rng.integers(0, 256, (12, 8, 8), dtype=np.uint8)
    y = rng.integers(0, 10, 12).astype(np.uint8)
    good = {IDX_NAMES["x_train"]: idx_bytes(x), IDX_NAMES["y_train"]: idx_bytes(y),
            IDX_NAMES["x_test"]: idx_bytes(x[:4]), IDX_NAMES["y_test"]: idx_bytes(y[:4])}
    xt, yt = IDX_NAMES["x_train"], IDX_NAMES["y_train"]
    return {   # name: (what is wrong, files, the file the error must name; "" = the folder)
        "idx-magic": ("wrong magic in train images", {**good, xt: idx_bytes(x, magic=b"\x00\x00\x0d\x03")}, xt),
        "idx-ndim": ("labels claim 3 dimensions", {**good, yt: idx_bytes(y, magic=b"\x00\x00\x08\x03")}, yt),
        "idx-truncated": ("train images truncated", {**good, xt: good[xt][:-50]}, xt),
        "idx-gzip-garbage": ("not gzip", {**{k: v for k, v in good.items() if k != xt}, xt + ".gz": b"\x1f\x8bjunk"},
                             xt + ".gz"),
        "idx-length": ("12 images, 5 labels", {**good, yt: idx_bytes(y[:5])}, ""),
        "idx-missing": ("test labels missing", {k: v for k, v in good.items() if k != IDX_NAMES["y_test"]}, ""),
        "idx-empty": ("train images 0 bytes", {**good, xt: b""}, xt),
    }
