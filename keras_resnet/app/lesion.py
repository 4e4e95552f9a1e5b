"""Switch blocks off, live: the lesion study of Veit et al. 2016 on one image.

Veit, Wilber, Belongie, "Residual Networks Behave Like Ensembles of Relatively Shallow Networks", NIPS 2016,
§4.1: deleting a residual block at test time (its branch F removed, its shortcut kept: y = x, or the
option-A/B shortcut at a downsampling block) barely changes a trained ResNet, because the network is a
collection of paths of many lengths and a deletion only removes half of them; deleting a layer of a plain
net (VGG) breaks its only path.

The machinery is keras_resnet.analysis.switches: `instrument` rebuilds a model once with a switch at every
block (sharing all weights), and each request sets the switches' `keep` variables and predicts. The
instrumented model is cached per model folder; since its switches are shared, setting them and predicting
happen under a per-model lock (Gradio serves requests concurrently). The intact top-5 is /predict's own.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from .classify import ModelCache, predict

if TYPE_CHECKING:
    from ..analysis.switches import Block

PLAIN_NOTE = (
    "**{model} is a plain net: there is nothing to switch off safely.** It has no shortcuts, so every image "
    "takes the one path through all of its blocks. Removing a block hands the next one an input it never "
    "saw in training (Veit et al. 2016, §4.1: deleting any single layer of VGG-16 drops it to chance), while "
    "in a residual net a deleted block still leaves its shortcut, and half of the network's paths. Below, a "
    "switched-off plain block passes its input on unchanged (only possible where it keeps the shape; the "
    "downsampling blocks ↓ cannot be removed at all), so you can see the degenerate prediction."
)


class Lesion:
    """One model instrumented with block switches (analysis.switches.instrument) and a traced predictor."""

    def __init__(self, model, input_shape):
        import numpy as np

        from ..analysis.switches import instrument
        from ..backend_ops import forward

        self.name = model.name
        self.net, self.blocks = instrument(model)
        self.by_name = {b.name: b for b in self.blocks}
        self.residual = any(b.residual for b in self.blocks)
        self.shapes = {b.name: tuple(model.get_layer(b.last_layer).output.shape[1:]) for b in self.blocks}
        self.stages: dict[str, list[Block]] = {}
        for b in self.blocks:
            self.stages.setdefault(b.name.split("_")[0], []).append(b)
        self.lock = threading.Lock()
        self._call = forward(self.net)       # any Keras backend; reads the switches' current values
        self._call(np.zeros((1, *input_shape), np.uint8))   # compile once, off the clock

    @property
    def deletable(self):
        return [b.name for b in self.blocks if b.deletable]

    def check(self, deleted):
        """`deleted` (block names) checked against this model; ValueError says which are wrong and why."""
        unknown = [n for n in deleted if n not in self.by_name]
        if unknown:
            raise ValueError(f"no block {', '.join(map(repr, unknown))} in this model; its blocks: "
                             f"{', '.join(self.by_name)}")
        fixed = [n for n in deleted if not self.by_name[n].deletable]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot be switched off: a plain block that changes the shape "
                             "(no shortcut to carry the new shape)")
        return list(dict.fromkeys(deleted))

    def predict(self, x, deleted):
        """Probabilities of `x` (uint8 H x W x C) with the `deleted` blocks switched off."""
        from ..analysis.switches import set_kept

        with self.lock:   # the switches are shared by every request
            set_kept(self.blocks, deleted)
            return np.asarray(self._call(x[None]), np.float64)[0]

    def random(self, k, seed):
        """k distinct blocks (of those that can be switched off), drawn with numpy's generator seeded by `seed`."""
        pool = self.deletable
        try:
            k, seed = int(k), int(seed)
        except (TypeError, ValueError):
            raise ValueError(f"k and seed must be whole numbers, got k={k!r}, seed={seed!r}") from None
        if not 0 <= k <= len(pool):
            raise ValueError(f"k must be from 0 to {len(pool)} (the blocks of this model that can be switched off), "
                             f"got {k}")
        rng = np.random.default_rng(seed)
        chosen = set(rng.choice(len(pool), size=k, replace=False).tolist())
        return [n for i, n in enumerate(pool) if i in chosen]

    def label(self, name):
        """A block's label in the toggles: 'block 3', with '↓' for a downsampling block."""
        b = self.by_name[name]
        return f"{name.split('_block')[-1]}" + (" ↓" if b.downsampling else "")

    def stage_label(self, stage):
        h, w, c = self.shapes[self.stages[stage][-1].name]
        n = len(self.stages[stage])
        return f"{stage}: {n} block{'s' if n != 1 else ''}, {c} filters, {h}×{w}"


