"""``Net.summary()``: the layer table of Keras' ``model.summary()``, as text."""

import numpy as np


def summary_table(net, input_shape=None):
    """Name (type), output shape with ``None`` for N, and parameter count per layer.

    Args:
        net: a ``Net``; input_shape: (C, H, W) of one sample (default: the model's).
    """
    shapes = net.output_shapes(input_shape)
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer in net.layers:
        n = sum(int(np.prod(v.shape)) for v in layer.params.values())
        rows.append((f"{layer.name} ({type(layer).__name__})",
                     str((None,) + tuple(shapes[layer.name])), f"{n:,}"))
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in rows) + 2
    line = "=" * (w0 + w1 + 12)
    out = [f"Model: {net.meta.get('arch', 'net')}", line,
           f"{rows[0][0]:<{w0}}{rows[0][1]:<{w1}}{rows[0][2]:>10}", line]
    out += [f"{a:<{w0}}{b:<{w1}}{c:>10}" for a, b, c in rows[1:]]
    out += [line, f"Total params: {net.num_params():,}",
            f"Input: N x {' x '.join(map(str, net.input_shape()))} (N images of "
            "C x H x W; None in the shapes above is N)"]
    return "\n".join(out)
