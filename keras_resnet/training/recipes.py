"""Training recipes: the learning-rate schedules and the optimizer.

`paper` is the CIFAR recipe of He et al. 2016, §4.2: SGD with momentum 0.9,
weight decay 1e-4 (applied by the model builder as L2 on the kernels), batch
128, learning rate 0.1 divided by 10 at 32k and 48k iterations, stopping at
64k iterations. For ResNet-110 (and deeper) the paper warms up at 0.01 for
the first ~400 iterations "until the training error is below 80%", then goes
back to 0.1. When the length of the run is given in epochs (or a different
number of iterations), the two drops sit at the same fractions of the run:
50% and 75%.

`cosine` (Loshchilov & Hutter 2017) and `onecycle` (Smith 2018: a linear
warm-up over the first 30% of the run to the peak rate, then a cosine decay
towards zero) are alternatives built from Keras's own `CosineDecay`.
"""

import math

import keras

from ..registry import RECIPES, model_depth  # noqa: F401  (model_depth re-exported: recipes.model_depth)

PAPER_ITERATIONS = 64_000      # §4.2: "terminate training at 64k iterations"
PAPER_MILESTONES = (0.5, 0.75)  # 32k and 48k of 64k
PAPER_BATCH = 128
PAPER_LR = 0.1
WARMUP_ITERATIONS = 400        # §4.2, ResNet-110: 0.01 "until the training error is below 80% (about 400 iterations)"
WARMUP_DEPTH = 110
ONECYCLE_WARMUP = 0.3
ONECYCLE_DIV = 25.0


def total_steps(steps_per_epoch, epochs=None, iterations=None):
    """(epochs, iterations) of a run: from `iterations`, from `epochs`, or the paper's 64k."""
    if epochs is not None and iterations is not None:
        raise ValueError(f"Give the length of the run as epochs or iterations, not both (got epochs={epochs}, iterations={iterations}).")
    if epochs is not None:
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}.")
        return int(epochs), int(epochs) * steps_per_epoch
    iterations = PAPER_ITERATIONS if iterations is None else iterations
    if int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}.")
    return max(1, math.ceil(iterations / steps_per_epoch)), int(iterations)


def default_lr(recipe, batch_size):
    """The peak learning rate: the paper's 0.1 at batch 128, scaled linearly with the batch (Goyal et al. 2017)."""
    return PAPER_LR * batch_size / PAPER_BATCH


def warmup_steps(model_name, steps):
    """The paper's warm-up for ResNet-110 and deeper: 400 iterations (at most a tenth of a short run)."""
    if model_depth(model_name) < WARMUP_DEPTH:
        return 0
    return max(1, min(WARMUP_ITERATIONS, steps // 10))


def schedule(recipe, *, lr, steps, warmup=0):
    """The learning-rate schedule of `recipe` over `steps` optimizer steps (a Keras schedule)."""
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}. Allowed: {', '.join(RECIPES)}.")
    if not lr > 0:
        raise ValueError(f"The learning rate must be > 0, got {lr!r}.")
    if recipe == "paper":
        boundaries = [int(steps * f) for f in PAPER_MILESTONES]
        values = [lr, lr / 10, lr / 100]
        if warmup:
            boundaries, values = [warmup] + boundaries, [lr / 10] + values
        # Boundaries must increase strictly: a run of a few steps merges the drops.
        keep = [i for i, b in enumerate(boundaries) if b > 0 and (i == 0 or b > boundaries[i - 1])]
        boundaries = [boundaries[i] for i in keep]
        values = [values[0]] + [values[i + 1] for i in keep]
        if not boundaries:
            return keras.optimizers.schedules.PiecewiseConstantDecay([steps], [lr, lr])
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if recipe == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=lr / 10 if warmup else lr,
            decay_steps=max(1, steps - warmup),
            warmup_target=lr if warmup else None,
            warmup_steps=warmup,
        )
    warm = max(1, int(steps * ONECYCLE_WARMUP))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / ONECYCLE_DIV,
        decay_steps=max(1, steps - warm),
        alpha=1e-3,
        warmup_target=lr,
        warmup_steps=warm,
    )


def optimizer(recipe, *, lr, steps, momentum=0.9, warmup=0):
    """SGD with momentum (§3.4, §4.2) following `recipe`'s schedule.

    Weight decay is not here: the model builder puts L2(w/2) on every kernel,
    which is the paper's (and PyTorch's) weight decay w for SGD.
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
    return keras.optimizers.SGD(learning_rate=schedule(recipe, lr=lr, steps=steps, warmup=warmup), momentum=momentum)
