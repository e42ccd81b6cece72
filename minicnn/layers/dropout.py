"""Dropout (Srivastava et al. 2014), "inverted" so that eval is the identity.

Training, with drop probability ``p`` and a fresh mask per forward::

    mask ~ Bernoulli(1 - p)          out = x * mask / (1 - p)
    dx = dout * mask / (1 - p)

Evaluation: ``out = x``, ``dx = dout``. Visualization always runs in eval
mode. ``rule`` does not change dropout.
"""

import numpy as np

from ..backend import get_array_module
from .base import Layer


class Dropout(Layer):
    """Inverted dropout.

    Args:
        name: e.g. ``"drop6"``.
        p: probability of dropping a unit (0.5 in AlexNet and VGG).
        seed: seed of the layer's own generator, so training is reproducible.
    """

    def __init__(self, name, p=0.5, seed=0):
        super().__init__(name)
        if not 0 <= p < 1:
            raise ValueError(f"{name}: dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.identity = None      # True when the last forward changed nothing (eval, p = 0)
        self.mask = None          # x's shape: kept / (1 - p), from the last training forward

    def forward(self, x):
        """x: any shape -> same shape. Keeps ``self.mask`` (None in eval)."""
        self.identity = not self.training or self.p == 0
        if self.identity:
            self.mask = None
            return x
        xp = get_array_module(x)
        keep = self.rng.random(x.shape) >= self.p
        self.mask = xp.asarray(keep / (1 - self.p), dtype=x.dtype)
        return x * self.mask

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout -> dx, through the same mask. ``rule`` does not change dropout."""
        if self.identity is None:
            raise self._backward_before_forward()
        return dout if self.identity else dout * self.mask
