r"""Images in and out: load, resize, heat-map overlays, grids, PNG files.

This is the *drawing* side of ``vis``; the methods compute arrays and never
call anything here except ``resize_maps`` (computing and drawing are kept
apart).

**Two layouts, one rule.** Float images are RGB ``(3, H, W)`` in [0, 1],
channels first like the network input. ``uint8`` arrays are for display and
files, channels last like Pillow and matplotlib: ``(H, W, 3)`` or ``(H, W)``.
``to_uint8`` goes from the first to the second.

**Bilinear upsampling of heat maps** (``resize_maps``), with half-pixel
centres (PyTorch ``align_corners=False``, OpenCV ``resize``): output pixel
``i`` of ``H`` samples the input at ``(i + 0.5) * h / H - 0.5`` (clamped to
``[0, h - 1]``), linearly between its two neighbours, then the same per
column. It is a matrix on each side: ``out = R_H @ m @ R_W.T``.

**Activation grids** (``tile``) use Chollet's per-map normalisation
(*Deep Learning with Python*, Sec. 5.4.1; the ``+ 1e-5`` is from the 2nd
edition and keeps a constant map at 128 instead of NaN)::

    m = (m - m.mean()) / (m.std() + 1e-5) * 64 + 128
    m = clip(m, 0, 255).astype(uint8)                  # truncates, as Chollet's

**Overlays** (``overlay``): the heat map normalised to [0, 1], coloured by a
matplotlib colormap (``jet``) and blended ``(1 - alpha) * image + alpha *
colour`` with Chollet's ``alpha = 0.4`` (Sec. 5.4.3 adds ``0.4 * heatmap`` to
the image and rescales; the convex blend stays in [0, 1] without rescaling).

Example:
    >>> import numpy as np
    >>> to_uint8(np.ones((3, 2, 4))).shape
    (2, 4, 3)
    >>> normalize_map(np.array([[1.0, 3.0], [2.0, 5.0]]))
    array([[0.  , 0.5 ],
           [0.25, 1.  ]])
"""

import math
import os
import warnings

import numpy as np
from PIL import Image

from minicnn.backend import asnumpy, get_array_module
from minicnn.files import atomic_write


class DarkImageWarning(UserWarning):
    """A 16-bit image whose values all fit in 8 bits: read as it is, it looks almost black."""


def load_image(path, size=None):
    """Read any image Pillow can open as RGB float32 ``(3, H, W)`` in [0, 1].

    Greyscale, RGBA (alpha dropped, as Keras' ``load_img`` does), palette,
    CMYK and 16-bit images are converted with a warning saying so: an 8- or
    16-bit file Pillow can read is never refused, and never rescaled behind
    the user's back. A 16-bit image is divided by 65535; if its largest value is at most
    255 (8-bit data saved as 16-bit, a common export slip) the result is
    almost black, and the warning (a :class:`DarkImageWarning`) says that
    instead of the plain conversion note.

    Args:
        path: file name.
        size: None (as stored), an int S (an S x S model input) or ``(H, W)``:
            the image is scaled so it covers the size (keeping its aspect
            ratio) and the centre is cropped (:func:`fit`), so the result is
            exactly ``(3, H, W)``.

    Raises:
        ValueError: the file is not an image, or a 32-bit integer image with
            values outside 0 .. 65535 (the message names it).
        FileNotFoundError: no such file (the message names it).

    Example:
        >>> import os, matplotlib.cbook
        >>> path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        >>> load_image(path, size=64).shape                # 600x512 photo: scaled, cropped
        (3, 64, 64)
    """
    try:
        with Image.open(path) as img:
            img.load()
            mode, fmt, dark = img.mode, img.format or "image", False
            alpha = "A" in mode or "transparency" in img.info
            if mode == "RGB":
                arr = np.asarray(img, dtype=np.float32) / 255.0
            elif mode in ("I", "I;16", "I;16B", "I;16L"):        # 16-bit greyscale
                arr, dark = _sixteen_bit(np.asarray(img), path, fmt)
            else:
                arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not an image file") from None
    except (OSError, SyntaxError) as e:      # UnidentifiedImageError is an OSError
        raise ValueError(f"{path}: not an image Pillow can read ({e})") from None
    if mode != "RGB" and not dark:                  # a dark one was warned about already
        lost = " (transparency dropped)" if alpha else ""
        warnings.warn(f"{path}: converted {mode} image to RGB{lost}", stacklevel=2)
    image = np.ascontiguousarray(arr.transpose(2, 0, 1))
    return image if size is None else fit(image, size)


