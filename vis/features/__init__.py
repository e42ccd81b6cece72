"""What a unit responds to, one image or a whole dataset at a time.

======================================  ==============================================  ===================
method                                  paper                                           file
======================================  ==============================================  ===================
activation maps                         Zeiler & Fergus 2014, Fig. 2; Chollet 2017,     ``activations.py``
                                        Sec. 5.4.1
first-layer filters                     Krizhevsky et al. 2012, Fig. 3                  ``filters.py``
maximally activating patches            Zeiler & Fergus 2014, Sec. 2.1, Fig. 2;         ``patches.py``
(+ deconvnet / guided projections)      Springenberg et al. 2015, Fig. 7                (``topk.py``,
                                                                                        ``shards.py``)
CNN codes                               Krizhevsky et al. 2012, Sec. 6.1                ``codes.py``
nearest neighbours                      Krizhevsky et al. 2012, Fig. 4                  ``neighbours.py``
PCA                                     Pearson 1901; Hotelling 1933                    ``pca.py``
t-SNE (exact)                           van der Maaten & Hinton 2008                    ``tsne.py``
thumbnail grid                          Karpathy's t-SNE of CNN codes                   ``layout.py``
dataset bias (the watermark)            Lapuschkin et al. 2016, 2019                    ``dataset_bias.py``,
                                                                                        ``bias.py``
======================================  ==============================================  ===================

Datasets stream through ``sources.py`` (the shapes generator, an array, a
folder of images: ``folder.py``) in batches with bounded memory.
"""

from .activations import activation_grid, activations
from .codes import codes
from .dataset_bias import dataset_bias
from .filters import filter_grid, first_layer_filters
from .layout import grid_layout
from .neighbours import label_agreement, nearest_neighbours
from .patches import top_patches
from .pca import pca
from .tsne import tsne

__all__ = ["activation_grid", "activations", "codes", "dataset_bias", "filter_grid",
           "first_layer_filters", "grid_layout", "label_agreement", "nearest_neighbours",
           "top_patches", "pca", "tsne"]
