"""Net: an ordered list of named layers, with a backward pass that takes a rule.

``forward(x)`` runs the layers in order and keeps every output in
``net.outputs[name]``. ``backward(grads, rule)`` is backpropagation written
out: ``grads`` maps layer names to dL/d(output of that layer) — one layer for a
class score, five at once for style transfer — and the loop walks the layers in
reverse, adding each injected gradient as it passes its layer::

    dout = 0
    for layer in reversed(layers):
        dout += grads.get(layer.name, 0)     # inject
        dout = layer.backward(dout, rule)    # chain rule (or deconvnet/guided)
    return dout                              # dL/dx, the input gradient

With ``until="conv5_3"`` it stops there and returns dL/d(conv5_3 output)
(Grad-CAM). Layers after the last injection are skipped: nothing flows there.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.tiny()
    >>> scores = net.forward(np.zeros((1, 3, 64, 64), np.float32))
    >>> dx = net.backward({"fc": np.eye(scores.shape[1], dtype=np.float32)[[0]]})
    >>> dx.shape
    (1, 3, 64, 64)
"""

import numpy as np

from .backend import get_array_module, to_device
from .errors import did_you_mean
from .layers.base import check_rule
from .inference import check_input, depth_first
from .receptive_field import ReceptiveField, receptive_field
from .summary import summary_table

__all__ = ["Net", "ReceptiveField"]


def _unknown(kind, name, choices):
    return KeyError(f"unknown {kind} {name!r}{did_you_mean(name, choices)} "
                    f"(layers: {', '.join(choices)})")


