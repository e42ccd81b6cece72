"""Where is the object? Saliency -> segmentation -> box, and how well a map localizes.

=====================  ======================================  ===================
method                 paper                                   file
=====================  ======================================  ===================
GraphCut localization  Simonyan et al. 2014, Sec. 6            ``segmentation.py``
pointing game          Zhang et al. 2016, Sec. 5.1             ``scores.py``
box IoU                (intersection over union)               ``scores.py``
energy inside          Wang et al. 2020 (Score-CAM), Sec. 5.2  ``scores.py``
=====================  ======================================  ===================
"""

from .scores import box_iou, energy_inside, evaluate, pointing_game
from .segmentation import localize, segment

__all__ = ["box_iou", "energy_inside", "evaluate", "pointing_game", "localize", "segment"]
