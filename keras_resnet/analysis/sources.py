"""Held-out data and trained models for the experiments: arrays, fit checks, loading, error.

Every measurement takes a model and images + labels. The images are raw
(0-255, the keras_resnet models carry their own preprocessing layers); they
come from numpy arrays, a `tf.data.Dataset` (batched or not) or an
`ImageData` of `keras_resnet.data` (its test split by default).
"""

import os
import pathlib

import numpy as np

from .. import registry


def as_arrays(data, *, split="test", max_examples=None):
    """(images float32 NHWC, labels int64) from arrays, a tf.data.Dataset or an ImageData split."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
    else:
        ds = getattr(data, split, data) if hasattr(data, "class_names") else data
        if ds is None:
            raise ValueError(f"the data has no {split!r} split.")
        if not hasattr(ds, "element_spec"):
            raise ValueError(
                f"data must be (images, labels) arrays, a tf.data.Dataset of (image, label) or an ImageData; "
                f"got {type(data).__name__}."
            )
        if len(ds.element_spec[0].shape) == 3:
            ds = ds.batch(256)
        if max_examples:
            ds = ds.unbatch().take(max_examples).batch(256)
        xs, ys = zip(*[(np.asarray(a), np.asarray(b)) for a, b in ds.as_numpy_iterator()]) or ((), ())
        if not xs:
            raise ValueError("the data is empty.")
        x, y = np.concatenate(xs), np.concatenate(ys)
    if max_examples:
        x, y = x[:max_examples], y[:max_examples]
    y = y.reshape(len(y), -1)[:, 0] if y.ndim > 1 and y.shape[-1] == 1 else y
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y) or not len(x):
        raise ValueError(f"expected N images (N,H,W,C) and N integer labels (N,); got {x.shape} and {y.shape}.")
    return x.astype("float32"), y.astype("int64")


def images_for(model, x):
    """`x` at `model`'s input size: unchanged when it fits, else resized as `data.load(image_size=...)` does.

    Lets one experiment put models trained at different sizes side by side (e.g. the converted 32x32 ResNets
    beside plain nets trained here at 16x16); the report names each model's input size.
    """
    want = tuple(model.input_shape[1:3])
    if None in want or want == tuple(x.shape[1:3]):
        return x
    from ..data.sources import resize_images

    return np.concatenate([resize_images(x[i:i + 512], want).numpy() for i in range(0, len(x), 512)]).astype("float32")


def input_size(model):
    """"HxW" of the model's input ("?" where a dimension is free)."""
    return "x".join("?" if d is None else str(d) for d in model.input_shape[1:3])


def check_fit(model, x, y):
    """ValueError unless `model` takes images shaped like `x` and has an output for every label in `y`."""
    from ..training.fit import check_fit as check

    check(model.input_shape[1:], model.output_shape[-1], x.shape[1:], labels=y, model=f"model {model.name!r}",
          data="the dataset")


def top1_error(model, x, y, batch_size=256):
    """The fraction of `x` whose highest-scoring class is not `y` (inference mode)."""
    scores = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) != y))


def load_model(path):
    """A model from a `.keras` file or a run directory (its `model.keras`): safe_mode=True, not compiled."""
    from ..nets.saving import load_keras_model

    path = pathlib.Path(path)
    file = path / "model.keras" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"no trained model at {path}: expected a .keras file or a run directory holding model.keras."
        )
    return load_keras_model(file)


def run_history(run_dir):
    """The per-epoch history of a run directory (its history.csv) as {column: list}, or None."""
    file = pathlib.Path(run_dir) / "history.csv"
    if not file.is_file():
        return None
    import csv

    with open(file, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) if r[k] not in ("", None) else float("nan") for r in rows] for k in (rows[0] if rows else {})}


def run_card(run_dir):
    """The model_card.json of a run directory as a dict (checked: training.card.read_card), or {} when it has none."""
    from ..training.card import CARD_FILE, read_card

    file = pathlib.Path(run_dir) / CARD_FILE
    return read_card(file) if file.is_file() else {}


def label_of(path_or_name):
    """A short label for a model given by path ("runs/plain20" -> "plain20")."""
    p = pathlib.Path(os.fspath(path_or_name))
    return p.stem if p.suffix == ".keras" and p.stem != "model" else (p.parent.name if p.suffix else p.name)


class Trained:
    """A model for an experiment: `label`, `model`, and, when it came from a run, `run_dir`, `history`, `card`."""

    def __init__(self, label, model, run_dir=None, history=None, card=None):
        self.label, self.model, self.run_dir = label, model, run_dir
        self.history, self.card = history, card or {}

    def __repr__(self):
        return f"Trained({self.label!r}, run_dir={str(self.run_dir)!r})"


def family_names(depths, kinds=("plain", "resnet")):
    """Model names of the CIFAR family for `depths`, plain first: (20, 56) -> plain20, plain56, resnet20, resnet56.

    ValueError for a depth the CIFAR family cannot build (6n + 2, n >= 1).
    """
    bad = [d for d in depths if not registry.is_cifar_depth(d)]
    if bad or not depths:
        raise ValueError(
            f"depths must be CIFAR depths {registry.CIFAR_RULE}, got {list(depths) or 'none'}; cannot build {bad}."
        )
    return [registry.model_name("cifar", d, plain=kind == "plain") for kind in kinds for d in depths]


def _short(name):
    return name.replace("cifar_", "")


def check_names(names, data):
    """Build every named model once for `data` (cheap) so a bad name or misfit fails before any training."""
    from ..nets.builders import build

    for name in names:
        try:
            build(name, input_shape=tuple(data.image_shape), classes=len(data.class_names))
        except ValueError as e:
            raise ValueError(f"cannot build {name!r} for dataset {data.name!r} ({tuple(data.image_shape)}): {e}") from None


def obtain(specs, *, data=None, runs_dir=None, train_options=None):
    """The models named by `specs`, as a list of `Trained`, training only what is missing.

    A spec is a path (a run directory or a .keras file: loaded, never trained
    again) or a model name such as "plain20" (trained with `keras_resnet.training.train`
    into `runs_dir/<name>`, reused when that run is finished, resumed when it was
    interrupted; every name gets the same recipe `train_options`).
    """
    paths = [s for s in specs if os.path.exists(os.fspath(s))]
    names = [s for s in specs if s not in paths]
    bad_paths = [s for s in names if os.sep in str(s) or str(s).endswith(".keras")]
    if bad_paths:
        raise FileNotFoundError(f"no run directory or .keras file at {', '.join(map(str, bad_paths))}.")
    if names:
        if data is None or runs_dir is None:
            raise ValueError(f"training {', '.join(names)} needs a dataset and a runs directory.")
        check_names(names, data)
    out = []
    for spec in specs:
        if spec in paths:
            p = pathlib.Path(spec)
            card = run_card(p) if p.is_dir() else {}
            label = _short(card.get("model", {}).get("name") or label_of(p))
            out.append(Trained(label, load_model(p), p if p.is_dir() else None,
                               run_history(p) if p.is_dir() else None, card))
        else:
            from ..training import train

            run_dir = pathlib.Path(runs_dir) / _short(spec)
            result = train(model=spec, dataset=data, run_dir=str(run_dir), **(train_options or {}))
            out.append(Trained(_short(spec), result.model, run_dir, run_history(run_dir), result.model_card))
    return out
