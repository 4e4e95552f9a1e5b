"""Type aliases of the public API, for annotations only.

Modules import this under `typing.TYPE_CHECKING` (with `from __future__ import annotations`), so it is
never imported at run time and `import keras_resnet` stays light. TensorFlow and Keras ship no type
information: mypy treats their names (`keras.Model`, `tf.data.Dataset`, ...) as `Any`, and annotations
that name them document the intent.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import numpy.typing as npt
    import tensorflow as tf
    from PIL import Image

    from .data.sources import ImageData

StrPath: TypeAlias = str | os.PathLike[str]
"""A file or folder: a string or a path-like object."""

Shape: TypeAlias = tuple[int | None, ...]
"""An image shape (H, W, C); None for a size a model leaves open."""

ShapeLike: TypeAlias = Sequence[int | None]
"""An image shape as the user gives it: a tuple or a list."""

Preprocessing: TypeAlias = dict[str, Any]
"""What a model normalises its raw 0-255 input with: optional `scale`, `mean`, `std` (per channel, or one value)."""

Verbose: TypeAlias = Literal["auto"] | int
"""Keras's `verbose`: "auto", 0 (silent), 1 (progress bar) or 2 (one line per epoch)."""

DatasetSource: TypeAlias = "str | pathlib.PurePath | ImageData"
"""A dataset: a tensorflow-datasets name, a path `keras_resnet.data.load` reads (a `pathlib` path: `train` tells a
path from an `ImageData` by `isinstance(dataset, (str, pathlib.PurePath))`), or a loaded `ImageData`."""

ImageInput: TypeAlias = "str | os.PathLike[str] | bytes | Image.Image | npt.ArrayLike"
"""An image as a person gives it: a file path, encoded bytes, a PIL image or an array (uint8, 16-bit, floats)."""

ExportData: TypeAlias = (
    "npt.ArrayLike | tuple[npt.ArrayLike, npt.ArrayLike] | tf.data.Dataset | ImageData | str | os.PathLike[str]"
    " | dict[str, Any] | None"
)
"""Images for `keras_resnet.deploy.export` (int8 calibration, the parity check): an image array, (images, labels),
a tf.data.Dataset, an ImageData, a source `keras_resnet.data.load` reads, or its spec dict; None: the model card's."""

History: TypeAlias = dict[str, list[float]]
"""A training history: {column of history.csv: one value per epoch} (`epoch` as ints)."""
