r"""Read a PyTorch ``torch.save`` state dict without PyTorch, and without running it.

**A pickle is a program.** ``torch.save`` writes Python's pickle format: a
tiny stack machine whose opcodes build the saved object. ``GLOBAL`` imports
any ``module.name`` and ``REDUCE`` calls it with arguments from the stack, so a
file holding ``GLOBAL os.system`` + ``REDUCE ("rm -rf ~",)`` runs that command
the moment ``pickle.load`` (or ``torch.load(weights_only=False)``) reads it.
Opening a downloaded ``.pth`` with plain pickle means running its author's code.

**What a state dict really contains.** Only data: an ``OrderedDict`` from names
(``"features.0.weight"``) to tensors, and a tensor is just a view on a flat
*storage* of raw bytes::

    element [i0, i1, ...] = storage[offset + i0*stride[0] + i1*stride[1] + ...]

The pickle records each tensor as a call ``_rebuild_tensor_v2(storage,
offset, size, stride, requires_grad, hooks)`` whose ``storage`` is a
*persistent id*, a tuple ``('storage', FloatStorage, key, 'cpu', numel)`` that
points at bytes kept outside the pickle. Two tensors may view one storage.

**Two containers.**

* zip (PyTorch >= 1.6): ``<archive>/data.pkl`` is the pickle and
  ``<archive>/data/<key>`` the raw bytes of each storage; ``<archive>/byteorder``
  says ``little`` or ``big``. The archive folder's name varies.
* legacy stream (``_use_new_zipfile_serialization=False``): five pickles in a
  row (magic number 0x1950a86a20f9469cfc6c, protocol version 1001, sys_info,
  the state dict, the list of storage keys), then for each key an int64
  element count and the raw bytes. Its persistent id has a sixth item,
  ``view_metadata``: ``None`` or ``(view_key, offset, numel)`` within the root.

**How loading stays safe.** :class:`_RestrictedUnpickler` answers every
``GLOBAL`` from an explicit allow-list (``_ALLOWED``): ``collections.OrderedDict``,
the ``torch._utils._rebuild_*`` functions, storage classes and dtypes. Names on
the list map to *our own* small functions and markers here, never to torch;
any other name raises :class:`UnsafeFileError` *while parsing*, before any
``REDUCE`` could call it. Persistent ids are checked field by field. The
result is plain data: NumPy arrays cut from the bytes with their size,
stride and offset, then copied.

Example:
    >>> sd = read_state_dict("vgg16-397923af.pth")            # doctest: +SKIP
    >>> sd["features.0.weight"].shape, sd["features.0.weight"].dtype  # doctest: +SKIP
    ((64, 3, 3, 3), dtype('float32'))
"""

import collections
import pickle
import struct
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import UnsafeFileError, WeightFileError

_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a legacy stream
_LEGACY_PROTOCOL = 1001


class _DType(NamedTuple):
    """Marker for a torch dtype or typed storage class, e.g. ``FloatStorage``."""

    torch_name: str
    numpy_name: str  # "bfloat16" is widened to float32 by hand (NumPy has none)


class _Storage(NamedTuple):
    """Placeholder for a storage: ``nbytes`` bytes of record ``key``."""

    key: str
    dtype: _DType  # element type; UntypedStorage counts in bytes (uint8)
    nbytes: int
    byte_offset: int = 0  # legacy storage views start inside their root


class _Tensor(NamedTuple):
    """Placeholder for a tensor, filled with numbers once the bytes are read."""

    storage: _Storage
    dtype: _DType
    offset: int  # in elements of ``dtype``
    size: tuple
    stride: tuple


_NUMPY_OF = {"float32": "f4", "float64": "f8", "float16": "f2", "bfloat16": "u2",
             "int64": "i8", "int32": "i4", "int16": "i2", "int8": "i1",
             "uint8": "u1", "uint16": "u2", "uint32": "u4", "uint64": "u8",
             "bool": "?", "complex64": "c8", "complex128": "c16"}
