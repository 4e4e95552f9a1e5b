"""Lesion study (Veit et al. 2016, §4.1 and §5, Fig. 3 and 5): delete blocks at test time.

Deleting block i of a residual network keeps its shortcut and drops its
branch: y_i = y_{i-1} (He et al. Eq. 1 without F), or, at a downsampling
block, the option-A/B shortcut, which still carries the new shape. Veit et al.
find that a trained ResNet survives it: deleting one block barely moves the
test error, except at a few downsampling blocks (their Fig. 3), and the error
grows smoothly as more blocks are deleted at random (Fig. 5a), as in an
ensemble whose members are the paths. A plain net has one path only: deleting
any of its layers breaks it. Here a plain block is "deleted" by passing its
input on unchanged, which works only where the block keeps the shape (not at
the downsampling blocks, which are left in place and marked).

The switches of `switches.instrument` make every lesion one variable
assignment on one compiled model.
"""

import math

import numpy as np

from .report import styled
from .sources import check_fit, top1_error
from .switches import instrument, residual_blocks, set_kept


def _blocks(model, require_residual):
    if require_residual:
        residual_blocks(model)  # one clear error for a plain net
    net, blocks = instrument(model)
    return net, blocks


def lesion_single(model, x, y, *, require_residual=True, batch_size=256, progress=True):
    """Test error with each block deleted in turn (Veit et al. Fig. 3).

    Returns (baseline error, rows dict(index, block, stage, downsampling, deletable, error));
    `error` is NaN for a plain block that cannot be deleted.
    """
    import keras

    check_fit(model, x, y)
    net, blocks = _blocks(model, require_residual)
    set_kept(blocks)
    baseline = top1_error(net, x, y, batch_size)
    bar = keras.utils.Progbar(len(blocks), unit_name="block") if progress else None
    rows = []
    for i, block in enumerate(blocks):
        error = float("nan")
        if block.deletable:
            set_kept(blocks, [i])
            error = top1_error(net, x, y, batch_size)
        rows.append(dict(index=i + 1, block=block.name, stage=block.name.split("_")[0],
                         downsampling=block.downsampling, deletable=block.deletable, error=error))
        if bar:
            bar.add(1)
    set_kept(blocks)
    return baseline, rows


def lesion_random(model, x, y, *, ks=None, draws=10, seed=0, require_residual=True, batch_size=256, progress=True):
    """Test error with k blocks deleted at random, `draws` draws per k (Veit et al. Fig. 5a).

    Blocks are drawn from the deletable ones (all blocks of a ResNet; the
    shape-keeping blocks of a plain net). `ks` defaults to 1 .. ceil(m / 2) of
    the m deletable blocks. Returns rows dict(k, draw, deleted, error).
    """
    import keras

    check_fit(model, x, y)
    net, blocks = _blocks(model, require_residual)
    candidates = [i for i, b in enumerate(blocks) if b.deletable]
    m = len(candidates)
    ks = list(range(1, math.ceil(m / 2) + 1)) if ks is None else [int(k) for k in ks]
    bad = [k for k in ks if not 0 <= k <= m]
    if bad:
        raise ValueError(f"k must be in 0..{m} (the deletable blocks of {model.name!r}), got {bad}.")
    rng = np.random.default_rng(seed)
    bar = keras.utils.Progbar(len(ks) * draws, unit_name="lesion") if progress else None
    rows = []
    for k in ks:
        for d in range(draws):
            chosen = sorted(rng.choice(candidates, size=k, replace=False).tolist())
            set_kept(blocks, chosen)
            rows.append(dict(k=k, draw=d, deleted=" ".join(blocks[i].name for i in chosen),
                             error=top1_error(net, x, y, batch_size)))
            if bar:
                bar.add(1)
    set_kept(blocks)
    return rows


