"""The layers, one concept per file."""

from .avgpool import AvgPool2d
from .base import RULES, Layer, check_rule
from .conv import Conv2d, col2im, conv2d_naive, im2col
from .dropout import Dropout
from .linear import Linear
from .lrn import LRN
from .pool import MaxPool2d, maxpool2d_naive
from .relu import ReLU
from .reshape import Flatten, GlobalAvgPool
from .softmax import Softmax

__all__ = ["AvgPool2d", "RULES", "Layer", "check_rule", "Conv2d", "col2im", "conv2d_naive", "im2col",
           "Dropout", "Linear", "LRN", "MaxPool2d", "maxpool2d_naive", "ReLU", "Flatten",
           "GlobalAvgPool", "Softmax"]
