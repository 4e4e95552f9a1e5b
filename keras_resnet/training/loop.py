"""Training: any model of the zoo on real data, with the paper's CIFAR recipe by default.

    result = keras_resnet.training.train(model="resnet20", dataset="cifar10", epochs=182, run_dir="runs/r20")
    result.metrics["test_top1_error"]

The pieces, usable alone: `get_strategy` (distribute.py), `prepare_data`
(the tf.data pipelines of keras_resnet.data at the strategy's global batch; on Keras's JAX and PyTorch
backends `data.batches.ArrayBatches`, with no TensorFlow, and keras.distribution on JAX: devices.py),
`build_model` (the zoo model with the training set's normalisation statistics
inside, and its input shape and class count taken from the data),
`compile_model` (SGD + the recipe's schedule, recipes.py; loss; top-1/top-5),
`evaluate` (top-1/top-5 error and the confusion matrix). `train` ties them
together and writes a run directory (rundir.py, the model card of card.py) that a
re-run resumes. The run's settings are a `TrainConfig` (config.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import pathlib
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np

from . import cluster, recipes, rundir
from .card import CARD_FILE, REQUIRED, model_card, read_card
from .cluster import is_chief
from .config import TrainConfig, _dataset_name, check_config
from .fit import check_fit

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from .._typing import History
    from ..data import ImageData
    from ..data.batches import ArrayBatches
    from typing_extensions import TypeAlias

    Batches: TypeAlias = "tf.data.Dataset | ArrayBatches"

EVAL_BATCH = 256


@dataclasses.dataclass
class PreparedData:
    data: ImageData
    train_ds: Batches                 # batched: a tf.data.Dataset (TensorFlow) or ArrayBatches (JAX, PyTorch)
    val_ds: Batches | None            # batched, or None
    test_ds: Batches                  # batched
    steps_per_epoch: int
    batch_size: int                   # global
    per_replica_batch: int
    backend: str = "tensorflow"       # the Keras backend the pipelines are for


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    history: History
    run_dir: pathlib.Path | None      # None on a worker other than the chief
    metrics: dict[str, Any]
    model_card: dict[str, Any] | None = None


# --------------------------------------------------------------------------- the pieces


def backend() -> str:
    """The Keras backend in use: "tensorflow", "jax" or "torch"."""
    import keras

    return keras.backend.backend()


def prepare_data(config: TrainConfig, strategy: Any = None) -> PreparedData:
    """Load the dataset and build its batched pipelines at the global batch size.

    `strategy`: a tf.distribute strategy on TensorFlow; a keras.distribution.DataParallel on JAX (or None).
    """
    from .. import data as data_lib

    if config.recipe in recipes.IMAGENET_RECIPES:       # photos of every size, streamed (data/streaming.py)
        return _prepare_streaming(config, strategy)
    if isinstance(config.dataset, (str, pathlib.PurePath)):
        data = data_lib.load(str(config.dataset), data_dir=config.data_dir,
                             validation_split=config.validation_split, seed=config.seed)
    else:
        data = config.dataset
    if backend() != "tensorflow":
        return _prepare_arrays(config, data, strategy)
    from .distribute import per_replica_batch

    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    local = per_replica_batch(config.batch_size, strategy) if strategy is not None else config.batch_size
    augment = data_lib.default_augment(data) if config.augment is None else bool(config.augment)
    drop = replicas > 1
    classes = len(data.class_names)

    def batched(ds: tf.data.Dataset | None, training: bool) -> tf.data.Dataset | None:
        if ds is None:
            return None
        ds = data_lib.pipeline(ds, batch_size=config.batch_size, training=training,
                               augment=augment and training, seed=config.seed, drop_remainder=drop)
        if config.label_smoothing:
            import tensorflow as tf

            ds = ds.map(lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), classes)))
        return ds

    n = data.num_train
    if n < config.batch_size and drop:
        raise ValueError(f"The training split has {n} images, fewer than one global batch of {config.batch_size}.")
    steps = n // config.batch_size if drop else math.ceil(n / config.batch_size)
    val = data.validation if data.num_validation else None
    return PreparedData(data, batched(data.train, True), batched(val, False), batched(data.test, False),
                        max(1, steps), config.batch_size, local)


def _prepare_streaming(config: TrainConfig, strategy: Any) -> PreparedData:
    """prepare_data for the ImageNet recipes: StreamingData at the model's input size (TensorFlow backend)."""
    from ..data.streaming import CACHE_BUDGET, StreamingData, load_streaming
    from ..registry import DEFAULT_INPUT_SHAPES

    shape = config.model_kwargs.get("input_shape") or DEFAULT_INPUT_SHAPES["imagenet"]
    crop = (int(shape[0] or DEFAULT_INPUT_SHAPES["imagenet"][0]), int(shape[1] or DEFAULT_INPUT_SHAPES["imagenet"][1]))
    if isinstance(config.dataset, StreamingData):
        data = config.dataset
    elif isinstance(config.dataset, (str, pathlib.PurePath)):
        data = load_streaming(str(config.dataset), data_dir=config.data_dir, validation_split=config.validation_split,
                              seed=config.seed, crop=crop, recipe=config.recipe, skip_bad_images=config.skip_bad_images,
                              cache_budget=CACHE_BUDGET if config.cache_budget is None else config.cache_budget)
    else:
        raise ValueError(f"recipe {config.recipe!r} streams photos from a path or a tfds name (or a StreamingData); "
                         f"dataset {getattr(config.dataset, 'name', config.dataset)!r} is in-memory arrays: use "
                         "--recipe paper (or cosine, onecycle) for it")
    if backend() != "tensorflow":
        raise ValueError(f"recipe {config.recipe!r} streams photos through tf.data, which needs the TensorFlow "
                         f"backend for now; on the {backend()} backend use --backend tensorflow")
    from .distribute import per_replica_batch

    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    local = per_replica_batch(config.batch_size, strategy) if strategy is not None else config.batch_size
    drop, n = replicas > 1, data.num_train
    if n < config.batch_size and drop:
        raise ValueError(f"The training split has {n} images, fewer than one global batch of {config.batch_size}.")
    onehot = len(data.class_names) if config.label_smoothing else None
    def batches(split: str, training: bool = False) -> tf.data.Dataset:
        return data.batches(split, batch_size=config.batch_size, training=training, augment=config.augment is not False,
                            seed=config.seed, drop_remainder=drop, one_hot=onehot)

    val = batches("validation") if data.num_validation else None
    steps = n // config.batch_size if drop else math.ceil(n / config.batch_size)
    return PreparedData(data, batches("train", True), val, batches("test"), max(1, steps), config.batch_size, local)


