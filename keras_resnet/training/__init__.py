"""Training (He et al. 2016, §4.2): the run's config, the loop, the recipes, metrics, devices, run directory.

```python
from keras_resnet.training import train
result = train(model="resnet20", dataset="cifar10", epochs=182, run_dir="runs/r20")
```

- `config.py`: TrainConfig and its checks
- `loop.py`: train, evaluate and the pieces: prepare_data, build_model, compile_model
- `recipes.py`: the learning-rate schedules (paper / cosine / onecycle) and the optimizer
- `metrics.py`: TopK (top-5 accuracy that works in half precision)
- `precision.py`: which mixed-precision policy the hardware wants (bf16, or fp16 with loss scaling)
- `distribute.py`: the tf.distribute strategy and the multi-worker shim (TensorFlow only)
- `devices.py`: keras.distribution.DataParallel on JAX (the Keras 3 counterpart of MirroredStrategy)
- `rundir.py`: the run directory: resume, history, curves, confusion matrix; write_run, the one writer of a finished
  run
- `card.py`: the model card of a finished run; read_card, the one reader of model_card.json
- `fit.py`: check_fit: does a model fit a dataset (input shape, classes, labels)

The names below load their module on first use, so importing this package (or `training.metrics`, which Keras
needs to load a compiled model) does not import TensorFlow: on Keras's JAX and PyTorch backends only
`distribute` needs it.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .card import model_card, read_card
    from .config import TrainConfig, check_config, dataset_spec
    from .distribute import get_strategy, is_chief, per_replica_batch
    from .fit import check_fit
    from .loop import (
        EVAL_BATCH, PreparedData, TrainResult, build_model, compile_model, evaluate, prepare_data, schedule_info,
        train,
    )
    from .metrics import TopK

_LAZY = {
    **dict.fromkeys(("model_card", "read_card"), ".card"),
    **dict.fromkeys(("TrainConfig", "check_config", "dataset_spec"), ".config"),
    **dict.fromkeys(("get_strategy", "is_chief", "per_replica_batch"), ".distribute"),
    "check_fit": ".fit",
    **dict.fromkeys(("EVAL_BATCH", "PreparedData", "TrainResult", "build_model", "compile_model", "evaluate",
                     "prepare_data", "schedule_info", "train"), ".loop"),
    "TopK": ".metrics",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
