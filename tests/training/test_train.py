"""Training end to end: recipes, the run directory, resume after SIGKILL, evaluate, bad input."""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_resnet.training import recipes
from keras_resnet.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ["resnet8", "--width", "0.25"]


def _npz(path, rng, n_train=64, n_test=32, shape=(16, 16, 1), classes=3):
    """Tiny learnable data: the class sets the brightness of the image."""
    def split(n):
        y = rng.integers(0, classes, n)
        x = rng.integers(0, 60, (n, *shape)) + (y * 190 // max(1, classes - 1))[:, None, None, None]
        return np.clip(x, 0, 255).astype(np.uint8), y
    (xtr, ytr), (xte, yte) = split(n_train), split(n_test)
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte,
             class_names=np.array([f"c{i}" for i in range(classes)]))
    return str(path)


def _history(run_dir):
    with open(pathlib.Path(run_dir) / "history.csv") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- recipes


def test_paper_schedule_drops_at_32k_and_48k_and_stops_at_64k():
    assert recipes.total_steps(391) == (164, 64_000)       # neither epochs nor iterations: the paper's 64k
    assert recipes.total_steps(352, epochs=182) == (182, 182 * 352)
    s = recipes.schedule("paper", lr=0.1, steps=64_000)
    lr = lambda step: float(s(step))  # noqa: E731
    assert lr(0) == pytest.approx(0.1) and lr(31_999) == pytest.approx(0.1)
    assert lr(32_001) == pytest.approx(0.01) and lr(48_001) == pytest.approx(0.001)
    # epochs instead of iterations: the drops sit at 50% and 75% of the run
    s = recipes.schedule("paper", lr=0.1, steps=100 * 10)
    assert float(s(499)) == pytest.approx(0.1) and float(s(501)) == pytest.approx(0.01) and float(s(751)) == pytest.approx(0.001)


def test_warmup_for_resnet110_and_deeper_only():
    assert recipes.warmup_steps("resnet56", 64_000) == 0
    assert recipes.warmup_steps("resnet110", 64_000) == 400
    assert recipes.warmup_steps("resnet110", 1) == 0          # a one-step run has no room for one
    assert recipes.resolve_warmup("paper", "resnet110", 64_000) == 400
    assert recipes.resolve_warmup("paper", "resnet56", 64_000) == 0
    assert recipes.resolve_warmup("onecycle", "resnet20", 1000) == 300    # onecycle's own ramp: 30% of the run
    assert recipes.resolve_warmup("cosine", "resnet110", 64_000, 0) == 0   # 0: none, even for ResNet-110
    assert recipes.resolve_warmup("paper", "resnet20", 64_000, 1000) == 1000
    s = recipes.schedule("paper", lr=0.1, steps=64_000, warmup=400)   # linear from the paper's 0.01 to 0.1
    assert float(s(0)) == pytest.approx(0.01) and float(s(200)) == pytest.approx(0.055)
    assert float(s(400)) == pytest.approx(0.1) and float(s(32_001)) == pytest.approx(0.01)
    s = recipes.schedule("paper", lr=0.1, steps=64_000, warmup=400, constant=True)   # the paper's own: 0.01 held
    assert float(s(0)) == pytest.approx(0.01) and float(s(399)) == pytest.approx(0.01)
    assert float(s(401)) == pytest.approx(0.1) and float(s(32_001)) == pytest.approx(0.01)


# lr at iteration 0, N/2, N, and after the recipe's next landmark (the first drop; the middle of the cosine decay;
# the end of the run), for N = 100 of 1000 iterations at peak lr 0.1
WARMUP_CASES = {
    "paper": [(0, 0.01), (50, 0.055), (100, 0.1), (499, 0.1), (501, 0.01), (751, 0.001)],
    "cosine": [(0, 0.01), (50, 0.055), (100, 0.1), (550, 0.05), (1000, 0.0)],
    "onecycle": [(0, 0.004), (50, 0.052), (100, 0.1), (550, 0.05 + 0.05e-3), (1000, 1e-4)],
}


@pytest.mark.parametrize("recipe", sorted(WARMUP_CASES))
def test_linear_warmup_in_every_recipe(recipe):
    s = recipes.schedule(recipe, lr=0.1, steps=1000, warmup=100)
    for step, lr in WARMUP_CASES[recipe]:
        assert float(s(step)) == pytest.approx(lr, rel=1e-4, abs=1e-7), (recipe, step)
    none = recipes.schedule(recipe, lr=0.1, steps=1000, warmup=0)          # 0: no warm-up, the peak at once
    assert float(none(0)) == pytest.approx(0.1)
    import keras

    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(s))   # saved with model.keras
    assert type(again) is type(s) and [float(again(t)) for t, _ in WARMUP_CASES[recipe]] == \
        pytest.approx([float(s(t)) for t, _ in WARMUP_CASES[recipe]])
    for bad in (-1, 1000, 5000, 2.5, "10"):
        with pytest.raises(ValueError, match="warmup must be a whole number of iterations >= 0"):
            recipes.schedule(recipe, lr=0.1, steps=1000, warmup=bad)


