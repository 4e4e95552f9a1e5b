"""`convert`: a PyTorch checkpoint -> one of our Keras models, verified against PyTorch.

    import keras_resnet.convert as krc
    model = krc.convert("resnet56-4bfd9763.th", output="resnet56.keras")
    # akamaster CIFAR ResNet-56 (option A, 9 blocks per stage, 10 classes) -> resnet56
    # verified against PyTorch: max |Δlogit| 2.1e-06 (tolerance 1.5e-03) on 4 images 32x32

The converted model takes raw 0-255 images like every model of the package: the preprocessing the
source network was trained with ([0, 1] RGB normalised with ImageNet's mean and std for both known
layouts) is the model's first layers.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..nets.builders import build
from ..nets.graph import deep_graph_recursion
from ..nets.weights import assign_weights
from .checkpoints import read_checkpoint
from .layouts import check_state, detect_layout, keras_weights

if TYPE_CHECKING:
    import keras
    import numpy.typing as npt

    from .._typing import Preprocessing, ShapeLike, StrPath
    from .layouts import Layout

OUTPUT_SUFFIXES = (".keras", ".weights.h5")
RTOL = 1e-4


@dataclasses.dataclass(frozen=True)
class Verification:
    """How far the Keras model's logits are from PyTorch's on a fixed batch."""

    max_abs_diff: float
    logit_scale: float     # max |logit| of the PyTorch reference
    tolerance: float       # RTOL * max(1, logit_scale)
    images: int
    size: tuple[int, ...]  # (H, W)
    logits: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)     # ours, float64
    reference: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)  # PyTorch's

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def __str__(self) -> str:
        return (f"max |Δlogit| {self.max_abs_diff:.2e} (tolerance {self.tolerance:.2e}, logits up to "
                f"{self.logit_scale:.3g}) on {self.images} images {self.size[0]}x{self.size[1]}")


def _output_path(output: StrPath, overwrite: bool) -> pathlib.Path:
    path = pathlib.Path(output)
    if not any(path.name.endswith(s) for s in OUTPUT_SUFFIXES):
        raise ValueError(f"Output {str(output)!r} must end in {' or '.join(OUTPUT_SUFFIXES)}.")
    if path.is_dir():
        raise ValueError(f"Output {path} is a directory; give a file name ending in .keras.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"Output {path} exists; pass overwrite=True (--overwrite) to replace it.")
    return path


def save(model: keras.Model, output: StrPath, overwrite: bool = False) -> pathlib.Path:
    """Save `model` to `output` (`.keras` or `.weights.h5`) atomically: a temporary sibling, then a rename."""
    path = _output_path(output, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else ".keras"
    tmp = path.with_name(f".{path.name[:-len(suffix)]}.tmp-{os.getpid()}{suffix}")
    try:
        with deep_graph_recursion():
            model.save_weights(tmp) if suffix == ".weights.h5" else model.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def preprocess_numpy(images: npt.ArrayLike, preprocessing: Mapping[str, Any] | None) -> np.ndarray:
    """What the model's preprocessing layers compute, in NumPy: (x * scale - mean) / std."""
    x = np.asarray(images, np.float32)
    if not preprocessing:
        return x
    if preprocessing.get("scale") is not None:
        x = x * np.float32(preprocessing["scale"])
    if preprocessing.get("mean") is not None or preprocessing.get("std") is not None:
        mean = np.asarray(0.0 if preprocessing.get("mean") is None else preprocessing["mean"], np.float32)
        std = np.asarray(1.0 if preprocessing.get("std") is None else preprocessing["std"], np.float32)
        x = (x - mean) / np.sqrt(std * std)
    return x