_STORAGE_CLASSES = {"FloatStorage": "float32", "DoubleStorage": "float64",
                    "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
                    "LongStorage": "int64", "IntStorage": "int32",
                    "ShortStorage": "int16", "CharStorage": "int8",
                    "ByteStorage": "uint8", "BoolStorage": "bool",
                    "ComplexFloatStorage": "complex64",
                    "ComplexDoubleStorage": "complex128"}


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None):
    """Our stand-in for ``torch._utils._rebuild_tensor`` and ``_v2``: records the view.

    ``requires_grad``, hooks and metadata do not change the numbers; dropped.
    """
    if not isinstance(storage, _Storage):
        raise WeightFileError(f"tensor storage is {type(storage).__name__}, not a storage")
    return _Tensor(storage, storage.dtype, storage_offset, tuple(size), tuple(stride))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad,
                       backward_hooks, dtype, metadata=None):
    """Stand-in for ``_rebuild_tensor_v3`` (untyped storage + explicit dtype)."""
    if not isinstance(dtype, _DType):
        raise WeightFileError(f"tensor dtype is {type(dtype).__name__}, not a dtype")
    tensor = _rebuild_tensor(storage, storage_offset, size, stride)
    return _Tensor(tensor.storage, dtype, tensor.offset, tensor.size, tensor.stride)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    """An ``nn.Parameter`` is its tensor, as far as the numbers go."""
    return data


_ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
            ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
            ("torch.storage", "UntypedStorage"): _DType("UntypedStorage", "uint8"),
            ("torch", "UntypedStorage"): _DType("UntypedStorage", "uint8")}
_ALLOWED.update({("torch", c): _DType(c, d) for c, d in _STORAGE_CLASSES.items()})
_ALLOWED.update({("torch", d): _DType(d, d) for d in _NUMPY_OF})


class _RestrictedUnpickler(pickle.Unpickler):
    """A pickle reader that resolves only the globals in ``_ALLOWED``.

    Args:
        file: binary file object positioned at the pickle.
        path: the file's name, for error messages.
        legacy: expect the 6-item persistent ids of the legacy stream.
    """

    def __init__(self, file, path, legacy=False):
        super().__init__(file, encoding="utf-8")
        self.path, self.legacy = path, legacy
        self.root_itemsize = {}  # legacy: root key -> bytes per element

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if isinstance(found, _DType):
            return found  # an immutable marker
        if found is not None:  # a fresh wrapper: BUILD opcodes can't alter ours
            return lambda *args: found(*args)
        raise UnsafeFileError(
            f"{self.path}: refusing to load global '{module}.{name}'. A state "
            "dict needs only OrderedDict, torch storages and tensor rebuilders; "
            "this pickle asks for more and could run code if opened with "
            "pickle or torch.load(weights_only=False).")

    def persistent_load(self, pid):
        n = 6 if self.legacy else 5
        if not (isinstance(pid, tuple) and len(pid) == n):
            raise UnsafeFileError(f"{self.path}: persistent id {pid!r:.80} is not a {n}-tuple")
        kind, dtype, key, location, numel = pid[:5]
        kind = kind.decode("ascii") if isinstance(kind, bytes) else kind
        if kind != "storage":
            raise UnsafeFileError(f"{self.path}: persistent id kind {kind!r:.40} is not 'storage'")
        storage_classes = [*_STORAGE_CLASSES, "UntypedStorage"]
        if not (isinstance(dtype, _DType) and dtype.torch_name in storage_classes):
            raise UnsafeFileError(f"{self.path}: persistent id has no storage type: {dtype!r:.60}")
        if not (isinstance(key, str) and isinstance(location, (str, bytes))
                and type(numel) is int and numel >= 0):
            raise UnsafeFileError(f"{self.path}: malformed persistent id {pid!r:.80}")
        itemsize = np.dtype(_NUMPY_OF[dtype.numpy_name]).itemsize
        if not self.legacy or pid[5] is None:
            self.root_itemsize[key] = itemsize
            return _Storage(key, dtype, numel * itemsize)
        view = pid[5]  # (view_key, offset, numel), both counted in elements
        if not (isinstance(view, tuple) and len(view) == 3
                and all(type(v) is int and v >= 0 for v in view[1:])):
            raise UnsafeFileError(f"{self.path}: malformed view metadata {view!r:.80}")
        self.root_itemsize[key] = itemsize
        return _Storage(key, dtype, view[2] * itemsize, view[1] * itemsize)


def _unpickle(unpickler):
    """Run ``unpickler.load()``, turning any parse failure into WeightFileError."""
    try:
        return unpickler.load()
    except WeightFileError:
        raise
    except Exception as err:  # EOFError, UnpicklingError, TypeError from bad args...
        raise WeightFileError(f"{unpickler.path}: corrupt or truncated pickle "
                              f"({type(err).__name__}: {err})") from err


