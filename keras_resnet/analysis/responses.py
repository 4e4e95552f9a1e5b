"""Layer responses (He et al. 2016, §4.2, Fig. 7): the standard deviation of each 3x3 layer's output.

"The responses are the outputs of each 3x3 layer, after BN and before other
nonlinearity (ReLU/addition)." The paper finds them smaller in ResNets than
in plain nets, and smaller in deeper ResNets: the residual functions are
closer to zero than non-residual ones, as the reformulation intends (§3.1).

Which layer's output is taken: for every 3x3 `Conv2D` named `X_conv`, the
`X_bn` BatchNormalization after it when there is one (v1 / v1.5, basic and
bottleneck blocks, and the CIFAR stem conv1), else the convolution itself
(the last conv of a v2 pre-activation branch, which feeds the addition
directly; models without BN). Bottleneck blocks contribute only their middle
3x3 layer; the 1x1 layers and the 7x7 ImageNet stem are not 3x3 layers.

The std is taken over every element (images x positions x channels) of the
layer's output on held-out data, in inference mode, accumulated batch by batch
in float64 (the activations are never all held in memory). The outputs come from
one `keras.Model` over the intermediate tensors of the functional graph.
"""

import numpy as np

from .report import styled
from .sources import check_fit
from .switches import _nodes


def response_layers(model):
    """Names of the layers whose outputs are the 3x3 layers' responses, in network order."""
    import keras

    names = {layer.name for layer in model.layers}
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.kernel_size) == (3, 3):
            bn = layer.name[: -len("_conv")] + "_bn" if layer.name.endswith("_conv") else None
            out.append(bn if bn in names else layer.name)
    if not out:
        raise ValueError(f"model {model.name!r} has no 3x3 convolutions, so no layer responses to measure.")
    return out


def layer_responses(model, x, y=None, *, batch_size=128, progress=True):
    """Std of each 3x3 layer's response on the images `x` (Fig. 7); rows dict(index, layer, std), in order."""
    import keras

    from ..backend_ops import forward

    if y is not None:
        check_fit(model, x, y)
    else:
        check_fit(model, x, np.zeros(1, "int64"))
    names = response_layers(model)
    nodes = _nodes(model)
    probe = keras.Model(model.input, [nodes[n].output_tensors[0] for n in names], name=f"{model.name}_responses")

    outputs = forward(probe)

    totals = np.zeros((len(names), 2))
    counts = np.zeros(len(names))
    batches = range(0, len(x), batch_size)
    bar = keras.utils.Progbar(len(batches), unit_name="batch") if progress else None
    for start in batches:
        outs = [np.asarray(o, np.float64) for o in outputs(x[start:start + batch_size])]
        totals += np.array([[o.sum(), np.square(o).sum()] for o in outs])
        counts += np.array([o.size for o in outs])
        if bar:
            bar.add(1)
    mean = totals[:, 0] / counts
    var = np.maximum(totals[:, 1] / counts - mean**2, 0.0)
    return [dict(index=i + 1, layer=n, std=float(s)) for i, (n, s) in enumerate(zip(names, np.sqrt(var)))]


_STYLES = {"plain": "--", "resnet": "-"}


@styled
def plot_responses(results):
    """Fig. 7: std per layer in network order (top) and sorted by magnitude (bottom).

    `results`: {label: rows from `layer_responses`}; labels starting with "plain" are
    dashed, the others solid (the paper's figure uses one colour per depth).
    """
    from .report import new_figure

    fig, axes = new_figure(1, 2, width=7.0, height=3.0)
    top, bottom = axes[0][0], axes[1][0]
    for i, (label, rows) in enumerate(results.items()):
        std = np.array([r["std"] for r in rows])
        ls = "--" if label.lower().startswith("plain") else "-"
        color = f"C{i}"
        top.plot(np.arange(1, len(std) + 1), std, ls, color=color, lw=1.2, label=label)
        bottom.plot(np.arange(1, len(std) + 1), np.sort(std)[::-1], ls, color=color, lw=1.2, label=label)
    top.set(xlabel="layer index (original order)", ylabel="std", title="Responses of the 3x3 layers (He et al. Fig. 7)")
    bottom.set(xlabel="layer index (sorted by magnitude)", ylabel="std")
    top.legend(fontsize=7, ncol=2)
    bottom.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
