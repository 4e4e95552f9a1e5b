"""Search depth, shortcut option, plain/residual, version, width, lr and weight decay with keras-tuner.

    result = keras_resnet.search.search(
        SearchSpace("cifar", fix={"shortcut": "A"}, choice={"depth": [20, 56]}),
        dataset="cifar10", directory="runs/tune-cifar10", tuner="bayesian", max_trials=12, epochs=10)
    result.rows            # one dict per trial: hyperparameters, params, MACs, best val accuracy, ...
    result.best_run_dir    # model.keras + model_card.json of the best trial (loadable by the demo)

A trial is exactly a short `keras-resnet train` run: the data come from
`training.prepare_data` (the same tf.data pipeline and augmentation), the model
from `training.build_model` (the zoo with the training set's normalisation
inside) and the optimiser from `training.compile_model` (SGD + the recipe's
schedule over the trial's epochs); see hypermodel.py. The tuners are keras-tuner's own
(RandomSearch, BayesianOptimization, Hyperband); each trial trains under the
`distribution_strategy` given (default: `training.get_strategy(devices)`).

Resume: re-running the same search (same space, data, tuner, objective and
epochs) reloads keras-tuner's project (`overwrite=False`) and runs only the
trials still missing: finished trials are never run again. A search
directory made by a different search is refused before anything is written.

Distributed: keras-tuner's chief/worker mode. Run the same command in every
process with `KERASTUNER_TUNER_ID` (chief, tuner0, tuner1, ...),
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` set and one shared
directory: the chief serves the oracle and, when all trials have ended,
writes the results; the workers run trials (and never overwrite).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import keras_tuner as kt

from .hypermodel import PROJECT, TUNERS, ResNetHyperModel, make_tuner
from .space import HYPERPARAMETERS, SearchSpace

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from .._typing import StrPath, Verbose
    from ..training import TrainConfig


# Keras's usual names for the metrics that `training.compile_model` calls top1 / top5.
OBJECTIVE_ALIASES = {"accuracy": "top1", "top1_accuracy": "top1", "top5_accuracy": "top5"}
# Search arguments that are hyperparameters (or the search's own budget), not training options.
_NOT_TRAIN_OPTIONS = ("model", "model_kwargs", "lr", "weight_decay", "epochs", "iterations", "run_dir", "overwrite")
IDENTITY = "keras_resnet_search.json"


@dataclasses.dataclass
class SearchResult:
    directory: pathlib.Path
    rows: list[dict[str, Any]] | None     # one dict per trial (None on a worker)
    best_run_dir: pathlib.Path | None     # None on a worker, or without export_best
    trials_run: list[str]                 # ids of the trials this process ran
    tuner: kt.Tuner


# --------------------------------------------------------------------------- objective


def resolve_objective(objective: str | kt.Objective) -> kt.Objective:
    """'val_accuracy' -> kt.Objective('val_top1', 'max'); 'val_loss:min' -> kt.Objective('val_loss', 'min')."""
    if isinstance(objective, kt.Objective):
        return objective
    if not isinstance(objective, str) or not objective.strip():
        raise ValueError(f"objective must be a metric name such as val_accuracy or val_loss, got {objective!r}.")
    name, _, direction = objective.strip().partition(":")
    prefix = "val_" if name.startswith("val_") else ""
    base = name[len(prefix):]
    name = prefix + OBJECTIVE_ALIASES.get(base, base)
    if not direction:
        direction = "min" if ("loss" in name or "error" in name) else "max"
    if direction not in ("min", "max"):
        raise ValueError(f"The objective's direction must be min or max, got {objective!r}.")
    return kt.Objective(name, direction)


def reported_metrics(model: keras.Model, has_validation: bool) -> list[str]:
    """The names `model.fit` logs for a model compiled by `training.compile_model`."""
    names = ["loss"]
    for m in model.get_compile_config().get("metrics") or []:
        names.append(m if isinstance(m, str) else m["config"]["name"])
    return names + ([f"val_{n}" for n in names] if has_validation else [])


def check_objective(objective: kt.Objective, model: keras.Model, has_validation: bool) -> None:
    """Refuse, before any trial, an objective the model does not report."""
    reported = reported_metrics(model, has_validation)
    if objective.name not in reported:
        hint = "" if has_validation or not objective.name.startswith("val_") else (
            " (val_ metrics need a validation split: pass validation_split)")
        raise ValueError(
            f"The objective {objective.name!r} is not a metric the model reports{hint}. Reported: "
            f"{', '.join(reported)} (accuracy is an alias of top1, e.g. val_accuracy = val_top1)."
        )


# --------------------------------------------------------------------------- the search


def is_worker() -> bool:
    """True in a keras-tuner worker process (KERASTUNER_ORACLE_IP set, tuner id not 'chief')."""
    from .._compat import kerastuner_is_worker

    return kerastuner_is_worker()


def _identity(space: SearchSpace, config: TrainConfig, tuner: str, objective: kt.Objective,
              epochs: int) -> dict[str, Any]:
    from ..training.rundir import comparable

    training = comparable(config.to_dict())
    for key in _NOT_TRAIN_OPTIONS + ("seed",):
        training.pop(key, None)
    return {"space": space.to_config(), "tuner": tuner, "objective": objective.name, "epochs": epochs,
            "training": training}


def check_directory(directory: StrPath, identity: Mapping[str, Any], overwrite: bool) -> None:
    """Refuse a search directory that holds a different search (nothing there is touched)."""
    directory = pathlib.Path(directory)
    project = directory / PROJECT
    path = project / IDENTITY
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"The search directory {str(directory)!r} exists and is not a directory.")
    foreign = sorted(p.name for p in directory.iterdir() if p.name not in (PROJECT, "tensorboard")) \
        if directory.is_dir() else []
    if foreign and not path.exists():
        raise FileExistsError(
            f"{str(directory)!r} is not empty ({', '.join(foreign[:5])}) and is not a search directory; "
            f"choose a new or empty directory for the search.")
    if overwrite or not project.exists():
        return
    if not path.exists():
        if any(project.glob("trial_*")) or (project / "oracle.json").exists():
            raise FileExistsError(
                f"{project} holds a keras-tuner project that keras-resnet tune did not make (no {IDENTITY}); "
                f"choose another directory or pass overwrite=True / --overwrite.")
        return
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise FileExistsError(f"{path} is not valid JSON ({e}); pass --overwrite to start the search again.") from None
    if old != identity:
        keys = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
        changes = "; ".join(_diff(k, old.get(k), identity.get(k)) for k in keys)
        raise ValueError(
            f"{directory} holds a different search ({changes}). Re-run with the same settings to resume it "
            f"(only max_trials may grow), choose another directory, or pass overwrite=True / --overwrite "
            f"to delete its trials.")


def _diff(key: str, old: Any, new: Any) -> str:
    if key == "space" and old and new and old.get("family") == new.get("family"):
        names = [n for n in HYPERPARAMETERS if old["params"].get(n) != new["params"].get(n)]
        return "; ".join(f"{n}: {old['params'].get(n)} -> {new['params'].get(n)}" for n in names)
    if isinstance(old, dict) and isinstance(new, dict):
        names = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
        return "; ".join(f"{key}.{n}: {old.get(n)!r} -> {new.get(n)!r}" for n in names)
    return f"{key}: {old!r} -> {new!r}"


def _check_args(tuner: str, max_trials: int, epochs: int, train_options: Mapping[str, Any]) -> None:
    from ..training.config import TrainConfig

    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner {tuner!r}. Allowed: {', '.join(TUNERS)}.")
    for name, value in (("max_trials", max_trials), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    if tuner == "hyperband" and epochs < 2:
        raise ValueError(f"hyperband needs epochs (its max_epochs) >= 2, got {epochs}.")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in train_options:
        if key in _NOT_TRAIN_OPTIONS:
            raise ValueError(f"{key!r} is set by the search (a hyperparameter or the trial budget), not a training option.")
        if key not in fields:
            allowed = sorted(fields - set(_NOT_TRAIN_OPTIONS))
            raise ValueError(f"Unknown training option {key!r}. Allowed: {', '.join(allowed)}.")


def search(space: SearchSpace | None = None, *, directory: StrPath, tuner: str = "random", max_trials: int = 10,
           epochs: int = 1, objective: str | kt.Objective = "val_accuracy", overwrite: bool = False,
           distribution_strategy: tf.distribute.Strategy | None = None, executions_per_trial: int = 1,
           hyperband_factor: int = 3, export_best: bool = True, run_eagerly: bool = False, verbose: Verbose = 1,
           **train_options: Any) -> SearchResult:
    """Run (or resume) a search and write its results into `directory`.

    Args:
        space: a SearchSpace (default: the CIFAR space of the paper).
        directory: the search directory: `search/` (keras-tuner's project), `tensorboard/`,
            `results.csv`, `results.md`, `pareto.png` and `best/` (the best trial as a run directory).
        tuner: "random", "bayesian" (Gaussian process, needs scipy and scikit-learn), "hyperband", or
            "grid" (every architecture of a small space once).
        max_trials: how many trials in all (a resumed search runs only the missing ones).
        epochs: the trial budget: epochs per trial (Hyperband: the most epochs a trial trains).
        objective: a metric `fit` logs, "val_accuracy" by default ("NAME:min" / "NAME:max" to set the direction).
        overwrite: delete the search's earlier trials and start again.
        distribution_strategy: the tf.distribute strategy of every trial (default: `training.get_strategy(devices)`).
        run_eagerly: train without tf.function tracing (tiny data: tracing costs more than the steps).
        **train_options: `training.TrainConfig` fields: dataset, data_dir, batch_size, recipe, validation_split
            (default 0.1 here: the objective must not see the test set), augment, devices, seed, ...
    """
    from . import report

    space = space or SearchSpace("cifar")
    label = objective if isinstance(objective, str) else None
    config, objective = _checked_config(space, tuner, max_trials, epochs, objective, train_options)
    worker = is_worker()
    if worker and overwrite:
        raise ValueError("A keras-tuner worker must never overwrite the shared search directory "
                         "(it would delete the other processes' trials); drop overwrite on the workers.")
    directory = pathlib.Path(directory)
    identity = _identity(space, config, tuner, objective, epochs)
    check_directory(directory, identity, overwrite)
    strategy, hypermodel = _hypermodel(space, config, objective, distribution_strategy, run_eagerly)
    tuner_obj = make_tuner(tuner, hypermodel, objective=objective, max_trials=max_trials, epochs=epochs,
                           directory=directory, seed=config.seed, overwrite=overwrite,
                           distribution_strategy=strategy, executions_per_trial=executions_per_trial,
                           hyperband_factor=hyperband_factor)
    _run_trials(tuner_obj, directory, None if worker else identity, verbose)
    if worker:
        return SearchResult(directory, None, None, tuner_obj.trials_run, tuner_obj)
    rows = report.write_report(tuner_obj, directory, objective, label)
    best = report.export_best(tuner_obj, directory, hypermodel, objective) if export_best else None
    return SearchResult(directory, rows, best, tuner_obj.trials_run, tuner_obj)


def _checked_config(space: SearchSpace, tuner: str, max_trials: int, epochs: int, objective: str | kt.Objective,
                    train_options: dict[str, Any]) -> tuple[TrainConfig, kt.Objective]:
    """The trials' TrainConfig and the objective, every argument checked before anything is written."""
    from .. import training

    if not isinstance(space, SearchSpace):
        raise ValueError(f"space must be a keras_resnet.search.SearchSpace, got {type(space).__name__}.")
    _check_args(tuner, max_trials, epochs, train_options)
    ranged = [n for n, spec in space.params.items() if "range" in spec]
    if tuner == "grid" and ranged:
        raise ValueError(f"The grid tuner needs a finite space, but {', '.join(ranged)} "
                         f"{'is a range' if len(ranged) == 1 else 'are ranges'}: fix them or give choices "
                         f"(e.g. --fix lr=0.1 --choice weight_decay=1e-4,5e-4).")
    resolved = resolve_objective(objective)
    train_options.setdefault("validation_split", 0.1)
    config = training.TrainConfig(epochs=epochs, **train_options)
    training.check_config(config)
    return config, resolved


def _hypermodel(space: SearchSpace, config: TrainConfig, objective: kt.Objective,
                distribution_strategy: tf.distribute.Strategy | None,
                run_eagerly: bool) -> tuple[tf.distribute.Strategy, ResNetHyperModel]:
    """The trials' strategy and hypermodel over the prepared data; the objective checked on a first build."""
    import keras

    from .. import training

    keras.utils.set_random_seed(config.seed)
    strategy = distribution_strategy or training.get_strategy(config.devices)
    prepared = training.prepare_data(config, strategy)
    hypermodel = ResNetHyperModel(space, config, prepared, run_eagerly=run_eagerly)
    with strategy.scope():
        check_objective(objective, hypermodel.build(kt.HyperParameters()), prepared.val_ds is not None)
    return strategy, hypermodel


def _run_trials(tuner_obj: kt.Tuner, directory: pathlib.Path, identity: Mapping[str, Any] | None,
                verbose: Verbose) -> None:
    """Run the missing trials (TensorBoard logs in `directory`); the chief first records the search's identity."""
    import keras

    if identity is not None:
        from ..io import write_json

        (directory / PROJECT).mkdir(parents=True, exist_ok=True)  # overwrite=True has just removed it
        write_json(directory / PROJECT / IDENTITY, identity)
    tensorboard = keras.callbacks.TensorBoard(str(directory / "tensorboard"), write_graph=False, profile_batch=0)
    tuner_obj.search(callbacks=[tensorboard], verbose=verbose)
