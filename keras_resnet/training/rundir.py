"""The run directory: what `train` writes, and how a re-run recognises its own run.

    config.json      the TrainConfig (a re-run with a different one is refused)
    history.csv      one row per epoch (Keras CSVLogger): loss, top1, top5, val_*
    tensorboard/     TensorBoard logs
    backup/          BackupAndRestore: the state to resume from after a kill
                     (other workers of a multi-worker run: backup/worker-<index>/)
    model.keras      the trained model (the last epoch's weights)
    curves.png       train and test error per epoch, like the paper's Fig. 6
    model_card.json  model, dataset, classes, input shape, preprocessing, params,
                     MACs, test top-1/top-5, the exact command, versions

Every file is written to a temporary name first and renamed into place.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..io import atomic_path, atomic_write, jsonable, new_figure, read_json, save_figure, write_json  # noqa: F401  (write_json re-exported)
from .card import CARD_FILE, now, versions  # noqa: F401  (now, versions re-exported)

if TYPE_CHECKING:
    import keras
    import numpy.typing as npt

    from .._typing import History, StrPath

MODEL_FILE = "model.keras"

# TrainConfig fields that do not change what is trained: a re-run may differ in these.
VOLATILE = ("run_dir", "overwrite", "devices", "jit_compile", "steps_per_execution", "verbose", "command",
            "skip_bad_images", "cache_budget")


def comparable(config_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a config that identifies a run (JSON round-tripped)."""
    d = {k: v for k, v in config_dict.items() if k not in VOLATILE}
    return json.loads(json.dumps(d, default=jsonable))


