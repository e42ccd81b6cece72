"""Terms and objectives: the algebra (``a + b``, ``2 * a``, ``-a``) and one evaluation.

A :class:`Term` reads one array — a layer's output in ``net.outputs``, the
class scores, or the image ``x`` itself — and returns its value per sample
``(N,)`` and the gradient of that value with respect to the array. An
:class:`Objective` is a weighted sum of terms. Calling either after
``net.forward`` returns an :class:`Evaluation`. The sign convention (an
objective is maximized) is stated in ``vis/objectives/__init__.py``.
"""

from typing import NamedTuple

from ..netinfo import score_layer

#: Marker layer of ``class_score``/``class_probability``: the net's score layer.
SCORES = "<class scores>"


class Evaluation(NamedTuple):
    """An objective evaluated at one batch.

    value: (N,) the objective (maximized); terms: ``{name: (N,)}`` each named
    term's own value; grads: ``{layer: dObjective/d(output)}``; dx: (N, C, H, W)
    gradient of the image-space terms, or None.
    """
    value: object
    terms: dict
    grads: dict
    dx: object


class _Algebra:
    """``a + b``, ``a - b``, ``-a``, ``2 * a``, ``a / 2`` and ``sum([...])``."""

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self
        return Objective([(1.0, self), (1.0, other)])

    __radd__ = __add__

    def __sub__(self, other):
        return Objective([(1.0, self), (-1.0, other)])

    def __neg__(self):
        return Objective([(-1.0, self)])

    def __mul__(self, weight):
        return Objective([(float(weight), self)])

    __rmul__ = __mul__

    def __truediv__(self, d):
        return Objective([(1.0 / float(d), self)])

    def __call__(self, net, x):
        """Evaluate after ``net.forward(x)`` (which fills ``net.outputs``)."""
        acc = {"terms": {}, "grads": {}, "dx": None}
        value = self._eval(net, x, 1.0, acc)
        return Evaluation(value, acc["terms"], acc["grads"], acc["dx"])


def _record(acc, name, value):
    key, k = name, 2
    while key in acc["terms"]:              # two terms of one name: "name #2"
        key, k = f"{name} #{k}", k + 1
    acc["terms"][key] = value


class Term(_Algebra):
    """One term: ``fn(A) -> (value (N,), dvalue/dA)`` on one array.

    Args:
        name: its key in the history.
        layer: the layer whose output it reads; :data:`SCORES` for the net's
            score layer; None for the image itself (an image-space term).
        fn: the value and its gradient.
    """

    def __init__(self, name, layer, fn):
        self.name, self.layer, self.fn = name, layer, fn

    def layers(self, net):
        """The layer names this term reads (KeyError for a layer not in ``net``)."""
        if self.layer is None:
            return []
        return [score_layer(net) if self.layer == SCORES else net[self.layer].name]

    def _eval(self, net, x, scale, acc):
        layer = self.layers(net)[0] if self.layer is not None else None
        if layer is not None and layer not in net.outputs:
            raise KeyError(f"objective {self.name!r} reads {layer!r}, which the last "
                           f"forward pass did not reach")
        A = x if layer is None else net.outputs[layer]
        value, grad = self.fn(A)
        _record(acc, self.name, value)
        if layer is None:
            acc["dx"] = scale * grad if acc["dx"] is None else acc["dx"] + scale * grad
        else:
            g = acc["grads"].get(layer)
            acc["grads"][layer] = scale * grad if g is None else g + scale * grad
        return value

    def __repr__(self):
        return f"Term({self.name!r})"


class Objective(_Algebra):
    """A weighted sum ``sum_k w_k part_k`` of terms and objectives.

    Args:
        parts: list of ``(weight, Term or Objective)``.
        name: when given, the sum's own value is recorded under it too
            (``style`` records ``"style"`` and each ``"style relu1_1"``).
    """

    def __init__(self, parts, name=None):
        for _, part in parts:
            if not isinstance(part, _Algebra):
                raise TypeError(f"cannot add {type(part).__name__} to an objective")
        self.parts, self.name = list(parts), name

    def layers(self, net):
        """The layer names its terms read, without repeats."""
        seen = []
        for _, part in self.parts:
            seen += [n for n in part.layers(net) if n not in seen]
        return seen

    def _eval(self, net, x, scale, acc):
        total = 0
        for w, part in self.parts:
            total = total + w * part._eval(net, x, scale * w, acc)
        if self.name:
            _record(acc, self.name, total)
        return total

    def __repr__(self):
        inner = " + ".join(f"{w:g} * {p!r}" for w, p in self.parts)
        return f"Objective({self.name + ': ' if self.name else ''}{inner})"