def test_cosine_and_onecycle_schedules():
    c = recipes.schedule("cosine", lr=0.1, steps=1000)
    assert float(c(0)) == pytest.approx(0.1) and float(c(500)) == pytest.approx(0.05, rel=1e-3) and float(c(1000)) < 1e-6
    o = recipes.schedule("onecycle", lr=0.4, steps=1000)
    assert float(o(0)) == pytest.approx(0.4 / 25) and float(o(300)) == pytest.approx(0.4, rel=1e-3)
    assert float(o(1000)) < 0.4 / 100 and float(o(150)) < float(o(300))
    with pytest.raises(ValueError, match="Unknown recipe"):
        recipes.schedule("sgdr", lr=0.1, steps=10)
    with pytest.raises(ValueError, match="not both"):
        recipes.total_steps(10, epochs=3, iterations=30)


# --------------------------------------------------------------------------- end to end


def test_train_cli_writes_a_full_run_dir_then_resumes_refuses_and_evaluates(tmp_path, rng, capsys):
    data = _npz(tmp_path / "tiny.npz", rng)
    run = tmp_path / "run"
    args = ["train", *TINY, "--dataset", data, "--epochs", "3", "--batch-size", "16", "--lr", "0.05",
            "--run-dir", str(run), "--quiet"]
    assert main(args) == 0
    for name in ("config.json", "history.csv", "model.keras", "curves.png", "model_card.json"):
        assert (run / name).is_file(), name
    assert (run / "backup").is_dir() and any((run / "tensorboard").rglob("*tfevents*"))
    assert [int(r["epoch"]) for r in _history(run)] == [0, 1, 2]

    card = json.loads((run / "model_card.json").read_text())
    assert set(card) >= {"name", "model", "dataset", "class_names", "input_shape", "preprocessing", "params",
                         "macs", "metrics", "training", "command", "created", "versions"}
    assert card["model"] == {"name": "resnet8", "kwargs": {"width": 0.25}}
    assert card["input_shape"] == [16, 16, 1] and card["class_names"] == ["c0", "c1", "c2"]
    assert card["dataset"]["num_train"] == 64 and card["dataset"]["num_test"] == 32
    assert card["training"]["epochs"] == 3 and card["training"]["batch_size"] == 16
    assert card["command"].startswith("keras-resnet train resnet8")
    assert card["params"]["trainable"] > 0 and card["macs"] > 0
    assert len(card["preprocessing"]["mean"]) == 1 and card["created"].endswith("Z")

    import keras

    model = keras.saving.load_model(run / "model.keras")   # safe_mode: no Lambda layers
    assert model.input_shape == (None, 16, 16, 1) and model.output_shape == (None, 3)
    assert [l.name for l in model.layers[1:3]] == ["rescale", "normalize"]
    x = np.load(data)["x_test"]
    acc = float((model.predict(x, verbose=0).argmax(-1) == np.load(data)["y_test"]).mean())
    assert acc == pytest.approx(card["metrics"]["test_top1_accuracy"])

    # the same command again: a finished run is loaded, not trained again
    before = (run / "model.keras").stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    assert "finished run" in capsys.readouterr().out
    assert (run / "model.keras").stat().st_mtime_ns == before and len(_history(run)) == 3

    # a different config in the same run dir: one clear error, nothing touched
    config_before = (run / "config.json").read_text()
    assert main([a if a != "0.05" else "0.2" for a in args]) == 2
    err = capsys.readouterr().err
    assert "different config" in err and "lr: 0.05 -> 0.2" in err and "Traceback" not in err
    assert (run / "config.json").read_text() == config_before and (run / "model.keras").stat().st_mtime_ns == before

    # evaluate: top-1/top-5 error and a confusion matrix
    assert main(["evaluate", str(run), "--dataset", data]) == 0
    out = capsys.readouterr().out
    assert f"top-1 error {100 * card['metrics']['test_top1_error']:.2f}%" in out
    assert (run / "confusion.png").stat().st_size > 1000
    assert main(["evaluate", str(run), "--dataset", data]) == 2   # exists: refused without --overwrite