def _to_array(t, data, byteorder, path, name):
    """Cut tensor ``t`` out of its storage bytes ``data``: a C-contiguous copy.

    Element ``[i0, i1, ...]`` sits at ``offset + sum(i_k * stride_k)`` of the
    storage, so ``as_strided`` with byte strides ``stride_k * itemsize`` is
    exactly the tensor; ``.copy()`` makes it an independent array.
    """
    ok = (type(t.offset) is int and t.offset >= 0 and len(t.size) == len(t.stride)
          and all(type(v) is int and v >= 0 for v in t.size + t.stride))
    if not ok:
        raise WeightFileError(f"{path}: tensor '{name}' has an invalid size/stride/offset")
    dtype = np.dtype(_NUMPY_OF[t.dtype.numpy_name]).newbyteorder(byteorder)
    n_elems = len(data) // dtype.itemsize
    if 0 in t.size:
        flat = np.zeros(t.size, dtype)
    else:
        last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride))
        if last >= n_elems:
            raise WeightFileError(
                f"{path}: storage '{t.storage.key}' of tensor '{name}' is too short: "
                f"size {t.size}, stride {t.stride}, offset {t.offset} need "
                f"{last + 1} elements, it holds {n_elems}")
        flat = np.frombuffer(data, dtype, count=n_elems)[t.offset:]
        flat = np.lib.stride_tricks.as_strided(
            flat, t.size, [s * dtype.itemsize for s in t.stride], writeable=False)
    arr = np.array(flat, dtype=dtype.newbyteorder("="), order="C")
    if t.dtype.numpy_name == "bfloat16":  # bf16 = the top 16 bits of a float32
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def _materialize(obj, storages, byteorder, path):
    """Turn the unpickled dict of placeholders into ``{name: ndarray}``.

    ``storages(keys)`` yields ``(key, bytes)`` once per storage, so each one is
    read once, shared by all the tensors that view it, then let go.
    """
    if not isinstance(obj, dict):
        raise WeightFileError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    by_key = collections.defaultdict(list)
    for name, t in obj.items():
        if not isinstance(name, str) or not isinstance(t, _Tensor):
            raise WeightFileError(f"{path}: entry {name!r:.60} holds {type(t).__name__}, "
                                  "not a tensor; expected a plain state dict")
        by_key[t.storage.key].append(name)
    arrays = {}
    for key, data in storages(sorted(by_key)):
        for name in by_key.pop(key, []):
            s = obj[name].storage
            view = data[s.byte_offset:s.byte_offset + s.nbytes]
            if len(view) < s.nbytes:
                raise WeightFileError(f"{path}: storage '{key}' is too short: "
                                      f"{len(view)} of {s.nbytes} bytes")
            arrays[name] = _to_array(obj[name], view, byteorder, path, name)
    if by_key:
        raise WeightFileError(f"{path}: storage(s) {sorted(by_key)} missing from the file")
    return collections.OrderedDict((name, arrays[name]) for name in obj)