def _sixteen_bit(values, path, fmt):
    """16-bit greyscale (H, W) -> (RGB (H, W, 3) in [0, 1], values / 65535; dark).

    ``dark``: every value is at most 255, and a :class:`DarkImageWarning` said
    so. Values outside 0 .. 65535 (a 32-bit integer image, mode "I") are refused.
    """
    lo, hi = int(values.min()), int(values.max())
    if lo < 0 or hi > 65535:
        raise ValueError(f"{path}: 32-bit integer image with values in [{lo}, {hi}]; "
                         "minicnn reads 8- and 16-bit images: save it as one of them")
    if hi <= 255:
        warnings.warn(f"{path}: 16-bit {fmt} whose largest value is {hi} of 65535; it will "
                      "look almost black (was it 8-bit data saved as 16-bit?)",
                      DarkImageWarning, stacklevel=3)
    grey = values.astype(np.float32) / 65535.0
    return np.repeat(grey[:, :, None], 3, axis=2), hi <= 255


def resize(image01, size):
    """Resize ``(3, H, W)`` with Pillow's bilinear filter (antialiased when shrinking).

    Args:
        size: an int for the shorter side (torchvision ``Resize(256)``) or ``(H, W)``.

    Returns:
        (3, H', W') float32.
    """
    C, H, W = image01.shape
    if isinstance(size, int):
        s = size / min(H, W)
        size = (max(1, round(H * s)), max(1, round(W * s)))
    Ho, Wo = size
    chans = [np.asarray(Image.fromarray(np.asarray(c, np.float32)).resize(
        (Wo, Ho), Image.BILINEAR)) for c in image01]
    return np.stack(chans).astype(np.float32)


def fit(image01, size):
    """Scale ``(3, H, W)`` so it covers ``size`` (aspect kept), then crop the centre.

    Args:
        size: an int S (S x S) or ``(H', W')``.

    Returns:
        (3, H', W') float32: torchvision's ``Resize`` + ``CenterCrop``, for any aspect.
    """
    Ho, Wo = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    H, W = image01.shape[1:]
    s = max(Ho / H, Wo / W)                      # the smallest scale that covers (Ho, Wo)
    scaled = resize(image01, (max(Ho, round(H * s)), max(Wo, round(W * s))))
    return center_crop(scaled, (Ho, Wo))


def center_crop(image01, size):
    """The central ``(H', W')`` (or ``size x size``) window of ``(C, H, W)``."""
    Ho, Wo = (size, size) if isinstance(size, int) else size
    H, W = image01.shape[-2:]
    if Ho > H or Wo > W:
        raise ValueError(f"crop {Ho}x{Wo} larger than the image {H}x{W}")
    top, left = (H - Ho) // 2, (W - Wo) // 2
    return image01[..., top:top + Ho, left:left + Wo]


def _interp_matrix(n_in, n_out):
    """(n_out, n_in) bilinear weights, half-pixel centres (align_corners=False)."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = src - i0
    R = np.zeros((n_out, n_in))
    np.add.at(R, (np.arange(n_out), i0), 1 - t)
    np.add.at(R, (np.arange(n_out), i1), t)
    return R


def resize_maps(maps, size):
    """Bilinear resize of ``(..., h, w)`` maps to ``(..., H, W)`` (NumPy or CuPy).

    Equals ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``.
    """
    xp = get_array_module(maps)
    H, W = size
    h, w = maps.shape[-2:]
    dtype = maps.dtype if maps.dtype.kind == "f" else np.float32
    Rh = xp.asarray(_interp_matrix(h, H), dtype=dtype)
    Rw = xp.asarray(_interp_matrix(w, W), dtype=dtype)
    return Rh @ maps.astype(dtype, copy=False) @ Rw.T


def normalize_map(m, clip_percentile=None):
    """Scale a heat map, or each map of ``(N, H, W)``, to [0, 1].

    Args:
        m: (H, W) or (N, H, W).
        clip_percentile: cap values above this percentile first (Smilkov et
            al. 2017 use 99).

    Returns:
        Same shape, float; a constant map (up to float32 rounding) gives zeros.
    """
    m = np.asarray(m, dtype=np.float64)
    if not np.isfinite(m).all():
        raise ValueError("heat map contains NaN or inf")
    axes = (-2, -1)
    lo = m.min(axis=axes, keepdims=True)
    if clip_percentile is None:
        hi = m.max(axis=axes, keepdims=True)
    else:
        hi = np.percentile(m, clip_percentile, axis=axes, keepdims=True)
    span = hi - lo
    flat = span <= np.finfo(np.float32).eps * np.maximum(np.abs(lo), np.abs(hi))
    out = np.zeros_like(m)
    np.divide(np.minimum(m, hi) - lo, span, out=out, where=~flat)
    return out


def check_rgb01(image01, name="image01"):
    """An RGB image as float in [0, 1], or one clear error: never a silent rescale.

    Integer arrays are computed in floating point (0 and 1 stay 0 and 1); any
    value outside [0, 1] is refused, naming the range found, so a 0-255 photo
    is not drawn twice as bright.

    Raises:
        ValueError: values outside [0, 1] (beyond rounding, 1e-3).
    """
    a = np.asarray(asnumpy(image01))
    a = a.astype(np.float64) if a.dtype.kind in "iub" else a
    lo, hi = float(a.min(initial=0)), float(a.max(initial=0))
    if lo < -1e-3 or hi > 1 + 1e-3:
        hint = ": divide a 0-255 image by 255" if hi > 1.5 else ""
        raise ValueError(f"{name} must be RGB in [0, 1]; its values lie in [{lo:g}, {hi:g}]"
                         f"{hint}")
    return a


def overlay(image01, heatmap, alpha=0.4, cmap="jet"):
    """A heat map over an image: ``(1 - alpha) * image + alpha * cmap(map)``.

    Args:
        image01: (3, H, W) RGB in [0, 1].
        heatmap: (h, w), any range; normalised, and resized bilinearly to (H, W).

    Returns:
        (3, H, W) float in [0, 1].
    """
    import matplotlib
    image01 = check_rgb01(image01)
    H, W = image01.shape[1:]
    heat = normalize_map(heatmap)
    if heat.shape != (H, W):
        heat = np.clip(resize_maps(heat, (H, W)), 0, 1)
    colour = matplotlib.colormaps[cmap](heat)[..., :3].transpose(2, 0, 1)
    return np.clip((1 - alpha) * image01 + alpha * colour, 0, 1)


def chollet_normalize(m):
    """One map -> uint8 by Chollet's formula (module docstring)."""
    m = np.asarray(m, dtype=np.float64)
    m = (m - m.mean()) / (m.std() + 1e-5) * 64 + 128
    return np.clip(m, 0, 255).astype(np.uint8)


