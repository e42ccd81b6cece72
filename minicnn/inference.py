"""``Net.predict``: the network run depth first, a chunk of images at a time.

``Net.forward`` runs each layer over the whole batch before the next, and keeps
what a backward pass needs. For scores alone (PyTorch's ``no_grad``) that is
the slow order on a CPU: 400 ``tiny`` images make 52 MB activations, each a
fresh block of memory that the kernel zeroes page by page, and each read back
from main memory by the next layer. Here a chunk of images goes through every
layer before the next chunk starts (the "fused layer" order of Alwani et al.
2016, "Fused-layer CNN accelerators", on whole layers):

* a chunk's activations are at most :data:`CHUNK_BYTES` in the widest layer,
  so they stay in cache and their memory is reused from chunk to chunk;
* ReLU works in place and keeps no mask, max-pooling keeps no switches
  (``Layer.infer``);
* the chunks go to one thread per core (``minicnn/parallel.py``), each
  running the whole net with a one-thread BLAS.

``tiny`` on 400 images, 2 cores: 380 ms by ``forward(x, keep=())``, 224 ms here
(PyTorch 2.13: 308 ms; ``minicnn bench --rows tiny``).

The chunks depend on the input's shape only, never on the threads: the same
numbers bit for bit on one thread or two. They may differ from ``forward``'s
in float32 rounding (about 1e-6 relative): Winograd's products sum over the
tiles of a chunk.
"""

import math

from .backend import get_array_module
from .parallel import run_all, threads

#: Images per chunk: as many as keep the widest layer's output of the chunk under this.
CHUNK_BYTES = 4 * 2**20


def check_input(layers, x, check_finite=True):
    """Refuse an input no layer can take, with one line naming the problem.

    Raises:
        ValueError: ``x`` is not (N, C, H, W) with N >= 1, not float32/float64 (an
            integer image is refused, not cast), too small or with the wrong
            channels for a layer (named, with the input's size), or holds NaN/inf.
    """
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"{layers[0].name}: expected input (N, C, H, W), "
                         f"got shape {getattr(x, 'shape', type(x).__name__)}")
    if x.dtype.name not in ("float32", "float64"):
        raise ValueError(f"x has dtype {x.dtype}; the network computes in "
                         "float32/float64: convert it (x.astype(np.float32))")
    if x.shape[0] == 0:
        raise ValueError("x holds no images (N = 0)")
    shape = tuple(x.shape[1:])
    for layer in layers:
        try:
            shape = layer.output_shape(shape)
        except ValueError as e:
            raise ValueError(f"input of {'x'.join(map(str, x.shape[1:]))} (C x H x W): "
                             f"{e}") from None
    if check_finite and not bool(get_array_module(x).isfinite(x).all()):
        raise ValueError("input contains NaN or inf (pass check_finite=False to allow it)")


def depth_first(layers, x):
    """``layers`` applied in turn to ``x`` (N, ...), a chunk of images at a time.

    Returns:
        The last layer's output for all N images (what ``forward`` returns).

    Raises:
        RuntimeError: a layer in training mode (dropout would draw per chunk).
    """
    for layer in layers:
        if layer.training:
            raise RuntimeError(f"{layer.name} is in training mode: predict is for "
                               "evaluation; call net.eval() first")
    xp, N = get_array_module(x), len(x)
    shape, widest = tuple(x.shape[1:]), 0
    for layer in layers:                 # the shapes alone (check_input refused bad ones)
        shape = layer.output_shape(shape)
        widest = max(widest, math.prod(shape))
    n = N if xp.__name__ != "numpy" else max(1, CHUNK_BYTES // (widest * x.itemsize or 1))
    starts = range(0, N, n)
    pieces = {}

    def chunk(a):
        y = x[a:a + n]
        for layer in layers:
            y = layer.infer(y, overwrite=not xp.may_share_memory(y, x))
        pieces[a] = y

    run_all(chunk, starts, min(threads(), len(starts)))
    return pieces[0] if len(starts) == 1 else xp.concatenate([pieces[a] for a in starts])

