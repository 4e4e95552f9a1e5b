"""Every touch of another library's private API, and every workaround of an upstream bug, in one place.

Each function below names the upstream issue or the reason it exists; `tests/test_compat.py` has, for
each, a test that fails once it is no longer needed (upstream fixed the bug or published a public API):
then delete the function and use the public way. Nothing here imports TensorFlow, Keras, keras-tuner,
LiteRT or Gradio at module level: each function imports what it touches when it is called.

Touches (function: library, what, why):
- install_multiworker_shim / uninstall_multiworker_shim / is_multiworker: Keras (keras.src trainer) and
  TensorFlow (`strategy.extended._in_multi_worker_mode`): `model.fit` under MultiWorkerMirroredStrategy,
  keras-team/keras#20585.
- hidden_native_logs: TensorFlow/abseil print start-up log lines while the native libraries load,
  before `TF_CPP_MIN_LOG_LEVEL` applies (tensorflow/tensorflow#100442, abseil/abseil-cpp#1957), and LiteRT
  logs its XNNPACK delegate with no switch at all (google-ai-edge/LiteRT#7420).
- onednn_enabled: TensorFlow (`tensorflow.python.util._pywrap_util_port.IsMklEnabled`): no public way
  to ask whether oneDNN is on.
- kerastuner_is_worker: keras-tuner (`keras_tuner.src.distribute.utils`): no public way to ask whether
  this process is a distributed-tuning worker.
- set_hyperband_max_trials: keras-tuner: `Hyperband` takes no `max_trials`; its oracle's attribute caps it.
- functional_nodes / is_functional: Keras (`Functional._nodes_by_depth`): no public way to get a layer's
  node (its input and output tensors) in one given model when the layer is shared between models.
- set_component_preprocess: Gradio: a component's preprocess replaced on the instance, because Gradio
  writes a .pyi stub next to the source file of any subclass of its components.
- gradio_cache_dir: Gradio (`Block.GRADIO_CACHE`, undocumented): the folder it serves output files from.
- gradio_busy: Gradio (`Blocks._queue`): no public way to wait for the events an app is still running
  before closing it (a worker left inside TensorFlow at interpreter exit aborts the process).
- parser_actions: Python's argparse (`ArgumentParser._actions`): no public list of a parser's options.
"""

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import Any


# --------------------------------------------------------------------------- Keras: multi-worker fit
# keras-team/keras#20585: Keras 3.15 `model.fit` under `MultiWorkerMirroredStrategy` fails twice in a row:
#   1. `TensorFlowTrainer._maybe_symbolic_build` receives a `PerReplica` batch and tries to convert it to a
#      tensor; the shim builds from one local replica's batch instead.
#   2. `trainer.reduce_per_replica` reduces scalar metrics with `axis=0` ("Invalid reduction dimension 0");
#      the shim reduces rank-0 values with `axis=None`.
# Both patched functions call the originals unless the strategy is multi-worker.
# Test: tests/training/test_distribute.py::test_upstream_keras_fit_under_multiworker_is_still_broken_so_the_shim_is_needed

_ORIGINAL: dict[str, Any] = {}   # the Keras functions the multi-worker shim replaced


