"""Pretrained weights for the builders: `weights=` as in keras.applications.

    kr.ResNet56(weights="cifar10")                 # a preset shipped in keras_resnet/presets/
    kr.ResNet56(weights="cifar10", include_top=False, pooling="avg")    # all but the classifier
    kr.build("resnet56", weights="run/model.keras")                     # our own saved model
    kr.build("resnet50", weights="resnet50.pth")   # a PyTorch checkpoint keras_resnet.convert reads

`weights` is None (random initialisation, the default), a path (`.weights.h5`, `.keras`, or a
checkpoint `keras_resnet.convert` reads: `.th`, `.pth`, `.pt`, `.bin`, `.safetensors`), or a preset
name. Presets ship inside the package (no download), each with its SHA-256 (checked before
loading), licence and source in `presets/presets.json`.

Weights carry their preprocessing: with a preset, a checkpoint or a `.keras` model that has
preprocessing layers, the model gets the same preprocessing unless `preprocessing=` is passed. The
architecture options the weights need (e.g. option A shortcuts, or v1.5 for torchvision bottlenecks)
are filled in when not given and refused when contradicted; `classes` must match the weights' classifier
when `include_top=True`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import pathlib
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras

if TYPE_CHECKING:
    import numpy as np

    from .._typing import Preprocessing, StrPath

WEIGHT_SUFFIXES = (".weights.h5", ".keras")
ARCHITECTURE = ("shortcut", "plain", "version", "width", "bn_epsilon")
_DEFAULTS = {"plain": False, "width": 1, "bn_epsilon": 1e-5}


# --------------------------------------------------------------------------- presets


def presets_dir() -> pathlib.Path:
    """The folder of the shipped presets (inside the installed package)."""
    return pathlib.Path(str(importlib.resources.files("keras_resnet") / "presets"))


@functools.lru_cache(maxsize=1)
def _presets() -> tuple[dict[str, Any], ...]:
    path = presets_dir() / "presets.json"
    if not path.exists():
        return ()
    return tuple(json.loads(path.read_text())["presets"])


def list_presets() -> list[dict[str, Any]]:
    """The shipped presets: dicts with model, weights, file, sha256, classes, preprocessing, source, licence, ..."""
    return [dict(p) for p in _presets()]


def _model_key(name: str) -> str:
    from ..registry import normalize_name

    return normalize_name(name)


def _available() -> str:
    groups: dict[str, list[str]] = {}
    for p in _presets():
        groups.setdefault(p["weights"], []).append(p["model"])
    return "; ".join(f"weights={w!r} for {', '.join(ms)}" for w, ms in groups.items()) or "none installed"


def get_preset(model: str, weights: str) -> dict[str, Any]:
    """The preset entry for `build(model, weights=weights)`; ValueError listing the presets if none."""
    key = _model_key(model)
    for p in _presets():
        if p["model"] == key and p["weights"] == weights:
            return dict(p)
    if any(p["weights"] == weights for p in _presets()):
        raise ValueError(f"No {weights!r} weights for {model!r}. Presets: {_available()}.")
    raise ValueError(
        f"Unknown weights {weights!r} for {model!r}: allowed None, a path to a "
        f"{', '.join(WEIGHT_SUFFIXES)} file or a PyTorch checkpoint (.th, .pth, .pt, .bin, .safetensors), "
        f"or a preset ({_available()})."
    )


def sha256(path: StrPath) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def preset_file(entry: Mapping[str, Any]) -> pathlib.Path:
    """The preset's weights file, after checking its SHA-256."""
    path = presets_dir() / entry["file"]
    if not path.exists():
        raise FileNotFoundError(f"Preset file of {entry['model']} weights={entry['weights']!r} is missing: {path}. "
                                f"Reinstall keras-resnet-paper.")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise ValueError(f"Preset file {path} is damaged or was modified: SHA-256 {digest}, expected "
                         f"{entry['sha256']}. Reinstall keras-resnet-paper.")
    return path


# --------------------------------------------------------------------------- assigning weights by layer name


