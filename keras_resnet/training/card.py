"""The model card of a finished run (model_card.json): model, data, classes, preprocessing, cost, metrics.

`model_card` makes one; `read_card` is the one reader of model_card.json in the package (the run
directory, the search's best/, the experiments, evaluate, export, predict and the demo all call it):
it reads the file within a size and nesting limit and checks every field against one schema (SCHEMA)
before any value is used, naming the file and the field otherwise. A card is information: its
dataset paths are never followed, and its input_shape is compared with the model's own.
This module imports nothing heavy at module level.
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from .._typing import StrPath
    from .config import TrainConfig
    from .loop import PreparedData

CARD_FILE = "model_card.json"
REQUIRED = ("class_names", "input_shape")   # what every reader of a card needs
MAX_SIDE = 4096                             # the largest input height / width a card may state
MAX_CHANNELS = 4
MAX_CLASSES = 100_000


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _class_names(v: Any) -> str | None:
    if not isinstance(v, list) or not all(isinstance(n, str) for n in v):
        return "must be a list of strings"
    if len(v) > MAX_CLASSES:
        return f"must be at most {MAX_CLASSES:,} names"
    return None


def _input_shape(v: Any) -> str | None:
    if not isinstance(v, list) or len(v) != 3 or not all(_is_int(d) and d > 0 for d in v):
        return "must be [height, width, channels] (positive integers)"
    if max(v[:2]) > MAX_SIDE or v[2] > MAX_CHANNELS:
        return f"is out of range: height and width must be 1..{MAX_SIDE} and channels 1..{MAX_CHANNELS}"
    return None


def _check(test: Callable[[Any], bool], expected: str) -> Callable[[Any], str | None]:
    return lambda v: None if test(v) else f"must be {expected}"


_OBJECT = _check(lambda v: isinstance(v, dict), "a JSON object")
_TEXT = _check(lambda v: isinstance(v, str), "a string")
_COUNT = _check(lambda v: _is_int(v) and v >= 0, "a whole number >= 0")
_FRACTION = _check(lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]")
_NUMBER = _check(lambda v: _is_number(v), "a finite number")
_VERSIONS = _check(lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                   "a JSON object of version strings")

# The one schema of model_card.json: every field a reader uses (dotted: inside an object), its type and range.
# A field may be absent or null (not recorded) unless the caller requires it; fields not named here are kept
# as information and never used.
SCHEMA: dict[str, Callable[[Any], str | None]] = {
    "name": _TEXT, "class_names": _class_names, "input_shape": _input_shape,
    "model": _OBJECT, "model.name": _TEXT, "model.kwargs": _OBJECT,
    "dataset": _OBJECT, "dataset.name": _TEXT, "dataset.spec": _OBJECT, "dataset.num_train": _COUNT,
    "dataset.num_validation": _COUNT, "dataset.num_test": _COUNT,
    "preprocessing": _OBJECT, "params": _OBJECT, "params.trainable": _COUNT, "params.total": _COUNT,
    "macs": _COUNT, "metrics": _OBJECT, "metrics.test_examples": _COUNT,
    **{f"metrics.test_top{k}_{m}": _FRACTION for k in (1, 5) for m in ("accuracy", "error")},
    "metrics.test_loss": _NUMBER,
    "training": _OBJECT, "command": _TEXT, "created": _TEXT, "versions": _VERSIONS, "provenance": _OBJECT,
    "search": _OBJECT,
}


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else v
    return text if len(text) <= 80 else text[:77] + "..."


def check_card(card: Any, where: str, required: Iterable[str] = REQUIRED) -> dict[str, Any]:
    """`card` checked against SCHEMA before any value is used; one ValueError naming `where` and the field."""
    required = tuple(required)
    if not isinstance(card, dict):
        raise ValueError(f"{where} is not a JSON object (got a JSON {_json_type(card)}); expected the model card "
                         "written by `keras-resnet train`")
    missing = [k for k in required if card.get(k) in (None, [], {}, "")]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)} (a model card needs {', '.join(required)})")
    for field, check in SCHEMA.items():
        parent, _, key = field.rpartition(".")
        holder = card.get(parent) if parent else card
        value = holder.get(key) if isinstance(holder, dict) else None
        why = None if value is None else check(value)
        if why:
            raise ValueError(f"{where}: {field} {why}, got {_short(value)}")
    return card


def _json_type(v: Any) -> str:
    return {list: "list", str: "str", int: "int", float: "float", bool: "bool", type(None): "null"}.get(
        type(v), type(v).__name__)


def read_card(path: StrPath, *, required: Iterable[str] = REQUIRED, where: str | None = None) -> dict[str, Any]:
    """The model card at `path` (a model_card.json, or a folder holding one) as a dict, checked.

    FileNotFoundError when there is none. ValueError naming the file (`where`, default its path) and
    what is wrong: larger than 1 MB or nested deeper than 64 levels (keras_resnet.io.read_json), not UTF-8
    JSON, not a JSON object, a `required` field missing or empty, or any field of SCHEMA of the wrong type
    or out of range (input_shape: sides 1..4096, channels 1..4).
    """
    from ..io import read_json

    path = pathlib.Path(path)
    file = path / CARD_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no model card: {file} does not exist")
    return check_card(read_json(file, "model card", where=where or str(file)), where or str(file), required)


def versions() -> dict[str, str]:
    """The versions a card records: keras_resnet, Keras, and the backend Keras ran on (TensorFlow, JAX or PyTorch)."""
    import importlib

    import keras

    from .. import __version__

    name = keras.backend.backend()
    module = importlib.import_module(name)
    return {"keras_resnet": __version__, "keras": keras.__version__, "backend": name, name: module.__version__}


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
