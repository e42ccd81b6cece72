"""Global average pooling and flatten: the two ways to end a conv trunk.

``GlobalAvgPool`` (Lin et al. 2014, "Network in Network", Sec. 3.2)::

    out[n, c] = 1/(H*W) * sum_{i, j} x[n, c, i, j]          (N, C, H, W) -> (N, C)
    dx[n, c, i, j] = dout[n, c] / (H*W)

A ``GlobalAvgPool -> Linear`` head is what makes CAM possible (Zhou et al. 2016,
Eq. 2): the class score is a weighted sum of spatially averaged feature maps.

``Flatten`` reshapes ``(N, C, H, W) -> (N, C*H*W)`` in (c, h, w) order, the
order of PyTorch and Caffe (Keras flattens channels-last: (h, w, c); the
weight converters reorder for it). Neither layer depends on ``rule``.
"""

from ..backend import get_array_module
from .base import Layer


class GlobalAvgPool(Layer):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""

    window = "global"

    def __init__(self, name):
        super().__init__(name)
        self.x_shape = None       # (N, C, H, W) of the last forward's input

    def output_shape(self, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{self.name}: expected input (N, C, H, W), got "
                             f"(N, {', '.join(map(str, in_shape))})")
        return (in_shape[0],)

    def forward(self, x):
        """x: (N, C, H, W) -> out: (N, C)."""
        self.output_shape(x.shape[1:])
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, C) -> dx: (N, C, H, W). ``rule`` does not change it."""
        if self.x_shape is None:
            raise self._backward_before_forward()
        xp = get_array_module(dout)
        H, W = self.x_shape[2:]
        return xp.broadcast_to((dout / (H * W))[:, :, None, None], self.x_shape).copy()


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), (c, h, w) order."""

    window = "global"

    def __init__(self, name):
        super().__init__(name)
        self.x_shape = None       # shape of the last forward's input

    def output_shape(self, in_shape):
        size = 1
        for d in in_shape:
            size *= d
        return (size,)

    def forward(self, x):
        """x: (N, ...) -> out: (N, prod(...))."""
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, D) -> dx: x's shape. ``rule`` does not change it."""
        if self.x_shape is None:
            raise self._backward_before_forward()
        return dout.reshape(self.x_shape)