def prepare(run_dir: StrPath, config_dict: Mapping[str, Any], overwrite: bool = False) -> str:
    """Check `run_dir` against `config_dict` before anything is written.

    Returns "new" (nothing there), "resume" (same config) or "complete" (same
    config, finished). A run directory with a different config, or a non-empty
    folder that is not a run directory, raises FileExistsError unless
    `overwrite`; then it is removed (by `start`).
    """
    run_dir = pathlib.Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(f"run_dir {str(run_dir)!r} exists and is not a directory.")
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return "new"
    cfg_path = run_dir / "config.json"
    if not cfg_path.exists():   # never delete a folder that is not a run directory, even with overwrite
        raise FileExistsError(
            f"run_dir {str(run_dir)!r} is not empty and holds no config.json (not a run directory); "
            f"choose another --run-dir (an empty or new folder)."
        )
    if overwrite:
        return "overwrite"
    try:
        saved = read_json(cfg_path, "run config (the config.json `train` writes)")
    except ValueError as e:   # too large, nested too deep, not UTF-8, not JSON: named, never a traceback
        raise FileExistsError(f"{e}; pass --overwrite to start this run again.") from None
    if not isinstance(saved, dict):
        raise FileExistsError(f"{cfg_path} is not a JSON object (got a JSON {type(saved).__name__}), not the config "
                              "`train` writes; pass --overwrite to start this run again.")
    old = comparable(saved)
    new = comparable(config_dict)
    if old != new:
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        changes = "; ".join(f"{k[:60]}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in diff[:10])
        changes += f"; and {len(diff) - 10} more" if len(diff) > 10 else ""
        raise FileExistsError(
            f"run_dir {str(run_dir)!r} holds a run with a different config ({changes}); "
            f"re-run with the same settings to resume, choose another --run-dir, or pass --overwrite."
        )
    read_history(run_dir / "history.csv")   # a broken history fails here, before any work (resume or load)
    return "complete" if (run_dir / CARD_FILE).exists() else "resume"


def _short(v: Any) -> str:
    """repr of a config value, cut to 60 characters (a crafted config.json cannot flood the message)."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def start(run_dir: StrPath, config_dict: Mapping[str, Any], state: str) -> None:
    """Create (or, for state "overwrite", empty) the run directory and write config.json."""
    run_dir = pathlib.Path(run_dir)
    if state == "overwrite":
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if state in ("new", "overwrite"):
        write_json(run_dir / "config.json", config_dict)


def backup_dir(run_dir: StrPath, worker_index: int | None = None) -> pathlib.Path:
    """Where BackupAndRestore keeps the state to resume from.

    The chief (`worker_index` None) uses `run_dir/backup/`; every other worker of a
    multi-worker run keeps its own copy in `run_dir/backup/worker-<index>/` (on its
    own host when the run directory is not shared), so that after a lost worker the
    restarted job resumes every worker from the same finished epoch.
    """
    base = pathlib.Path(run_dir) / "backup"
    return base if worker_index is None else base / f"worker-{int(worker_index)}"


def backup_epoch(backup_dir: StrPath) -> int:
    """The number of finished epochs that BackupAndRestore will resume from (0 when none)."""
    meta = pathlib.Path(backup_dir) / "training_metadata.json"
    try:
        return int(read_json(meta, "BackupAndRestore metadata")["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _bad_history(path: pathlib.Path, what: str) -> ValueError:
    return ValueError(f"{path} is not a training history: {what}; delete it (its curves are lost) or pass "
                      "--overwrite to start the run again")


def read_history(path: StrPath) -> History:
    """history.csv -> {column: [values]} (floats; `epoch` ints), in epoch order; {} when there is none.

    A file that is not one (not UTF-8 CSV, ragged rows, values that are not numbers) is one ValueError
    naming it: the one place history.csv is parsed (resume, a finished run, truncate_history).
    """
    path = pathlib.Path(path)
    if not path.exists():
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
    except (UnicodeDecodeError, csv.Error) as e:
        raise _bad_history(path, f"not CSV text ({type(e).__name__})") from None
    if not rows:
        return {}
    header = rows[0]
    history: History = {c: [] for c in header}
    if len(history) != len(header) or not all(c.strip() for c in header):
        raise _bad_history(path, f"its header {header[:8]} has empty or repeated column names")
    if "epoch" not in history:
        raise _bad_history(path, f"its header {header[:8]} has no 'epoch' column")
    for line, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise _bad_history(path, f"line {line} has {len(row)} fields but the header has {len(header)}")
        try:
            values = [float(v) for v in row]
        except ValueError:
            raise _bad_history(path, f"line {line} holds a value that is not a number ({row[:6]})") from None
        for column, v in zip(header, values):
            if column == "epoch" and not (v >= 0 and float(v).is_integer()):
                raise _bad_history(path, f"line {line} has epoch {v}, not a whole number >= 0")
            history[column].append(int(v) if column == "epoch" else v)
    return history


def write_history(path: StrPath, history: History) -> None:
    """{column: [values]} -> history.csv (the columns in the dict's order, one row per epoch), atomically."""
    cols = list(history)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows(zip(*(history[c] for c in cols)))
    atomic_write(path, buf.getvalue())


def write_run(run_dir: StrPath, model: keras.Model, card: Mapping[str, Any], *, history: History | None = None,
              history_csv: bool = False, config: Mapping[str, Any] | None = None, title: str = "",
              eval_name: str = "test", replace: bool = False) -> pathlib.Path:
    """Write a finished run into `run_dir`: the one writer of `train` and of the search's `best/`.

    Writes model.keras, config.json (when `config` is given), history.csv (when `history_csv`: from
    `history`; `train`'s CSVLogger has written it already), curves.png (when `history` is given) and
    model_card.json last, whose presence marks the run finished (`prepare` returns "complete"). Every
    file is written to a temporary name and renamed into place. With `replace`, the whole folder is
    built beside `run_dir` and swapped in only once complete (an existing `run_dir` is replaced).
    """
    run_dir = pathlib.Path(run_dir)
    if replace:
        tmp = run_dir.with_name(f".{run_dir.name}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            write_run(tmp, model, card, history=history, history_csv=history_csv, config=config, title=title,
                      eval_name=eval_name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = run_dir.with_name(f".{run_dir.name}.old")
        if run_dir.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(run_dir, old)
        os.replace(tmp, run_dir)
        if old.exists():
            shutil.rmtree(old)
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(run_dir / MODEL_FILE) as tmp:
        model.save(tmp)
    if config is not None:
        write_json(run_dir / "config.json", config)
    if history is not None:
        if history_csv:
            write_history(run_dir / "history.csv", history)
        plot_curves(history, run_dir / "curves.png", title=title, eval_name=eval_name)
    write_json(run_dir / CARD_FILE, card)
    return run_dir


def truncate_history(path: StrPath, epochs: int) -> None:
    """Keep the rows of the first `epochs` epochs only (a killed run may have logged one more)."""
    path = pathlib.Path(path)
    history = read_history(path)          # checked: one clear error for a broken file
    if not history:
        return
    header = list(history)
    keep = [i for i, e in enumerate(history.get("epoch", [])) if e < epochs]
    body = [[history[c][i] for c in header] for i in keep]
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *body])
    atomic_write(path, buf.getvalue())
    if epochs == 0:
        path.unlink()


def plot_curves(history: History, path: StrPath, title: str = "", eval_name: str = "test") -> None:
    """Train error (dashed) and test error (bold) per epoch, as in the paper's Fig. 6."""
    epochs = [e + 1 for e in history.get("epoch", [])]
    fig = new_figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    if "top1" in history:
        ax.plot(epochs, [100 * (1 - a) for a in history["top1"]], "--", color="C0", label="train error")
    if "val_top1" in history:
        ax.plot(epochs, [100 * (1 - a) for a in history["val_top1"]], "-", color="C0", lw=2.5, label=f"{eval_name} error")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_confusion(confusion: npt.ArrayLike, class_names: Sequence[str], path: StrPath, title: str = "") -> None:
    """A confusion-matrix heat map (rows: true class, columns: predicted), counts in the cells."""
    import numpy as np

    cm = np.asarray(confusion)
    n = len(cm)
    size = max(4, min(16, 0.5 * n + 2))
    fig = new_figure(figsize=(size, size), dpi=100)
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), [str(c) for c in class_names], rotation=90 if n > 10 else 45, ha="right")
    ax.set_yticks(range(n), [str(c) for c in class_names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 20:
        top = cm.max() or 1
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > top / 2 else "black")
    fig.tight_layout()
    save_figure(fig, path)