def is_multiworker(strategy):
    """True for a MultiWorkerMirroredStrategy over more than one worker.

    `extended._in_multi_worker_mode()` is TensorFlow's own test (a single-worker cluster is not
    multi-worker); there is no public equivalent.
    """
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def install_multiworker_shim():
    """Patch Keras's TensorFlow trainer so that `fit` works under MultiWorkerMirroredStrategy (idempotent)."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if _ORIGINAL:
        return
    _ORIGINAL["reduce_per_replica"] = tf_trainer.reduce_per_replica
    _ORIGINAL["_maybe_symbolic_build"] = tf_trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_per_replica(values, strategy, reduction):
        if is_multiworker(strategy) and reduction in ("auto", "mean"):
            def _mean(v):
                axis = None if v.shape.rank == 0 else 0
                return strategy.reduce("MEAN", v, axis=axis)
            return tf.nest.map_structure(_mean, values)
        return _ORIGINAL["reduce_per_replica"](values, strategy, reduction)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or not is_multiworker(strategy) or iterator is None:
            return _ORIGINAL["_maybe_symbolic_build"](self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            batch = next(it)
            data_batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v, batch)
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build


def uninstall_multiworker_shim():
    """Undo `install_multiworker_shim` (the test that watches upstream uses it)."""
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if _ORIGINAL:
        tf_trainer.reduce_per_replica = _ORIGINAL.pop("reduce_per_replica")
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _ORIGINAL.pop("_maybe_symbolic_build")


# --------------------------------------------------------------------------- TensorFlow / LiteRT: native log lines
# tensorflow/tensorflow#100442 (open), abseil/abseil-cpp#1957: TF 2.21's native libraries log while they load
# (static initialisers run before abseil's log is initialised), so `TF_CPP_MIN_LOG_LEVEL` does not apply to
# them: "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
# "I0000 ... port.cc:153] oneDNN custom operations are on ...", "I0000 ... cudart_stub.cc:31] Could not find
# cuda drivers on your machine ...", each twice. Lines logged after the import obey the variable.
# google-ai-edge/LiteRT#7420 (open): the LiteRT interpreter's "INFO: Created TensorFlow Lite XNNPACK delegate
# for CPU." (printed by `allocate_tensors`) has no switch at all.
# Tests: tests/test_compat.py::test_tensorflow_still_logs_at_import_despite_min_log_level,
#        tests/test_compat.py::test_litert_still_logs_the_xnnpack_delegate_despite_min_log_level

# The line formats: abseil's ("I0000 00:00:1795462443.405122   20968 file.cc:31] ..."), TF's older one
# ("2025-09-17 14:44:05.157831: I external/.../file.cc:32] ..."), abseil's notice and TFLite's ("INFO: ...").
NATIVE_LOG_LINE = re.compile(
    r"^(?:(?P<absl>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: (?P<tf>[IWEF]) \S+:\d+\] "
    r"|(?P<lite>INFO|WARNING|ERROR): )"
)
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3, "INFO": 0, "WARNING": 1, "ERROR": 2}
_HOLDING = threading.RLock()      # file descriptor 2 is the process's: one holder at a time, re-entrant
_held = [0]                       # > 0 while a block holds it (the same thread, nested: a no-op)


def min_log_level():
    """TensorFlow's `TF_CPP_MIN_LOG_LEVEL` (0: everything, 1: no INFO, 2: no WARNING, 3: no ERROR)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def is_hidden_log_line(line, level=None):
    """True for a native TF/abseil/TFLite log line below `level` (default: `TF_CPP_MIN_LOG_LEVEL`)."""
    match = NATIVE_LOG_LINE.match(line)
    if not match:
        return False
    severity = _SEVERITY[match.group("absl") or match.group("tf") or match.group("lite")]
    return severity < (min_log_level() if level is None else level)


@contextlib.contextmanager
def hidden_native_logs():
    """While the block runs (importing TensorFlow, creating a LiteRT interpreter), hold back what is written
    to file descriptor 2, then pass on every line except native log lines below `TF_CPP_MIN_LOG_LEVEL`.
    Everything else (Python warnings, tracebacks, other libraries' output) still reaches stderr, in order.
    A no-op at level 0 (TensorFlow's default), and inside another such block."""
    level = min_log_level()
    if level <= 0:
        yield
        return
    with _HOLDING:
        if _held[0]:
            yield
            return
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):     # no usable stderr (closed, or not a file descriptor)
            yield
            return
        _held[0] = 1
        try:
            with tempfile.TemporaryFile() as held:
                os.dup2(held.fileno(), 2)
                try:
                    yield
                finally:
                    with contextlib.suppress(Exception):
                        sys.stderr.flush()
                    os.dup2(saved, 2)
                    held.seek(0)
                    text = held.read().decode("utf-8", errors="replace")
                    kept = "".join(line for line in text.splitlines(keepends=True)
                                   if not is_hidden_log_line(line, level))
                    if kept:
                        sys.stderr.write(kept)
                        sys.stderr.flush()
        finally:
            os.close(saved)
            _held[0] = 0


# --------------------------------------------------------------------------- TensorFlow: is oneDNN on?
# No public API says whether TF's oneDNN kernels are on (TF reads TF_ENABLE_ONEDNN_OPTS once, when it loads,
# and its default depends on the CPU). `IsMklEnabled` is what TF's own tests use (test_util.IsMklEnabled).
# Test: tests/test_compat.py::test_onednn_state_still_has_no_public_api


