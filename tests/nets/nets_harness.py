"""The one check every net of the zoo gets, as keras-hub's `run_vision_backbone_test` does for its backbones.

`run_net_test(model, rng, tmp_path)`: layer names unique, no `Lambda`, a forward pass of the declared output
shape with finite values, and a `.keras` round trip in safe mode (same outputs, same layer names). `tiny` gives
a family's stem and stages with one block per stage, so that every option is built and run in well under a
second; the full-size nets are built once per module (`zoo` in test_models.py) and the biggest marked slow.
"""

import keras
import numpy as np

from keras_resnet.nets.builders import resnet
from keras_resnet.registry import NetSpec, net_spec


def tiny(family: str, depth: int) -> NetSpec:
    """`net_spec(family, depth)` with one block per stage (the block type, filters and strides kept)."""
    spec = net_spec(family, depth)
    return spec._replace(stages=tuple(stage._replace(blocks=1) for stage in spec.stages))


def tiny_net(family: str, depth: int, **options):
    """A tiny net of `family`: 16x16 CIFAR or 32x32 ImageNet input, width 0.25 (both unless given)."""
    options = {"input_shape": (16, 16, 3) if family == "cifar" else (32, 32, 3), "width": 0.25, **options}
    return resnet(tiny(family, depth), **options)


def run_net_test(model, rng, tmp_path, batch=2):
    """The checks every net passes; returns the model's output on a random batch of raw 0-255 images."""
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names)), "layer names must be unique (weights are matched by name)"
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    shape = tuple(side or 16 for side in model.input_shape[1:])     # an open size: 16 pixels
    x = rng.uniform(0, 255, (batch, *shape)).astype("float32")
    y = np.asarray(model(x, training=False), dtype="float32")
    expected = model.compute_output_shape((batch, *shape))
    assert y.shape == tuple(expected) and np.isfinite(y).all()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False), dtype="float32"), y, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == names
    assert [tuple(w.shape) for w in loaded.weights] == [tuple(w.shape) for w in model.weights]
    return y
