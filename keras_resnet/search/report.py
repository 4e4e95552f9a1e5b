"""The results of a search: a table of every trial, accuracy against MACs with its Pareto front, the best model.

    results.csv / results.md   one row per trial: hyperparameters, model, params, MACs,
                               best validation accuracy, the objective, epochs, wall time
    pareto.png                 best validation accuracy against multiply-accumulates per image;
                               the Pareto-optimal trials (no other trial is both cheaper and
                               more accurate) joined by a line: the paper's depth / cost trade-off
                               (Table 6, Fig. 6) measured on your data
    best/                      the best trial (by the objective) as a run directory:
                               model.keras, model_card.json, config.json, history.csv, curves.png

Every file is written to a temporary name and renamed into place; `best/`
is replaced only once the new one is complete.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..io import atomic_write, save_figure
from .hypermodel import SIDECAR
from .space import HYPERPARAMETERS

if TYPE_CHECKING:
    import keras_tuner as kt

    from .._typing import History, StrPath
    from .hypermodel import ResNetHyperModel

Row = dict[str, Any]    # one trial of results.csv: the COLUMNS

COLUMNS = ("trial", "status", "model", *HYPERPARAMETERS, "params", "macs", "best_val_accuracy", "objective",
           "epochs", "wall_s", "tuner_id", "pareto")

_log = logging.getLogger(__name__)


def _sidecar(tuner: kt.Tuner, trial_id: str) -> dict[str, Any]:
    import json

    path = pathlib.Path(tuner.project_dir) / f"trial_{trial_id}" / SIDECAR
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _best(trial: kt.engine.trial.Trial, name: str, direction: str = "max") -> float | None:
    if not trial.metrics.exists(name):
        return None
    history = [o.value[0] if isinstance(o.value, (list, tuple)) else o.value for o in trial.metrics.get_history(name)]
    history = [float(v) for v in history if v is not None and not math.isnan(float(v))]
    if not history:
        return None
    return max(history) if direction == "max" else min(history)


def collect(tuner: kt.Tuner, objective: kt.Objective) -> list[Row]:
    """One dict per trial of the tuner's oracle (trial order), with Pareto-optimal trials marked."""
    space = tuner.hypermodel.space
    rows = []
    for trial_id in sorted(tuner.oracle.trials, key=lambda t: (len(t), t)):
        trial = tuner.oracle.trials[trial_id]
        values = dict(trial.hyperparameters.values)
        side = _sidecar(tuner, trial_id)
        row: Row = {"trial": trial_id, "status": str(trial.status)}
        hp = {n: values.get(n) for n in HYPERPARAMETERS}
        if hp["plain"]:
            hp["shortcut"] = None
        if None not in (hp["depth"], hp["plain"]):
            name, kwargs = space.model(hp)
            row["model"] = name + (f"-{kwargs['shortcut']}" if "shortcut" in kwargs else "")
        row.update(hp)
        row.update(params=side.get("params"), macs=side.get("macs"),
                   best_val_accuracy=_best(trial, "val_top1"),
                   objective=_best(trial, objective.name, objective.direction),
                   epochs=side.get("epochs"), wall_s=side.get("wall_s"), tuner_id=side.get("tuner_id"))
        rows.append(row)
    mark_pareto(rows)
    return rows


def mark_pareto(rows: list[Row], x: str = "macs", y: str = "best_val_accuracy") -> list[Row]:
    """Mark rows that no other row beats on both fewer `x` and higher `y` (ties are kept)."""
    points = [r for r in rows if r.get(x) is not None and r.get(y) is not None]
    for r in rows:
        r["pareto"] = False
    for r in points:
        r["pareto"] = not any(
            o is not r and o[x] <= r[x] and o[y] >= r[y] and (o[x] < r[x] or o[y] > r[y]) for o in points
        )
    return rows


def _fmt(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in ("best_val_accuracy", "objective") and isinstance(value, float):
        return f"{value:.4f}"
    if column in ("lr", "weight_decay") and isinstance(value, float):
        return f"{value:.3g}"
    if column == "wall_s" and isinstance(value, (int, float)):
        return f"{value:.1f}"
    if column in ("params", "macs") and isinstance(value, int):
        return f"{value:,}"
    if column == "pareto":
        return "yes" if value else ""
    return str(value)


def to_csv(rows: Sequence[Row]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: "" if r.get(c) is None else r.get(c) for c in COLUMNS})
    return buf.getvalue()


