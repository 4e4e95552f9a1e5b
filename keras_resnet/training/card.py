"""The model card of a finished run (model_card.json): model, data, classes, preprocessing, cost, metrics.

`model_card` makes one; `read_card` is the one reader of model_card.json in the package (the run
directory, the search's best/, the experiments, evaluate, export, predict and the demo all call it):
it checks the file is a JSON object with the fields every reader needs and names the file otherwise.
This module imports nothing heavy at module level.
"""

from __future__ import annotations

import datetime
import json
import pathlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from .._typing import StrPath
    from .config import TrainConfig
    from .loop import PreparedData

CARD_FILE = "model_card.json"
REQUIRED = ("class_names", "input_shape")   # what every reader of a card needs


def _check_fields(card: Any, where: str, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(card, dict):
        raise ValueError(f"{where} is not a JSON object (got a JSON {type(card).__name__}); expected the model card "
                         "written by `keras-resnet train`")
    missing = [k for k in required if card.get(k) in (None, [], {}, "")]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)} (a model card needs {', '.join(required)})")
    names, shape = card.get("class_names"), card.get("input_shape")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise ValueError(f"{where}: class_names must be a list of strings, got {str(names)[:80]}")
    if shape is not None and (not isinstance(shape, list) or len(shape) != 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise ValueError(f"{where}: input_shape must be [height, width, channels] (positive integers), "
                         f"got {str(shape)[:80]}")
    for key in ("metrics", "model", "dataset", "training"):
        if key in card and not isinstance(card[key], dict):
            raise ValueError(f"{where}: {key} must be a JSON object, got {str(card[key])[:80]}")
    return card


def read_card(path: StrPath, *, required: Iterable[str] = REQUIRED, where: str | None = None) -> dict[str, Any]:
    """The model card at `path` (a model_card.json, or a folder holding one) as a dict, checked.

    FileNotFoundError when there is none. ValueError naming the file (`where`, default its path) and
    what is wrong: not UTF-8 JSON, not a JSON object, a `required` field missing or empty, or
    class_names / input_shape / metrics of the wrong type.
    """
    path = pathlib.Path(path)
    file = path / CARD_FILE if path.is_dir() else path
    where = where or str(file)
    if not file.is_file():
        raise FileNotFoundError(f"no model card: {file} does not exist")
    try:
        card = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not valid JSON ({e})") from None
    return _check_fields(card, where, tuple(required))


def versions() -> dict[str, str]:
    """The versions a card records: keras_resnet, TensorFlow, Keras."""
    import keras
    import tensorflow as tf

    from .. import __version__

    return {"keras_resnet": __version__, "tensorflow": tf.__version__, "keras": keras.__version__}


def now() -> str:
    """The time a card records (UTC, ISO 8601)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _call_repr(config: TrainConfig) -> str:
    from .config import TrainConfig

    args = ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items()
                     if k != "command" and v != getattr(TrainConfig, k, None) and v not in ({}, None))
    return f"keras_resnet.training.train({args})"


def model_card(model: keras.Model, config: TrainConfig, prepared: PreparedData, metrics: Mapping[str, Any], name: str,
               **schedule: Any) -> dict[str, Any]:
    from .. import data as data_lib
    from ..nets.profiling import profile

    data = prepared.data
    shape = tuple(data.image_shape)
    prof = profile(model, input_shape=shape)
    training = dict(config.to_dict(), **schedule, per_replica_batch=prepared.per_replica_batch,
                    steps_per_epoch=prepared.steps_per_epoch)
    training["epochs"] = schedule["epochs"]
    return {
        "name": name,
        "model": {"name": config.model, "kwargs": config.model_kwargs},
        "dataset": {"name": data.name, "spec": data.spec, "num_train": data.num_train,
                    "num_validation": data.num_validation, "num_test": data.num_test},
        "class_names": [str(c) for c in data.class_names],
        "input_shape": list(shape),
        "preprocessing": data_lib.normalization_stats(data),
        "params": {"trainable": prof["trainable_params"], "total": prof["total_params"]},
        "macs": prof["macs"],
        "metrics": {"test_top1_accuracy": metrics["top1_accuracy"], "test_top5_accuracy": metrics["top5_accuracy"],
                    "test_top1_error": metrics["top1_error"], "test_top5_error": metrics["top5_error"],
                    "test_examples": metrics["examples"]},
        "training": training,
        "command": config.command or _call_repr(config),
        "created": now(),
        "versions": versions(),
    }
