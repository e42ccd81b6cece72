r"""Max pooling, with switches.

Forward, window ``KH x KW``, stride ``s``, padding ``p`` (padded with -inf)::

    out[n, c, i, j] = max_{kh, kw} xpad[n, c, i*s + kh, j*s + kw]
    H' = 1 + (H + 2*p_h - KH) // s_h

The **switches** are the arg-max positions inside each window,
``switches[n, c, i, j] = kh*KW + kw`` (first maximum on ties, as PyTorch).

Backward routes each ``dout[n, c, i, j]`` to the one input pixel that won its
window; pixels that won several overlapping windows (stride < kernel, as in
AlexNet's 3x3/2 pooling) receive the sum. Zeiler & Fergus (2014, Sec. 2.1)
call this "unpooling with switches"; it is also the exact gradient, so max-pool
backward is the same under all three rules (Simonyan et al. 2014, Sec. 4).

``maxpool2d_naive`` is the loop definition, the oracle of the fast
:class:`MaxPool2d`, whose switches come out of a branch-free formula.

Example:
    >>> x = np.array([[1., 5., 2., 0.],
    ...               [3., 4., 8., 1.],
    ...               [0., 9., 1., 1.],
    ...               [7., 2., 6., 3.]])[None, None]
    >>> out, switches = maxpool2d_naive(x, 2, 2, 0)
    >>> out[0, 0], switches[0, 0]
    (array([[5., 8.],
           [9., 6.]]), array([[1, 2],
           [1, 2]]))
"""

import numpy as np

from ..backend import get_array_module
from .base import Layer
from .conv import _pair, conv_output_size


def maxpool2d_naive(x, kernel, stride, pad):
    """Max pooling by its definition, one window at a time: the test oracle.

    Args:
        x: (N, C, H, W); kernel: K or (KH, KW); stride: s or (s_h, s_w);
            pad: p or (p_h, p_w), padded with -inf.

    Returns:
        (out, switches): out (N, C, H', W'), ``H' = 1 + (H + 2*p_h - KH) // s_h``;
        switches (N, C, H', W') ints ``kh*KW + kw`` of the first maximum of
        each window (row-major order decides ties).
    """
    x = np.asarray(x)
    (KH, KW), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(pad)
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, W, KH, KW, (sh, sw), (ph, pw))
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    switches = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = xpad[n, c, i * sh:i * sh + KH, j * sw:j * sw + KW]
                    k = int(np.argmax(window))          # the first maximum, row-major
                    switches[n, c, i, j] = k
                    out[n, c, i, j] = window.flat[k]
    return out, switches


class MaxPool2d(Layer):
    """Max pooling over ``KH x KW`` windows; keeps ``self.switches``.

    Args:
        name: e.g. ``"pool1"``.
        kernel_size: K or (KH, KW); stride: defaults to the kernel size;
        padding: p or (p_h, p_w), filled with -inf.
    """

    def __init__(self, name, kernel_size, stride=None, padding=0):
        super().__init__(name)
        self.kernel_size = _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)
        self.padding = _pair(padding)
        self.window = self.kernel_size + self.stride + self.padding
        self.switches = None      # (N, C, H', W') winner kh*KW + kw of each window
        self.x_shape = None       # (N, C, H + 2*p_h, W + 2*p_w), the padded input's shape

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
        """x: (N, C, H, W) -> out: (N, C, H', W'); switches: (N, C, H', W') ints."""
        xp = get_array_module(x)
        out, slices = self._max(x)
        (KH, KW) = self.kernel_size
        # BEGIN SOLUTION maxpool-switches
        # Switches: the first position k (in kh, kw order) that holds the max.
        # "Not the max" flags n_k fold into that index without a branch:
        # k* = n_0 * (1 + n_1 * (1 + n_2 * (1 + ...))), counting leading misses.
        switches = xp.zeros(out.shape, dtype=np.uint8 if KH * KW < 256 else np.int32)
        for k in range(len(slices) - 2, -1, -1):
            switches += 1
            switches *= slices[k] != out                 # n_k * (1 + ...), in place
        self.switches = switches
        # END SOLUTION maxpool-switches
        ph, pw = self.padding
        self.x_shape = x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)   # padded
        return out

    def infer(self, x, overwrite=False):
        """The pooled output only, without switches (``Net.predict``)."""
        return self._max(x)[0]

    def _max(self, x):
        """(out, slices): the max over the KH*KW window positions, and those strided views."""
        xp = get_array_module(x)
        _, Ho, Wo = self.output_shape(x.shape[1:])
        (KH, KW), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        # One strided slice per window position: window[kh, kw][n, c, i, j]
        # = xpad[n, c, i*s_h + kh, j*s_w + kw]. The max over KH*KW slices is the pool.
        slices = [x[:, :, kh:kh + sh * Ho:sh, kw:kw + sw * Wo:sw]
                  for kh in range(KH) for kw in range(KW)]
        out = slices[0] if len(slices) == 1 else xp.maximum(slices[0], slices[1])
        for s in slices[2:]:
            xp.maximum(out, s, out=out)
        return out, slices

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, C, H', W') -> dx: (N, C, H, W). ``rule`` does not change max-pool."""
        if self.switches is None:
            raise self._backward_before_forward()
        # BEGIN SOLUTION maxpool-switches
        xp = get_array_module(dout)
        (KH, KW), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        N, C, Ho, Wo = dout.shape
        dxpad = xp.zeros(self.x_shape, dtype=dout.dtype)
        apart = KH <= sh and KW <= sw   # windows do not overlap: each pixel gets one value
        for kh in range(KH):            # one strided write (add, if overlapping) per position
            for kw in range(KW):
                won = self.switches == kh * KW + kw
                pixels = dxpad[:, :, kh:kh + sh * Ho:sh, kw:kw + sw * Wo:sw]
                if apart:
                    xp.multiply(dout, won, out=pixels)
                else:
                    pixels += dout * won
        H, W = self.x_shape[2] - 2 * ph, self.x_shape[3] - 2 * pw
        return dxpad[:, :, ph:ph + H, pw:pw + W]
        # END SOLUTION maxpool-switches
