"""What image the network wants: synthesis by optimizing the input.

Every method is a thin recipe over ``vis/optimize.py`` (one loop) with
objectives from ``vis/objectives/`` and per-step transforms from
``vis/transforms.py``; each returns an ``optimize.Result``.

===========================  =======================================  ===============
method                       paper                                    file
===========================  =======================================  ===============
``class_model``              Simonyan, Vedaldi & Zisserman 2014, §2   class_model.py
``activation_maximization``  Erhan et al. 2009; Yosinski et al. 2015  maximize.py
``invert``, ``invert_layers``  Mahendran & Vedaldi 2015                invert.py
``texture``                  Gatys, Ecker & Bethge 2015               texture.py
``style_transfer``           Gatys, Ecker & Bethge 2016               style.py
``deepdream``                Mordvintsev, Olah & Tyka 2015            dream.py
===========================  =======================================  ===============

``common.py`` holds what they share (units of the presets, size checks).
"""

from .class_model import class_model
from .dream import deepdream
from .invert import invert, invert_layers
from .maximize import activation_maximization
from .style import style_transfer
from .texture import average_pooling, texture

__all__ = ["class_model", "activation_maximization", "invert", "invert_layers", "texture",
           "average_pooling", "style_transfer", "deepdream"]
