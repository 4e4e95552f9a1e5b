"""The images an export reads: int8 calibration (training split) and the parity check (test split).

From an image array, (images, labels), a tf.data.Dataset, an ImageData, a dataset source or spec dict, or the
dataset the model card names (a path in a card is never read unless the user passes it).
"""

from __future__ import annotations

import logging
import os
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..training.fit import check_fit

if TYPE_CHECKING:
    from .._typing import ShapeLike

_log = logging.getLogger(__name__)


def _load_dataset(source: Any, card: Mapping[str, Any] | None, what: str, card_path: Any = None) -> Any:
    """An ImageData from a source (tfds name, path, spec dict or ImageData), else from the model card."""
    from .. import data as data_lib

    if source is None:
        spec = dict(((card or {}).get("dataset") or {}).get("spec") or {})
        if not spec.get("source"):
            return None
        if not _tfds_name(spec["source"]) or spec.get("data_dir") is not None:
            # a card is information: a path in it is never read unless the user passes it
            option = "--representative-data / representative_data" if what == "int8 calibration" else \
                "--eval-data / eval_data"
            raise ValueError(f"{card_path or 'the model card'} names the dataset {str(spec['source'])[:200]!r}"
                             + (f" in data_dir {str(spec['data_dir'])[:200]!r}" if spec.get("data_dir") else "")
                             + f" for {what}; paths in a model card are not read unless you pass them: pass "
                             f"{option} with that dataset" + (", or --no-check" if what != "int8 calibration" else ""))
        spec.pop("data_dir", None)
        try:
            return data_lib.load(spec.pop("source"), **{k: spec[k] for k in
                                                        ("data_dir", "validation_split", "image_size", "seed")
                                                        if spec.get(k) is not None})
        except (ValueError, FileNotFoundError, OSError) as e:
            _log.warning("export: the model card's dataset could not be loaded for %s (%s)", what, e)
            return None
    if isinstance(source, (str, os.PathLike)):
        return data_lib.load(source)
    if isinstance(source, dict):
        spec = dict(source)
        return data_lib.load(spec.pop("source"), **spec)
    return source


def _tfds_name(source: Any) -> bool:
    """Whether a card's dataset source is a tensorflow-datasets name (`cifar10`, `mnist:3.*.*`), not a path."""
    import re

    return (isinstance(source, str) and re.fullmatch(r"[a-z][a-z0-9_]*(/[a-z0-9_.]+)?(:[0-9*.]+)?", source) is not None
            and not pathlib.Path(source).exists())


def _arrays(source: Any, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(images uint8 [N, H, W, C], labels or None) from an array, (x, y), a tf.data.Dataset or ImageData."""
    import tensorflow as tf

    if source is None:
        return None, None
    if hasattr(source, "class_names") and hasattr(source, "train"):
        source = getattr(source, split)
    if isinstance(source, tf.data.Dataset):
        if split == "train":
            source = source.shuffle(10_000, seed=seed)
        xs, ys = [], []
        for item in source.take(limit).as_numpy_iterator():
            x, y = item if isinstance(item, tuple) else (item, None)
            xs.append(x)
            ys.append(y)
        y = None if not ys or ys[0] is None else np.asarray(ys).astype(np.int64)
        return np.asarray(xs), y
    if isinstance(source, tuple):
        x, y = source
        return np.asarray(x)[:limit], np.asarray(y).astype(np.int64).ravel()[:limit]
    return np.asarray(source)[:limit], None


def _check_images(x: np.ndarray | None, input_shape: ShapeLike, what: str) -> np.ndarray | None:
    if x is None or len(x) == 0:
        return None
    x = x[..., None] if x.ndim == 3 else x
    check_fit(input_shape, None, x.shape[1:], data=f"the {what} data",
              fix="give images of the model's input size")
    return np.clip(x, 0, 255).astype(np.uint8)