def to_markdown(rows: Sequence[Row], objective: kt.Objective, title: str | None = None,
                label: str | None = None) -> str:
    """A Markdown table, best objective first; Pareto-optimal trials marked."""
    reverse = objective.direction == "max"
    done = sorted((r for r in rows if r.get("objective") is not None), key=lambda r: r["objective"], reverse=reverse)
    order = done + [r for r in rows if r.get("objective") is None]
    cols = [c for c in COLUMNS if c not in ("status", "tuner_id")] + (["status"] if len(done) < len(rows) else [])
    lines = [f"### {title}\n" if title else "",
             f"Objective: `{label or objective.name}`"
             + (f" (reported as `{objective.name}`)" if label and label != objective.name else "")
             + f" ({objective.direction}); {len(done)} of {len(rows)} trials finished. "
             f"`best_val_accuracy` is the best validation top-1 accuracy over the trial's epochs; "
             f"`macs` are multiply-accumulates per image; `pareto` marks trials that no other trial beats "
             f"with fewer MACs and higher accuracy.\n",
             "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_fmt(c, r.get(c)) for c in cols) + " |" for r in order]
    return "\n".join(line for line in lines if line is not None) + "\n"




def plot_pareto(rows: Sequence[Row], path: StrPath, title: str = "accuracy against cost") -> None:
    """Best validation accuracy against MACs (log scale), residual vs plain, Pareto front joined."""
    import matplotlib.ticker

    from ..io import new_figure

    pts = [r for r in rows if r.get("macs") and r.get("best_val_accuracy") is not None]
    fig = new_figure(figsize=(7, 4.5), dpi=100)
    ax = fig.subplots()
    markers = {"A": "o", "B": "s", "C": "^", None: "x"}
    for plain, color, label in ((False, "C0", "residual"), (True, "C3", "plain")):
        for shortcut, marker in markers.items():
            sel = [r for r in pts if bool(r["plain"]) == plain and (r["shortcut"] if not plain else None) == shortcut]
            if sel:
                ax.scatter([r["macs"] for r in sel], [100 * r["best_val_accuracy"] for r in sel], c=color,
                           marker=marker, s=40, label=f"{label}" + (f" ({shortcut})" if shortcut else ""))
    front = sorted((r for r in pts if r.get("pareto")), key=lambda r: r["macs"])
    if front:
        xs, ys = [r["macs"] for r in front], [100 * r["best_val_accuracy"] for r in front]
        ax.plot(xs, ys, "-", color="k", lw=1, alpha=0.7, zorder=0)
        ax.scatter(xs, ys, s=160, facecolors="none", edgecolors="k", label="Pareto front")
        for r in front:
            ax.annotate(r.get("model") or r["trial"], (r["macs"], 100 * r["best_val_accuracy"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=7)
    if pts and max(r["macs"] for r in pts) > 2 * min(r["macs"] for r in pts):
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.EngFormatter())
    ax.set_xlabel("multiply-accumulates per image")
    ax.set_ylabel("best validation accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if pts:
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def write_report(tuner: kt.Tuner, directory: StrPath, objective: kt.Objective,
                 label: str | None = None) -> list[Row]:
    """results.csv, results.md and pareto.png of every trial of `tuner`; returns the rows."""
    directory = pathlib.Path(directory)
    rows = collect(tuner, objective)
    data = tuner.hypermodel.prepared.data
    title = f"keras-resnet tune on {data.name}: {len(rows)} trials"
    atomic_write(directory / "results.csv", to_csv(rows))
    atomic_write(directory / "results.md", to_markdown(rows, objective, title, label))
    plot_pareto(rows, directory / "pareto.png", title=title)
    return rows


def _history(trial: kt.engine.trial.Trial) -> History:
    """{'epoch': [...], 'loss': [...], 'top1': [...], 'val_top1': [...], ...} from the trial's metrics."""
    names = sorted(trial.metrics.metrics)
    steps = sorted({o.step for n in names for o in trial.metrics.get_history(n)})
    history: History = {"epoch": steps}
    for n in names:
        by_step = {o.step: (o.value[0] if isinstance(o.value, (list, tuple)) else o.value)
                   for o in trial.metrics.get_history(n)}
        if all(s in by_step for s in steps):
            history[n] = [float(by_step[s]) for s in steps]
    return history


def export_best(tuner: kt.Tuner, directory: StrPath, hypermodel: ResNetHyperModel,
                objective: kt.Objective) -> pathlib.Path | None:
    """Write the best trial (its best epoch's weights) as `directory/best`, a run directory with a model card."""
    from .. import training

    trials = tuner.oracle.get_best_trials(1)
    if not trials:
        _log.warning("No trial finished: no best model to export.")
        return None
    trial = trials[0]
    values = {n: trial.hyperparameters.values.get(n) for n in HYPERPARAMETERS}
    config = hypermodel.trial_config(values)
    directory = pathlib.Path(directory)
    config.run_dir = str(directory / "best")
    import warnings

    with warnings.catch_warnings():  # the checkpoint holds optimizer slots that inference does not need
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)
    strategy = tuner.distribution_strategy
    if not model.optimizer.built:  # so that model.keras reloads without a mismatch warning
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model.optimizer.build(model.trainable_variables)
    prepared = hypermodel.prepared
    metrics = training.evaluate(model, prepared.test_ds)
    epochs, steps, lr, warmup = training.schedule_info(config, prepared.steps_per_epoch)
    name = f"{config.model}-{prepared.data.name}"
    card = training.model_card(model, config, prepared, metrics, name, epochs=epochs, steps=steps, lr=lr, warmup=warmup)
    card["search"] = {"directory": str(directory), "trial_id": trial.trial_id, "objective": objective.name,
                      "best_value": _best(trial, objective.name, objective.direction),
                      "best_step": trial.best_step, "hyperparameters": values}

    from ..training.rundir import write_run

    return write_run(directory / "best", model, card, history=_history(trial), history_csv=True,
                     config=config.to_dict(), title=f"{name} (trial {trial.trial_id})", eval_name="validation",
                     replace=True)
