"""The model card of a finished run (model_card.json): model, data, classes, preprocessing, cost, metrics."""

from . import rundir
from .config import TrainConfig


def _call_repr(config):
    args = ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items()
                     if k != "command" and v != getattr(TrainConfig, k, None) and v not in ({}, None))
    return f"keras_resnet.training.train({args})"


def model_card(model, config, prepared, metrics, name, **schedule):
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
        "created": rundir.now(),
        "versions": rundir.versions(),
    }
