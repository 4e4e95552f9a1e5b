"""Worker loss: two `keras-resnet train` workers (TF_CONFIG, 127.0.0.1), one SIGKILLed mid-epoch.

What Kubernetes (a TFJob) or Ray does after a lost worker: restart every worker with the same
command. The restarted workers resume from the last finished epoch (BackupAndRestore: the chief's
`run/backup/`, each other worker's `run/backup/worker-<index>/`) and end at the planned epoch count.
"""

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

ROOT = pathlib.Path(__file__).resolve().parents[2]
EPOCHS = 3


def _start_workers(tmp_path, data, log_name):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    procs = []
    for i in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                   PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
        cmd = ["timeout", "-k", "5", "400", sys.executable, "-m", "keras_resnet.cli", "train", "resnet8",
               "--width", "0.25", "--input-shape", "16,16,1", "--dataset", str(data), "--epochs", str(EPOCHS),
               "--batch-size", "16", "--no-augment", "--quiet", "--run-dir", str(tmp_path / "run")]
        with open(tmp_path / f"{log_name}{i}.log", "w") as log:     # the child keeps its own copy of the file
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                          start_new_session=True))
    return procs


def _kill(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def _epochs_done(history):
    if not history.exists():
        return 0
    return max(0, len(history.read_text().strip().splitlines()) - 1)


@pytest.mark.slow
def test_a_killed_worker_resumes_from_the_backup_and_finishes_the_planned_epochs(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 1600)
    x = np.clip(rng.integers(0, 60, (1600, 16, 16, 1)) + (y * 95)[:, None, None, None], 0, 255).astype(np.uint8)
    data = tmp_path / "data.npz"
    np.savez(data, x_train=x[:1536], y_train=y[:1536], x_test=x[1536:], y_test=y[1536:])
    history = tmp_path / "run" / "history.csv"

    first = _start_workers(tmp_path, data, "first")
    try:
        deadline = time.time() + 300
        while _epochs_done(history) < 1 and time.time() < deadline and all(p.poll() is None for p in first):
            time.sleep(0.2)
        assert _epochs_done(history) == 1, [(tmp_path / f"first{i}.log").read_text()[-2000:] for i in range(2)]
        time.sleep(1.0)                      # into epoch 2
        os.killpg(first[1].pid, signal.SIGKILL)
        first[1].wait()
        # the surviving worker cannot finish alone: it fails or blocks in a collective; the job restarts it too
        try:
            first[0].wait(20)
        except subprocess.TimeoutExpired:
            pass
    finally:
        for p in first:
            _kill(p)
    assert _epochs_done(history) == 1, "the kill came too late: epoch 2 had finished"
    assert not (tmp_path / "run" / "model_card.json").exists()

    second = _start_workers(tmp_path, data, "second")
    try:
        codes = [p.wait(360) for p in second]
    finally:
        for p in second:
            _kill(p)
    logs = [(tmp_path / f"second{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], [log[-3000:] for log in logs]
    assert f"Resuming {tmp_path / 'run'} after epoch 1 of {EPOCHS}" in logs[0], logs[0][-3000:]
    assert _epochs_done(history) == EPOCHS
    assert [int(r.split(",")[0]) for r in history.read_text().splitlines()[1:]] == list(range(EPOCHS))
    card = json.loads((tmp_path / "run" / "model_card.json").read_text())
    assert card["training"]["epochs"] == EPOCHS
    assert not list((tmp_path / "run" / "backup").glob("worker-*"))   # the non-chief's backup is cleaned up
