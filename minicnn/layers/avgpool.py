r"""Average pooling: the mean of each window.

Forward, window ``KH x KW``, stride ``s``, zero padding ``p``::

    out[n, c, i, j] = 1/(KH*KW) * sum_{kh, kw} xpad[n, c, i*s + kh, j*s + kw]
    H' = 1 + (H + 2*p_h - KH) // s_h

The padded zeros count in the mean (PyTorch's ``count_include_pad=True``, its
default; Caffe's AVE pooling does the same).

Backward: every pixel of a window gets an equal share of the window's
gradient, ``dxpad[n, c, i*s + kh, j*s + kw] += dout[n, c, i, j] / (KH*KW)``;
pixels in several overlapping windows receive the sum. There is no switch to
remember, so backward is the same under all three rules.

Why it is here: Gatys, Ecker & Bethge (2015, Sec. 2; and 2016, Sec. 2)
synthesize textures and styles with VGG19 whose max-pooling layers are
replaced by average pooling, which "improves the gradient flow and one
obtains slightly cleaner results": the max-pool gradient reaches one pixel
per window, the average-pool gradient all of them.

Example:
    >>> import numpy as np
    >>> pool = AvgPool2d("pool1", 2)
    >>> pool.forward(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0]
    array([[0.25, 0.25, 0.25, 0.25],
           [0.25, 0.25, 0.25, 0.25],
           [0.25, 0.25, 0.25, 0.25],
           [0.25, 0.25, 0.25, 0.25]])
"""

from ..backend import get_array_module
from .base import Layer
from .conv import _pair, conv_output_size


class AvgPool2d(Layer):
    """Average pooling over ``KH x KW`` windows (zeros of the padding included).

    Args:
        name: e.g. ``"pool1"``.
        kernel_size: K or (KH, KW); stride: defaults to the kernel size;
        padding: p or (p_h, p_w), filled with zeros.
    """

    def __init__(self, name, kernel_size, stride=None, padding=0):
        super().__init__(name)
        self.kernel_size = _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)
        self.padding = _pair(padding)
        self.window = self.kernel_size + self.stride + self.padding
        self.x_shape = None             # the padded input's shape, set by forward

    def output_shape(self, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{self.name}: expected input (N, C, H, W), got "
                             f"(N, {', '.join(map(str, in_shape))})")
        C, H, W = in_shape
        (KH, KW), (ph, pw) = self.kernel_size, self.padding
        if H + 2 * ph < KH or W + 2 * pw < KW:
            raise ValueError(f"{self.name}: input {H}x{W} is smaller than the "
                             f"{KH}x{KW} pooling window")
        return (C,) + conv_output_size(H, W, KH, KW, self.stride, self.padding)

    def forward(self, x):
        """x: (N, C, H, W) -> out: (N, C, H', W')."""
        xp = get_array_module(x)
        C, Ho, Wo = self.output_shape(x.shape[1:])
        (KH, KW), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        self.x_shape = tuple(x.shape)                 # padded shape, for backward
        out = xp.zeros((x.shape[0], C, Ho, Wo), dtype=x.dtype)
        for kh in range(KH):            # one strided slice per window position
            for kw in range(KW):
                out += x[:, :, kh:kh + sh * Ho:sh, kw:kw + sw * Wo:sw]
        return out / (KH * KW)

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, C, H', W') -> dx: (N, C, H, W). ``rule`` does not change average pooling."""
        if self.x_shape is None:
            raise self._backward_before_forward()
        xp = get_array_module(dout)
        (KH, KW), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = dout.shape[2:]
        share = dout / (KH * KW)
        dxpad = xp.zeros(self.x_shape, dtype=dout.dtype)
        for kh in range(KH):
            for kw in range(KW):
                dxpad[:, :, kh:kh + sh * Ho:sh, kw:kw + sw * Wo:sw] += share
        H, W = self.x_shape[2] - 2 * ph, self.x_shape[3] - 2 * pw
        return dxpad[:, :, ph:ph + H, pw:pw + W]
