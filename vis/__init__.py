"""The visualization methods, on top of the minicnn engine (``vis -> minicnn``).

Every method is a plain function ``method(net, x, ...)`` on a preprocessed
batch ``x: (N, C, H, W)`` returning NumPy arrays; drawing lives in ``image.py``
and ``draw.py``. The functions named like their module (``cam.cam``,
``occlusion.occlusion``, ``localize.localize``) are not re-exported here, so
that ``vis.cam`` stays the module.
"""

from .activations import activation_grid, activations
from .attribution import (deconvnet, gradients, guided_backprop, integrated_gradients,
                          saliency, smoothgrad)
from .cam import gradcam, guided_gradcam
from .filters import filter_grid, first_layer_filters
from .localize import box_iou, evaluate, pointing_game, segment

__all__ = ["activation_grid", "activations", "deconvnet", "gradients", "guided_backprop",
           "integrated_gradients", "saliency", "smoothgrad", "gradcam", "guided_gradcam",
           "filter_grid", "first_layer_filters", "box_iou", "evaluate", "pointing_game",
           "segment"]