class Net:
    """A sequence of named layers.

    Args:
        layers: list of layers with unique ``name`` attributes.
        meta: dict with ``arch``, ``input_size`` (H, W), ``in_channels``,
            ``preprocess`` (``channel_order``, ``scale``, ``mean``, ``std``),
            ``class_names`` and ``source`` (see ``models.py`` and ``io.py``).
    """

    def __init__(self, layers, meta=None):
        names = [layer.name for layer in layers]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate layer names: {', '.join(duplicated)}")
        self.layers = list(layers)
        self.meta = dict(meta or {})
        self.outputs = {}
        self.shapes = {}          # every output's shape, kept or not
        self._ran = []            # names of the layers the last forward ran

    @property
    def layer_names(self):
        """Names of the layers in forward order."""
        return [layer.name for layer in self.layers]

    def __getitem__(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise _unknown("layer", name, self.layer_names)

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def index(self, name):
        """Position of layer ``name`` (KeyError with close names if unknown)."""
        return self.layer_names.index(self[name].name)

    def forward(self, x, until=None, check_finite=True, keep=None):
        """Run the layers, keeping each output in ``self.outputs``.

        Args:
            x: (N, C, H, W) preprocessed batch (NumPy or CuPy array).
            until: name of the last layer to run (default: all).
            check_finite: refuse NaN/inf in ``x`` (set False to allow them).
            keep: names of the layers whose outputs stay in ``self.outputs``
                (the last layer run always does); default None keeps every
                output. Given, it also frees what layers cache only for weight
                gradients (``Conv2d.x``): the pass is for input gradients, and
                a batch of 8 VGG16 images needs half the memory.

        Returns:
            The output of the last layer run, e.g. scores (N, classes).

        Raises:
            ValueError: ``x`` is not a 4-D floating-point array (an integer
                image is refused, not cast), or holds NaN/inf.
            KeyError: an unknown layer in ``until`` or ``keep``.
        """
        stop = self._check_input(x, until, check_finite)
        if keep is not None:
            keep = {keep} if isinstance(keep, str) else set(keep)
            for name in keep - set(self.layer_names):
                raise _unknown("layer in keep", name, self.layer_names)
        self.outputs, self.shapes = {}, {}
        self._ran = []
        for layer in self.layers[:stop + 1]:
            x = layer.forward(x)
            if keep is not None:
                layer.drop_weight_cache()
            if keep is None or layer.name in keep:
                self.outputs[layer.name] = x
            self.shapes[layer.name] = tuple(x.shape)
            self._ran.append(layer.name)
        self.outputs[self._ran[-1]] = x
        return x

    def predict(self, x, until=None, check_finite=True):
        """``forward(x, until)``'s output with nothing kept (PyTorch's ``no_grad``).

        The batch goes through the whole net a chunk of images at a time, on
        every core (``minicnn/inference.py``); ReLU and max-pooling skip their
        masks and switches. For scores only (one-pixel candidates, occlusion
        windows): ``self.outputs`` stays as it was and no ``backward`` can
        follow. Arguments, result and errors as ``forward``."""
        stop = self._check_input(x, until, check_finite)
        return depth_first(self.layers[:stop + 1], x)

    def _check_input(self, x, until, check_finite):
        """The index of ``until`` (the last layer by default), after checking ``x``."""
        stop = self.index(until) if until is not None else len(self.layers) - 1
        check_input(self.layers[:stop + 1], x, check_finite)
        return stop

    def backward(self, grads, rule="gradient", until=None, param_grads=False):
        """Backpropagate injected gradients under a rule.

        Args:
            grads: ``{layer_name: dL/d(output of that layer)}``, each the shape
                of ``self.outputs[layer_name]``.
            rule: ``"gradient"``, ``"deconvnet"`` or ``"guided"`` (see relu.py).
            until: return dL/d(output of this layer) instead of dL/dx.
            param_grads: also fill each layer's ``grads`` (for training).

        Returns:
            dL/dx (N, C, H, W), or dL/d(output of ``until``).
        """
        check_rule(rule)
        if not self._ran:
            raise RuntimeError("backward called before forward")
        if not isinstance(grads, dict):
            raise TypeError(f"grads must be a dict {{layer name: dL/d(its output)}}, e.g. "
                            f"{{{self._ran[-1]!r}: g}}; got {type(grads).__name__}")
        if not grads:
            raise ValueError("grads is empty: inject a gradient at one layer at least")
        for name, g in grads.items():
            if name not in self.shapes:
                if name in self.layer_names:
                    raise KeyError(f"layer {name!r} was not run by the last forward "
                                   f"(it stopped at {self._ran[-1]!r})")
                raise _unknown("layer in grads", name, self.layer_names)
            if tuple(g.shape) != self.shapes[name]:
                raise ValueError(f"{name}: gradient shape {tuple(g.shape)} does not "
                                 f"match the output shape {self.shapes[name]}")
        if until is not None:
            if until not in self.shapes:
                raise _unknown("layer in until", until, self._ran)
            early = [n for n in grads if self._ran.index(n) < self._ran.index(until)]
            if early:
                raise ValueError(f"gradients injected at {', '.join(early)} lie before "
                                 f"until={until!r} and would be ignored")
        dout = None
        for layer in reversed([self[name] for name in self._ran]):
            if layer.name in grads:
                g = grads[layer.name]
                dout = g if dout is None else dout + g
            if layer.name == until:
                return dout
            if dout is not None:
                dout = layer.backward(dout, rule=rule, param_grads=param_grads)
        return dout

    def state_dict(self):
        """``{"<layer>.<param>": array}`` in the engine's layout (no copies)."""
        return {f"{layer.name}.{k}": v for layer in self.layers
                for k, v in layer.params.items()}

    def load_state_dict(self, arrays, strict=True):
        """Copy arrays into the parameters, checking names and shapes.

        Raises:
            KeyError: missing or unexpected names (with ``strict``).
            ValueError: a shape mismatch, naming the layer and both shapes.
        """
        own = self.state_dict()
        missing = sorted(set(own) - set(arrays))
        unexpected = sorted(set(arrays) - set(own))
        if strict and (missing or unexpected):
            raise KeyError(f"weights do not fit {self.meta.get('arch', 'this net')}: "
                           f"missing {missing or 'none'}, unexpected {unexpected or 'none'}")
        for key, value in arrays.items():
            if key not in own:
                continue
            layer_name, param = key.rsplit(".", 1)
            target = own[key]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(f"{layer_name}: parameter {param} has shape "
                                 f"{tuple(value.shape)} in the weights but {tuple(target.shape)} "
                                 f"in the model")
            xp = get_array_module(target)
            self[layer_name].params[param] = xp.asarray(value, dtype=target.dtype).copy()

    def astype(self, dtype):
        """Cast every parameter to ``dtype`` (float64 for gradient checks); returns self."""
        for layer in self.layers:
            layer.params = {k: v.astype(dtype) for k, v in layer.params.items()}
        return self

    def to(self, device):
        """Move parameters to ``"cpu"`` or ``"gpu"``; returns self."""
        for layer in self.layers:
            layer.params = {k: to_device(v, device) for k, v in layer.params.items()}
            layer.grads = {}
        self.outputs, self.shapes, self._ran = {}, {}, []
        return self

    def train(self):
        """Training mode (dropout active); returns self."""
        for layer in self.layers:
            layer.training = True
        return self

    def eval(self):
        """Evaluation mode (dropout is the identity); returns self."""
        for layer in self.layers:
            layer.training = False
        return self

    def input_shape(self):
        """(C, H, W) of one input sample, from ``meta``."""
        H, W = self.meta.get("input_size", (224, 224))
        return (self.meta.get("in_channels", 3), H, W)

    def output_shapes(self, input_shape=None):
        """``{name: (C, H, W) or (D,)}`` for one sample, without computing anything."""
        shape = tuple(input_shape or self.input_shape())
        shapes = {}
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes[layer.name] = shape
        return shapes

    def num_params(self):
        """Total number of parameters."""
        return sum(int(np.prod(v.shape)) for v in self.state_dict().values())

    def summary(self, input_shape=None):
        """A table like Keras' ``model.summary()`` (``summary.py``)."""
        return summary_table(self, input_shape)

    def receptive_field(self, name):
        """Receptive field of the units of layer ``name`` in input pixels.

        Composes the windows of the layers up to ``name`` (see
        ``receptive_field.py``).

        Returns:
            ReceptiveField(size, stride, offset), each an (h, w) pair; its
            ``box(i, j)`` gives the input box ``(x0, y0, x1, y1)`` of unit (i, j).

        Raises:
            ValueError: for layers after a global layer (they see the whole input).

        Example:
            >>> from minicnn import models
            >>> models.vgg16(seed=None).receptive_field("conv5_3")[:2]
            ((196, 196), (16, 16))
        """
        try:
            return receptive_field(self.layers[:self.index(name) + 1])
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None

    def __repr__(self):
        return f"Net({self.meta.get('arch', '?')}, {len(self.layers)} layers)"
