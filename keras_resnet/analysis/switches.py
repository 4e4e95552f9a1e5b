"""Blocks of a trained network, found in its functional graph, and switches to delete or route them.

Veit et al. 2016 ("Residual Networks Behave Like Ensembles of Relatively
Shallow Networks") read a residual block, y = F(x) + x (He et al. 2016,
Eq. 1), as a fork: every block is passed either through its residual branch
F or through its shortcut, so a network of n blocks is a collection of 2^n
paths. Two experiments follow:

- *lesion* (their §4.1, Fig. 3 and 5): delete a block at test time by keeping
  its shortcut and dropping its branch, y = x (or the option-A/B shortcut of a
  downsampling block, which carries the new shape);
- *path gradients* (their §4.2, Fig. 6): in the backward pass, let the
  gradient through the branch of k sampled blocks and through the shortcut of
  the others, so that it flows along one path of length k.

`find_blocks` names the blocks of a model (a residual block is an `Add`
layer named `*_add` whose inputs are [shortcut, branch], the convention of
keras_resnet and keras.applications; a plain block is everything named
`*_block<i>_*`). `instrument` rebuilds the functional graph with
`keras.models.clone_model`, sharing every weight, and puts a small
registered switch layer at each block: `ResidualSwitch` in place of the
`_add` of a residual block, `SkipSwitch` after the output of a plain block.
Their non-trainable `keep` and `route` variables are set between runs, so one
compiled model serves every lesion and every path. `delete_blocks` instead
returns a model whose graph has no branch at all for the deleted blocks.
"""

from __future__ import annotations

import dataclasses
import re

import keras
from keras import ops

from .. import _compat

_BLOCK = re.compile(r"^(.*_block\d+)_")


@keras.saving.register_keras_serializable(package="keras_resnet")
class ResidualSwitch(keras.layers.Layer):
    """y = shortcut + keep * branch, replacing a block's `Add` (He et al. Eq. 1; Veit et al. §4).

    Inputs: [shortcut, branch]. `keep` = 1 is the intact block, `keep` = 0
    deletes the block (Veit et al. §4.1: only the shortcut remains). `route`
    only changes the backward pass (the forward value is the same): 1 sends the
    gradient through the branch only, 0 through the shortcut only, and None
    (the constructor's `routed=False`) through both, as in the intact network.
    """

    def __init__(self, routed=False, **kwargs):
        super().__init__(**kwargs)
        self.routed = bool(routed)

    def build(self, input_shapes):
        self.keep = self.add_weight(shape=(), initializer="ones", trainable=False, name="keep")
        self.route = self.add_weight(shape=(), initializer="ones", trainable=False, name="route")

    def call(self, inputs):
        shortcut, branch = inputs
        branch = ops.cast(self.keep, branch.dtype) * branch
        if not self.routed:
            return shortcut + branch
        r = ops.cast(self.route, branch.dtype)
        through_branch = ops.stop_gradient(shortcut) + branch
        through_shortcut = shortcut + ops.stop_gradient(branch)
        return r * through_branch + (1 - r) * through_shortcut

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "routed": self.routed}


@keras.saving.register_keras_serializable(package="keras_resnet")
class SkipSwitch(keras.layers.Layer):
    """y = keep * block(x) + (1 - keep) * x: a plain block that `keep` = 0 skips.

    Inputs: [x, block(x)], which must have the same shape. A plain net has no
    shortcut, so deleting its block means passing the block's input on
    unchanged, which only works where the block keeps the shape (not at the
    downsampling blocks).
    """

    def call(self, inputs):
        x, y = inputs
        return x + ops.cast(self.keep, y.dtype) * (y - x)

    def build(self, input_shapes):
        self.keep = self.add_weight(shape=(), initializer="ones", trainable=False, name="keep")

    def compute_output_shape(self, input_shapes):
        return input_shapes[1]


@dataclasses.dataclass
class Block:
    """One block of a network: `name` is its prefix, e.g. "conv3_block1"."""

    name: str
    residual: bool            # True: an `Add` of [shortcut, branch]; False: a plain block
    downsampling: bool        # its output shape differs from its input shape
    first_layer: str          # the first layer of the block (its input is the block's input)
    last_layer: str           # the block's output layer (for a residual block: the `_add`)
    switch: ResidualSwitch | SkipSwitch | None = None   # the switch layer of an instrumented model

    @property
    def deletable(self):
        """Residual blocks always (the shortcut carries the shape); plain ones only if the shape is kept."""
        return self.residual or not self.downsampling


def _nodes(model):
    """{layer name: its node in `model`} (a layer shared with a clone has several nodes)."""
    return _compat.functional_nodes(model)


