"""What defines a training run: `TrainConfig` (the paper's §4.2 defaults) and its checks."""

import dataclasses
import pathlib

from . import recipes


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (paper §4.2 defaults)."""

    model: str = "resnet20"
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    dataset: object = "cifar10"       # a tfds name, a path, or an ImageData
    data_dir: str = None
    run_dir: str = None               # default runs/<model>-<dataset>
    recipe: str = "paper"             # paper | cosine | onecycle
    epochs: int = None                # or iterations; neither: the paper's 64k iterations
    iterations: int = None
    batch_size: int = 128             # the global batch (split over the replicas)
    lr: float = None                  # default 0.1 x batch / 128
    weight_decay: float = 1e-4
    momentum: float = 0.9
    label_smoothing: float = 0.0
    validation_split: object = None   # None, a fraction, or a count (paper: 5000)
    augment: bool = None              # default: on for CIFAR-like data
    mixed_precision: bool = False
    jit_compile: bool = False
    steps_per_execution: int = 1
    devices: list = None
    sync_bn: bool = False
    seed: int = 0
    overwrite: bool = False
    verbose: object = "auto"
    command: str = None

    def to_dict(self):
        d = dataclasses.asdict(dataclasses.replace(self, dataset=None))
        d["dataset"] = dataset_spec(self.dataset)
        return d


def dataset_spec(dataset):
    """What config.json records of the dataset: the name/path, or an ImageData's name and spec."""
    if dataset is None or isinstance(dataset, str):
        return dataset
    if isinstance(dataset, pathlib.PurePath):
        return str(dataset)
    return {"name": dataset.name, "spec": dataset.spec}


def _dataset_name(dataset):
    if isinstance(dataset, (str, pathlib.PurePath)):
        p = pathlib.Path(str(dataset))
        return p.stem if p.suffix else p.name
    return dataset.name


def check_config(config):
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
    if not isinstance(config.steps_per_execution, int) or config.steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be an integer >= 1, got {config.steps_per_execution!r}.")
    recipes.total_steps(1, config.epochs, config.iterations)
    for key in ("preprocessing", "weight_decay", "sync_bn"):
        if key in config.model_kwargs:
            raise ValueError(f"model_kwargs must not set {key!r}: train sets it (from the data / the config).")
