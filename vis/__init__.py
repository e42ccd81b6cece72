"""The visualization methods, on top of the minicnn engine (``vis -> minicnn``).

Every method is a plain function ``method(net, x, ...)`` on a preprocessed
batch ``x: (N, C, H, W)`` returning NumPy arrays; drawing lives in ``image.py``.
"""

from .activations import activation_grid, activations
from .attribution import (deconvnet, gradients, guided_backprop, integrated_gradients,
                          saliency, smoothgrad)
from .cam import cam, gradcam, guided_gradcam
from .filters import filter_grid, first_layer_filters
from .localize import box_iou, evaluate, localize, pointing_game, segment
from .occlusion import occlusion

__all__ = ["activation_grid", "activations", "deconvnet", "gradients", "guided_backprop",
           "integrated_gradients", "saliency", "smoothgrad", "cam", "gradcam",
           "guided_gradcam", "filter_grid", "first_layer_filters", "box_iou", "evaluate",
           "localize", "pointing_game", "segment", "occlusion"]
