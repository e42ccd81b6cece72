"""Fully connected layer.

Forward, ``x: (N, D)``, ``W: (M, D)`` (PyTorch's (out, in) layout), ``b: (M,)``::

    out = x @ W.T + b                     (N, M)

Backward::

    dx = dout @ W                         (N, D)
    dW = dout.T @ x                       (M, D)
    db = dout.sum(axis=0)                 (M,)

``rule`` does not change a linear layer.
"""

import numpy as np

from .base import Layer


class Linear(Layer):
    """``out = x @ W.T + b``.

    Args:
        name: e.g. ``"fc6"``.
        in_features (D), out_features (M).
        rng: generator for He initialisation ``W ~ N(0, 2/D)`` (He et al.
            2015, Eq. 10); bias zero; None leaves W at zero (to be loaded).
    """

    window = "global"

    def __init__(self, name, in_features, out_features, rng=None, dtype=np.float32):
        super().__init__(name)
        self.in_features, self.out_features = in_features, out_features
        if rng is None:           # no initialisation: weights will be loaded
            W = np.zeros((out_features, in_features), dtype=np.float32)
        else:
            W = rng.standard_normal((out_features, in_features), dtype=np.float32)
            W *= np.float32(np.sqrt(2.0 / in_features))
        self.params = {"W": W.astype(dtype, copy=False), "b": np.zeros(out_features, dtype=dtype)}
        self.x = None             # (N, D) input of the last forward

    def output_shape(self, in_shape):
        if tuple(in_shape) != (self.in_features,):
            raise ValueError(f"{self.name}: expected input (N, {self.in_features}), "
                             f"got (N, {', '.join(map(str, in_shape))})")
        return (self.out_features,)

    def forward(self, x):
        """x: (N, D) -> out: (N, M). Keeps ``self.x``."""
        self.output_shape(x.shape[1:])
        # BEGIN SOLUTION linear
        self.x = x
        return x @ self.params["W"].T + self.params["b"]
        # END SOLUTION linear

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, M) -> dx: (N, D)."""
        if self.x is None:
            raise self._backward_before_forward()
        # BEGIN SOLUTION linear
        if param_grads:
            self.grads["W"] = dout.T @ self.x
            self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"]
        # END SOLUTION linear