def _learned_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """Layers with weights, except preprocessing (its statistics come from `preprocessing=`)."""
    return {l.name: l for l in model.layers if l.weights and not isinstance(l, keras.layers.Normalization)}


def _listing(items: Iterable[str], limit: int = 8) -> str:
    ordered = sorted(items)
    return ", ".join(ordered[:limit]) + (f", ... ({len(ordered)} in all)" if len(ordered) > limit else "")



def assign_weights(model: keras.Model, weights: Mapping[str, Sequence[np.ndarray]], source: str,
                   skip_top: bool = False) -> keras.Model:
    """Set every learned layer of `model` from `weights` (`{layer name: [arrays]}`), matched by name.

    `skip_top` leaves out the classifier (`predictions`). One ValueError lists every layer the weights
    lack, every extra layer and every shape that differs; nothing is set unless everything fits.
    """
    layers = _learned_layers(model)
    given = {k: v for k, v in weights.items() if not (skip_top and k == "predictions")}
    missing, extra = set(layers) - set(given), set(given) - set(layers)
    wrong = []
    for name in set(layers) & set(given):
        want = [tuple(w.shape) for w in layers[name].weights]
        got = [tuple(getattr(a, "shape", ())) for a in given[name]]
        if want != got:
            wrong.append(f"{name} {got} (model: {want})")
    if missing or extra or wrong:
        parts = ([f"layers without weights: {_listing(missing)}"] if missing else []) \
            + ([f"weights for layers the model lacks: {_listing(extra)}"] if extra else []) \
            + ([f"shape mismatches: {_listing(wrong)}"] if wrong else [])
        raise ValueError(f"The weights of {source} do not fit {model.name}: " + "; ".join(parts) + ".")
    for name, layer in layers.items():
        layer.set_weights(given[name])
    return model


def assign_from_model(model: keras.Model, source_model: keras.Model, source: str,
                      skip_top: bool = False) -> keras.Model:
    """Copy the learned layers of `source_model` into `model` by layer name (see `assign_weights`)."""
    weights = {name: layer.get_weights() for name, layer in _learned_layers(source_model).items()}
    return assign_weights(model, weights, source, skip_top=skip_top)


def preprocessing_of(model: keras.Model) -> Preprocessing | None:
    """The `preprocessing` dict that rebuilds `model`'s leading `rescale` / `normalize` layers (None if none)."""
    from .preprocessing import leading_preprocessing, mean_std

    out: Preprocessing = {}
    for layer in leading_preprocessing(model):
        if layer.name == "rescale" and isinstance(layer, keras.layers.Rescaling):
            out["scale"] = float(layer.scale)
        elif layer.name == "normalize" and isinstance(layer, keras.layers.Normalization):
            mean, std = mean_std(layer)
            out["mean"], out["std"] = mean.tolist(), std.tolist()
    return out or None


# --------------------------------------------------------------------------- build(..., weights=...)


def _fit_kwargs(kwargs: Mapping[str, Any], needs: Mapping[str, Any], classes: int | None,
                preprocessing: Preprocessing | None, what: str) -> dict[str, Any]:
    """The builder kwargs with what the weights need filled in; ValueError where the user contradicts them."""
    kwargs = dict(kwargs)
    for key, value in needs.items():
        given = kwargs.get(key, _DEFAULTS.get(key))
        if key in kwargs or key in _DEFAULTS:
            if given != value:
                raise ValueError(f"{what} needs {key}={value!r}, got {key}={given!r}.")
        if key not in _DEFAULTS:
            kwargs[key] = value
    if kwargs.get("include_top", True) and classes is not None:
        if kwargs.get("classes", classes) != classes:
            raise ValueError(
                f"classes={kwargs['classes']!r} with include_top=True and {what}: its classifier has {classes} "
                f"classes. Use classes={classes}, or include_top=False to load all but the classifier."
            )
        kwargs["classes"] = classes
    if "preprocessing" not in kwargs and preprocessing is not None:
        kwargs["preprocessing"] = preprocessing
    return kwargs


