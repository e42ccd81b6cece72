"""What every layer shares: a name, ``params``/``grads`` dicts, a train flag.

A layer is a small class with two methods:

* ``forward(x)`` computes the output and keeps what backward needs in named
  attributes (``self.x``, ``self.switches`` …), each declared as None in
  ``__init__``, so a ``backward`` before any ``forward`` finds None and says
  so in one clear error;
* ``infer(x, overwrite=False)`` computes the same output and keeps nothing
  (``Net.predict``, as PyTorch's ``no_grad``); ReLU and max-pooling skip
  their mask and switches there, and ReLU may write over ``x``;
* ``backward(dout, rule="gradient", param_grads=False)`` returns ``dx``, the
  gradient of the objective with respect to the layer's input, and fills
  ``self.grads`` only when ``param_grads`` is true (visualization never needs
  weight gradients; skipping them halves the cost of a backward pass).

``rule`` is one of :data:`RULES`. Only :class:`~minicnn.layers.relu.ReLU`
behaves differently under the three rules; every other layer accepts ``rule``
and ignores it, and says so in one line of its ``backward`` docstring.
"""

import copy

RULES = ("gradient", "deconvnet", "guided")


def check_rule(rule):
    """Raise ``ValueError`` listing the three rules unless ``rule`` is one."""
    if rule not in RULES:
        raise ValueError(f"unknown backward rule {rule!r}: use one of "
                         + ", ".join(repr(r) for r in RULES))


class Layer:
    """Base of all layers: ``name``, ``params``, ``grads``, ``training``.

    Subclasses set ``self.params`` (e.g. ``{"W": ..., "b": ...}``) and
    implement ``forward``, ``backward`` and ``output_shape``.
    """

    #: (KH, KW, stride_h, stride_w, pad_h, pad_w) for layers with a sliding
    #: window; None for element-wise layers; "global" for layers whose output
    #: sees the whole input (used by ``Net.receptive_field``).
    window = None

    def __init__(self, name):
        self.name = name
        self.params = {}
        self.grads = {}
        self.training = False

    def output_shape(self, in_shape):
        """Shape of one sample's output, e.g. ``(C, H, W) -> (F, H', W')``."""
        return tuple(in_shape)

    def infer(self, x, overwrite=False):
        """The output of ``forward(x)``, with nothing kept for a backward pass.

        Here: ``forward`` on a shallow copy of the layer (same parameters), so
        this layer's caches are untouched and two threads may run it at once.
        ``overwrite``: ``x`` is a temporary nobody else holds, which the
        layer may reuse for its output (ReLU does).
        """
        return copy.copy(self).forward(x)

    def drop_weight_cache(self):
        """Free what forward kept only for weight gradients (none here).

        ``Net.forward(x, keep=...)`` calls it: that pass is for input gradients.
        """

    def _backward_before_forward(self):
        return RuntimeError(f"{self.name}: backward called before forward")

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"