def keras_logits(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Pre-softmax outputs of a model with our head (`avg_pool` -> `predictions`), in float64."""
    import keras

    head = model.get_layer("predictions")
    features = keras.Model(model.input, model.get_layer("avg_pool").output)
    if len(images) > 16:   # compiled batches; a few images run eagerly (tracing a ResNet-152 costs seconds)
        feats = features.predict(images, batch_size=128, verbose=0).astype(np.float64)
    else:
        feats = keras.ops.convert_to_numpy(features(images, training=False)).astype(np.float64)
    kernel, bias = (np.asarray(w, np.float64) for w in head.get_weights())
    return feats @ kernel + bias


def verify_conversion(model: keras.Model, state: Mapping[str, np.ndarray], layout: Layout,
                      preprocessing: Mapping[str, Any] | None, images: npt.ArrayLike | None = None,
                      rtol: float = RTOL) -> Verification:
    """Compare `model`'s logits with the PyTorch reference of `layout` loaded with `state`.

    `images` are raw 0-255 NHWC images; by default a fixed seeded batch (4 images for CIFAR, 2 for
    ImageNet) at the model's input size. Raises ValueError above `rtol * max(1, max |logit|)`.
    """
    from .reference import reference_logits

    if images is None:
        h, w, c = model.input_shape[1:]
        h, w = h or layout.input_size, w or layout.input_size
        n = 4 if layout.kind == "akamaster" else 2
        images = np.random.default_rng(0).integers(0, 256, size=(n, h, w, c)).astype(np.float32)
    images = np.asarray(images, np.float32)
    ours = keras_logits(model, images)
    theirs = reference_logits(layout, state, preprocess_numpy(images, preprocessing))
    scale = float(np.max(np.abs(theirs)))
    result = Verification(float(np.max(np.abs(ours - theirs))), scale, rtol * max(1.0, scale),
                          len(images), tuple(images.shape[1:3]), ours, theirs)
    if not result.passed:
        raise ValueError(f"The converted {layout.model_name} does not reproduce the PyTorch {layout.describe()}: "
                         f"{result}. The checkpoint may not be the layout it looks like.")
    return result


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _build_kwargs(layout: Layout, input_shape: ShapeLike | None, preprocessing: Preprocessing | None,
                  classifier_activation: str | Callable[..., Any] | None, name: str | None) -> dict[str, Any]:
    """`build`'s keyword arguments for the model of `layout` (input shape from the layout unless given)."""
    kwargs = dict(layout.build_kwargs, classes=layout.classes, preprocessing=preprocessing,
                  classifier_activation=classifier_activation)
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    elif layout.channels != 3:
        kwargs["input_shape"] = (layout.input_size, layout.input_size, layout.channels)
    if name is not None:
        kwargs["name"] = name
    return kwargs


def convert(
    checkpoint: StrPath,
    model: str | None = None,
    output: StrPath | None = None,
    *,
    verify: bool = True,
    overwrite: bool = False,
    input_shape: ShapeLike | None = None,
    preprocessing: Preprocessing | Literal["source"] | None = "source",
    classifier_activation: str | Callable[..., Any] | None = "softmax",
    name: str | None = None,
    verbose: bool = True,
) -> keras.Model:
    """Convert a PyTorch checkpoint into our Keras model and (optionally) save it.

    Args:
        checkpoint: a `.th` / `.pth` / `.pt` / `.bin` file (needs torch) or `.safetensors` file of a
            layout in `layouts.LAYOUTS` (akamaster CIFAR ResNets, torchvision/timm ImageNet ResNets).
        model: our model name (`"resnet56"`), only to check or disambiguate: the layout and depth are
            read from the keys. Another family or depth than the checkpoint's is an error.
        output: save to this `.keras` (or `.weights.h5`) file, atomically; an existing file is an error
            unless `overwrite=True`.
        verify: compare the logits with the PyTorch reference on a fixed batch (needs torch; skipped
            with a note when torch is missing); a difference above 1e-4 relative to the logits' scale is an
            error.
        input_shape: the Keras model's input shape (default 32x32x3 CIFAR, 224x224x3 ImageNet).
        preprocessing: "source" (default: what the source network was trained with), None, or a dict
            with `scale` / `mean` / `std` like `build`'s.
        classifier_activation, name: as in `build`.
        verbose: print what was detected, the verification and the output path.

    Returns the Keras model.
    """
    started = time.perf_counter()
    say = print if verbose else (lambda *a, **k: None)
    out_path = _output_path(output, overwrite) if output is not None else None
    state = read_checkpoint(checkpoint)
    layout = detect_layout(state, model=model)
    check_state(state, layout, source=f"Checkpoint {pathlib.Path(checkpoint).name}")
    if preprocessing == "source":
        preprocessing = layout.preprocessing
    keras_model = build(layout.model_name, **_build_kwargs(layout, input_shape, preprocessing,
                                                           classifier_activation, name))
    assign_weights(keras_model, keras_weights(state, layout), source=f"checkpoint {pathlib.Path(checkpoint).name}")
    say(f"{pathlib.Path(checkpoint).name}: {layout.describe()} -> {layout.model_name} "
        f"({keras_model.count_params():,} parameters)")
    if verify and _torch_available():
        say(f"verified against PyTorch: {verify_conversion(keras_model, state, layout, preprocessing)}")
    elif verify:
        say("not verified: PyTorch is not installed (pip install 'keras-resnet-paper[convert]')")
    if out_path is not None:
        save(keras_model, out_path, overwrite=overwrite)
        say(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB)")
    say(f"done in {time.perf_counter() - started:.1f} s")
    return keras_model

