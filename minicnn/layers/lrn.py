r"""Local response normalisation across channels (Krizhevsky et al. 2012, Sec. 3.3).

With ``n`` neighbouring channels, the window of channel ``c`` is
``c - n//2 … c + (n-1)//2`` (clipped at the ends; the convention of Caffe
and PyTorch's ``LocalResponseNorm``)::

    scale[c] = k + alpha/n * sum_{c' in window(c)} x[c']^2
    y[c]     = x[c] * scale[c]^(-beta)

AlexNet used n = 5, alpha = 1e-4, beta = 0.75, k = 2 (Caffe's reference model:
k = 1). Caffe and PyTorch divide alpha by n; the paper's formula does not.

Backward, from the product and chain rules (``c`` appears in the window of
every ``c'`` with ``c - (n-1)//2 <= c' <= c + n//2``)::

    dx[c] = dout[c] * scale[c]^(-beta)
            - 2*alpha*beta/n * x[c] * sum_{c' : c in window(c')} dout[c'] * y[c'] / scale[c']

``rule`` does not change LRN.
"""

from ..backend import get_array_module
from .base import Layer


def _channel_window_sum(a, front, back):
    """s[:, c] = sum of a[:, c - front … c + back] (zeros outside). a: (N, C, H, W)."""
    xp = get_array_module(a)
    C = a.shape[1]
    padded = xp.pad(a, ((0, 0), (front, back), (0, 0), (0, 0)))
    s = xp.zeros_like(a)
    for offset in range(front + back + 1):
        s += padded[:, offset:offset + C]
    return s


class LRN(Layer):
    """Across-channel local response normalisation.

    Args:
        name: e.g. ``"norm1"``; size: n; alpha, beta, k: as in the equation.
    """

    def __init__(self, name, size=5, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__(name)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k
        self.x = None             # (N, C, H, W) input of the last forward
        self.scale = None         # k + alpha/n * window sum of x^2, same shape
        self.y = None             # the output x * scale^(-beta)

    def forward(self, x):
        """x: (N, C, H, W) -> y: same shape. Keeps ``self.x``, ``self.scale``, ``self.y``."""
        front, back = self.size // 2, (self.size - 1) // 2
        self.scale = self.k + self.alpha / self.size * _channel_window_sum(x * x, front, back)
        self.x = x
        self.y = x * self.scale ** -self.beta
        return self.y

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: (N, C, H, W) -> dx. ``rule`` does not change LRN."""
        if self.y is None:
            raise self._backward_before_forward()
        front, back = self.size // 2, (self.size - 1) // 2
        inner = _channel_window_sum(dout * self.y / self.scale, back, front)
        return (dout * self.scale ** -self.beta
                - 2 * self.alpha * self.beta / self.size * self.x * inner)