def summarize_random(rows):
    """Per k: mean, std, min and max of the error over the draws."""
    out = []
    for k in sorted({r["k"] for r in rows}):
        e = np.array([r["error"] for r in rows if r["k"] == k])
        out.append(dict(k=k, mean_error=float(e.mean()), std_error=float(e.std()), min_error=float(e.min()),
                        max_error=float(e.max()), draws=len(e)))
    return out


_COLORS = ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown"]


def _top(values, blocked=False):
    """The upper y limit: room above the largest error, 1.02 when a model is near chance or a block is blocked."""
    finite = [v for v in values if v == v]
    top = max(finite, default=1.0) * 1.15 + 0.02
    return 1.02 if blocked or top > 0.9 else top


@styled
def plot_single(results):
    """Error per deleted block, one line per model, downsampling blocks shaded and marked (Veit et al. Fig. 3).

    `results`: {label: (baseline, rows)} from `lesion_single`.
    """
    from .report import new_figure

    width = max(5.0, 0.22 * max(len(r) for _, r in results.values()) + 2)
    fig, axes = new_figure(1, 1, width=width, height=3.6)
    ax = axes[0][0]
    shaded = False
    values, any_blocked = [], False
    for (label, (baseline, rows)), color in zip(results.items(), _COLORS):
        idx = [r["index"] for r in rows]
        err = [r["error"] for r in rows]
        values += err + [baseline]
        ax.plot(idx, err, "o-", ms=3.5, color=color, label=f"{label}: one block deleted")
        ax.axhline(baseline, color=color, ls=":", lw=1, label=f"{label}: intact ({baseline:.1%})")
        down = [r for r in rows if r["downsampling"] and r["deletable"]]
        if down:
            ax.plot([r["index"] for r in down], [r["error"] for r in down], "s", ms=8, mfc="none", mec=color,
                    mew=1.5, label=f"{label}: downsampling block deleted")
            for r in down:
                ax.annotate(f"{r['block']}\n{r['error']:.1%}", (r["index"], r["error"]), textcoords="offset points",
                            xytext=(0, 7), ha="center", fontsize=6.5, color=color)
        blocked = [r["index"] for r in rows if not r["deletable"]]
        if blocked:
            any_blocked = True
            ax.plot(blocked, [1.0] * len(blocked), "x", color=color, ms=7,
                    label=f"{label}: cannot be deleted (shape changes)")
        if not shaded:
            for r in rows:
                if r["downsampling"]:
                    ax.axvspan(r["index"] - 0.5, r["index"] + 0.5, color="gray", alpha=0.2, lw=0)
            shaded = True
    ax.set(xlabel="deleted block (network order; gray = downsampling block)", ylabel="test error",
           ylim=(0, _top(values, any_blocked)), title="Deleting one block at test time (Veit et al. 2016, Fig. 3)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.tight_layout()
    return fig


@styled
def plot_random(summaries):
    """Mean test error ± std over the draws (error bars; band: min..max) against the number k of deleted blocks
    (Veit et al. Fig. 5a).

    `summaries`: {label: rows from `summarize_random`}, each optionally led by k=0 (intact).
    """
    from .report import new_figure

    fig, axes = new_figure(1, 1, width=5.5, height=3.6)
    ax = axes[0][0]
    values = []
    for (label, rows), color in zip(summaries.items(), _COLORS):
        k = [r["k"] for r in rows]
        draws = max((r.get("draws", 1) for r in rows), default=1)
        values += [r["max_error"] for r in rows]
        ax.errorbar(k, [r["mean_error"] for r in rows], yerr=[r.get("std_error", 0.0) for r in rows], fmt="o-",
                    ms=3.5, capsize=2.5, color=color, label=f"{label}: mean ± std over {draws} draws")
        ax.fill_between(k, [r["min_error"] for r in rows], [r["max_error"] for r in rows], color=color,
                        alpha=0.15, lw=0, label=f"{label}: min..max")
    ax.set(xlabel="number of blocks deleted at random, k", ylabel="test error", ylim=(0, _top(values)),
           title="Deleting k random blocks (Veit et al. 2016, Fig. 5a)")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