def test_library_train_on_arrays_with_validation_split_and_label_smoothing(tmp_path, rng):
    from keras_resnet import data as data_lib
    from keras_resnet.training import evaluate, train

    x = rng.integers(0, 255, (80, 16, 16, 3), dtype=np.uint8)
    y = rng.integers(0, 4, 80)
    d = data_lib.from_arrays(x[:64], y[:64], x[64:], y[64:], validation_split=16)
    r = train(model="resnet8", model_kwargs={"width": 0.25}, dataset=d, epochs=1, batch_size=16,
              label_smoothing=0.1, recipe="cosine", mixed_precision=True, run_dir=tmp_path / "run", verbose=0)
    assert r.model.output_shape == (None, 4) and set(r.history) >= {"top1", "val_top1", "top5"}
    assert r.model_card["dataset"]["num_validation"] == 16 and r.model_card["training"]["recipe"] == "cosine"
    convs = [la for la in r.model.layers if isinstance(la, keras.layers.Conv2D)]
    assert {la.dtype_policy.compute_dtype for la in convs} == {"bfloat16"}   # CPU mixed precision
    head = r.model.get_layer("avg_pool"), r.model.get_layer("predictions")
    assert [la.dtype_policy.name for la in head] == ["float32", "float32"]   # softmax and loss from float32 logits
    assert r.model.output.dtype == "float32"
    m = evaluate(r.model, d)
    assert m["examples"] == 16 and m["confusion"].sum() == 16 and m["confusion"].shape == (4, 4)
    assert m["top1_error"] == pytest.approx(r.metrics["test_top1_error"])
    assert 0 <= m["top1_accuracy"] <= m["top5_accuracy"] == 1.0   # 4 classes: top-5 always right


def test_train_on_tfds_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    from keras_resnet.training import train

    with tfds.testing.mock_data(num_examples=48):
        r = train(model="resnet8", model_kwargs={"width": 0.25}, dataset="cifar10", epochs=1, batch_size=16,
                  run_dir=tmp_path / "run", verbose=0)
    card = r.model_card
    assert card["input_shape"] == [32, 32, 3] and len(card["class_names"]) == 10
    assert card["training"]["augment"] is None and card["dataset"]["num_train"] == 48
    assert len(r.history["epoch"]) == 1


def test_warmup_flag_reaches_config_json_and_the_model_card(tmp_path, rng, capsys):
    data = _npz(tmp_path / "tiny.npz", rng)
    run = tmp_path / "run"
    args = ["train", *TINY, "--dataset", data, "--iterations", "8", "--batch-size", "16", "--warmup", "3",
            "--run-dir", str(run), "--quiet"]
    assert main(args) == 0
    assert json.loads((run / "config.json").read_text())["warmup"] == 3
    card = json.loads((run / "model_card.json").read_text())
    assert card["training"]["warmup"] == 3 and "--warmup 3" in card["command"]
    capsys.readouterr()
    assert main(args) == 0      # the finished run loads compiled: the warm-up schedule deserializes from model.keras
    assert "finished run" in capsys.readouterr().out
    import keras

    model = keras.saving.load_model(run / "model.keras", compile=True)
    schedule = keras.optimizers.schedules.deserialize(model.optimizer.get_config()["learning_rate"])
    assert isinstance(schedule, recipes.WarmupPiecewiseConstant)
    lr = card["training"]["lr"]                                          # 0.1 x 16 / 128
    assert lr == pytest.approx(0.0125) and float(schedule(0)) == pytest.approx(lr / 10)
    assert float(schedule(3)) == pytest.approx(lr) and float(schedule(5)) == pytest.approx(lr / 10)   # drop at 4 of 8
    # automatic (None) is recorded as None in config.json and as the resolved count in the card
    auto = tmp_path / "auto"
    assert main([a if a != str(run) else str(auto) for a in args if a not in ("--warmup", "3")]) == 0
    assert json.loads((auto / "config.json").read_text())["warmup"] is None
    assert json.loads((auto / "model_card.json").read_text())["training"]["warmup"] == 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("extra, message", [
    (["--dataset", "no_such_dataset_xyz"], "no_such_dataset_xyz"),
    (["--dataset", "{npz}", "--classes", "10"], "classes=10"),
    (["--dataset", "{npz}", "--input-shape", "32,32,3"], "does not match the data"),
    (["--dataset", "{npz}", "--epochs", "2", "--iterations", "10"], None),   # argparse: exit 2
    (["--dataset", "{npz}", "--epochs", "1", "--warmup", "-5"], "warmup must be a whole number of iterations >= 0"),
    (["--dataset", "{npz}", "--iterations", "8", "--warmup", "8"], "fewer than the run's 8 iterations, got 8"),
    (["--dataset", "{npz}", "--epochs", "2", "--batch-size", "16", "--warmup", "8"],   # 2 x 4 steps, from the data
     "fewer than the run's 8 iterations, got 8"),
    (["--dataset", "{npz}", "--warmup", "ten"], None),
])
def test_bad_input_one_clear_error_nothing_written(tmp_path, rng, capsys, extra, message):
    npz = _npz(tmp_path / "tiny.npz", rng)
    run = tmp_path / "run"
    args = ["train", *TINY, "--run-dir", str(run), *[a.replace("{npz}", npz) for a in extra]]
    if message is None:
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2
    else:
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("keras-resnet train: error:") and message in err and "\n" not in err
    assert not run.exists()


