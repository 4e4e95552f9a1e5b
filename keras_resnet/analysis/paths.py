"""Residual networks as collections of paths (Veit et al. 2016, §3 and §4.2, Fig. 6).

Unrolling y_i = y_{i-1} + F_i(y_{i-1}) over n blocks gives 2^n paths from
input to output; a path of length k goes through the residual branch of k
blocks and the shortcut of the other n - k, so there are C(n, k) of them:
the lengths follow a binomial(n, 1/2) distribution (their Eq. 3-6, Fig. 6a).

To see which paths carry the gradient, Veit et al. feed a batch forward
through the whole network and, in the backward pass, sample k blocks whose
branch the gradient goes through (the other n - k: only their shortcut), and
measure the gradient magnitude that reaches the input along that one path of
length k (Fig. 6b). It falls fast with k; weighted by the number of paths,
C(n, k) x magnitude, the total gradient comes from a narrow band of short
*effective paths* (Fig. 6c: 5-17 blocks of ResNet-110's 54).
"""

import math

import numpy as np

from .report import styled
from .switches import instrument


def path_counts(n):
    """[C(n, 0), ..., C(n, n)]: the number of paths of each length in n residual blocks (Veit et al. Eq. 6)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"the number of residual blocks must be an integer >= 0, got {n!r}.")
    return [math.comb(int(n), k) for k in range(int(n) + 1)]


def path_length_distribution(n):
    """Rows (length, paths, fraction) of the path lengths of n blocks: binomial(n, 1/2) (Fig. 6a)."""
    counts = path_counts(n)
    return [dict(length=k, paths=c, fraction=c / 2**n) for k, c in enumerate(counts)]


def _from_logits(model):
    act = getattr(model.layers[-1], "activation", None)
    return getattr(act, "__name__", "") not in ("softmax", "sigmoid")


def path_gradients(model, x, y, *, lengths=None, samples=10, batch_size=32, seed=0, progress=True):
    """Gradient magnitude reaching the input along sampled paths of each length k (Veit et al. §4.2).

    For each k in `lengths` (default 0..n) and each of `samples` draws: a batch of
    `batch_size` images (cycled from `x`, `y`), k blocks chosen at random whose
    residual branch the gradient passes (the others: their shortcut), the forward
    pass through the whole intact network (inference mode), and the L2 norm of
    d loss / d input per image (sum of cross-entropies, so each image's gradient
    is its own), averaged over the batch.

    Returns rows dict(length, sample, blocks, magnitude).
    """
    import keras

    from ..backend_ops import value_and_gradient

    routed, blocks = instrument(model, routed=True)
    res = [b for b in blocks if b.residual]
    if not res:
        raise ValueError(f"model {model.name!r} has no residual blocks, so it has no paths to measure.")
    n = len(res)
    lengths = list(range(n + 1)) if lengths is None else [int(k) for k in lengths]
    bad = [k for k in lengths if not 0 <= k <= n]
    if bad:
        raise ValueError(f"path lengths must be in 0..{n} (the model has {n} residual blocks), got {bad}.")
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=_from_logits(model), reduction="sum")

    def grad_norms(images, labels):
        _, g = value_and_gradient(lambda t: loss_fn(labels, routed(t, training=False)), images)
        return np.sqrt(np.square(g.astype(np.float64)).sum(axis=(1, 2, 3)))

    rng = np.random.default_rng(seed)
    bar = keras.utils.Progbar(len(lengths) * samples, unit_name="path") if progress else None
    rows, start = [], 0
    for k in lengths:
        for s in range(samples):
            chosen = set(rng.choice(n, size=k, replace=False).tolist())
            for i, b in enumerate(res):
                b.switch.route.assign(1.0 if i in chosen else 0.0)
            idx = np.arange(start, start + batch_size) % len(x)
            start = (start + batch_size) % len(x)
            norms = grad_norms(x[idx], y[idx])
            rows.append(dict(length=k, sample=s, blocks=" ".join(res[i].name for i in sorted(chosen)),
                             magnitude=float(np.mean(norms))))
            if bar:
                bar.add(1)
    return rows


def effective_paths(summary, mass=0.9):
    """The lengths (lo, hi) that hold the central `mass` of the total gradient C(n,k) x magnitude(k).

    `summary`: rows with `length` and `total`, as from `summarize_gradients`.
    """
    totals = np.array([r["total"] for r in summary], dtype=float)
    lengths = [r["length"] for r in summary]
    if not np.isfinite(totals).all() or totals.sum() <= 0:
        return None
    cum = np.cumsum(totals) / totals.sum()
    tail = (1 - mass) / 2
    lo = int(np.searchsorted(cum, tail, side="right"))
    hi = int(np.searchsorted(cum, 1 - tail, side="left"))
    return lengths[lo], lengths[min(hi, len(lengths) - 1)]


# Veit et al. 2016, §4.2 / Fig. 6: in ResNet-110 (54 blocks) almost all of the gradient comes from paths of
# 5 to 17 blocks (9% to 31% of its 54), although the typical path has 27.
VEIT_BLOCKS = 54
VEIT_EFFECTIVE = (5, 17)


def path_length_stats(n, summary=None, effective=None):
    """Numbers of Veit et al. Fig. 6 for n blocks: 2^n paths, binomial(n, 1/2) lengths (mean n/2, std sqrt(n)/2),
    and, given a gradient `summary` (from `summarize_gradients`), the gradient-weighted mean length, the length
    carrying the largest share, and the `effective` range (from `effective_paths`) also as fractions of n, beside
    Veit et al.'s 5..17 of 54 for ResNet-110."""
    counts = path_counts(n)
    out = dict(blocks=n, paths=2**n, mean_length=n / 2, std_length=math.sqrt(n) / 2,
               most_common_length=int(np.argmax(counts)))
    if summary:
        share = sum(r["share"] for r in summary) or 1.0
        out["gradient_mean_length"] = sum(r["length"] * r["share"] for r in summary) / share
        out["gradient_peak_length"] = max(summary, key=lambda r: r["share"])["length"]
    if effective:
        out.update(effective_lo=effective[0], effective_hi=effective[1],
                   effective_lo_fraction=effective[0] / n if n else 0.0,
                   effective_hi_fraction=effective[1] / n if n else 0.0)
    out.update(veit_blocks=VEIT_BLOCKS, veit_effective_lo=VEIT_EFFECTIVE[0], veit_effective_hi=VEIT_EFFECTIVE[1],
               veit_effective_lo_fraction=VEIT_EFFECTIVE[0] / VEIT_BLOCKS,
               veit_effective_hi_fraction=VEIT_EFFECTIVE[1] / VEIT_BLOCKS)
    return out


