"""The degradation problem (He et al. 2016, §4.2, Fig. 6; also §4.1, Fig. 1 and 4).

Plain nets of 20, 32, 44, 56 layers trained with one recipe: the deeper plain
nets have *higher training error* (Fig. 6 left) - an optimisation difficulty,
not overfitting. The ResNets of the same depths and recipe do not degrade:
deeper is better (Fig. 6 middle; Table 6: 8.75% error at 20 layers, 6.97% at 56).

The curves come from the run directories of `keras_resnet.training.train`: its
`history.csv` holds the training accuracy of each epoch (`top1`, on the
augmented batches, running mean over the epoch, as the paper's training curves)
and the held-out accuracy after each epoch (`val_top1`: the test split when the
run has no validation split). As in the paper's Fig. 6, dashed lines are
training error and bold lines test error.
"""

import re

import numpy as np

from .. import registry
from .report import styled

_DEPTH = re.compile(r"(\d+)")


def kind_and_depth(label):
    """("plain" | "resnet", depth) from a model name (registry.parse_model_name) or a label such as "resnet20_v2"."""
    try:
        parsed = registry.parse_model_name(label)
        if parsed.depth:
            return parsed.kind, parsed.depth
    except ValueError:
        pass
    kind = "plain" if label.lower().startswith("plain") else "resnet"
    m = _DEPTH.search(label)
    return kind, int(m.group(1)) if m else 0


def error_curves(trained):
    """Rows dict(model, epoch, train_error, test_error) from each run's history (1 - accuracy)."""
    rows = []
    for t in trained:
        h = t.history or {}
        if "top1" not in h:
            raise ValueError(
                f"{t.label}: no per-epoch history (history.csv with a 'top1' column) - the degradation "
                "curves need run directories written by keras_resnet.training.train, not bare .keras files."
            )
        val = h.get("val_top1", [float("nan")] * len(h["top1"]))
        for e, (tr, te) in enumerate(zip(h["top1"], val), start=1):
            rows.append(dict(model=t.label, epoch=e, train_error=1 - tr, test_error=1 - te))
    return rows


def final_errors(trained, x_train=None, y_train=None, x_test=None, y_test=None, batch_size=256):
    """One row per model: depth, kind, parameters, epochs, final errors.

    `final_train_error` is the last epoch's logged training error (augmented
    batches, training-mode BN); `train_error_eval` re-evaluates the finished
    model on the un-augmented training images in inference mode; `test_error`
    is measured on `x_test` (else taken from the run's model card).
    """
    from .sources import check_fit, top1_error

    rows = []
    for t in trained:
        kind, depth = kind_and_depth(t.label)
        h = t.history or {}
        row = dict(model=t.label, kind=kind, depth=depth, params=int(t.model.count_params()),
                   epochs=len(h.get("top1", [])),
                   final_train_error=1 - h["top1"][-1] if h.get("top1") else float("nan"))
        if x_train is not None:
            check_fit(t.model, x_train, y_train)
            row["train_error_eval"] = top1_error(t.model, x_train, y_train, batch_size)
        if x_test is not None:
            check_fit(t.model, x_test, y_test)
            row["test_error"] = top1_error(t.model, x_test, y_test, batch_size)
        else:
            row["test_error"] = t.card.get("metrics", {}).get("test_top1_error", float("nan"))
        rows.append(row)
    return sorted(rows, key=lambda r: (r["kind"] != "plain", r["depth"]))


@styled
def plot_degradation(curves, held_out="test", dataset=""):
    """Fig. 6: plain nets (left) and ResNets (right); dashed = training error, bold = test error."""
    from .report import new_figure

    labels = list(dict.fromkeys(r["model"] for r in curves))
    kinds = [k for k in ("plain", "resnet") if any(kind_and_depth(l)[0] == k for l in labels)]
    depths = sorted({kind_and_depth(l)[1] for l in labels})
    colors = {d: f"C{i}" for i, d in enumerate(depths)}
    fig, axes = new_figure(len(kinds), 1, width=4.6, height=3.6, sharey=True)
    top = 0.0
    for ax, kind in zip(axes[0], kinds):
        for label in labels:
            k, d = kind_and_depth(label)
            if k != kind:
                continue
            rows = [r for r in curves if r["model"] == label]
            ep = [r["epoch"] for r in rows]
            tr = np.array([r["train_error"] for r in rows])
            te = np.array([r["test_error"] for r in rows])
            ax.plot(ep, tr, "--", color=colors[d], lw=1.0)
            ax.plot(ep, te, "-", color=colors[d], lw=2.2, label=f"{label}")
            top = max(top, np.nanmax(np.concatenate([tr, te])))
        ax.set(title={"plain": "plain networks", "resnet": "ResNets"}[kind], xlabel="epoch",
               ylabel="error")
        ax.plot([], [], "k--", lw=1.0, label="training error")
        ax.plot([], [], "k-", lw=2.2, label=f"{held_out} error")
        ax.legend(fontsize=7)
    for ax in axes[0]:
        ax.set_ylim(0, min(1.0, top * 1.05 + 0.02))
    where = f"Training on {dataset}: " if dataset else ""
    fig.suptitle(f"{where}dashed = training error, bold = {held_out} error (He et al. Fig. 6)", fontsize=9)
    fig.tight_layout()
    return fig
