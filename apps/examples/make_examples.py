"""Re-create the demo's example images (committed in keras_resnet/app/examples/). No network.

    python apps/examples/make_examples.py [--cifar10 PATH/cifar10_subset.npz] [--fashion-mnist DIR]

Each dataset folder gets the first test image of every class (index order, not chosen by how the models
do on them) and examples.json (file -> true class, split, index, source), which the demo reads to label the
gallery and to say whether a prediction is right.

- cifar10/: the official CIFAR-10 test images (Krizhevsky 2009), unchanged 32x32 RGB, from the test split of
  the real subset ../shared/data/cifar10-subset/cifar10_subset.npz (its x_test is the first 1,017 images of the
  official test_batch, so the index is the index in test_batch). Plus one picture drawn here with Pillow
  (ship-drawn-rgba.png, RGBA with a transparent strip, 320x240), labelled as a drawing: not a CIFAR photo.
- fashion-mnist/: the official Fashion-MNIST test split (Zalando SE, MIT/Expat licence; Debian package
  dataset-fashion-mnist), unchanged 28x28 grayscale pixels.
"""

import argparse
import gzip
import json
import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "keras_resnet" / "app" / "examples"  # shipped with the package
CIFAR10 = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar10_subset.npz"
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def _slug(name):
    return name.lower().replace(" ", "-").replace("/", "-")


def _first_of_each_class(images, labels, classes, out, mode, source):
    """The first test image of each class as <class>-test<index>.png; the manifest entries."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    entries = []
    for k, name in enumerate(classes):
        i = int(np.flatnonzero(labels == k)[0])
        file = f"{_slug(name)}-test{i}.png"
        Image.fromarray(images[i], mode).save(out / file)
        entries.append({"file": file, "label": name, "split": "test", "index": i, "source": source})
    return entries


def fashion_examples(out, folder=FASHION):
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return _first_of_each_class(images, labels, FASHION_CLASSES, out, "L",
                                "Fashion-MNIST official test split (t10k), Debian dataset-fashion-mnist")


def _sky(w, h, top=(90, 150, 230), bottom=(200, 225, 250)):
    t = np.linspace(0, 1, h)[:, None, None]
    grad = (1 - t) * np.array(top) + t * np.array(bottom)
    return Image.fromarray(np.broadcast_to(grad, (h, w, 3)).astype(np.uint8), "RGB")


def ship(w=320, h=240):
    im = _sky(w, h)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 150, w, h], fill=(30, 80, 140))  # sea
    d.polygon([(50, 150), (270, 150), (250, 180), (70, 180)], fill=(60, 60, 70))  # hull
    d.rectangle([120, 115, 200, 150], fill=(240, 240, 240))  # superstructure
    d.rectangle([150, 90, 165, 115], fill=(200, 50, 40))  # funnel
    return im.filter(ImageFilter.GaussianBlur(1))


def cifar_examples(out, npz=CIFAR10):
    with np.load(npz) as d:
        images, labels = d["x_test"], d["y_test"]
    entries = _first_of_each_class(images, labels, CIFAR10_CLASSES, out, "RGB",
                                   "CIFAR-10 official test_batch (first 1,017 images: ../shared/data/cifar10-subset)")
    rgba = np.asarray(ship().convert("RGBA")).copy()
    rgba[:20, :, 3] = 0  # a transparent strip on top: composited on white by the app
    Image.fromarray(rgba, "RGBA").save(out / "ship-drawn-rgba.png")
    entries.append({"file": "ship-drawn-rgba.png", "label": "ship", "split": None, "index": None,
                    "source": "drawn by this project with Pillow (a drawing, not a CIFAR-10 photo)", "drawing": True})
    return entries


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar10", type=pathlib.Path, default=CIFAR10, help="cifar10_subset.npz (its test split)")
    p.add_argument("--fashion-mnist", type=pathlib.Path, default=FASHION, help="folder of the Fashion-MNIST IDX files")
    args = p.parse_args(argv)
    for name, make, src in (("cifar10", cifar_examples, args.cifar10), ("fashion-mnist", fashion_examples, args.fashion_mnist)):
        if not src.exists():
            print(f"skipped {name}: {src} missing")
            continue
        entries = make(OUT / name, src)
        (OUT / name / "examples.json").write_text(json.dumps(entries, indent=1) + "\n")
    print(sorted(str(p.relative_to(OUT)) for p in OUT.rglob("*.png")))


if __name__ == "__main__":
    main()