def _prepare_arrays(config: TrainConfig, data: ImageData, distribution: Any) -> PreparedData:
    """prepare_data on Keras's JAX / PyTorch backends: ArrayBatches over the in-memory arrays, no TensorFlow."""
    from .. import data as data_lib
    from ..data.batches import ArrayBatches

    if data.arrays is None:
        raise ValueError(f"dataset {data.name!r} is read through tf.data (a tensorflow-datasets name or an image "
                         f"folder), which needs the TensorFlow backend; on the {backend()} backend use an in-memory "
                         "source (.npz, CIFAR python batches, IDX files) or --backend tensorflow")
    replicas = len(distribution.device_mesh.devices.ravel()) if distribution is not None else 1
    if config.batch_size % replicas:
        raise ValueError(f"batch_size {config.batch_size} is the global batch and must be divisible by the number "
                         f"of devices ({replicas}).")
    a, drop = data.arrays, replicas > 1
    augment = data_lib.default_augment(data) if config.augment is None else bool(config.augment)
    onehot = len(data.class_names) if config.label_smoothing else None
    if data.num_train < config.batch_size and drop:
        raise ValueError(f"The training split has {data.num_train} images, fewer than one global batch of "
                         f"{config.batch_size}.")

    def batches(split: str, training: bool) -> ArrayBatches:
        return ArrayBatches(a[f"x_{split}"], a[f"y_{split}"], batch_size=config.batch_size, training=training,
                            augment=augment and training, seed=config.seed, drop_remainder=drop, classes=onehot)

    train = batches("train", True)
    val = batches("val", False) if data.num_validation else None
    return PreparedData(data, train, val, batches("test", False), len(train), config.batch_size,
                        config.batch_size // replicas, backend=backend())


def build_model(config: TrainConfig, data: ImageData) -> keras.Model:
    """The zoo model `config.model` for `data`: its input shape, class count and normalisation.

    The training set's per-channel mean and std go into the model's first
    layers (Rescaling + Normalization), so the model takes raw 0-255 images.
    A model whose input shape or class count the user fixed differently from
    the data is refused.
    """
    from .. import data as data_lib
    from ..nets.builders import build

    kwargs = dict(config.model_kwargs)
    shape, classes = tuple(data.image_shape), len(data.class_names)
    model, dataset = f"model {config.model!r}", f"dataset {data.name!r}"
    if kwargs.get("input_shape") is not None:
        check_fit(kwargs["input_shape"], None, shape, model=model, data=dataset,
                  fix="leave input_shape out to take it from the data")
    else:
        kwargs["input_shape"] = shape
    if kwargs.get("classes") is not None:
        check_fit(None, kwargs["classes"], class_names=data.class_names, model=model, data=dataset,
                  fix="leave classes out to take it from the data")
    kwargs["classes"] = classes
    kwargs.update(preprocessing=data_lib.normalization_stats(data), sync_bn=config.sync_bn)
    if config.weight_decay:
        kwargs["weight_decay"] = config.weight_decay
    from ..registry import TOY_NAME, normalize_name

    if normalize_name(config.model) == TOY_NAME:
        kwargs.pop("sync_bn"), kwargs.pop("weight_decay", None)
    if config.mixed_precision:    # passed to every layer: Keras's global dtype policy is left alone
        from .precision import mixed_policy

        kwargs["dtype"] = mixed_policy(backend())[0]
    return build(config.model, **kwargs)


def schedule_info(config: TrainConfig, steps_per_epoch: int) -> tuple[int, int, float, int]:
    """(epochs, total optimizer steps, peak lr, warm-up steps) of the run."""
    epochs, steps = recipes.total_steps(steps_per_epoch, config.epochs, config.iterations, config.recipe)
    lr = config.lr if config.lr is not None else recipes.default_lr(config.recipe, config.batch_size)
    return epochs, steps, lr, recipes.resolve_warmup(config.recipe, config.model, steps, config.warmup)


def compile_model(model: keras.Model, config: TrainConfig, steps_per_epoch: int) -> None:
    """SGD + the recipe's schedule; cross-entropy (with label smoothing); top-1/top-5 accuracy."""
    import keras

    _, steps, lr, warmup = schedule_info(config, steps_per_epoch)
    opt = recipes.optimizer(config.recipe, lr=lr, steps=steps, momentum=config.momentum, warmup=warmup,
                            constant_warmup=config.warmup is None)   # the automatic one is the paper's (recipes)
    from .metrics import TopK

    if config.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="top1"), TopK(5, sparse=False, name="top5")]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="top1"), TopK(5, name="top5")]
    model.compile(optimizer=opt, loss=loss, metrics=metrics, jit_compile=config.jit_compile,
                  steps_per_execution=config.steps_per_execution)


