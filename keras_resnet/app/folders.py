"""The model folders the demo lists: `saved_models/<name>/` or a run directory, checked before use.

A model folder holds model_card.json (class names, input shape) and model.keras, optionally model.tflite.
A folder that is not usable is skipped with the reason, never shown broken. With no model folder at all (a
pip install has no saved_models/), `preset_models` lists the weights packaged in keras_resnet/presets.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

from ..deploy.predictors import check_keras_archive, load_model_card

BACKENDS = ("Keras", "TFLite")
FILES = {"Keras": "model.keras", "TFLite": "model.tflite"}


@dataclasses.dataclass
class ModelEntry:
    """One valid model folder: its card and which backends it has."""

    name: str
    folder: pathlib.Path
    card: dict
    backends: tuple
    preset: dict | None = None    # a packaged preset (presets.json entry): `folder` is its .weights.h5 file

    def file(self, backend):
        """The file `backend` runs: the folder's model.keras / model.tflite, or a preset's weights file."""
        return self.folder if self.preset else self.folder / FILES[backend]

    @property
    def class_names(self):
        return list(self.card["class_names"])

    @property
    def input_shape(self):
        return tuple(self.card["input_shape"])


def _tflite_ok(path):
    """A TFLite flatbuffer carries the file identifier 'TFL3' at bytes 4-8."""
    with open(path, "rb") as f:
        return f.read(8)[4:8] == b"TFL3"


def read_model_folder(folder):
    """A ModelEntry for `folder`, plus a note on a broken TFLite file; ValueError says why it is unusable."""
    folder = pathlib.Path(folder)
    card_path = folder / "model_card.json"
    if not card_path.is_file():
        raise ValueError("no model_card.json")
    card = load_model_card(card_path, where="model_card.json")   # the one card reader (training.card.read_card)
    if card["input_shape"][-1] not in (1, 3):
        raise ValueError(f"model_card.json input_shape must be [H, W, 1 or 3], got {card['input_shape']}")
    if not (folder / "model.keras").is_file():
        raise ValueError("no model.keras")
    check_keras_archive(folder / "model.keras", where="model.keras")
    backends: tuple[str, ...] = ("Keras",)
    note = None
    if (folder / "model.tflite").is_file():
        if _tflite_ok(folder / "model.tflite"):
            backends = BACKENDS
        else:
            note = "model.tflite is corrupt (no TFLite file identifier): TFLite backend disabled"
    return ModelEntry(folder.name, folder, card, backends), note


def discover_models(dirs):
    """Every valid model folder under `dirs` -> (dict name -> ModelEntry, [(folder, reason), ...] skipped).

    A directory that itself holds a model_card.json or model.keras (a training run directory) counts as
    one model folder; otherwise each of its sub-folders is a candidate.
    """
    models, skipped = {}, []
    for d in dirs:
        d = pathlib.Path(d)
        if not d.is_dir():
            skipped.append((str(d), "directory does not exist"))
            continue
        is_model = (d / "model_card.json").exists() or (d / "model.keras").exists()
        folders = [d] if is_model else sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            skipped.append((str(d), "no model folders inside"))
        for folder in folders:
            try:
                entry, note = read_model_folder(folder)
            except (ValueError, OSError) as e:
                skipped.append((str(folder), str(e)))
                continue
            if note:
                skipped.append((str(folder), note))
            name = entry.name
            if name in models:
                name = entry.name = f"{folder.name} ({folder.parent.name})"
            models[name] = entry
    return models, skipped


def preset_models():
    """The presets packaged in keras_resnet/presets (presets.json) as menu entries, named '<model>-<weights>
    (preset)'; each is built with keras_resnet.build(model, weights=...) on first use (classify.get_predictor)."""
    from ..nets.weights import list_presets, presets_dir

    models = {}
    for p in list_presets():
        name, measured = f"{p['model']}-{p['weights']} (preset)", p.get("measured") or {}
        card = {"name": name, "model": {"name": p["model"], "kwargs": p["build"]},
                "dataset": {"name": p["weights"], "num_test": measured.get("test_examples")},
                "class_names": p["class_names"], "input_shape": p["input_shape"],
                "metrics": {k: measured.get(k) for k in ("test_top1_accuracy", "test_examples")},
                "command": f'keras_resnet.build("{p["model"]}", weights="{p["weights"]}")'}
        models[name] = ModelEntry(name, presets_dir() / p["file"], card, ("Keras",), preset=p)
    return models


_CIFAR10 = re.compile(r"(^|[^a-z0-9])cifar-?10($|[^0-9])")


def default_model(models):
    """The name the demo opens on: the CIFAR-10 model (dataset name cifar10...) whose card records the highest
    test top-1 accuracy; else the model with the highest one; else the first listed (None for no model)."""
    def rank(entry):
        acc = (entry.card.get("metrics") or {}).get("test_top1_accuracy")
        acc = float(acc) if isinstance(acc, (int, float)) and not isinstance(acc, bool) else None
        cifar10 = bool(_CIFAR10.search(str((entry.card.get("dataset") or {}).get("name", "")).lower()))
        return (acc is not None and cifar10, -1.0 if acc is None else acc)

    return max(models, key=lambda name: rank(models[name]), default=None)