def _is_path(weights: StrPath) -> bool:
    if isinstance(weights, os.PathLike):
        return True
    from ..convert.checkpoints import SUFFIXES

    text = str(weights).lower()
    return text.endswith(WEIGHT_SUFFIXES + SUFFIXES) or os.sep in text or "/" in text or os.path.exists(text)


def build_with_weights(build: Callable[..., keras.Model], name: str, weights: StrPath,
                       kwargs: dict[str, Any]) -> keras.Model:
    """`build(name, **kwargs)` with `weights` loaded (the `weights=` argument of every builder).

    A `.weights.h5` file holds weights only and loads with Keras's `load_weights` into the model as
    built (pass the `preprocessing` the weights were trained with); presets, checkpoints and `.keras`
    files bring their preprocessing along.
    """
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be None, a path or a preset name, got {weights!r}.")
    if not _is_path(weights):
        return _from_preset(build, name, str(weights), kwargs)   # a str: a path-like is a path
    path = pathlib.Path(weights)
    from ..convert.checkpoints import SUFFIXES

    lowered = path.name.lower()
    if not lowered.endswith(WEIGHT_SUFFIXES + SUFFIXES):
        raise ValueError(f"weights={str(weights)!r}: allowed files are {', '.join(WEIGHT_SUFFIXES + SUFFIXES)} "
                         f"(or a preset: {_available()}).")
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    if lowered.endswith(SUFFIXES):
        return _from_checkpoint(build, name, path, kwargs)
    if lowered.endswith(".keras"):
        return _from_keras_file(build, name, path, kwargs)
    return _from_weights_file(build(name, **kwargs), path)


def _from_preset(build: Callable[..., keras.Model], name: str, weights: str, kwargs: dict[str, Any]) -> keras.Model:
    entry = get_preset(name, weights)
    what = f"{entry['model']} weights={weights!r}"
    fitted = _fit_kwargs(kwargs, entry["build"], entry["classes"], entry["preprocessing"], what)
    path = preset_file(entry)
    model = build(name, **fitted)
    source = build(entry["model"], classes=entry["classes"], preprocessing=entry["preprocessing"], **entry["build"])
    source.load_weights(path)
    return assign_from_model(model, source, what, skip_top=not kwargs.get("include_top", True))


def _from_checkpoint(build: Callable[..., keras.Model], name: str, path: pathlib.Path,
                     kwargs: dict[str, Any]) -> keras.Model:
    from ..convert.checkpoints import read_checkpoint
    from ..convert.layouts import check_state, detect_layout, keras_weights

    state = read_checkpoint(path)
    layout = detect_layout(state, model=name)
    check_state(state, layout, source=f"Checkpoint {path.name}")
    what = f"checkpoint {path.name} ({layout.describe()})"
    model = build(name, **_fit_kwargs(kwargs, layout.build_kwargs, layout.classes, layout.preprocessing, what))
    return assign_weights(model, keras_weights(state, layout), what, skip_top=not kwargs.get("include_top", True))


def _from_keras_file(build: Callable[..., keras.Model], name: str, path: pathlib.Path,
                     kwargs: dict[str, Any]) -> keras.Model:
    from .graph import deep_graph_recursion
    from .saving import load_keras_model

    with deep_graph_recursion():
        source = load_keras_model(path)     # safe_mode=True, one clear error for a broken file
    head = {l.name: l for l in source.layers}.get("predictions")
    classes = getattr(head, "units", None)
    model = build(name, **_fit_kwargs(kwargs, {}, classes, preprocessing_of(source), f"weights={path.name}"))
    return assign_from_model(model, source, path.name, skip_top=not kwargs.get("include_top", True))


def _from_weights_file(model: keras.Model, path: pathlib.Path) -> keras.Model:
    try:
        with warnings.catch_warnings():   # Keras warns once per layer before failing; the error says it all
            warnings.simplefilter("ignore")
            model.load_weights(path)
    except Exception as e:
        raise ValueError(
            f"Cannot load {path} into {model.name}: {str(e).strip()[:300]}. A .weights.h5 file only loads into "
            f"the architecture it was saved from (same options, preprocessing and head); a .keras file loads "
            f"into variants (include_top=False, another preprocessing)."
        ) from None
    return model