def evaluate(model: keras.Model, data_or_ds: ImageData | Batches, batch_size: int = EVAL_BATCH, *,
             ten_crop: bool = False) -> dict[str, Any]:
    """Top-1/top-5 accuracy and error, and the confusion matrix, on an ImageData's test split or a dataset.

    `data_or_ds`: an ImageData (its test split), a tf.data.Dataset of (image, label) pairs, batched or not,
    or ArrayBatches (any backend); labels as integers or one-hot. Streaming ImageNet-like data is scored on the
    centre crop; `ten_crop`: the paper's 10-crop testing (§3.4), the mean of the probabilities of the ten views
    (a dataset of (B, 10, h, w, 3) batches, or streaming data).
    """
    ds, predict = _eval_batches(model, data_or_ds, batch_size, ten_crop)
    classes = int(model.output_shape[-1])
    n, top1, top5 = 0, 0, 0
    confusion = np.zeros((classes, classes), np.int64)
    for x, y in ds:
        p = np.asarray(predict(x), np.float32)
        y = np.asarray(y)
        y = y.argmax(-1) if y.ndim == 2 else y.reshape(-1)
        y = y.astype(np.int64)
        check_fit(None, classes, labels=y, model=f"model {model.name!r}")
        ranked = np.argsort(-p, axis=-1)[:, :5]
        top1 += int((ranked[:, 0] == y).sum())
        top5 += int((ranked == y[:, None]).any(-1).sum())
        np.add.at(confusion, (y, ranked[:, 0]), 1)
        n += len(y)
    if n == 0:
        raise ValueError("evaluate got an empty dataset.")
    acc1, acc5 = top1 / n, top5 / n
    return {"top1_accuracy": acc1, "top5_accuracy": acc5, "top1_error": 1 - acc1, "top5_error": 1 - acc5,
            "examples": n, "confusion": confusion}


