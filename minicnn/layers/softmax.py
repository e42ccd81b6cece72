r"""Softmax over classes, as a layer (the losses use the fused, stable form).

Forward, ``x: (N, K)``, shifted by the row maximum for stability::

    y[n, k] = exp(x[n, k] - max_j x[n, j]) / sum_j exp(x[n, j] - max_j x[n, j])

Backward (the Jacobian ``diag(y) - y y^T`` applied to ``dout``)::

    dx = y * (dout - sum_k dout[:, k] * y[:, k])

Simonyan et al. (2014, Sec. 3.1) visualize the unnormalised score, not the
softmax: maximising a softmax can be done by pushing the other classes down.
``rule`` does not change softmax.
"""

from ..backend import get_array_module
from .base import Layer


class Softmax(Layer):
    """Softmax along axis 1."""

    def __init__(self, name):
        super().__init__(name)
        self.y = None             # (N, K) probabilities of the last forward

    def forward(self, x):
        """x: (N, K) -> y: (N, K), rows sum to 1. Keeps ``self.y``."""
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=1, keepdims=True))
        self.y = e / e.sum(axis=1, keepdims=True)
        return self.y

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, K) -> dx: (N, K)."""
        if self.y is None:
            raise self._backward_before_forward()
        return self.y * (dout - (dout * self.y).sum(axis=1, keepdims=True))
