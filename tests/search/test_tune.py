"""keras-tuner search over the zoo: space, resume, chief + 2 workers on loopback, results, bad input.

Tiny on purpose (2 shared CPU cores): ResNet-8 at width 0.25 on 64 16x16 images, one epoch per
trial, `run_eagerly` (tracing a tf.function costs more than these few steps).
"""

import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import free_ports

keras_tuner = pytest.importorskip("keras_tuner")

from keras_resnet.search import SearchSpace, parse_assignments, resolve_objective  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = dict(fix={"depth": 8, "width": 0.25, "version": "v1", "weight_decay": 1e-4},
            choice={"shortcut": ["A", "B"], "lr": [0.05, 0.1]})
TRAIN = dict(batch_size=16, validation_split=16, run_eagerly=True, verbose=0)


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    """64 train + 32 test 16x16 RGB images of 4 classes whose brightness depends on the class."""
    rng = np.random.default_rng(0)

    def make(n):
        y = rng.integers(0, 4, n)
        x = (rng.integers(0, 60, (n, 16, 16, 3)) + 50 * y[:, None, None, None]).astype(np.uint8)
        return x, y

    (xt, yt), (xs, ys) = make(64), make(32)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=xt, y_train=yt, x_test=xs, y_test=ys)
    return path


def _tree(path):
    """{relative path: sha256} of every file under `path`."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(pathlib.Path(path).rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the space (no training)


def test_space_defaults_and_conditional_shortcut():
    space = SearchSpace("cifar")
    assert space.params["depth"]["choice"] == [20, 32, 44, 56, 110]
    assert space.params["shortcut"]["choice"] == ["A", "B", "C"]
    # residual: 5 depths x 3 shortcuts, plain: 5 depths; x 2 versions x 3 widths
    assert space.size() == (5 * 3 + 5) * 2 * 3
    assert SearchSpace("imagenet").params["depth"]["choice"] == [18, 34, 50, 101, 152]

    hp = keras_tuner.HyperParameters()
    values = space.declare(hp)
    assert values["plain"] is False and values["shortcut"] == "A"
    hp.values["plain"] = True
    values = space.declare(hp)
    assert values["shortcut"] is None and not hp.is_active("shortcut")
    assert space.model(values) == ("plain20", {})
    assert space.model(dict(values, plain=False, shortcut="B", depth=110, width=0.5)) == (
        "resnet110", {"shortcut": "B", "width": 0.5})
    assert SearchSpace("cifar").model(dict(values, plain=False, shortcut="A", depth=50))[0] == "cifar_resnet50"


def test_space_restrict_from_python_and_cli():
    space = SearchSpace("cifar", fix=parse_assignments(["shortcut=b", "plain=false"], kind="fix"),
                        choice=parse_assignments(["depth=20,56"], kind="choice"),
                        ranges=parse_assignments(["lr=0.05:0.2"], kind="range"))
    assert space.params["shortcut"] == {"fixed": "B"}
    assert space.params["plain"] == {"fixed": False}
    assert space.params["depth"] == {"choice": [20, 56]}
    assert space.params["lr"] == {"range": [0.05, 0.2], "sampling": "log"}
    assert space.size() == 2 * 2 * 3
    assert SearchSpace.from_config(json.loads(json.dumps(space.to_config()))) == space
    # plain fixed True: shortcut never appears in a trial
    hp = keras_tuner.HyperParameters()
    assert SearchSpace("cifar", fix={"plain": True}).declare(hp)["shortcut"] is None
    assert "shortcut" not in hp.values


@pytest.mark.parametrize("kwargs, message", [
    (dict(fix={"depht": 20}), "Unknown hyperparameter 'depht'"),
    (dict(choice={"depth": []}), "empty"),
    (dict(choice={"depth": [20, 21]}), r"6n\+2"),
    (dict(choice={"shortcut": ["A", "D"]}), "shortcut must be one of A, B, C"),
    (dict(fix={"version": "v1.5"}), "v1, v2"),
    (dict(ranges={"depth": (20, 56)}), "categorical"),
    (dict(ranges={"lr": (0.2, 0.1)}), "0 < low < high"),
    (dict(fix={"depth": 20}, choice={"depth": [20, 56]}), "given in both"),
])
def test_space_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace("cifar", **kwargs)


@pytest.mark.parametrize("items, kind, message", [
    (["depth="], "choice", "empty"),
    (["depth=,"], "choice", "empty"),
    (["speed=3"], "fix", "Unknown hyperparameter 'speed'"),
    (["shortcut"], "fix", "NAME=VALUE"),
    (["lr=0.1"], "range", "LOW:HIGH"),
])
def test_cli_assignment_bad_input(items, kind, message):
    with pytest.raises(ValueError, match=message):
        parse_assignments(items, kind=kind)


def test_grid_over_the_conditional_space_runs_each_architecture_once(tmp_path):
    """keras-tuner's GridSearch over depth x plain x shortcut: plain nets once per depth, not once per shortcut."""
    import keras

    space = SearchSpace("cifar", fix={"version": "v1", "width": 1, "lr": 0.1, "weight_decay": 1e-4},
                        choice={"depth": [20, 56], "shortcut": ["A", "B", "C"]})
    seen = []

    class Probe(keras_tuner.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            seen.append(space.model(space.declare(trial.hyperparameters)))
            return 0.5

    def build(hp):
        space.declare(hp)
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    oracle = keras_tuner.oracles.GridSearchOracle(objective=keras_tuner.Objective("score", "max"), max_trials=50)
    Probe(oracle=oracle, hypermodel=build, directory=tmp_path, project_name="grid").search(verbose=0)
    assert len(seen) == len(set(map(str, seen))) == space.size() == 2 * (3 + 1)
    assert ("plain56", {}) in seen and ("resnet20", {"shortcut": "C"}) in seen


def test_objective_aliases():
    assert (resolve_objective("val_accuracy").name, resolve_objective("val_accuracy").direction) == ("val_top1", "max")
    assert resolve_objective("val_loss").direction == "min"
    assert resolve_objective("top5_accuracy:max").name == "top5"
    with pytest.raises(ValueError, match="min or max"):
        resolve_objective("val_loss:up")


# --------------------------------------------------------------------------- a real search, resumed


@pytest.fixture(scope="module")
def search3(tiny_npz, tmp_path_factory):
    """A 3-trial random search, then the same search resumed to 4 trials."""
    from keras_resnet.search import search

    directory = tmp_path_factory.mktemp("search")
    first = search(SearchSpace("cifar", **TINY), directory=directory, max_trials=3, epochs=1,
                   dataset=str(tiny_npz), export_best=False, **TRAIN)
    before = {t: (directory / "search" / f"trial_{t}" / "keras_resnet_trial.json").read_text() for t in "012"}
    second = search(SearchSpace("cifar", **TINY), directory=directory, max_trials=4, epochs=1,
                    dataset=str(tiny_npz), **TRAIN)
    return directory, first, second, before


def test_search_then_resume_runs_only_the_new_trial(search3):
    directory, first, second, before = search3
    assert first.trials_run == ["0", "1", "2"]
    assert second.trials_run == ["3"]  # the three finished trials are not run again
    for t, text in before.items():
        assert (directory / "search" / f"trial_{t}" / "keras_resnet_trial.json").read_text() == text
    rows = second.rows
    assert [r["trial"] for r in rows] == ["0", "1", "2", "3"]
    assert all(r["status"] == "COMPLETED" for r in rows)
    # four distinct architectures/lr pairs: keras-tuner never repeats a configuration
    assert len({(r["plain"], r["shortcut"], r["lr"]) for r in rows}) == 4
    for r in rows:
        assert r["shortcut"] is None if r["plain"] else r["shortcut"] in ("A", "B")
        assert r["params"] > 4000 and r["macs"] > 100_000 and r["epochs"] == 1 and r["wall_s"] > 0
        assert 0 <= r["best_val_accuracy"] <= 1 and r["objective"] == r["best_val_accuracy"]
        trial = json.loads((directory / "search" / f"trial_{r['trial']}" / "trial.json").read_text())
        assert trial["score"] == pytest.approx(r["objective"])
    # the parameter counts are the zoo's: option B adds 1x1 projections, A and plain none
    by_kind = {("plain" if r["plain"] else r["shortcut"]): r["params"] for r in rows}
    if {"A", "B"} <= set(by_kind):
        assert by_kind["B"] > by_kind["A"]
    assert any(r["pareto"] for r in rows)


def test_search_writes_table_plot_and_best_run_dir(search3):
    import csv

    import keras

    directory, _, second, _ = search3
    with open(directory / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and {"depth", "shortcut", "plain", "params", "macs", "best_val_accuracy",
                                "epochs", "wall_s", "pareto"} <= set(table[0])
    md = (directory / "results.md").read_text()
    assert md.count("\n| ") == 5 and "val_accuracy" in md
    png = (directory / "pareto.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert any((directory / "tensorboard").rglob("events.out.tfevents.*"))

    best = second.best_run_dir
    card = json.loads((best / "model_card.json").read_text())
    for key in ("name", "model", "dataset", "class_names", "input_shape", "preprocessing", "params", "macs",
                "metrics", "training", "command", "created", "versions"):
        assert key in card
    assert card["input_shape"] == [16, 16, 3] and card["class_names"] == ["0", "1", "2", "3"]
    best_row = max(second.rows, key=lambda r: r["objective"])
    assert card["search"]["best_value"] == pytest.approx(best_row["objective"])
    model = keras.saving.load_model(best / "model.keras", safe_mode=True)
    assert model.count_params() == card["params"]["total"]
    x = np.zeros((2, 16, 16, 3), np.uint8)
    assert model.predict(x, verbose=0).shape == (2, 4)
    assert 0 <= card["metrics"]["test_top1_accuracy"] <= 1 and card["metrics"]["test_examples"] == 32


def test_a_finished_search_runs_nothing_more(search3, tiny_npz):
    from keras_resnet.search import search

    directory, *_ = search3
    again = search(SearchSpace("cifar", **TINY), directory=directory, max_trials=4, epochs=1,
                   dataset=str(tiny_npz), export_best=False, **TRAIN)
    assert again.trials_run == [] and len(again.rows) == 4


# --------------------------------------------------------------------------- bad input keeps earlier trials


@pytest.mark.parametrize("change, message", [
    (dict(space=SearchSpace("cifar", fix=dict(TINY["fix"], depth=14), choice=TINY["choice"])), "depth: "),
    (dict(epochs=2), "epochs: 1 -> 2"),
    (dict(tuner="bayesian"), "tuner: 'random' -> 'bayesian'"),
    (dict(objective="val_loss"), "objective"),
])
def test_a_different_search_in_the_same_directory_is_refused(search3, tiny_npz, change, message):
    from keras_resnet.search import search

    directory, *_ = search3
    kwargs = dict(space=SearchSpace("cifar", **TINY), directory=directory, max_trials=5, epochs=1,
                  dataset=str(tiny_npz), **TRAIN)
    kwargs.update(change)
    snapshot = _tree(directory)
    with pytest.raises(ValueError, match="holds a different search") as e:
        search(kwargs.pop("space"), **kwargs)
    assert message in str(e.value)
    assert _tree(directory) == snapshot  # nothing written, nothing lost


def test_objective_the_model_does_not_report(tiny_npz, tmp_path):
    from keras_resnet.search import search

    with pytest.raises(ValueError, match="'val_auc' is not a metric the model reports.*val_top1"):
        search(SearchSpace("cifar", **TINY), directory=tmp_path, max_trials=1, dataset=str(tiny_npz),
               objective="val_auc", **TRAIN)
    assert not list(tmp_path.rglob("trial_*"))  # no trial ran
    with pytest.raises(ValueError, match="need a validation split"):
        search(SearchSpace("cifar", **TINY), directory=tmp_path, max_trials=1, dataset=str(tiny_npz),
               **dict(TRAIN, validation_split=None))


@pytest.mark.parametrize("kwargs, message", [
    (dict(tuner="sobol"), "Unknown tuner 'sobol'"),
    (dict(max_trials=0), "max_trials must be an integer >= 1"),
    (dict(lr=0.1), "'lr' is set by the search"),
    (dict(batch=16), "Unknown training option 'batch'"),
    (dict(tuner="grid", space=SearchSpace("cifar")), "grid tuner needs a finite space, but lr, weight_decay"),
])
def test_search_arguments_bad_input(tmp_path, kwargs, message):
    from keras_resnet.search import search

    space = kwargs.pop("space", SearchSpace("cifar", **TINY))
    with pytest.raises(ValueError, match=message):
        search(space, directory=tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_a_folder_that_is_not_a_search_directory_is_refused(tmp_path):
    from keras_resnet.search import search

    (tmp_path / "results.csv").write_text("mine")
    with pytest.raises(FileExistsError, match="is not a search directory"):
        search(SearchSpace("cifar", **TINY), directory=tmp_path, dataset="unused.npz", overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"] and (tmp_path / "results.csv").read_text() == "mine"


def test_cli_bad_input_is_one_line(tmp_path, tiny_npz, capsys):
    from keras_resnet.cli import main

    assert main(["tune", "--dir", str(tmp_path / "s"), "--dataset", str(tiny_npz), "--choice", "depth=",
                 "--quiet"]) == 2
    assert capsys.readouterr().err == (
        "keras-resnet tune: error: --choice depth= is empty: give one or more comma-separated values.\n")
    assert main(["tune", "--dir", str(tmp_path / "s"), "--fix", "colour=red"]) == 2
    assert "Unknown hyperparameter 'colour' in --fix. Allowed: depth, plain, shortcut" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


# --------------------------------------------------------------------------- chief + 2 workers on loopback


# A process with 2 logical CPUs (configured before TensorFlow starts), so each trial can run under MirroredStrategy.
TWO_CPUS = """import sys, tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_resnet.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_distributed_chief_and_two_workers_on_loopback(tiny_npz, tmp_path):
    """keras-tuner chief + 2 workers sharing one directory; alongside, one trial under MirroredStrategy."""
    directory, port = tmp_path / "dist", free_ports()[0]
    args = ["tune", "--dataset", str(tiny_npz), "--epochs", "1", "--batch-size", "16", "--validation-split", "16",
            "--run-eagerly", "--quiet", "--choice", "shortcut=A,B", "--choice", "lr=0.05,0.1"]
    args += [f"--fix={k}={v}" for k, v in TINY["fix"].items()]
    cmd = [sys.executable, "-m", "keras_resnet.cli", *args, "--dir", str(directory), "--max-trials", "3"]
    mirrored = [sys.executable, "-c", TWO_CPUS, *args, "--dir", str(tmp_path / "mirrored"), "--max-trials", "1",
                "--devices", "/cpu:0,/cpu:1"]
    procs = {}
    try:
        procs["mirrored"] = subprocess.Popen(mirrored, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), cwd=ROOT,
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                             start_new_session=True)
        for tuner_id in ("chief", "tuner0", "tuner1"):
            env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                       KERASTUNER_ORACLE_PORT=str(port), CUDA_VISIBLE_DEVICES="")
            procs[tuner_id] = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.time() + 240
        out = {}
        for tuner_id, p in procs.items():
            out[tuner_id] = p.communicate(timeout=max(1, deadline - time.time()))[0]
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for tuner_id, p in procs.items():
        assert p.returncode == 0, f"{tuner_id} exited {p.returncode}:\n{out[tuner_id][-3000:]}"
    ran = {t: out[t].split("trial(s) in this process: ")[1].split("\n")[0] for t in ("tuner0", "tuner1")}
    ids = [i.strip() for t in ran.values() for i in t.split(",") if i.strip() not in ("", "none")]
    assert sorted(ids) == ["0", "1", "2"], ran  # every trial ran once, on a worker
    assert "ran 0 trial(s)" in out["chief"] and "worker finished" in out["tuner0"]
    with open(directory / "results.csv", newline="") as f:
        rows = [dict(r) for r in __import__("csv").DictReader(f)]
    assert [r["status"] for r in rows] == ["COMPLETED"] * 3
    assert {r["tuner_id"] for r in rows} <= {"tuner0", "tuner1"}
    assert (directory / "best" / "model.keras").exists() and (directory / "best" / "model_card.json").exists()
    # the strategy reaches every trial: the trial of the 2-CPU process trained on 2 replicas
    side = json.loads((tmp_path / "mirrored" / "search" / "trial_0" / "keras_resnet_trial.json").read_text())
    assert side["replicas"] == 2 and side["epochs"] == 1
    assert (tmp_path / "mirrored" / "best" / "model.keras").exists()
