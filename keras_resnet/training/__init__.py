"""Training (He et al. 2016, §4.2): the run's config, the loop, the recipes, metrics, devices, run directory.

    from keras_resnet.training import train
    result = train(model="resnet20", dataset="cifar10", epochs=182, run_dir="runs/r20")

config.py      TrainConfig and its checks
loop.py        train, evaluate and the pieces: prepare_data, build_model, compile_model
recipes.py     the learning-rate schedules (paper / cosine / onecycle) and the optimizer
metrics.py     TopK (top-5 accuracy that works in half precision)
distribute.py  the tf.distribute strategy and the multi-worker shim
rundir.py      the run directory: resume, history, curves, confusion matrix; write_run, the one writer of a finished run
card.py        the model card of a finished run; read_card, the one reader of model_card.json
fit.py         check_fit: does a model fit a dataset (input shape, classes, labels)
"""

from .card import model_card, read_card
from .config import TrainConfig, check_config, dataset_spec
from .distribute import get_strategy, is_chief, per_replica_batch
from .fit import check_fit
from .loop import (
    EVAL_BATCH, PreparedData, TrainResult, build_model, compile_model, evaluate, prepare_data, schedule_info, train,
)
from .metrics import TopK

__all__ = [
    "EVAL_BATCH", "PreparedData", "TopK", "TrainConfig", "TrainResult", "build_model", "check_config", "check_fit",
    "compile_model", "dataset_spec", "evaluate", "get_strategy", "is_chief", "model_card", "per_replica_batch",
    "prepare_data", "read_card", "schedule_info", "train",
]
