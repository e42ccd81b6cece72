"""What a unit responds to: activations and filters.

==================  ==================================================  ==================
method              paper                                               file
==================  ==================================================  ==================
activation maps     Zeiler & Fergus 2014, Fig. 2; Chollet 2017, 5.4.1   ``activations.py``
first-layer filters Krizhevsky et al. 2012, Fig. 3                      ``filters.py``
==================  ==================================================  ==================
"""

from .activations import activation_grid, activations
from .filters import filter_grid, first_layer_filters

__all__ = ["activation_grid", "activations", "filter_grid", "first_layer_filters"]