def _eval_batches(model: keras.Model, data_or_ds: Any, batch_size: int, ten_crop: bool = False) -> tuple[Any, Any]:
    """(iterable of (x, y) batches, a function x -> probabilities) for `evaluate`, on the backend in use."""
    from .. import data as data_lib
    from ..data.batches import ArrayBatches
    from ..data.streaming import StreamingData

    is_data = hasattr(data_or_ds, "test") and hasattr(data_or_ds, "class_names")
    if ten_crop or isinstance(data_or_ds, StreamingData):
        return _streaming_eval(model, data_or_ds, batch_size, ten_crop)
    if isinstance(data_or_ds, ArrayBatches) or (is_data and data_or_ds.test is None):
        if is_data:
            if data_or_ds.arrays is None:
                raise ValueError(f"dataset {data_or_ds.name!r} has no test arrays to evaluate on")
            a = data_or_ds.arrays
            data_or_ds = ArrayBatches(a["x_test"], a["y_test"], batch_size=batch_size)
        return (data_or_ds[i] for i in range(len(data_or_ds))), model.predict_on_batch
    import tensorflow as tf

    if is_data:
        ds: tf.data.Dataset = data_lib.pipeline(data_or_ds.test, batch_size=batch_size, training=False)
    else:
        ds = data_or_ds
        if len(ds.element_spec[0].shape) == 3:
            ds = ds.batch(batch_size)

    @tf.function(reduce_retracing=True)
    def predict(x):
        return model(x, training=False)

    return ds, predict


def _streaming_eval(model: keras.Model, data_or_ds: Any, batch_size: int, ten_crop: bool) -> tuple[Any, Any]:
    """Centre-crop or 10-crop batches of streaming data (or a dataset of 10-view batches) and their predictor:
    the ten views of each image go through the model as one batch of 10 B; their probabilities are averaged."""
    if backend() != "tensorflow":
        raise ValueError(f"centre-crop / 10-crop evaluation of photos streams them through tf.data, which needs the "
                         f"TensorFlow backend for now; on the {backend()} backend use --backend tensorflow")
    import tensorflow as tf

    from ..data.streaming import StreamingData

    if isinstance(data_or_ds, StreamingData):
        ds = data_or_ds.batches("test", batch_size=batch_size, views="ten_crop" if ten_crop else "center")
    elif ten_crop and isinstance(data_or_ds, tf.data.Dataset) and len(data_or_ds.element_spec[0].shape) == 5:
        ds = data_or_ds
    else:
        raise ValueError("ten_crop needs streaming ImageNet-like data (recipe imagenet / torchvision: a folder of "
                         "photos, TFRecords or tfds imagenet2012) or a dataset of (B, 10, h, w, 3) batches; got "
                         f"{type(data_or_ds).__name__} {getattr(data_or_ds, 'name', '')!r}")

    @tf.function(reduce_retracing=True)
    def predict(x):
        if not ten_crop:
            return model(x, training=False)
        views = tf.shape(x)[1]
        p = model(tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0)), training=False)
        return tf.reduce_mean(tf.reshape(tf.cast(p, tf.float32), [-1, views, tf.shape(p)[-1]]), axis=1)

    return ds, predict


# --------------------------------------------------------------------------- the run


def _callbacks(run_dir: pathlib.Path, chief: bool, backup_dir: pathlib.Path) -> list[keras.callbacks.Callback]:
    import keras

    cbs = [keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False, double_checkpoint=True)]
    if chief:
        if backend() == "tensorflow":
            board = keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False, profile_batch=0)
        else:      # Keras's callback writes through tf.summary
            from .tensorboard import EpochScalars

            board = EpochScalars(run_dir / "tensorboard")
        cbs += [keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True), board]
    return cbs


def _devices(config: TrainConfig) -> tuple[Any, Any]:
    """(tf.distribute strategy or None, keras.distribution or None) for this run on the backend in use."""
    if backend() == "tensorflow":
        from .distribute import get_strategy

        return get_strategy(config.devices), None
    from .devices import data_parallel

    if cluster.cluster_spec() is not None:
        raise ValueError(f"TF_CONFIG names a cluster: several hosts train with TensorFlow's "
                         f"MultiWorkerMirroredStrategy; on the {backend()} backend train on one host.")
    return None, data_parallel(backend(), config.devices)


