"""minicnn: a from-scratch NumPy (optional CuPy) CNN whose backward pass takes a rule."""

from . import backend, layers, models
from .net import Net, ReceptiveField

__version__ = "0.1.0"
__all__ = ["Net", "ReceptiveField", "backend", "layers", "models", "__version__"]