def summarize_gradients(rows, n):
    """Per length k: mean and std of the magnitude, C(n, k) paths, total = C(n, k) x mean and its share."""
    counts = path_counts(n)
    out = []
    for k in sorted({r["length"] for r in rows}):
        mags = np.array([r["magnitude"] for r in rows if r["length"] == k])
        out.append(dict(length=k, paths=counts[k], mean_magnitude=float(mags.mean()),
                        std_magnitude=float(mags.std()), samples=len(mags), total=counts[k] * float(mags.mean())))
    grand = sum(r["total"] for r in out) or 1.0
    for r in out:
        r["share"] = r["total"] / grand
    return out


@styled
def plot_paths(summary, n, name, effective=None):
    """Veit et al. Fig. 6: (a) path lengths, (b) gradient magnitude per path, (c) total gradient per length."""
    from .report import new_figure

    fig, axes = new_figure(3, 1, width=4.0, height=3.2)
    a, b, c = axes[0]
    dist = path_length_distribution(n)
    a.bar([d["length"] for d in dist], [d["fraction"] for d in dist], color="tab:blue")
    a.set(title=f"(a) path lengths, {name} (n={n})", xlabel="path length k (blocks)", ylabel="fraction of 2^n paths")
    a.text(0.02, 0.95, f"binomial({n}, 1/2)\nmean {n / 2:g}, std {math.sqrt(n) / 2:.2g}", transform=a.transAxes,
           ha="left", va="top", fontsize=8)
    ks = [r["length"] for r in summary]
    mean = np.array([r["mean_magnitude"] for r in summary])
    std = np.array([r["std_magnitude"] for r in summary])
    low = np.minimum(std, 0.9 * mean)  # a log axis: keep the lower bar above zero
    b.errorbar(ks, mean, yerr=[low, std], fmt="o-", ms=3, color="tab:red", capsize=2, label="mean ± std over samples")
    b.legend(fontsize=7)
    b.set_yscale("log")
    b.set(title="(b) gradient at input, one path", xlabel="path length k", ylabel="gradient magnitude")
    c.bar(ks, [r["share"] for r in summary], color="tab:green")
    c.set(title="(c) total gradient: C(n,k) x magnitude", xlabel="path length k", ylabel="share of total gradient")
    if effective:
        for ax in (a, b, c):
            ax.axvspan(effective[0] - 0.5, effective[1] + 0.5, color="orange", alpha=0.2, lw=0)
        c.text(0.98, 0.95, f"effective paths\n(90% of gradient):\nk = {effective[0]}..{effective[1]} of {n}\n"
               f"(Veit et al., ResNet-110:\n{VEIT_EFFECTIVE[0]}..{VEIT_EFFECTIVE[1]} of {VEIT_BLOCKS})",
               transform=c.transAxes, ha="right", va="top", fontsize=8)
    fig.tight_layout()
    return fig