_LESIONS = ModelCache(Lesion)   # model folder -> its instrumented model


def lesion_for(entry):
    """The cached Lesion of a model folder (on the cached Keras model of /predict); and seconds it took (0 cached)."""
    return _LESIONS.get(entry)


def parse_blocks(deleted):
    """Block names from a list or a string ('conv3_block1, conv4_block2' or space separated); [] for none."""
    if deleted is None:
        return []
    if isinstance(deleted, str):
        return [n for n in re.split(r"[\s,;]+", deleted.strip()) if n]
    return [str(n).strip() for n in deleted if str(n).strip()]


def run(entry, image, deleted=()):
    """The image through the intact model (as /predict) and with `deleted` blocks switched off.

    Returns a dict: intact and lesioned ({class: probability}), deleted (names), lesion (the Lesion),
    seconds, load_seconds.
    """
    lesion, load_s = lesion_for(entry)
    deleted = lesion.check(parse_blocks(deleted))
    t0 = time.perf_counter()
    intact, _, _, _, x = predict(entry, image, "Keras")
    p = lesion.predict(x, deleted)
    if not np.isfinite(p).all():
        raise ValueError(f"{entry.name} returned NaN or infinite scores with {', '.join(deleted)} switched off")
    lesioned = {n: float(v) for n, v in zip(entry.class_names, p)}
    return dict(intact=intact, lesioned=lesioned, deleted=deleted, lesion=lesion,
                seconds=time.perf_counter() - t0, load_seconds=load_s)


def describe(entry, r):
    """What was switched off and what it did, in a few lines of Markdown."""
    lesion, deleted = r["lesion"], r["deleted"]
    intact, lesioned = r["intact"], r["lesioned"]
    a, b = max(intact, key=intact.get), max(lesioned, key=lesioned.get)
    kind = "residual blocks" if lesion.residual else "blocks"
    lines = [PLAIN_NOTE.format(model=entry.name)] if not lesion.residual else []
    if not deleted:
        lines.append(f"All {len(lesion.blocks)} {kind} on: the network is intact. Untick blocks above (or delete k "
                     "random ones) to switch them off.")
    else:
        names = ", ".join(n + (" ↓" if lesion.by_name[n].downsampling else "") for n in deleted)
        how = ("residual branch removed, shortcut kept" if lesion.residual
               else "input passed on unchanged")
        moved = 0.5 * sum(abs(intact[c] - lesioned[c]) for c in intact)
        top = (f"top-1 unchanged: **{a}** ({intact[a]:.3f} → {lesioned[a]:.3f})" if a == b else
               f"top-1 changed: **{a}** ({intact[a]:.3f}) → **{b}** ({lesioned[b]:.3f})")
        lines.append(f"Switched off {len(deleted)} of {len(lesion.blocks)} {kind} ({how}): {names}.  \n"
                     f"{top} · probability moved (total variation): {moved:.3f}")
    timing = f"<sub>{1000 * r['seconds']:.0f} ms (intact + lesioned)"
    if r["load_seconds"]:
        timing += f" · switches built on first use in {r['load_seconds']:.1f} s"
    lines.append(timing + "</sub>")
    return "\n\n".join(lines)