def tile(maps, ncols=None, pad=1, normalize=True):
    """Lay K maps out in a grid, ``pad`` black pixels apart; unused cells are white.

    Args:
        maps: (K, h, w) (e.g. one sample's activations) or (K, 3, h, w) (RGB).
        ncols: columns (default ``ceil(sqrt(K))``).
        normalize: Chollet's per-map normalisation; False: float maps
            already in [0, 1].

    Returns:
        uint8 grid (rows*h + (rows-1)*pad, ncols*w + (ncols-1)*pad), plus a
        trailing 3 for RGB maps.
    """
    maps = asnumpy(maps)
    K, h, w = maps.shape[0], maps.shape[-2], maps.shape[-1]
    ncols = ncols or math.ceil(math.sqrt(K))
    nrows = math.ceil(K / ncols)
    rgb = maps.ndim == 4
    grid = np.zeros((nrows * h + (nrows - 1) * pad, ncols * w + (ncols - 1) * pad)
                    + ((3,) if rgb else ()), dtype=np.uint8)
    for k in range(K):
        r, c = divmod(k, ncols)
        m = chollet_normalize(maps[k]) if normalize else to_uint8(maps[k])
        if rgb and normalize:
            m = m.transpose(1, 2, 0)                               # to channels-last
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = m
    for k in range(K, nrows * ncols):                  # unused cells: white, not a dead map
        r, c = divmod(k, ncols)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = 255
    return grid


def to_uint8(image):
    """Float ``(3, H, W)`` or ``(H, W)`` in [0, 1] -> uint8 ``(H, W, 3)`` or ``(H, W)``.

    uint8 input is returned unchanged (it is already channels-last). A float
    image outside [0, 1] is refused (``check_rgb01``), never rescaled.
    """
    a = asnumpy(image)
    if a.dtype == np.uint8:
        return a
    a = check_rgb01(a, "image")
    if a.ndim == 3:
        if a.shape[0] != 3:
            raise ValueError(f"expected a float image (3, H, W), got shape {a.shape}")
        a = a.transpose(1, 2, 0)
    elif a.ndim != 2:
        raise ValueError(f"expected (3, H, W) or (H, W), got shape {a.shape}")
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


def save_png(path, array, force=False):
    """Write a PNG atomically (``minicnn.files.atomic_write``): all or nothing.

    Args:
        path: destination. array: float (3, H, W)/(H, W) in [0, 1], or uint8
            (H, W, 3)/(H, W). force: overwrite an existing file.

    Returns:
        ``path`` (str). Nothing is left behind if anything fails.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
        FileNotFoundError / PermissionError: the folder is missing / not writable.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save {path}: folder {folder} does not exist")
    img = Image.fromarray(to_uint8(array))
    try:
        atomic_write(path, lambda f: img.save(f, format="PNG"), force=force)
    except PermissionError as e:
        raise PermissionError(f"cannot save {path}: folder {folder} is not writable "
                              f"({e.strerror})") from None
    return path
