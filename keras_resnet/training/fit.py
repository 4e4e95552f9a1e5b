"""Does a model fit a dataset? The one check, for `train`, `evaluate`, `export` and the experiments.

A model fits data when it takes the data's images (same rank; every known size and the channels
equal, None = any size) and has an output for every class (as many outputs as the data has
classes, or at least one more than the largest label). Plain Python on shapes: no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._typing import Shape, ShapeLike


def _shape(shape: ShapeLike) -> Shape:
    return tuple(None if d is None else int(d) for d in shape)


def check_fit(input_shape: ShapeLike | None, classes: int | None, image_shape: ShapeLike | None = None, *,
              class_names: Sequence[str] | None = None, labels: npt.ArrayLike | None = None,
              model: str = "the model", data: str = "the data", fix: str | None = None) -> None:
    """ValueError unless a model taking `input_shape` images with `classes` outputs fits the data.

    input_shape: (H, W, C) the model takes, None for any size (None: not checked).
    classes: the model's number of outputs (None: not checked).
    image_shape: (H, W, C) of the data's images (None: not checked).
    class_names: the data's classes; the model must have exactly that many outputs.
    labels: the data's integer labels; each must be in 0..classes-1.
    model, data: how the message names them ("model 'resnet20'", "dataset 'cifar10'").
    fix: what the user can do, appended to the message (a default is given otherwise).
    """
    if input_shape is not None and image_shape is not None:
        want, got = _shape(input_shape), _shape(image_shape)
        if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
            raise ValueError(
                f"{data} does not fit {model}: the model takes {want} images (None = any size), which does not "
                f"match the data's {got} images; {fix or 'use data of that shape or a model built for it'}."
            )
    if classes is None:
        return
    classes = int(classes)
    if class_names is not None and len(class_names) != classes:
        names = [str(c) for c in class_names]
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise ValueError(
            f"{data} does not fit {model}: the model has {classes} outputs (classes={classes}) but the data has "
            f"{len(names)} classes ({shown}); {fix or 'use a model built for that many classes'}."
        )
    if labels is not None:
        import numpy as np

        labels = np.asarray(labels)
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(
                f"{data} does not fit {model}: its labels run from {labels.min()} to {labels.max()} but the model "
                f"has {classes} outputs (labels must be 0..{classes - 1}){'; ' + fix if fix else ''}."
            )
