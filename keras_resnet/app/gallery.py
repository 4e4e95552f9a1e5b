"""The example gallery: real test images of the selected model's dataset, each with its true class.

The images ship in keras_resnet/app/examples/<dataset>/ with examples.json (file -> true class, split, index,
source), written by apps/examples/make_examples.py. A model gets the folder named like its folder or its card's
dataset (`cifar10/` serves `cifar10-subset`). An image given to the demo whose pixels are those of one of the
model's examples gets a verdict, "true: cat · predicted: cat ✓", however it arrived (a click, an upload, the API).
"""

from __future__ import annotations

import functools
import hashlib
import json
import pathlib

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent / "examples"
SUFFIXES = (".png", ".jpg", ".jpeg")


def examples_dir(entry, root=None):
    """app/examples/<folder> for a model: its folder name or dataset name is <folder> or starts with '<folder>-'."""
    root = EXAMPLES_DIR if root is None else pathlib.Path(root)
    if not root.is_dir():
        return None
    keys = [entry.name, str((entry.card.get("dataset") or {}).get("name", ""))]
    keys = [k.lower().replace("_", "-") for k in keys if k]
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if any(k == d.name or k.startswith(d.name + "-") for k in keys):
            return d
    return None


def examples_for(entry):
    """The example images shipped for a model (keras_resnet/app/examples/<dataset>/*.png|jpg), sorted."""
    d = examples_dir(entry)
    return sorted(p for p in d.iterdir() if p.suffix.lower() in SUFFIXES) if d else []


def manifest(folder):
    """examples.json of an examples folder as {file name: entry}; {} when there is none or it is unreadable."""
    path = pathlib.Path(folder) / "examples.json"
    try:
        items = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(items, list):
        return {}
    return {str(i["file"]): i for i in items if isinstance(i, dict) and "file" in i and "label" in i}


def sample_label(path, info):
    """A thumbnail's caption: the true class ('cat'), or 'ship · a drawing' for the odd picture."""
    if not info:
        return pathlib.Path(path).stem
    return f"{info['label']} · a drawing" if info.get("drawing") else str(info["label"])


def _pixels_key(path):
    """SHA-256 of the decoded RGB pixels and size: the same for a file re-encoded by the browser or Gradio."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
        return hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()


@functools.lru_cache(maxsize=None)
def _truth_index(folder):
    """{pixel key: manifest entry} of one examples folder (read once)."""
    index = {}
    for name, info in manifest(folder).items():
        path = pathlib.Path(folder) / name
        if path.is_file():
            index[_pixels_key(path)] = info
    return index


def truth(image, entry):
    """The manifest entry of `image` (a path) when its pixels are one of `entry`'s examples, else None."""
    d = examples_dir(entry)
    if d is None or not isinstance(image, (str, pathlib.Path)):
        return None
    index = _truth_index(str(d))
    if not index:
        return None
    try:
        return index.get(_pixels_key(image))
    except (OSError, ValueError):    # not an image: the classifier says so itself
        return None


def verdict(info, predicted):
    """'true: cat · predicted: cat ✓' (✗ when wrong); a drawing says it is one."""
    mark = "✓" if predicted == info["label"] else "✗"
    what = " (a drawing, not a test photo)" if info.get("drawing") else ""
    return f"true: {info['label']}{what} · predicted: {predicted} {mark}"
