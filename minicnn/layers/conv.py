r"""2-D convolution (cross-correlation, as in every deep learning library).

Forward, for input ``x: (N, C, H, W)``, weights ``W: (F, C/G, KH, KW)``,
bias ``b: (F,)``, stride ``s``, zero padding ``p`` and ``G`` groups::

    out[n, f, i, j] = b[f] + sum_{c, kh, kw} W[f, c, kh, kw]
                              * xpad[n, g*C/G + c, i*s + kh, j*s + kw]
    H' = 1 + (H + 2*p_h - KH) // s_h        W' = 1 + (W + 2*p_w - KW) // s_w

where ``g = f // (F/G)`` is the group of filter ``f`` (Krizhevsky et al. 2012
split AlexNet's convs into G = 2 groups, one per GPU).

**im2col.** Copy every receptive field into a column, then one matrix product
does all the multiply-adds (cs231n, "Convolutional Networks: Implementation as
Matrix Multiplication")::

    cols[n, (c, kh, kw), (i, j)] = xpad[n, c, i*s + kh, j*s + kw]
         (N, C*KH*KW, H'*W')        rows: c major, then kh, then kw
    out[n] = W.reshape(F, C*KH*KW) @ cols[n] + b[:, None]   -> (F, H'*W')

**Backward** (the same index equation read the other way)::

    dW  = sum_n dout[n] @ cols[n].T           (F, C*KH*KW)
    db  = dout.sum over n, i, j               (F,)
    dx  = col2im(W.T @ dout[n])               the transposed convolution

``col2im`` adds every column back onto the pixels it was copied from. The
deconvnet of Zeiler & Fergus (2014) "uses transposed versions of the same
filters": that is exactly this ``dx``, so conv backward is the same under all
three rules.

``conv2d_naive`` below is the four-loop definition, kept as the test oracle.
Faster paths (``conv_fast.py``, ``winograd.py``) stand beside im2col/col2im,
each tested equal to it; ``Conv2d.fast = False`` switches them all off.
"""

import numpy as np

from ..backend import get_array_module
from .base import Layer
from .conv_fast import (_in_chunks, conv_paths, covers, stride1_conv, temporary_bytes,
                        transposed_kernels)
from .winograd import check_winograd


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_output_size(H, W, KH, KW, stride, pad):
    """``H' = 1 + (H + 2*p_h - KH) // s_h`` and the same for W'."""
    (sh, sw), (ph, pw) = stride, pad
    return 1 + (H + 2 * ph - KH) // sh, 1 + (W + 2 * pw - KW) // sw


def im2col(x, KH, KW, stride, pad):
    """Receptive fields as columns.

    Args:
        x: (N, C, H, W).
        KH, KW: kernel size; stride, pad: (s_h, s_w), (p_h, p_w).

    Returns:
        cols: (N, C*KH*KW, H'*W'), rows ordered (c, kh, kw).
    """
    # BEGIN SOLUTION conv-forward
    xp = get_array_module(x)
    N, C, H, W = x.shape
    (sh, sw), (ph, pw) = stride, pad
    Ho, Wo = conv_output_size(H, W, KH, KW, stride, pad)
    xpad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    # A view with one axis per index of the equation above; reshape copies.
    sN, sC, sH, sW = xpad.strides
    view = xp.lib.stride_tricks.as_strided(
        xpad, shape=(N, C, KH, KW, Ho, Wo),
        strides=(sN, sC, sH, sW, sH * sh, sW * sw))
    return view.reshape(N, C * KH * KW, Ho * Wo)
    # END SOLUTION conv-forward


def col2im(cols, x_shape, KH, KW, stride, pad):
    """Add columns back onto the pixels they came from (adjoint of im2col).

    Args:
        cols: (N, C*KH*KW, H'*W').
        x_shape: (N, C, H, W).

    Returns:
        dx: (N, C, H, W).
    """
    # BEGIN SOLUTION conv-backward
    xp = get_array_module(cols)
    N, C, H, W = x_shape
    (sh, sw), (ph, pw) = stride, pad
    Ho, Wo = conv_output_size(H, W, KH, KW, stride, pad)
    cols = cols.reshape(N, C, KH, KW, Ho, Wo)
    dxpad = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for kh in range(KH):          # KH*KW strided adds, no scatter
        for kw in range(KW):
            dxpad[:, :, kh:kh + sh * Ho:sh, kw:kw + sw * Wo:sw] += cols[:, :, kh, kw]
    return dxpad[:, :, ph:ph + H, pw:pw + W]
    # END SOLUTION conv-backward


