r"""SGD with momentum and Adam: for weights, and for images.

Both update arrays *in place* given their gradients, so the same optimizer
trains a network (``params`` = the layers' weights) and optimizes an image
(``params`` = ``{"x": image}``) in class model visualization or style
transfer. Both *descend*: to ascend an objective, pass its negative gradient.

SGD with momentum (Sutskever et al. 2013, Eq. 1; PyTorch's form)::

    v = mu * v + g            p = p - lr * v

Adam (Kingma & Ba 2015, Algorithm 1)::

    m = b1*m + (1-b1)*g       v = b2*v + (1-b2)*g^2
    m_hat = m / (1 - b1^t)    v_hat = v / (1 - b2^t)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)
"""

from .backend import get_array_module


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum and weight decay.

    Args:
        lr: learning rate; momentum: mu (0 = plain SGD);
        weight_decay: adds ``weight_decay * p`` to each gradient.
    """

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0):
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = {}

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]``."""
        for k, p in params.items():
            g = grads[k] + self.weight_decay * p if self.weight_decay else grads[k]
            if self.momentum:
                v = self.velocity.get(k)
                v = g.copy() if v is None else self.momentum * v + g
                self.velocity[k] = v
                g = v
            p -= self.lr * g


class Adam:
    """Adam with the paper's defaults ``b1=0.9, b2=0.999, eps=1e-8``."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]``."""
        self.t += 1
        for k, p in params.items():
            xp = get_array_module(p)
            g = grads[k]
            m = self.m.get(k, 0) * self.b1 + (1 - self.b1) * g
            v = self.v.get(k, 0) * self.b2 + (1 - self.b2) * g * g
            self.m[k], self.v[k] = m, v
            m_hat = m / (1 - self.b1 ** self.t)
            v_hat = v / (1 - self.b2 ** self.t)
            p -= (self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)
