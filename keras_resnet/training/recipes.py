"""Training recipes: the learning-rate schedules and the optimizer.

`paper` is the CIFAR recipe of He et al. 2016, §4.2: SGD with momentum 0.9,
weight decay 1e-4 (applied by the model builder as L2 on the kernels), batch
128, learning rate 0.1 divided by 10 at 32k and 48k iterations, stopping at
64k iterations. For ResNet-110 (and deeper) the paper warms up at 0.01 for
the first ~400 iterations "until the training error is below 80%", then goes
back to 0.1. When the length of the run is given in epochs (or a different
number of iterations), the two drops sit at the same fractions of the run:
50% and 75%.

`imagenet` is the ImageNet recipe of He et al. 2016, §3.4: SGD with momentum 0.9, weight decay 1e-4, batch
256, "the learning rate starts from 0.1 and is divided by 10 when the error plateaus, and the models are trained
for up to 60 x 10^4 iterations"; the input is the scale augmentation (shorter side in [256, 480]), a random
224x224 crop or its flip, per-channel mean subtraction and Krizhevsky et al.'s PCA lighting (data/imagenet.py),
evaluation on the centre 224 crop at shorter side 256 (10-crop with `keras-resnet evaluate --ten-crop`). Its
fixed-length equivalent (no plateau detection): /10 at 1/3 and 2/3 of the run, i.e. at epochs 30 and 60 of 90,
as the authors' Torch re-implementation (fb.resnet.torch, train.lua: /10 every 30 epochs, 90 epochs) and
torchvision's reference (references/classification: --lr 0.1 --lr-step-size 30 --epochs 90, batch 8 x 32) do;
the default length is those 90 epochs (`RECIPE_DEFAULTS`). 60 x 10^4 iterations at batch 256 are 120 epochs.

`torchvision` is torchvision's modern recipe, the parts that concern the schedule and the loss (Vryniotis 2021,
"How to train state-of-the-art models using TorchVision's latest primitives"; references/classification/train.py):
random-resized crop + flip (data/imagenet.py), label smoothing 0.1, a cosine schedule over the run (Loshchilov &
Hutter 2017), no weight decay on BN and biases (here every recipe decays only conv / dense kernels: the model
builder's L2), lr 0.1 x batch / 256. Left out: mixup, cutmix, TrivialAugment, random erasing, EMA, long (600
epoch) runs; its default length is 90 epochs.

`cosine` (Loshchilov & Hutter 2017) and `onecycle` (Smith 2018: a linear
warm-up over the first 30% of the run to the peak rate, then a cosine decay
towards zero) are alternatives built from Keras's own `CosineDecay`.

Warm-up (`TrainConfig.warmup`, `keras-resnet train --warmup N`): N iterations
of *linear* warm-up, in every recipe. The lr starts at lr/10 (onecycle: lr/25,
its own start) at iteration 0 and rises in a straight line to the peak lr at
iteration N, from where the recipe's schedule runs unchanged (the paper's drops
stay at 50% / 75% of the run; cosine decays over the remaining steps). None
(the default) is automatic: N = 400 for ResNet-110 and deeper (at most a tenth
of the run; `warmup_steps`), none below, and onecycle's own 30% of the run;
0 is no warm-up. The automatic ResNet-110 warm-up of the paper recipe is the
paper's own, *constant* one (below); a warm-up you ask for is linear.

How this relates to the paper (§4.2, ResNet-110): "we use 0.01 to warm up the
training until the training error is below 80% (about 400 iterations), and
then go back to 0.1". That warm-up is *constant* (0.01, then a jump to 0.1)
and its end is decided by the training error. The default for ResNet-110 and
deeper (`warmup=None`, recipe paper) is that warm-up with its end fixed at 400
iterations: lr/10 held, then the jump (`constant=True`). `--warmup N` starts at
the same 0.01 (for lr 0.1), but rises linearly (the gradual warm-up of Goyal et al. 2017, as
Keras's CosineDecay does it) and ends after a fixed N: the mean lr over the
warm-up is 0.55 lr instead of the paper's 0.1 lr, so for the same gentleness
give a longer N. The step schedule with a warm-up is `WarmupPiecewiseConstant`
(a registered LearningRateSchedule, so model.keras and resume keep it); cosine
and onecycle use CosineDecay's own `warmup_steps` / `warmup_target`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import keras

from ..registry import IMAGENET_RECIPES, RECIPES, model_depth  # noqa: F401  (model_depth re-exported)

PAPER_ITERATIONS = 64_000      # §4.2: "terminate training at 64k iterations"
PAPER_MILESTONES = (0.5, 0.75)  # 32k and 48k of 64k
PAPER_BATCH = 128
PAPER_LR = 0.1
WARMUP_ITERATIONS = 400        # §4.2, ResNet-110: 0.01 "until the training error is below 80% (about 400 iterations)"
WARMUP_DEPTH = 110
ONECYCLE_WARMUP = 0.3
ONECYCLE_DIV = 25.0
WARMUP_DIV = 10.0              # a warm-up starts at lr / 10: the paper's 0.01 for its 0.1
IMAGENET_MILESTONES = (1 / 3, 2 / 3)   # §3.4's plateaus as fixed drops: epochs 30 and 60 of 90
IMAGENET_BATCH = 256           # §3.4: "a mini-batch size of 256"
IMAGENET_EPOCHS = 90           # fb.resnet.torch / torchvision's reference length
# What each recipe sets besides its schedule (TrainConfig's own defaults are the CIFAR recipe's):
RECIPE_DEFAULTS: dict[str, dict[str, Any]] = {
    **{r: {"batch_size": PAPER_BATCH, "weight_decay": 1e-4, "label_smoothing": 0.0} for r in ("paper", "cosine", "onecycle")},
    "imagenet": {"batch_size": IMAGENET_BATCH, "weight_decay": 1e-4, "label_smoothing": 0.0, "epochs": IMAGENET_EPOCHS},
    "torchvision": {"batch_size": IMAGENET_BATCH, "weight_decay": 1e-4, "label_smoothing": 0.1,
                    "epochs": IMAGENET_EPOCHS},
}


def recipe_defaults(recipe: str) -> dict[str, Any]:
    """TrainConfig fields `recipe` sets: `TrainConfig(recipe="imagenet", **recipe_defaults("imagenet"))`."""
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}. Allowed: {', '.join(RECIPES)}.")
    return dict(RECIPE_DEFAULTS[recipe])


def total_steps(steps_per_epoch: int, epochs: int | None = None, iterations: int | None = None,
                recipe: str = "paper") -> tuple[int, int]:
    """(epochs, iterations) of a run: from `iterations`, from `epochs`, or the recipe's default: the paper's 64k
    iterations (CIFAR), 90 epochs (the ImageNet recipes)."""
    if epochs is not None and iterations is not None:
        raise ValueError(f"Give the length of the run as epochs or iterations, not both (got epochs={epochs}, iterations={iterations}).")
    if epochs is None and iterations is None and recipe in IMAGENET_RECIPES:
        epochs = IMAGENET_EPOCHS
    if epochs is not None:
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}.")
        return int(epochs), int(epochs) * steps_per_epoch
    iterations = PAPER_ITERATIONS if iterations is None else iterations
    if int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}.")
    return max(1, math.ceil(iterations / steps_per_epoch)), int(iterations)


def default_lr(recipe: str, batch_size: int) -> float:
    """The peak learning rate: the paper's 0.1 at batch 128 (CIFAR, §4.2) or 256 (ImageNet recipes, §3.4), scaled
    linearly with the batch (Goyal et al. 2017)."""
    return PAPER_LR * batch_size / (IMAGENET_BATCH if recipe in IMAGENET_RECIPES else PAPER_BATCH)


def warmup_steps(model_name: str, steps: int) -> int:
    """The paper's warm-up for ResNet-110 and deeper: 400 iterations (at most a tenth of a short run)."""
    if model_depth(model_name) < WARMUP_DEPTH:
        return 0
    return min(WARMUP_ITERATIONS, max(1, steps // 10), steps - 1)


def check_warmup(warmup: int | None, steps: int | None = None) -> None:
    """ValueError unless `warmup` is None (automatic) or an integer from 0 to steps - 1 (when `steps` is known)."""
    if warmup is None:
        return
    limit = f" and fewer than the run's {steps} iterations" if steps is not None else ""
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0 \
            or (steps is not None and warmup >= steps):
        raise ValueError(f"warmup must be a whole number of iterations >= 0 (0: no warm-up){limit}, got {warmup!r}.")


def resolve_warmup(recipe: str, model_name: str, steps: int, warmup: int | None = None) -> int:
    """The warm-up iterations of a run: `warmup` itself (checked against `steps`), or, for None, the automatic one:
    onecycle's 30% of the run, else the paper's (`warmup_steps`: 400 for ResNet-110 and deeper, none below)."""
    if warmup is None:
        if recipe == "onecycle":
            return max(1, int(steps * ONECYCLE_WARMUP))
        if recipe in IMAGENET_RECIPES:     # the ResNet-110 warm-up is CIFAR's (§4.2); §3.4 has none
            return 0
        return warmup_steps(model_name, steps)
    check_warmup(warmup, steps)
    return int(warmup)


@keras.saving.register_keras_serializable(package="keras_resnet")
class WarmupPiecewiseConstant(keras.optimizers.schedules.LearningRateSchedule):
    """The step schedule (Keras's PiecewiseConstantDecay: `values[i]` up to `boundaries[i]`) after a linear warm-up.

    For step < `warmup_steps` the rate is `warmup_start` + (values[0] - warmup_start) x step / warmup_steps
    (`warmup_start` at step 0, values[0] at step `warmup_steps`); from there on, PiecewiseConstantDecay's value.
    """

    def __init__(self, boundaries: Iterable[int], values: Iterable[float], warmup_steps: int, warmup_start: float,
                 name: str = "WarmupPiecewiseConstant") -> None:
        super().__init__()
        self.boundaries, self.values = [int(b) for b in boundaries], [float(v) for v in values]
        self.warmup_steps, self.warmup_start, self.name = int(warmup_steps), float(warmup_start), name
        self._steps = keras.optimizers.schedules.PiecewiseConstantDecay(self.boundaries, self.values)

    def __call__(self, step: Any) -> Any:
        from keras import ops

        after = self._steps(step)
        if not self.warmup_steps:
            return after
        s = ops.cast(step, after.dtype)
        ramp = self.warmup_start + (self.values[0] - self.warmup_start) * s / float(self.warmup_steps)
        return ops.where(s < self.warmup_steps, ops.cast(ramp, after.dtype), after)

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "warmup_steps": self.warmup_steps,
                "warmup_start": self.warmup_start, "name": self.name}


def schedule(recipe: str, *, lr: float, steps: int, warmup: int | None = None,
             constant: bool = False) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning-rate schedule of `recipe` over `steps` optimizer steps (a Keras schedule).

    `warmup`: iterations of linear warm-up (module docstring) from lr/10 (onecycle: lr/25) to lr; None: the
    recipe's own (onecycle: 30% of the run; paper and cosine: none; the model-dependent default is
    `resolve_warmup`'s), 0: none. ValueError unless 0 <= warmup < steps.
    `constant` (recipe paper only): hold lr/10 for the warm-up, then jump to lr: the paper's ResNet-110 warm-up (§4.2).
    """
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}. Allowed: {', '.join(RECIPES)}.")
    if not lr > 0:
        raise ValueError(f"The learning rate must be > 0, got {lr!r}.")
    warmup = resolve_warmup(recipe, "resnet8", steps, warmup)   # resnet8: no model-dependent warm-up here
    if recipe in ("paper", "imagenet"):
        boundaries = [int(steps * f) for f in (PAPER_MILESTONES if recipe == "paper" else IMAGENET_MILESTONES)]
        values = [lr, lr / 10, lr / 100]
        if warmup and constant:
            boundaries, values, warmup = [warmup] + boundaries, [lr / WARMUP_DIV] + values, 0
        # Boundaries must increase strictly: a run of a few steps merges the drops.
        keep = [i for i, b in enumerate(boundaries) if b > 0 and (i == 0 or b > boundaries[i - 1])]
        boundaries = [boundaries[i] for i in keep]
        values = [values[0]] + [values[i + 1] for i in keep]
        if not boundaries:
            boundaries, values = [steps], [lr, lr]
        if warmup:
            return WarmupPiecewiseConstant(boundaries, values, warmup, lr / WARMUP_DIV)
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    start = lr / (ONECYCLE_DIV if recipe == "onecycle" else WARMUP_DIV)     # cosine, onecycle, torchvision
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=start if warmup else lr,
        decay_steps=max(1, steps - warmup),
        alpha=1e-3 if recipe == "onecycle" else 0.0,
        warmup_target=lr if warmup else None,
        warmup_steps=warmup,
    )


def optimizer(recipe: str, *, lr: float, steps: int, momentum: float = 0.9,
              warmup: int | None = None, constant_warmup: bool = False) -> keras.optimizers.SGD:
    """SGD with momentum (§3.4, §4.2) following `recipe`'s schedule (`constant_warmup`: `schedule`'s `constant`).

    Weight decay is not here: the model builder puts L2(w/2) on every kernel,
    which is the paper's (and PyTorch's) weight decay w for SGD.
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
    rate = schedule(recipe, lr=lr, steps=steps, warmup=warmup, constant=constant_warmup)
    return keras.optimizers.SGD(learning_rate=rate, momentum=momentum)