def train(config: TrainConfig | None = None, **overrides: Any) -> TrainResult:
    """Train `config` (a TrainConfig; keyword arguments override its fields) and write its run directory.

    Re-running the same config resumes from the last finished epoch
    (BackupAndRestore); a finished run is loaded, not trained again. A run
    directory that holds a different config is refused unless overwrite=True.
    """
    from ..data import naming_undecodable_images

    config = dataclasses.replace(config or TrainConfig(), **overrides)
    check_config(config)
    if backend() == "tensorflow":
        from ..runtime import check_onednn

        check_onednn()    # once per process: warns if TF's oneDNN kernels are off by default here (runtime.py)
    with naming_undecodable_images(config.dataset):
        return _train(config)


def _train(config: TrainConfig) -> TrainResult:
    import keras

    if config.run_dir is None:
        config.run_dir = str(pathlib.Path("runs") / f"{config.model}-{_dataset_name(config.dataset)}")
    run_dir = pathlib.Path(config.run_dir)
    cfg = config.to_dict()
    chief = is_chief()
    state = rundir.prepare(run_dir, cfg, config.overwrite) if chief else "worker"
    if state == "complete":
        return _load_finished(run_dir)

    keras.utils.set_random_seed(config.seed)
    strategy, distribution = _devices(config)
    prepared = prepare_data(config, strategy if strategy is not None else distribution)
    build_scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    from ..data.streaming import reporting_bad_images

    with distribution.scope() if distribution is not None else contextlib.nullcontext():   # JAX: fit sharded too
        with reporting_bad_images(prepared.data):     # streaming: an unreadable image named / skips reported
            return _fit(config, run_dir, cfg, chief, state, prepared, build_scope)


def _fit(config: TrainConfig, run_dir: pathlib.Path, cfg: dict[str, Any], chief: bool, state: str,
         prepared: PreparedData, build_scope: Any) -> TrainResult:
    with build_scope:     # tf.distribute: variables are made under the strategy; fit follows it by itself
        model = build_model(config, prepared.data)
        compile_model(model, config, prepared.steps_per_epoch)
    epochs, steps, lr, warmup = schedule_info(config, prepared.steps_per_epoch)

    if chief:
        rundir.start(run_dir, cfg, state)
    backup_dir = rundir.backup_dir(run_dir, None if chief else cluster.task()[1])
    done = rundir.backup_epoch(backup_dir)
    if chief:
        rundir.truncate_history(run_dir / "history.csv", done)
    if done and config.verbose:
        print(f"Resuming {run_dir} after epoch {done} of {epochs}.")
    set_epoch = getattr(prepared.train_ds, "set_epoch", None)
    if set_epoch is not None:
        set_epoch(done)    # ArrayBatches: a resumed run continues the same permutations
    eval_ds, eval_name = (prepared.val_ds, "validation") if prepared.val_ds is not None else (prepared.test_ds, "test")
    model.fit(prepared.train_ds, epochs=epochs, validation_data=eval_ds, shuffle=False,
              callbacks=_callbacks(run_dir, chief, backup_dir), verbose=config.verbose)
    if not chief:
        shutil.rmtree(backup_dir, ignore_errors=True)    # finished: nothing left to resume
        return TrainResult(model, {}, None, {})

    metrics = evaluate(model, prepared.test_ds)
    history = rundir.read_history(run_dir / "history.csv")
    name = f"{config.model}-{prepared.data.name}"
    card = model_card(model, config, prepared, metrics, name, epochs=epochs, steps=steps, lr=lr, warmup=warmup,
                      backend=prepared.backend, dtype_policy=model.dtype_policy.name,
                      **_precision_reason(config, prepared.backend))
    rundir.write_run(run_dir, model, card, history=history, title=name, eval_name=eval_name)
    return TrainResult(model, history, run_dir, card["metrics"], card)


def _precision_reason(config: TrainConfig, name: str) -> dict[str, str]:
    if not config.mixed_precision:
        return {}
    from .precision import mixed_policy

    return {"precision": mixed_policy(name)[1]}


def _load_finished(run_dir: pathlib.Path) -> TrainResult:
    from ..nets.saving import load_keras_model
    from . import metrics  # noqa: F401  registers TopK, which the compiled model references

    card = read_card(run_dir / CARD_FILE, required=REQUIRED + ("metrics",))
    print(f"{run_dir} is a finished run (model_card.json present): loading it, not training again.")
    model = load_keras_model(run_dir / "model.keras", compile=True)     # safe_mode=True, one clear error for a broken file
    return TrainResult(model, rundir.read_history(run_dir / "history.csv"), run_dir, card["metrics"], card)
