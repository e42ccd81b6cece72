"""Receptive fields: which input pixels one unit of a layer can see.

Per axis, a window layer (conv or pool) with kernel ``k``, stride ``s`` and
padding ``p`` grows the field of the units after it. With ``j`` the input
distance between adjacent units (the *jump*, 1 at the input), composing the
layers one by one gives (the recurrence behind Araujo et al. 2019, "Computing
receptive fields of convolutional neural networks", Distill)::

    size   += (k - 1) * j
    offset -= p * j
    j      *= s

Element-wise layers (ReLU, LRN, dropout) change nothing; after a global layer
(GlobalAvgPool, Flatten, Linear) every unit sees the whole input.

Boxes follow the convention of the whole project (the shapes dataset's
``boxes``, PIL): ``(x0, y0, x1, y1)``, columns ``x0 <= x < x1`` and rows
``y0 <= y < y1``.

Example:
    >>> from minicnn.layers import Conv2d, MaxPool2d
    >>> rf = receptive_field([Conv2d("c1", 3, 4, 3, padding=1), MaxPool2d("p1", 2),
    ...                       Conv2d("c2", 4, 4, 3, padding=1)])
    >>> rf
    ReceptiveField(size=(8, 8), stride=(2, 2), offset=(-3, -3))
    >>> rf.box(0, 1)          # unit (row 0, column 1): x0, y0, x1, y1
    (-1, -3, 7, 5)
"""

from typing import NamedTuple, Tuple


class ReceptiveField(NamedTuple):
    """Receptive field of the units of one layer, per axis ``(h, w)``.

    A unit at (i, j) sees the input rows ``offset[0] + i*stride[0]`` up to
    (not including) that plus ``size[0]``, likewise the columns. ``offset`` is
    negative where the field hangs over the zero padding.
    """

    size: Tuple[int, int]
    stride: Tuple[int, int]
    offset: Tuple[int, int]

    def box(self, i, j):
        """``(x0, y0, x1, y1)`` input box of unit (row i, column j), end exclusive.

        It may extend beyond the image (negative, or past W and H): clip it
        to draw it.
        """
        y0 = self.offset[0] + i * self.stride[0]
        x0 = self.offset[1] + j * self.stride[1]
        return (x0, y0, x0 + self.size[1], y0 + self.size[0])


def receptive_field(layers):
    """The receptive field of the output units of ``layers`` (run in order).

    Args:
        layers: a sequence of layers; each has ``window`` =
            ``(KH, KW, s_h, s_w, p_h, p_w)``, None (element-wise) or "global".

    Raises:
        ValueError: a global layer in ``layers`` (its units see the whole input).
    """
    size, jump, offset = [1, 1], [1, 1], [0, 0]
    for layer in layers:
        if layer.window == "global":
            raise ValueError(f"units after {layer.name} ({type(layer).__name__}) "
                             "see the whole input")
        if layer.window is None:
            continue
        KH, KW, sh, sw, ph, pw = layer.window
        # BEGIN SOLUTION receptive-field
        for a, (k, s, p) in enumerate(((KH, sh, ph), (KW, sw, pw))):
            size[a] += (k - 1) * jump[a]
            offset[a] -= p * jump[a]
            jump[a] *= s
        # END SOLUTION receptive-field
    return ReceptiveField(tuple(size), tuple(jump), tuple(offset))
