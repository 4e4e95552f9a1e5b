"""What keras-tuner runs: the zoo as a HyperModel, and the tuners that record each trial's cost.

`ResNetHyperModel.build` is exactly `training.build_model` + `training.compile_model` for the trial's
hyperparameters (the space of space.py); its `fit` trains on the pipelines of `training.prepare_data`.
The tuners are keras-tuner's own (RandomSearch, BayesianOptimization, Hyperband, GridSearch), each
writing a sidecar file (wall time, epochs, params, MACs) next to the trial's trial.json that the
report (report.py) reads.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from typing import TYPE_CHECKING, Any

import keras_tuner as kt

from .._compat import set_hyperband_max_trials
from ..registry import TUNERS

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
    from keras_tuner import Tuner as _TunerBase   # what _Recorded is mixed into (at run time its base is object)

    from .._typing import StrPath, Verbose
    from ..training import PreparedData, TrainConfig
    from .space import SearchSpace
else:
    _TunerBase = object

PROJECT = "search"
SIDECAR = "keras_resnet_trial.json"


class ResNetHyperModel(kt.HyperModel):
    """The zoo as a keras-tuner HyperModel: `build` is `training.build_model` + `training.compile_model`.

    Args:
        space: a SearchSpace.
        config: the base `training.TrainConfig` of every trial (dataset, recipe, batch, epochs, ...).
        prepared: `training.prepare_data(config)`: the batched train/validation pipelines.
        run_eagerly: Keras's `run_eagerly` (no tf.function tracing): faster for tiny data and models.
    """

    def __init__(self, space: SearchSpace, config: TrainConfig, prepared: PreparedData,
                 run_eagerly: bool = False) -> None:
        super().__init__(name="keras_resnet")
        self.space, self.config, self.prepared = space, config, prepared
        self.run_eagerly = run_eagerly
        self.last_profile: dict[str, Any] | None = None

    def trial_config(self, values: dict[str, Any]) -> TrainConfig:
        """The TrainConfig of one trial: the base config with the trial's model, lr and weight decay."""
        name, kwargs = self.space.model(values)
        return dataclasses.replace(self.config, model=name, model_kwargs=kwargs, lr=float(values["lr"]),
                                   weight_decay=float(values["weight_decay"]))

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        from .. import training
        from ..nets.profiling import profile

        config = self.trial_config(self.space.declare(hp))
        model = training.build_model(config, self.prepared.data)
        training.compile_model(model, config, self.prepared.steps_per_epoch)
        model.run_eagerly = self.run_eagerly
        self.last_profile = profile(model, input_shape=tuple(self.prepared.data.image_shape))
        return model

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, epochs: int | None = None,
            callbacks: list[keras.callbacks.Callback] | None = None, verbose: Verbose = "auto",
            initial_epoch: int = 0, **kwargs: Any) -> keras.callbacks.History:
        """`model.fit` on the pipelines of `training.prepare_data` (Hyperband passes `epochs`, `initial_epoch`)."""
        return model.fit(self.prepared.train_ds, validation_data=self.prepared.val_ds,
                         epochs=epochs or self.config.epochs, initial_epoch=initial_epoch,
                         callbacks=callbacks, verbose=verbose, shuffle=False)   # the pipeline shuffles


class _Recorded(_TunerBase):
    """Tuner mixin: after each trial, write its wall time, epochs, params and MACs next to trial.json."""

    trials_run: list[str]     # the ids of the trials this process ran: make_tuner starts it empty

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        histories = super().run_trial(trial, *args, **kwargs)
        last = histories[-1] if isinstance(histories, list) and histories else histories
        epochs = list(getattr(last, "epoch", []) or [])
        profile = self.hypermodel.last_profile or {}
        record = {"trial_id": trial.trial_id, "tuner_id": self.tuner_id, "started": start,
                  "wall_s": round(time.time() - start, 3), "epochs_run": len(epochs),
                  "epochs": (max(epochs) + 1) if epochs else 0,
                  "params": profile.get("trainable_params"), "total_params": profile.get("total_params"),
                  "macs": profile.get("macs"), "pid": os.getpid(),
                  "replicas": getattr(self.distribution_strategy, "num_replicas_in_sync", 1)}
        from ..io import write_json

        write_json(pathlib.Path(self.get_trial_dir(trial.trial_id)) / SIDECAR, record)
        self.trials_run.append(trial.trial_id)
        return histories


class RandomSearch(_Recorded, kt.RandomSearch):
    pass


class BayesianOptimization(_Recorded, kt.BayesianOptimization):
    pass


class Hyperband(_Recorded, kt.Hyperband):
    pass


class GridSearch(_Recorded, kt.GridSearch):
    pass



def make_tuner(kind: str, hypermodel: ResNetHyperModel, *, objective: kt.Objective, max_trials: int, epochs: int,
               directory: StrPath, seed: int = 0, overwrite: bool = False,
               distribution_strategy: tf.distribute.Strategy | None = None, executions_per_trial: int = 1,
               hyperband_factor: int = 3) -> _Recorded:
    """A keras-tuner tuner (random, bayesian, hyperband or grid) over `hypermodel`, in `directory/search`.

    grid runs every combination of the categorical hyperparameters once (plain nets once per depth,
    not once per shortcut); give lr and weight_decay as fixed values or choices for it.
    """
    common = dict(objective=objective, seed=seed, directory=str(directory), project_name=PROJECT,
                  overwrite=overwrite, distribution_strategy=distribution_strategy,
                  executions_per_trial=executions_per_trial)
    if kind == "random":
        tuner = RandomSearch(hypermodel, max_trials=max_trials, **common)
    elif kind == "bayesian":
        tuner = BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    elif kind == "grid":
        tuner = GridSearch(hypermodel, max_trials=max_trials, **common)
    elif kind == "hyperband":
        tuner = Hyperband(hypermodel, max_epochs=epochs, factor=hyperband_factor, **common)
        set_hyperband_max_trials(tuner, max_trials)  # Hyperband stops at its brackets' end or at max_trials
    else:
        raise ValueError(f"Unknown tuner {kind!r}. Allowed: {', '.join(TUNERS)}.")
    tuner.trials_run = []
    return tuner
