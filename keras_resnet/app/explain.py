"""Where the network looks: Grad-CAM (Selvaraju et al. 2017) from the last stage of a residual network.

Selvaraju, Cogswell, Das, Vedantam, Parikh, Batra, "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017. For a class c with score y^c (the logit, before the softmax), the
weight of feature map k of a convolutional layer is the spatial mean of dy^c/dA^k, and the map is
ReLU(sum_k weight_k A^k). Here A is the output of the network's last stage (He et al. 2016: conv4_x of a
CIFAR net, conv5_x of an ImageNet net; for v2 the final BN-ReLU before pooling), so the map has the
resolution of that stage (8x8 for a 32x32 CIFAR input), upsampled to the image's size and overlaid on it.

It is computed with the Keras model of the folder (`model.keras`, the one /predict caches), cut at the
feature layer, with the gradient of the Keras backend in use (keras_resnet.backend_ops); TFLite has no
gradients, so the backend switch of the page does not apply here.
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import re
import tempfile
import time

import numpy as np

from .classify import ModelCache, prepare_image

MAX_SIDE = 1024            # larger images are shown (and overlaid) scaled down to this longest side
COLORMAP = "jet"           # matplotlib colormap of the heat map (blue = nothing, red = most)
ALPHA = 0.5                # weight of the heat map in the overlay
_STAGE_OUTPUT = re.compile(r"^conv(\d+)_block(\d+)_(out|add)$")


def feature_layer(model):
    """The name of the layer Grad-CAM reads: the output of the model's last stage.

    keras_resnet (and keras.applications) name layers `conv{stage}_block{i}_...`: the last block's `_out`
    (v1, post-activation; `_add` where a block has no `_out`), or, for v2 (pre-activation), the final
    BN-ReLU `post_relu` before pooling. Any other functional model: its last layer with a 4-D output.
    """
    names = [layer.name for layer in model.layers]
    if "post_relu" in names:
        return "post_relu"
    found = [((int(m[1]), int(m[2]), m[3] == "out"), n) for n in names if (m := _STAGE_OUTPUT.match(n))]
    if found:
        return max(found)[1]
    for layer in reversed(model.layers):
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is not None and len(shape) == 4:
            return layer.name
    raise ValueError(f"model {model.name!r} has no convolutional feature map (no 4-D layer output) for Grad-CAM")


class GradCAM:
    """Grad-CAM of one Keras model for one input shape: `run(x, rank, cls)` -> (map h x w, probabilities, class).

    The class explained is `cls` when >= 0, else the one ranked `rank` (1 = predicted) by the model itself.
    The model is cut at the feature layer into `features` (image -> A, compiled once) and `head` (A -> scores);
    dy^c/dA comes from `backend_ops.value_and_gradient`, so it runs on every Keras backend.
    """

    def __init__(self, model, input_shape):
        import keras

        from ..backend_ops import forward

        self.layer = feature_layer(model)
        fmap = model.get_layer(self.layer).output
        last = model.layers[-1]
        activation = getattr(getattr(last, "activation", None), "__name__", None)
        self._dense_softmax = isinstance(last, keras.layers.Dense) and activation == "softmax"
        self._logits = activation in (None, "linear")
        self._last = last
        self.features = forward(keras.Model(model.input, fmap, name=f"{model.name}_gradcam_features"))
        outputs = [model.outputs[0]] + ([last.input] if self._dense_softmax else [])
        self.head = keras.Model(fmap, outputs, name=f"{model.name}_gradcam_head")
        self.feature_shape = tuple(fmap.shape[1:])
        self.num_classes = int(model.outputs[0].shape[-1])
        self.run(np.zeros((1, *input_shape), np.uint8), 1, -1)     # compile once, off the clock

    def _scores(self, fmap):
        """(y, probabilities) from the feature map: y the logits (the Dense layer without its softmax)."""
        from keras import ops

        out = self.head(fmap, training=False)
        out = out if isinstance(out, (list, tuple)) else [out]
        if self._dense_softmax:
            last = self._last
            logits = ops.matmul(out[1], last.kernel)
            return (logits + last.bias if last.use_bias else logits), out[0]
        if self._logits:
            return out[0], ops.softmax(out[0])
        return out[0], out[0]

    def run(self, x, rank, cls):
        from keras import ops

        from ..backend_ops import value_and_gradient

        fmap = self.features(np.asarray(x))
        probs = np.asarray(ops.convert_to_numpy(self._scores(ops.convert_to_tensor(fmap))[1]), np.float64)[0]
        target = int(cls) if cls >= 0 else int(np.argsort(-probs, kind="stable")[int(rank) - 1])
        _, grads = value_and_gradient(lambda f: ops.take(self._scores(f)[0], target, axis=1), fmap)
        weights = grads.mean(axis=(1, 2))                                       # alpha_k^c
        cam = np.maximum((fmap * weights[:, None, None, :]).sum(-1), 0)[0]
        return cam.astype(np.float32), probs, target


_CAMS = ModelCache(GradCAM)    # model folder -> its GradCAM


def gradcam_for(entry):
    """The cached GradCAM of a model folder (built on the cached Keras model of /predict); and the seconds
    loading and tracing took (0 when cached)."""
    return _CAMS.get(entry)


def overlay(image_rgb, cam, alpha=ALPHA, colormap=COLORMAP):
    """The heat map `cam` (h x w, >= 0) upsampled (bilinear) to `image_rgb`'s size, coloured and blended on it."""
    from matplotlib import colormaps
    from PIL import Image

    height, width = image_rgb.shape[:2]
    cam = np.asarray(cam, np.float32)
    peak = float(cam.max())
    heat = cam / peak if peak > 0 else np.zeros_like(cam)
    heat = np.asarray(Image.fromarray(heat, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    colour = colormaps[colormap](np.clip(heat, 0, 1))[..., :3] * 255.0
    blend = (1 - alpha) * image_rgb.astype(np.float32) + alpha * colour
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def _display_image(image, channels):
    """The image as the model sees it (grayscale for a grayscale model), RGB, at its own size (<= MAX_SIDE)."""
    from PIL import Image

    base = prepare_image(image, (None, None, channels))
    img = Image.fromarray(base[..., 0] if channels == 1 else base).convert("RGB")
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(img)


def explain(entry, image, rank=1, class_name=None):
    """Grad-CAM of `image` for the class ranked `rank` (1-5; 1 = predicted) or named `class_name`.

    Returns a dict: overlay (uint8 H x W x 3, the image's size), heatmap (the map at the feature
    resolution, scaled to [0, 1]), class_, rank, probability, layer, feature_shape, zero (the map is 0
    everywhere), seconds (this request) and load_seconds (loading and tracing on first use, else 0).
    """
    names = entry.class_names
    cls = -1
    if class_name is not None:
        if class_name not in names:
            raise ValueError(f"{entry.name} has no class {class_name!r}; its classes: {', '.join(names)}")
        cls = names.index(class_name)
    else:
        try:
            rank = int(rank)
        except (TypeError, ValueError):
            raise ValueError(f"rank must be a whole number from 1 to 5, got {rank!r}") from None
        if not 1 <= rank <= min(5, len(names)):
            raise ValueError(f"rank must be from 1 to {min(5, len(names))} (1 = the predicted class), got {rank}")
    grad, load_s = gradcam_for(entry)
    t0 = time.perf_counter()
    x = prepare_image(image, entry.input_shape)
    base = _display_image(image, entry.input_shape[-1])
    if grad.num_classes != len(names):
        raise ValueError(f"{entry.name} outputs {grad.num_classes} scores but its card names {len(names)} classes")
    cam, probs, target = grad.run(x[None], rank if cls < 0 else 1, cls)
    if not (np.isfinite(cam).all() and np.isfinite(probs).all()):
        raise ValueError(f"{entry.name} returned NaN or infinite values: a broken model file?")
    result = overlay(base, cam)
    peak = float(cam.max())
    return dict(overlay=result, heatmap=cam / peak if peak > 0 else cam, class_=names[target],
                rank=int((probs > probs[target]).sum()) + 1, probability=float(probs[target]),
                layer=grad.layer, feature_shape=grad.feature_shape, zero=peak <= 0,
                seconds=time.perf_counter() - t0, load_seconds=load_s)


def _prob(p):
    return f"{p:.3f}" if p >= 0.001 else f"{p:.2g}"


def describe(entry, r):
    """One line for the page: which class was explained, from which layer, how long it took."""
    h, w, k = r["feature_shape"]
    text = (f"Explained: **{r['class_']}** (top-{r['rank']}, probability {_prob(r['probability'])}) · Grad-CAM from "
            f"`{r['layer']}`, the last stage's output ({h}×{w}, {k} channels) of `{entry.file('Keras').name}` · "
            f"{1000 * r['seconds']:.0f} ms")
    if r["load_seconds"]:
        text += f" (+ {r['load_seconds']:.1f} s loading and tracing on first use)"
    if r["zero"]:
        text += "  \n⚠ The map is zero everywhere: no region raises this class's score (only the image is shown)."
    return text


def png_file(array, cache_dir, stem):
    """`array` (uint8 image) as a PNG in Gradio's cache, named by its content, written once and atomically.

    Like classify.model_input_file: a content-hashed path that Gradio would rewrite in place for two equal
    images could be truncated while another request is still serving it (h11's Content-Length error).
    """
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    data = buf.getvalue()
    path = pathlib.Path(cache_dir) / f"{stem}-{hashlib.sha256(data).hexdigest()}" / f"{stem}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}-", suffix=".png")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise
    return str(path)