def _read_zip(path):
    """The zip container: ``<archive>/data.pkl`` + ``<archive>/data/<key>``."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise WeightFileError(f"{path}: truncated or corrupt zip archive ({err})") from err
    with zf:
        pkls = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise WeightFileError(f"{path}: zip archive has no single '<archive>/data.pkl'")
        archive = pkls[0][:-len("/data.pkl")]

        def record(name):
            try:
                return zf.read(f"{archive}/{name}")
            except KeyError:
                raise WeightFileError(f"{path}: storage record '{archive}/{name}' "
                                      "is missing from the archive") from None
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                raise WeightFileError(f"{path}: record '{name}' is corrupt ({err})") from err

        with zf.open(pkls[0]) as f:
            obj = _unpickle(_RestrictedUnpickler(f, path))
        order = "little"
        if f"{archive}/byteorder" in zf.namelist():
            order = record("byteorder").decode("ascii", "replace")
        if order not in ("little", "big"):
            raise WeightFileError(f"{path}: unknown byteorder {order!r:.20}")
        storages = lambda keys: ((k, record(f"data/{k}")) for k in keys)  # noqa: E731
        return _materialize(obj, storages, "<" if order == "little" else ">", path)


def _read_legacy(path):
    """The legacy stream: magic, protocol, sys_info, state dict, keys, bytes."""
    with open(path, "rb") as f:
        def load():  # the next pickle in the stream, read through the allow-list
            return _unpickle(_RestrictedUnpickler(f, path))

        starts_like_pickle = f.read(1) == b"\x80"  # the PROTO opcode
        f.seek(0)
        if not starts_like_pickle or load() != _MAGIC:
            raise WeightFileError(f"{path}: not a PyTorch file (neither a zip archive "
                                  "nor a legacy stream with the magic number)")
        if load() != _LEGACY_PROTOCOL:
            raise WeightFileError(f"{path}: unknown legacy protocol version")
        sys_info = load()
        little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
        order = "<" if little else ">"
        unpickler = _RestrictedUnpickler(f, path, legacy=True)
        obj = _unpickle(unpickler)
        keys = load()
        if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
            raise WeightFileError(f"{path}: storage key list is malformed")

        def storages(_):  # each record: int64 element count, then the raw bytes
            for key in keys:
                head = f.read(8)
                if key not in unpickler.root_itemsize or len(head) < 8:
                    raise WeightFileError(f"{path}: truncated or unknown storage '{key}'")
                nbytes = struct.unpack(order + "q", head)[0] * unpickler.root_itemsize[key]
                data = f.read(max(nbytes, 0))
                if nbytes < 0 or len(data) < nbytes:
                    raise WeightFileError(f"{path}: truncated at storage '{key}'")
                yield key, data

        return _materialize(obj, storages, order, path)


def read_state_dict(path):
    """Read a ``torch.save``d state dict (zip or legacy) as NumPy arrays.

    Args:
        path: a ``.pth``/``.pt`` file written by ``torch.save(state_dict, path)``.

    Returns:
        OrderedDict ``name -> np.ndarray``, in the file's order: C-contiguous
        copies in the saved dtype (bfloat16 widened to float32), e.g.
        ``"features.0.weight": (F, C, KH, KW) float32``.

    Raises:
        FileNotFoundError: no such file.
        UnsafeFileError: the pickle asks for a global outside the allow-list.
        WeightFileError: empty, truncated, corrupt or not a PyTorch file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such weight file: {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise WeightFileError(f"{path}: file is empty")
    if head == b"PK\x03\x04":
        return _read_zip(path)
    return _read_legacy(path)


def _torchvision_layout(arch):
    """torchvision module prefix -> engine layer name, in network order.

    ``features`` alternates conv, ReLU (+ a pool after each block), so in
    VGG16 the convs sit at 0, 2, (pool 4) 5, 7, (pool 9) 10, 12, 14, ... 28.
    """
    if arch == "alexnet":
        convs = dict(zip((0, 3, 6, 8, 10), ("conv1", "conv2", "conv3", "conv4", "conv5")))
        fcs = (1, 4, 6)  # classifier = Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear
    elif arch in ("vgg16", "vgg19"):
        convs, i = {}, 0
        for block, n in enumerate((2, 2, 3, 3, 3) if arch == "vgg16" else (2, 2, 4, 4, 4), 1):
            for j in range(1, n + 1):
                convs[i], i = f"conv{block}_{j}", i + 2
            i += 1  # the max-pool closing the block
        fcs = (0, 3, 6)  # classifier = Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
    else:
        raise ValueError(f"arch must be 'alexnet', 'vgg16' or 'vgg19', not {arch!r}")
    layout = {f"features.{i}": name for i, name in convs.items()}
    layout.update({f"classifier.{i}": f"fc{k}" for k, i in enumerate(fcs, 6)})
    return layout


def torchvision_to_engine(state_dict, arch):
    """Rename a torchvision AlexNet/VGG state dict to the engine's arrays.

    PyTorch already stores conv weights as OIHW ``(F, C, KH, KW)`` and linear
    weights as ``(out, in)``, the engine's layout, so only names change:
    ``features.0.weight -> conv1_1.W``, ``classifier.6.bias -> fc8.b``.

    Args:
        state_dict: ``name -> array`` as from :func:`read_state_dict`.
        arch: ``"alexnet"``, ``"vgg16"`` or ``"vgg19"``.

    Returns:
        dict ``"<layer>.W"``/``"<layer>.b" -> np.ndarray`` in network order;
        float16 is cast to float32.

    Raises:
        ValueError: missing or unexpected keys (all listed), or a weight of
            the wrong number of dimensions.
    """
    layout = _torchvision_layout(arch)
    names = {f"{prefix}.{t}": f"{layer}.{e}" for prefix, layer in layout.items()
             for t, e in (("weight", "W"), ("bias", "b"))}
    missing, extra = sorted(set(names) - set(state_dict)), sorted(set(state_dict) - set(names))
    if missing or extra:
        raise ValueError(f"torchvision {arch} state dict: missing {missing}, unexpected {extra}")
    out = {}
    for key, name in names.items():
        a = np.asarray(state_dict[key])
        ndim = 1 if name.endswith(".b") else 4 if name.startswith("conv") else 2
        if a.ndim != ndim:
            raise ValueError(f"{key} -> {name}: expected {ndim}-D, got shape {a.shape}")
        out[name] = np.ascontiguousarray(a, np.float32 if a.dtype == np.float16 else a.dtype)
    return out
