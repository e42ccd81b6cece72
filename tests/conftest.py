"""Shared fixtures: the devices to run on (the GPU only when CuPy sees one)."""

import numpy as np
import pytest

from minicnn.backend import gpu_available

# The PyTorch twin imports torch at the top; it holds no doctests, and the
# oracle tests that use it import it lazily and skip without torch.
collect_ignore = ["torch_twin.py"]

DEVICES = ["cpu", pytest.param("gpu", marks=pytest.mark.skipif(
    not gpu_available(), reason="needs CuPy and a CUDA device"))]


@pytest.fixture(params=DEVICES)
def device(request):
    """'cpu' or 'gpu'."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def away_from_kinks(a, margin=0.05):
    """Push values away from 0 so a ReLU does not sit on its kink."""
    return np.where(np.abs(a) < margin, np.sign(a + 1e-12) * margin, a)
