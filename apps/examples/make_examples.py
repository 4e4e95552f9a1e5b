"""Re-create the demo's example images (committed in keras_resnet/app/examples/). No network, no ../shared data.

    python apps/examples/make_examples.py

- fashion-mnist/: the first test image of six classes from Fashion-MNIST's official test
  split (Debian package dataset-fashion-mnist; Zalando SE, MIT/Expat licence), unchanged 28x28 pixels.
- cifar10/: pictures drawn here with Pillow (this project's own, same licence as the code):
  simple scenes of CIFAR-10 classes, saved in the awkward formats a person may upload (RGBA, palette,
  16-bit, 4:3 non-square) to show the app converting them.
"""

import gzip
import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = pathlib.Path(__file__).resolve().parents[2] / "keras_resnet" / "app" / "examples"  # shipped with the package
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def fashion_examples(out):
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FASHION / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    out.mkdir(parents=True, exist_ok=True)
    for k in (9, 1, 8, 7, 3, 2):  # ankle boot, trouser, bag, sneaker, dress, pullover
        i = int(np.flatnonzero(labels == k)[0])
        name = FASHION_CLASSES[k].lower().replace(" ", "-").replace("/", "-")
        Image.fromarray(images[i], "L").save(out / f"{name}-test{i}.png")


def _sky(w, h, top=(90, 150, 230), bottom=(200, 225, 250)):
    t = np.linspace(0, 1, h)[:, None, None]
    grad = (1 - t) * np.array(top) + t * np.array(bottom)
    return Image.fromarray(np.broadcast_to(grad, (h, w, 3)).astype(np.uint8), "RGB")


def airplane(w=320, h=240):
    im = _sky(w, h)
    d = ImageDraw.Draw(im)
    d.polygon([(60, 130), (250, 105), (275, 112), (250, 125), (70, 145)], fill=(235, 235, 240))  # fuselage
    d.polygon([(140, 118), (185, 60), (200, 62), (175, 120)], fill=(210, 210, 220))  # wing
    d.polygon([(150, 135), (195, 185), (210, 183), (180, 132)], fill=(200, 200, 210))
    d.polygon([(65, 132), (55, 95), (72, 95), (90, 130)], fill=(200, 60, 60))  # tail
    return im.filter(ImageFilter.GaussianBlur(1))


def ship(w=320, h=240):
    im = _sky(w, h)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 150, w, h], fill=(30, 80, 140))  # sea
    d.polygon([(50, 150), (270, 150), (250, 180), (70, 180)], fill=(60, 60, 70))  # hull
    d.rectangle([120, 115, 200, 150], fill=(240, 240, 240))  # superstructure
    d.rectangle([150, 90, 165, 115], fill=(200, 50, 40))  # funnel
    return im.filter(ImageFilter.GaussianBlur(1))


def automobile(w=320, h=240):
    im = _sky(w, h, top=(170, 200, 230), bottom=(220, 230, 240))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 170, w, h], fill=(90, 90, 95))  # road
    d.rounded_rectangle([50, 120, 270, 175], 18, fill=(200, 30, 40))  # body
    d.polygon([(100, 122), (130, 85), (210, 85), (235, 122)], fill=(190, 25, 35))  # cabin
    d.polygon([(112, 120), (136, 92), (168, 92), (168, 120)], fill=(170, 210, 240))  # windows
    d.polygon([(176, 120), (176, 92), (205, 92), (224, 120)], fill=(170, 210, 240))
    for cx in (100, 220):
        d.ellipse([cx - 24, 152, cx + 24, 200], fill=(25, 25, 25))
        d.ellipse([cx - 10, 166, cx + 10, 186], fill=(160, 160, 160))
    return im.filter(ImageFilter.GaussianBlur(1))


def cifar_examples(out):
    out.mkdir(parents=True, exist_ok=True)
    airplane().save(out / "airplane-drawn.png")
    rgba = ship().convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:20, :, 3] = 0  # a transparent strip on top: composited on white by the app
    Image.fromarray(a, "RGBA").save(out / "ship-drawn-rgba.png")
    automobile().convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out / "automobile-drawn-palette.png")
    gray16 = (np.asarray(airplane().convert("L"), np.uint16) * 257).astype(np.uint16)
    Image.fromarray(gray16).save(out / "airplane-drawn-16bit-gray.png")


if __name__ == "__main__":
    if FASHION.is_dir():
        fashion_examples(OUT / "fashion-mnist")
    else:
        print(f"skipped Fashion-MNIST examples: {FASHION} missing (apt-get install dataset-fashion-mnist)")
    cifar_examples(OUT / "cifar10")
    print(sorted(str(p.relative_to(OUT)) for p in OUT.rglob("*.png")))