def find_blocks(model):
    """The blocks of `model` in network order, as a list of `Block` (see the module docstring).

    Raises ValueError for a model that is not a functional Keras model or has no
    `*_block<i>_*` layers.
    """
    if not _compat.is_functional(model):
        raise ValueError(f"expected a functional keras.Model (e.g. from keras_resnet.build), got {type(model).__name__}.")
    nodes = _nodes(model)
    groups: dict[str, list[keras.layers.Layer]] = {}
    for layer in model.layers:
        match = _BLOCK.match(layer.name)
        if match:
            groups.setdefault(match.group(1), []).append(layer)
    blocks = []
    for name, layers in groups.items():
        adds = [l for l in layers if isinstance(l, keras.layers.Add) and l.name == f"{name}_add"]
        last = adds[0] if adds else layers[-1]
        first = layers[0]
        shape_in = tuple(nodes[first.name].input_tensors[0].shape[1:])
        shape_out = tuple(nodes[last.name].output_tensors[0].shape[1:])
        blocks.append(Block(name, bool(adds), shape_in != shape_out, first.name, last.name))
    if not blocks:
        raise ValueError(
            f"model {model.name!r} has no blocks: no layers named '*_block<i>_*' "
            "(expected a keras_resnet ResNet or plain net, or a keras.applications ResNet)."
        )
    return blocks


def residual_blocks(model):
    """The residual blocks of `model`; ValueError if it has none (e.g. a plain net)."""
    blocks = [b for b in find_blocks(model) if b.residual]
    if not blocks:
        raise ValueError(
            f"model {model.name!r} has no residual blocks (no Add layer named '*_block<i>_add' with "
            "[shortcut, branch] inputs): it is a plain net, so there is no shortcut to keep and no paths."
        )
    return blocks


def _rebuild(model, blocks, replace):
    """clone_model sharing every layer; `replace(block, layer, args, kwargs, block_input)` at each block's end."""
    by_last = {b.last_layer: b for b in blocks}
    by_first = {b.first_layer: b for b in blocks}
    inputs = {}

    def call(layer, *args, **kwargs):
        if layer.name in by_first:
            x = args[0]
            inputs[by_first[layer.name].name] = x[0] if isinstance(x, (list, tuple)) else x
        if layer.name in by_last:
            block = by_last[layer.name]
            return replace(block, layer, args, kwargs, inputs[block.name])
        return layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=_same_layer, call_function=call)


def _same_layer(layer):
    return layer


def instrument(model, routed=False):
    """A copy of `model` (same weights) with a switch at every block; returns (model, blocks).

    Residual blocks get a `ResidualSwitch` (with `routed=True`, one that routes the
    gradient, for `paths.path_gradients`), plain blocks that keep their shape a
    `SkipSwitch`; `block.switch` is that layer (None for a plain downsampling block).
    """
    blocks = find_blocks(model)

    def replace(block, layer, args, kwargs, block_input):
        if block.residual:
            block.switch = ResidualSwitch(routed=routed, name=f"{block.name}_switch")
            return block.switch(*args)
        out = layer(*args, **kwargs)
        if block.downsampling:
            return out
        block.switch = SkipSwitch(name=f"{block.name}_switch")
        return block.switch([block_input, out])

    return _rebuild(model, blocks, replace), blocks


def set_kept(blocks, deleted=()):
    """Keep every switch on except the blocks named in `deleted` (names or indices into `blocks`)."""
    names = {blocks[d].name if isinstance(d, int) else d for d in deleted}
    for block in blocks:
        if block.switch is not None:
            block.switch.keep.assign(0.0 if block.name in names else 1.0)
        elif block.name in names:
            raise ValueError(f"block {block.name!r} cannot be deleted: a plain block that changes the shape.")


def delete_blocks(model, deleted):
    """A new model (same weights) whose graph skips the residual branch of the `deleted` blocks.

    `deleted`: block names such as "conv3_block1" (or indices into `find_blocks(model)`).
    A residual block's `_add` is replaced by its shortcut input, so the branch is
    not computed at all; a plain block is replaced by its input where the shape allows.
    """
    blocks = find_blocks(model)
    names = [blocks[d].name if isinstance(d, int) else d for d in deleted]
    known = {b.name: b for b in blocks}
    for name in names:
        if name not in known:
            raise ValueError(f"no block {name!r} in model {model.name!r}; blocks: {', '.join(known)}.")
        if not known[name].deletable:
            raise ValueError(f"block {name!r} of {model.name!r} cannot be deleted: a plain block that changes the shape.")
    chosen = [known[n] for n in names]

    def replace(block, layer, args, kwargs, block_input):
        return args[0][0] if block.residual else block_input

    return _rebuild(model, chosen, replace)
