"""training.rundir.write_run: the one writer of a finished run (train's run directory, the search's best/)."""

import json

import keras

import keras_resnet
from keras_resnet.training import rundir
from keras_resnet.training.card import read_card

CARD = {"name": "toy", "class_names": ["a", "b"], "input_shape": [8, 8, 3], "metrics": {"test_top1_error": 0.5}}
HISTORY = {"epoch": [0, 1], "loss": [2.0, 1.5], "top1": [0.25, 0.5], "val_top1": [0.5, 0.75]}


def _model():
    return keras_resnet.build("toy_skip", blocks=1, filters=4, input_shape=(8, 8, 3), classes=2)


def _no_temporaries(folder):
    return [p.name for p in folder.parent.iterdir() if ".tmp" in p.name or ".old" in p.name] + \
           [p.name for p in folder.iterdir() if ".tmp" in p.name]


def test_train_layout_into_an_existing_run_directory(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")                  # written by rundir.start, kept
    rundir.write_run(run, _model(), CARD, history=HISTORY, title="toy")
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "curves.png", "model.keras", "model_card.json"]
    assert (run / "config.json").read_text() == "{}"
    assert read_card(run) == CARD and rundir.prepare(run, {}) == "complete"
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert keras.saving.load_model(run / "model.keras").output_shape == (None, 2)
    assert not _no_temporaries(run)


def test_best_layout_replaces_the_folder_whole(tmp_path):
    best = tmp_path / "best"
    best.mkdir()
    (best / "stale.txt").write_text("from the previous search")
    rundir.write_run(best, _model(), CARD, history=HISTORY, history_csv=True, config={"model": "toy_skip"},
                     eval_name="validation", replace=True)
    assert sorted(p.name for p in best.iterdir()) == ["config.json", "curves.png", "history.csv", "model.keras",
                                                      "model_card.json"]
    assert json.loads((best / "config.json").read_text()) == {"model": "toy_skip"}
    assert (best / "history.csv").read_text().splitlines() == ["epoch,loss,top1,val_top1", "0,2.0,0.25,0.5",
                                                               "1,1.5,0.5,0.75"]
    assert rundir.read_history(best / "history.csv") == HISTORY
    assert not _no_temporaries(best)


def test_a_failed_write_leaves_the_previous_run(tmp_path):
    best = tmp_path / "best"
    rundir.write_run(best, _model(), CARD, replace=True)
    before = {p.name: p.read_bytes() for p in best.iterdir()}

    class Broken:
        def save(self, path):
            raise OSError("disk full")

    try:
        rundir.write_run(best, Broken(), CARD, replace=True)
    except OSError:
        pass
    assert {p.name: p.read_bytes() for p in best.iterdir()} == before
    run = tmp_path / "run"
    try:
        rundir.write_run(run, Broken(), CARD)
    except OSError:
        pass
    assert not (run / "model_card.json").exists() and not _no_temporaries(run)
