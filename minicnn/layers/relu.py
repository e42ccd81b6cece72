r"""ReLU and the three backward rules: gradient, deconvnet, guided backprop.

Forward (element-wise)::

    y = max(x, 0)

Backward. Given ``dout`` = dL/dy, the three famous visualization methods only
differ in what this one layer sends back (Simonyan et al. 2014, Sec. 4;
Springenberg et al. 2015, Fig. 1)::

    rule         dx                                 masks by
    -----------  ---------------------------------  ------------------------
    "gradient"   dout * (x > 0)                     the forward input
    "deconvnet"  dout * (dout > 0)                  the backward signal
    "guided"     dout * (x > 0) * (dout > 0)        both

* ``"gradient"`` is the true (sub)gradient: saliency maps (Simonyan et al.
  2014, Sec. 3.1), Grad-CAM, every image optimization.
* ``"deconvnet"`` is Zeiler & Fergus (2014, Sec. 2.1): the "rectification" of
  the deconvnet passes the reconstruction through a ReLU, ignoring which units
  were active on the way up. Simonyan et al. (2014, Sec. 4) show this is the
  only difference between a deconvnet and the gradient: the transposed
  convolution is the conv backward, and "unpooling with switches" is max-pool
  backward.
* ``"guided"`` is guided backpropagation (Springenberg et al. 2015, Sec. 3.4):
  mask by both, so only positive signals through active units come back.

Subgradient at 0: ``x = 0`` counts as inactive (``x > 0`` is false), the same
convention as PyTorch, so ``d max(x, 0)/dx`` at 0 is 0.

Example:
    >>> import numpy as np
    >>> relu = ReLU("relu")
    >>> relu.forward(np.array([-1.0, 2.0, 3.0]))
    array([0., 2., 3.])
    >>> dout = np.array([5.0, -7.0, 11.0])
    >>> relu.backward(dout, "gradient"), relu.backward(dout, "deconvnet")
    (array([ 0., -7., 11.]), array([ 5.,  0., 11.]))
    >>> relu.backward(dout, "guided")
    array([ 0.,  0., 11.])
"""

from ..backend import get_array_module
from .base import Layer, check_rule


class ReLU(Layer):
    """Rectified linear unit; the only layer whose backward depends on ``rule``."""

    def __init__(self, name):
        super().__init__(name)
        self.active = None        # x > 0 of the last forward: bool, one byte per element

    def forward(self, x):
        """x: any shape -> y: same shape. Keeps ``self.active = x > 0``, all backward needs."""
        xp = get_array_module(x)
        self.active = x > 0
        return xp.maximum(x, 0)

    def infer(self, x, overwrite=False):
        """``max(x, 0)`` without the mask; in place over ``x`` when ``overwrite``."""
        xp = get_array_module(x)
        return xp.maximum(x, 0, out=x) if overwrite else xp.maximum(x, 0)

    def backward(self, dout, rule="gradient", param_grads=False):
        """dout: same shape as y -> dx. The three rules, side by side."""
        check_rule(rule)
        if self.active is None:
            raise self._backward_before_forward()
        # BEGIN SOLUTION relu-rules
        xp = get_array_module(dout)
        active = self.active                      # x > 0, the forward mask
        if rule == "gradient":
            return dout * active
        if rule == "deconvnet":
            return xp.maximum(dout, 0)            # = dout * (dout > 0)
        # rule == "guided"
        return xp.maximum(dout, 0) * active
        # END SOLUTION relu-rules