def onednn_enabled():
    """True / False whether TensorFlow's oneDNN kernels are on in this process; None if it cannot tell.

    Loads TensorFlow if it is not loaded yet (call it only when TF is needed anyway).
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    try:
        return bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # noqa: BLE001  the private function changed
        return None


# --------------------------------------------------------------------------- keras-tuner
# keras-tuner 1.4.8 exports no function that tells a distributed-tuning worker from the chief; its own
# `keras_tuner.src.distribute.utils` reads KERASTUNER_ORACLE_IP / _PORT / KERASTUNER_TUNER_ID (and refuses
# incomplete settings with a clear message, which we want too).
# Test: tests/test_compat.py::test_kerastuner_still_has_no_public_distribute_utils


def kerastuner_is_worker():
    """True in a keras-tuner worker process (KERASTUNER_ORACLE_IP set, tuner id not 'chief')."""
    from keras_tuner.src.distribute import utils

    return utils.has_chief_oracle() and not utils.is_chief_oracle()


# `keras_tuner.Hyperband` takes no `max_trials` (its brackets decide how many trials run); the oracle's
# `max_trials` attribute (set by `Oracle.__init__`, read by `Oracle.create_trial`) caps it.
# Test: tests/test_compat.py::test_hyperband_still_takes_no_max_trials


def set_hyperband_max_trials(tuner, max_trials):
    """Stop a Hyperband tuner after `max_trials` trials (or at its brackets' end, if sooner)."""
    if not hasattr(tuner.oracle, "max_trials"):
        raise RuntimeError("keras-tuner's oracle has no max_trials attribute any more: update keras_resnet._compat.")
    tuner.oracle.max_trials = max_trials


# --------------------------------------------------------------------------- Keras: functional graphs
# Keras 3 has no public way to get a layer's node in one given functional model: `layer.input` /
# `layer.output` refuse a layer shared between models (analysis/switches.py clones models sharing every
# layer). `Functional._nodes_by_depth` holds exactly this model's nodes.
# Test: tests/test_compat.py::test_shared_layer_still_has_no_public_input_in_one_model


def is_functional(model):
    """True for a functional `keras.Model` (one with a graph of layers), not a Sequential or a subclass."""
    import keras

    return isinstance(model, keras.Model) and not isinstance(model, keras.Sequential) \
        and hasattr(model, "_nodes_by_depth")


def functional_nodes(model):
    """{layer name: its node in `model`}: the node's `input_tensors` / `output_tensors` are that layer's
    inputs and outputs in this model (a layer shared with a clone has one node per model)."""
    return {node.operation.name: node for nodes in model._nodes_by_depth.values() for node in nodes}


# --------------------------------------------------------------------------- Gradio
# Gradio writes a .pyi stub next to the source file of any subclass of one of its components (at class
# creation), so the app replaces one instance's `preprocess` instead of subclassing gr.Image.
# Test: tests/test_compat.py::test_gradio_still_writes_a_stub_for_component_subclasses


def set_component_preprocess(component, preprocess):
    """Replace `component.preprocess` (Gradio's upload -> value step) on this instance only; returns it."""
    component.preprocess = preprocess
    return component


# Gradio serves a component's output files from its cache folder, which it keeps in the undocumented
# `GRADIO_CACHE` attribute of every Block (set from GRADIO_TEMP_DIR); files outside it are copied in.
# Test: tests/test_compat.py::test_gradio_components_still_keep_their_cache_folder


def gradio_cache_dir(component):
    """The folder from which Gradio serves `component`'s files without copying them."""
    return component.GRADIO_CACHE


# Gradio has no public way to wait for the events an app is running: `Blocks.close()` stops the server at once
# and leaves a running event's worker (a daemon thread) to finish alone. If the interpreter exits meanwhile,
# Python ends that thread with pthread_exit when it next asks for the GIL, and the forced unwind through
# TensorFlow's C++ frames (a catch (...) that does not rethrow) aborts the process: "terminate called ...
# FATAL: exception not rethrown", exit code 134 after a green test run. The queue's `active_jobs` (one slot
# per worker, None when free) and each concurrency group's pending `queue` say whether anything is left.
# Test: tests/test_compat.py::test_gradio_still_has_no_public_way_to_wait_for_running_events


def gradio_busy(demo):
    """Whether the launched gr.Blocks `demo` is running or has queued any event."""
    queue = getattr(demo, "_queue", None)
    if queue is None:
        return False
    return (any(job is not None for job in queue.active_jobs)
            or any(q.queue for q in queue.event_queue_per_concurrency_id.values()))


# --------------------------------------------------------------------------- argparse
# argparse has no public list of a parser's options (python/cpython#125363 and #144932 ask for accessors);
# `_actions` is what argparse itself iterates. cli/train.py rebuilds the command line of a run from it.
# Test: tests/test_compat.py::test_argparse_still_has_no_public_actions


def parser_actions(parser):
    """The argparse Actions of `parser`, in the order they were added."""
    return list(parser._actions)
