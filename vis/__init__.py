"""The visualization methods, on top of the minicnn engine (``vis -> minicnn``).

Every method is a plain function ``method(net, x, ...)`` on a preprocessed
batch ``x: (N, C, H, W)`` returning NumPy arrays, and every one is here under
its own name: ``vis.saliency``, ``vis.cam``, ``vis.occlusion``,
``vis.localize``. The code lives in the topic folders (``attribution/``,
``localization/``, ``features/``, ``synthesis/``, ``adversarial/``); each
method has one record in ``registry.py``.
"""

from .adversarial import (adversarial_patch, attack_summary, fgsm, fooling_image, one_pixel, pgd,
                          robustness_curve, universal_perturbation)
from .attribution import (cam, deconvnet, gradcam, gradients, guided_backprop, guided_gradcam,
                          integrated_gradients, occlusion, saliency, smoothgrad)
from .features import (activation_grid, activations, codes, dataset_bias, filter_grid,
                       first_layer_filters, grid_layout, label_agreement, nearest_neighbours, pca,
                       top_patches, tsne)
from .localization import box_iou, energy_inside, evaluate, localize, pointing_game, segment
from .synthesis import (activation_maximization, average_pooling, class_model, deepdream, invert,
                        invert_layers, style_transfer, texture)

__all__ = ["cam", "deconvnet", "gradcam", "gradients", "guided_backprop", "guided_gradcam",
           "integrated_gradients", "occlusion", "saliency", "smoothgrad", "activation_grid",
           "activations", "filter_grid", "first_layer_filters", "codes", "dataset_bias",
           "grid_layout", "label_agreement", "nearest_neighbours", "pca", "top_patches", "tsne", "box_iou", "energy_inside",
           "evaluate", "localize", "pointing_game", "segment", "activation_maximization",
           "average_pooling", "class_model", "deepdream", "invert", "invert_layers",
           "style_transfer", "texture", "adversarial_patch", "attack_summary", "fgsm",
           "fooling_image", "one_pixel", "pgd", "robustness_curve", "universal_perturbation"]