def conv2d_naive(x, W, b, stride=1, pad=0, groups=1):
    """The definition, four loops deep: the oracle for :class:`Conv2d`.

    Args:
        x: (N, C, H, W); W: (F, C/G, KH, KW); b: (F,).

    Returns:
        out: (N, F, H', W').
    """
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    stride, pad = _pair(stride), _pair(pad)
    N, C, H, Wd = x.shape
    F, Cg, KH, KW = W.shape
    Ho, Wo = conv_output_size(H, Wd, KH, KW, stride, pad)
    xpad = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    out = np.zeros((N, F, Ho, Wo), dtype=np.result_type(x, W))
    Fg = F // groups
    for n in range(N):
        for f in range(F):
            c0 = (f // Fg) * Cg
            for i in range(Ho):
                for j in range(Wo):
                    r, s = i * stride[0], j * stride[1]
                    field = xpad[n, c0:c0 + Cg, r:r + KH, s:s + KW]
                    out[n, f, i, j] = np.sum(field * W[f]) + b[f]
    return out


class Conv2d(Layer):
    """Convolution layer with im2col + one (batched) matrix product.

    Args:
        name: layer name, e.g. ``"conv1_1"``.
        in_channels (C), out_channels (F): channel counts.
        kernel_size: KH or (KH, KW); stride: s or (s_h, s_w); padding: p or
            (p_h, p_w), zeros; groups: G (C and F divisible by G).
        rng: ``np.random.Generator`` for He initialisation (He et al. 2015,
            Eq. 10: ``W ~ N(0, 2 / (C/G * KH * KW))``), bias zero; None leaves
            the weights at zero (to be loaded).
        dtype: parameter dtype.
    """

    def __init__(self, name, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, groups=1, rng=None, dtype=np.float32):
        super().__init__(name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: channels {in_channels}->{out_channels} "
                             f"not divisible by groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.groups = _pair(padding), groups
        KH, KW = self.kernel_size
        fan_in = in_channels // groups * KH * KW
        shape = (out_channels, in_channels // groups, KH, KW)
        if rng is None:           # no initialisation: weights will be loaded
            W = np.zeros(shape, dtype=dtype)
        else:
            W = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        self.params = {"W": W.astype(dtype, copy=False), "b": np.zeros(out_channels, dtype=dtype)}
        self.window = (KH, KW) + self.stride + self.padding
        #: Use the fast paths of conv_fast.py (False: always im2col/col2im, the reference).
        self.fast = True
        #: Winograd F(4x4, 3x3): None for float32 forwards where faster, True always, False never.
        self.winograd = None
        self.x = None             # (N, C, H, W) input of the last forward, for dW
        self.x_shape = None       # its shape (N, C, H, W), for dx
        self.x_cols = None        # (N, C*KH*KW, H'*W') its columns, kept in training mode

    def output_shape(self, in_shape):
        C, H, W = self._check_shape(in_shape)
        Ho, Wo = conv_output_size(H, W, *self.kernel_size, self.stride, self.padding)
        return (self.out_channels, Ho, Wo)

    def _check_shape(self, in_shape):
        if len(in_shape) != 3 or in_shape[0] != self.in_channels:
            raise ValueError(
                f"{self.name}: expected input (N, {self.in_channels}, H, W), "
                f"got (N, {', '.join(map(str, in_shape))})")
        C, H, W = in_shape
        KH, KW = self.kernel_size
        (ph, pw) = self.padding
        if H + 2 * ph < KH or W + 2 * pw < KW:
            raise ValueError(f"{self.name}: input {H}x{W} (padding {ph},{pw}) is "
                             f"smaller than the {KH}x{KW} kernel")
        return C, H, W

    def forward(self, x):
        """x: (N, C, H, W) -> out: (N, F, H', W'). Keeps ``self.x`` and its shape.

        In training mode also keeps the columns, ``self.x_cols``, which the
        weight gradient needs (recomputed from ``self.x`` otherwise). In
        evaluation mode the batch goes through in chunks (``_in_chunks``), so
        no temporary grows with N.
        """
        self._check_shape(x.shape[1:])
        self.x, self.x_shape, self.x_cols = x, tuple(x.shape), None
        out_shape = self.output_shape(x.shape[1:])
        if self.training:
            cols = im2col(x, *self.kernel_size, self.stride, self.padding)
            out = _matmul_cols(self.params["W"], cols, self.groups, out_shape)
            self.x_cols = cols
        else:
            out = _in_chunks(self._routine(x.shape), x, out_shape,
                             temporary_bytes(self, self.x_shape), self._dtype(x))
        out += self.params["b"].reshape(1, -1, 1, 1)
        return out

    def _routine(self, x_shape):
        """``x -> out`` without bias for every chunk of a batch of ``x_shape`` (evaluation
        mode), by the path ``conv_paths`` picks for the whole batch."""
        if self.winograd:         # forced: ValueError naming the layer unless 3x3, stride 1
            check_winograd(self.name, self.kernel_size, self.stride, self.groups)
        path, W = conv_paths(self, x_shape)[0], self.params["W"]
        if path != "im2col":
            return stride1_conv(path, W, self.padding, conv2d_im2col)
        return lambda x: conv2d_im2col(x, W, self.stride, self.padding, self.groups)

    def drop_weight_cache(self):
        """Free the input and columns kept for dW (``Net.forward(keep=...)``)."""
        self.x = self.x_cols = None

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, F, H', W') -> dx: (N, C, H, W). ``rule`` does not change conv.

        Raises:
            RuntimeError: before any forward, or ``param_grads`` after a forward
                that dropped the input (``Net.forward(keep=...)``).
        """
        if self.x_shape is None:
            raise self._backward_before_forward()
        if param_grads:
            if self.x is None:
                raise RuntimeError(f"{self.name}: weight gradients need the input, which "
                                   "Net.forward(keep=...) dropped: run forward without keep")
            self._weight_grads(dout)
        path, grad = conv_paths(self, self.x_shape)[1], self._input_grad
        if path.endswith("winograd") and self.winograd is None and not covers(dout):
            path = conv_paths(self, self.x_shape, covering=False)[1]
        if path != "col2im":      # "transposed conv, <routine>": a stride-1 conv of dout
            W_t, pad_t = transposed_kernels(self.params["W"], self.padding)
            grad = stride1_conv(path.split(", ")[1], W_t, pad_t, conv2d_im2col)
        return _in_chunks(grad, dout, self.x_shape[1:], temporary_bytes(self, self.x_shape),
                          self._dtype(dout))

    def _dtype(self, x):
        """What a product of x and the weights gives (float32 when both are)."""
        return get_array_module(x).result_type(x.dtype, self.params["W"].dtype)

    def _weight_grads(self, dout):
        """dW = sum_n dout[n] @ cols[n].T and db = sum of dout, into ``self.grads``."""
        # BEGIN SOLUTION conv-backward
        N, F, Ho, Wo = dout.shape
        G = self.groups
        cols = self.x_cols
        if cols is None:
            cols = im2col(self.x, *self.kernel_size, self.stride, self.padding)
        cols = cols.reshape(N, G, -1, Ho * Wo)
        d = dout.reshape(N, G, F // G, Ho * Wo)
        dW = (d @ cols.transpose(0, 1, 3, 2)).sum(axis=0)      # (G, F/G, C/G*KH*KW)
        self.grads["W"] = dW.reshape(self.params["W"].shape)
        self.grads["b"] = dout.sum(axis=(0, 2, 3))
        # END SOLUTION conv-backward

    def _input_grad(self, dout):
        """dx = col2im(W.T @ dout) for a chunk of the batch: the transposed convolution."""
        N, F, Ho, Wo = dout.shape
        x_shape = (N,) + self.x_shape[1:]
        # BEGIN SOLUTION conv-backward
        G = self.groups
        Wm = self.params["W"].reshape(G, F // G, -1)            # (G, F/G, C/G*KH*KW)
        d = dout.reshape(N, G, F // G, Ho * Wo)
        dcols = Wm.transpose(0, 2, 1) @ d                       # (N, G, C/G*KH*KW, H'W')
        return col2im(dcols.reshape(N, -1, Ho * Wo), x_shape,
                      *self.kernel_size, self.stride, self.padding)
        # END SOLUTION conv-backward


def _matmul_cols(W, cols, groups, out_shape):
    """out[n, g] = W[g] @ cols[n, g]: one batched matrix product.

    W: (F, C/G, KH, KW); cols: (N, C*KH*KW, H'*W') -> out: (N, F, H', W').
    """
    N, G = cols.shape[0], groups
    Wm = W.reshape(G, W.shape[0] // G, -1)                      # (G, F/G, C/G*KH*KW)
    out = Wm @ cols.reshape(N, G, -1, cols.shape[-1])           # (N, G, F/G, H'W')
    return out.reshape((N,) + tuple(out_shape))


def conv2d_im2col(x, W, stride, pad, groups=1):
    """The lecture's convolution without bias: im2col, then one matrix product.

    x: (N, C, H, W); W: (F, C/G, KH, KW) -> out: (N, F, H', W').
    """
    F, _, KH, KW = W.shape
    Ho, Wo = conv_output_size(x.shape[2], x.shape[3], KH, KW, stride, pad)
    return _matmul_cols(W, im2col(x, KH, KW, stride, pad), groups, (F, Ho, Wo))