def _png_tree(root, rng, per_class=6):
    from PIL import Image

    for split, n in (("train", per_class), ("test", 2)):
        for c in ("ant", "bee"):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(root / split / c / f"{i}.png")
    return root


def test_a_corrupt_image_in_a_folder_tree_is_named(tmp_path, rng, capsys):
    tree = _png_tree(tmp_path / "bugs", rng)
    truncated = tree / "train" / "bee" / "3.png"
    truncated.write_bytes(truncated.read_bytes()[:30])
    (tree / "test" / "ant" / "junk.jpg").write_bytes(b"not an image at all")
    run = tmp_path / "run"
    assert main(["train", *TINY, "--dataset", str(tree), "--epochs", "1", "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-resnet train: error: 2 image file(s)") and "\n" not in err
    assert str(truncated) in err and "junk.jpg" in err and "Traceback" not in err
    assert not run.exists()

    model = tmp_path / "m.keras"
    import keras_resnet as kr

    kr.build("resnet8", width=0.25, input_shape=(12, 12, 3), classes=2).save(model)
    truncated.unlink()
    assert main(["evaluate", str(model), "--dataset", str(tree)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-resnet evaluate: error: 1 image file(s)") and "junk.jpg" in err
    assert not (tmp_path / "confusion.png").exists()


# --------------------------------------------------------------------------- resume after SIGKILL


def test_sigkill_mid_epoch_then_rerun_resumes_and_finishes_the_same_epochs(tmp_path, rng):
    data = _npz(tmp_path / "tiny.npz", rng, n_train=768, shape=(16, 16, 1))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "keras_resnet.cli", "train", *TINY, "--dataset", data, "--epochs", "4",
           "--batch-size", "16", "--run-dir", str(run), "--quiet"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(tmp_path / "first.log", "w") as log:      # the child keeps its own copy of the file
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    meta = run / "backup" / "training_metadata.json"
    deadline = time.time() + 400   # generous: the CPU is shared
    try:
        while time.time() < deadline and p.poll() is None:
            if meta.exists() and json.loads(meta.read_text() or "{}").get("epoch", 0) >= 1:
                break
            time.sleep(0.05)
        time.sleep(0.3)   # into the next epoch
        assert p.poll() is None, "the first run finished before it could be killed: " + (tmp_path / "first.log").read_text()
        p.send_signal(signal.SIGKILL)
    finally:
        p.kill()
        p.wait()
    assert meta.exists(), "no epoch finished in time: " + (tmp_path / "first.log").read_text()[-2000:]
    killed_at = json.loads(meta.read_text())["epoch"]
    assert 1 <= killed_at < 4 and not (run / "model_card.json").exists()

    second = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=400)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"after epoch {killed_at} of 4" in second.stdout
    assert f"Epoch {killed_at + 1}/4" in second.stdout and "Epoch 1/4" not in second.stdout
    assert [int(r["epoch"]) for r in _history(run)] == [0, 1, 2, 3]
    assert json.loads((run / "model_card.json").read_text())["training"]["epochs"] == 4


# --------------------------------------------------------------------------- real data


def test_resnet8_on_the_real_cifar_subset_beats_chance(tmp_path, cifar_subset_path):
    from keras_resnet.training import train

    r = train(model="resnet8", model_kwargs={"width": 0.5}, dataset=str(cifar_subset_path), epochs=3, batch_size=64, lr=0.05,
              run_dir=tmp_path / "run", verbose=0)
    assert r.metrics["test_examples"] == 1017
    assert r.metrics["test_top1_accuracy"] > 0.25, r.metrics      # chance: 0.10
    assert len(r.history["val_top1"]) == 3


def test_a_folder_that_is_not_a_run_dir_is_never_replaced(tmp_path, rng, capsys):
    npz = _npz(tmp_path / "tiny.npz", rng)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):
        assert main(["train", *TINY, "--dataset", npz, "--run-dir", str(folder), *extra]) == 2
        assert "not a run directory" in capsys.readouterr().err
    assert (folder / "keep.txt").read_text() == "mine" and len(list(folder.iterdir())) == 1
