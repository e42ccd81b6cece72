"""NumPy or CuPy: the array decides.

Every layer starts with ``xp = get_array_module(x)`` and then writes
``xp.zeros``, ``xp.maximum`` … so one line of code runs on the CPU (NumPy)
and on an NVIDIA GPU (CuPy), the way Chainer and CuPy's own examples do.
There is no global "device" switch: an array on the GPU makes the layer run on
the GPU.

CuPy is imported lazily, the first time someone asks for the GPU or hands us a
CuPy array. Importing minicnn never fails for lack of CuPy or of a GPU; asking
for the GPU without them raises one clear :class:`RuntimeError`.

Example:
    >>> import numpy as np
    >>> get_array_module(np.zeros(3)) is np
    True
"""

import numpy as np

_cupy = None          # the module, once imported
_cupy_error = None    # why it could not be imported, once tried


def _import_cupy():
    """Return the cupy module or None; remember the failure reason."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy
            _cupy = cupy
        except Exception as e:  # ImportError, or a CUDA library error at import
            _cupy_error = f"{type(e).__name__}: {e}"
    return _cupy


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    cp = _import_cupy()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def get_array_module(*arrays):
    """Return ``numpy`` or ``cupy``: the module that owns the arrays.

    Arrays that are neither (Python floats, None) are ignored. Mixing a NumPy
    and a CuPy array is an error, as in CuPy itself.
    """
    module = np
    for a in arrays:
        if a is None or isinstance(a, (np.ndarray, np.generic, int, float)):
            continue
        if type(a).__module__.startswith("cupy"):
            module = _import_cupy()
    return module


def asnumpy(a):
    """Return ``a`` as a NumPy array (a copy from the GPU, else ``a`` itself)."""
    if type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)


def to_device(a, device):
    """Move an array to ``"cpu"`` (NumPy) or ``"gpu"`` (CuPy).

    Raises:
        ValueError: unknown device name.
        RuntimeError: ``"gpu"`` asked for without CuPy or without a CUDA device.
    """
    if device == "cpu":
        return asnumpy(a)
    if device == "gpu":
        require_gpu()
        return _cupy.asarray(a)
    raise ValueError(f"unknown device {device!r}: use 'cpu' or 'gpu'")


def require_gpu():
    """Raise a clear RuntimeError unless a CUDA device is usable through CuPy."""
    if _import_cupy() is None:
        raise RuntimeError(
            "the GPU backend needs CuPy, which could not be imported "
            f"({_cupy_error}); install the wheel for your CUDA, e.g. pip install "
            "cupy-cuda12x (pip install 'minicnn[gpu]' builds CuPy from source)")
    if not gpu_available():
        raise RuntimeError("CuPy is installed but sees no CUDA device")
