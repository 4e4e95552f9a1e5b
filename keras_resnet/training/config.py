"""What defines a training run: `TrainConfig` (the paper's §4.2 defaults) and its checks."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import TYPE_CHECKING, Any

from . import recipes

if TYPE_CHECKING:
    from .._typing import DatasetSource, StrPath, Verbose


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (paper §4.2 defaults)."""

    model: str = "resnet20"
    model_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    dataset: DatasetSource = "cifar10"  # a tfds name, a path, or an ImageData
    data_dir: StrPath | None = None
    run_dir: StrPath | None = None    # default runs/<model>-<dataset>
    recipe: str = "paper"             # paper | cosine | onecycle | imagenet | torchvision (recipes.RECIPE_DEFAULTS)
    epochs: int | None = None         # or iterations; neither: the paper's 64k iterations
    iterations: int | None = None
    batch_size: int = 128             # the global batch (split over the replicas)
    lr: float | None = None           # default 0.1 x batch / 128
    warmup: int | None = None         # linear warm-up iterations; None: automatic (recipes.warmup_steps), 0: none
    weight_decay: float = 1e-4
    momentum: float = 0.9
    label_smoothing: float = 0.0
    validation_split: float | int | None = None   # None, a fraction, or a count (paper: 5000)
    augment: bool | None = None       # default: on for CIFAR-like data
    skip_bad_images: bool = False     # streaming (ImageNet recipes): skip and count unreadable images, not stop
    cache_budget: int | None = None   # streaming: bytes of decoded images to cache (None: data.streaming's 1 GiB)
    mixed_precision: bool = False
    jit_compile: bool = False
    steps_per_execution: int = 1
    devices: list[str] | None = None
    sync_bn: bool = False
    seed: int = 0
    overwrite: bool = False
    verbose: Verbose = "auto"          # Keras's: "auto", 0, 1 or 2
    command: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(dataclasses.replace(self, dataset=""))   # not deep-copying an ImageData
        d["dataset"] = dataset_spec(self.dataset)
        return d


def dataset_spec(dataset: DatasetSource | None) -> str | dict[str, Any] | None:
    """What config.json records of the dataset: the name/path, or an ImageData's name and spec."""
    if dataset is None or isinstance(dataset, str):
        return dataset
    if isinstance(dataset, pathlib.PurePath):
        return str(dataset)
    return {"name": dataset.name, "spec": dataset.spec}


def _dataset_name(dataset: DatasetSource) -> str:
    if isinstance(dataset, (str, pathlib.PurePath)):
        p = pathlib.Path(str(dataset))
        return p.stem if p.suffix else p.name
    return dataset.name


def check_config(config: TrainConfig) -> None:
    """Raise ValueError for a TrainConfig whose values are not allowed (before any work is done)."""
    if config.recipe not in recipes.RECIPES:
        raise ValueError(f"Unknown recipe {config.recipe!r}. Allowed: {', '.join(recipes.RECIPES)}.")
    if not isinstance(config.batch_size, int) or config.batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {config.batch_size!r}.")
    if not 0 <= config.label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {config.label_smoothing!r}.")
    if config.weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {config.weight_decay!r}.")
    if config.lr is not None and not config.lr > 0:
        raise ValueError(f"lr must be > 0, got {config.lr!r}.")
    if config.cache_budget is not None and (isinstance(config.cache_budget, bool) or config.cache_budget < 0):
        raise ValueError(f"cache_budget must be a number of bytes >= 0 (or None), got {config.cache_budget!r}.")
    if not isinstance(config.steps_per_execution, int) or config.steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be an integer >= 1, got {config.steps_per_execution!r}.")
    _, steps = recipes.total_steps(1, config.epochs, config.iterations, config.recipe)
    recipes.check_warmup(config.warmup, None if config.epochs is not None else steps)
    for key in ("preprocessing", "weight_decay", "sync_bn"):
        if key in config.model_kwargs:
            raise ValueError(f"model_kwargs must not set {key!r}: train sets it (from the data / the config).")
