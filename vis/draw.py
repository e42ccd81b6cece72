r"""Small drawing helpers for the command line and the tour: maps to pictures, panels, boxes.

``vis/image.py`` holds the general drawing code (load, overlay, tile, save);
this file adds the few pictures that the ``minicnn`` subcommands and the tour
put side by side. Nothing here computes a method; everything takes arrays and
returns pictures: float ``(3, H, W)`` in [0, 1] or ``uint8 (H, W, 3)``, the two
layouts of ``vis/image.py``.

**Which map?** A gradient-family method (saliency, deconvnet, guided
backprop, SmoothGrad, integrated gradients, Guided Grad-CAM) returns an
attribution ``a`` of the input's shape (N, C, H, W). One rule turns it into a
map for overlays and localization scores, Simonyan et al. 2014, Sec. 3.1
("the maximum magnitude across all colour channels")::

    M[n, i, j] = max_c |a[n, c, i, j]|                    (attribution_map)

**Three ways to show a map** (each per image, on its own scale):

- ``grey``: a non-negative map (saliency, Grad-CAM) min-max scaled, black =
  lowest, white = highest (Simonyan et al. 2014, Fig. 2).
- ``diverging``: a signed map (CAM, occlusion) on matplotlib's ``bwr`` with 0
  at white, red positive and blue negative, scaled by ``max |m|`` so the two
  signs are comparable.
- ``signed_rgb``: an attribution as a colour image, ``0.5 + 0.5 * a / s``
  clipped to [0, 1] (0 is mid-grey), channels put back into RGB order for BGR
  (Caffe) models — the way Springenberg et al. 2015 (Fig. 3) show guided
  backprop.

Gradients are spiky: a few pixels would take the whole scale and leave the
rest black (or grey). So the scale ``s`` of ``signed_rgb`` is the 99th
percentile of ``|a|``, and ``cap`` clips a non-negative map at its 99th
percentile before it is drawn, as Smilkov et al. 2017 (Sec. 3) do for their
figures. This is display only: the localization scores use the raw maps.

Example:
    >>> import numpy as np
    >>> a = np.zeros((1, 3, 2, 2)); a[0, 1, 0, 1] = -4.0; a[0, 0, 1, 1] = 2.0
    >>> attribution_map(a)[0]
    array([[0., 4.],
           [0., 2.]])
    >>> side_by_side([np.zeros((3, 2, 2)), np.ones((3, 2, 2))], pad=1).shape
    (2, 5, 3)
"""

from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy

from .image import normalize_map, overlay, resize_maps, to_uint8

#: Colours (RGB in [0, 1]) of the boxes: the true box and the predicted one.
TRUE_BOX = (0.0, 0.9, 0.0)
PRED_BOX = (1.0, 0.1, 0.1)


def attribution_map(attribution):
    """``max_c |a|``: (N, C, H, W) attribution -> (N, H, W) non-negative map."""
    return np.abs(asnumpy(attribution)).max(axis=1)


def grey(m):
    """A map (h, w) min-max scaled to grey levels -> float RGB (3, h, w)."""
    return np.repeat(normalize_map(asnumpy(m))[None], 3, axis=0)


def diverging(m, cmap="bwr"):
    """A signed map (h, w) -> float RGB (3, h, w); 0 is the colormap's middle (white)."""
    import matplotlib
    m = np.asarray(asnumpy(m), dtype=np.float64)
    top = np.abs(m).max()
    m01 = 0.5 + 0.5 * m / top if top > 0 else np.full_like(m, 0.5)
    return matplotlib.colormaps[cmap](m01)[..., :3].transpose(2, 0, 1)


def cap(m, percentile=99):
    """A map with its values above the ``percentile``-th percentile set to it."""
    m = np.asarray(asnumpy(m), dtype=np.float64)
    return np.minimum(m, np.percentile(m, percentile))


def signed_rgb(attribution, channel_order="RGB", percentile=99):
    """One attribution (C=3, H, W) as a colour image: ``clip(0.5 + 0.5 * a / s, 0, 1)``.

    Args:
        attribution: (3, H, W) in the network's channel order.
        channel_order: ``net.meta["preprocess"]["channel_order"]``; "BGR" is
            flipped to RGB for display.
        percentile: ``s`` is this percentile of ``|a|`` (100: the maximum).

    Returns:
        (3, H, W) float RGB in [0, 1]; an all-zero attribution is flat grey.
    """
    a = np.asarray(asnumpy(attribution), dtype=np.float64)
    if channel_order.upper() == "BGR":
        a = a[::-1]
    s = np.percentile(np.abs(a), percentile)
    if s <= 0:
        s = np.abs(a).max()
    return np.clip(0.5 + 0.5 * a / s, 0, 1) if s > 0 else np.full_like(a, 0.5)


def heat_overlay(image01, m):
    """``vis.image.overlay`` of a map over an image (jet, alpha 0.4); a map of
    another size is resized bilinearly first."""
    return overlay(image01, np.asarray(asnumpy(m), dtype=np.float64))


def upsample(m, size):
    """Bilinear resize of one map (h, w) to ``size`` (H, W) (``image.resize_maps``)."""
    m = np.asarray(asnumpy(m), dtype=np.float64)
    return m if m.shape == tuple(size) else resize_maps(m, size)


def draw_box(image01, box, colour=PRED_BOX, width=1):
    """A copy of an image with a rectangle outline.

    Args:
        image01: (3, H, W) float RGB in [0, 1].
        box: (x0, y0, x1, y1) end exclusive, as ``minicnn.data`` boxes.
        colour: RGB in [0, 1]. width: line width in pixels, drawn inside the box.

    Returns:
        (3, H, W) float; an empty box (x1 <= x0 or y1 <= y0) draws nothing.
    """
    out = np.array(image01, dtype=np.float64, copy=True)
    x0, y0, x1, y1 = (int(v) for v in box)
    H, W = out.shape[1:]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return out
    c = np.asarray(colour, dtype=np.float64)[:, None, None]
    for k in range(width):
        out[:, y0 + k:y0 + k + 1, x0:x1] = c               # top
        out[:, max(y1 - 1 - k, y0):y1 - k, x0:x1] = c      # bottom
        out[:, y0:y1, x0 + k:x0 + k + 1] = c               # left
        out[:, y0:y1, max(x1 - 1 - k, x0):x1 - k] = c      # right
    return out


def mask_overlay(image01, mask, colour=PRED_BOX, alpha=0.5):
    """An image with a boolean mask (H, W) tinted: ``(1 - alpha) * image + alpha * colour``."""
    out = np.array(image01, dtype=np.float64, copy=True)
    c = np.asarray(colour, dtype=np.float64)[:, None]
    out[:, mask] = (1 - alpha) * out[:, mask] + alpha * c
    return out


def zoom(picture, factor):
    """Enlarge a uint8 picture (H, W[, 3]) by pixel repetition (nearest neighbour)."""
    return picture if factor == 1 else picture.repeat(factor, axis=0).repeat(factor, axis=1)


def side_by_side(images, pad=4, factor=1, background=255):
    """Pictures of one height in a row, ``pad`` pixels apart, each enlarged ``factor`` times.

    Args:
        images: float (3, H, W) in [0, 1] or uint8 (H, W, 3), all of the same H.
        pad: gap in pixels (after enlarging), filled with ``background``.
        factor: integer zoom (nearest neighbour).

    Returns:
        uint8 (H * factor, sum of widths * factor + (k - 1) * pad, 3).
    """
    tiles = [zoom(to_uint8(im), factor) for im in images]
    tiles = [np.repeat(t[..., None], 3, axis=2) if t.ndim == 2 else t for t in tiles]
    H = tiles[0].shape[0]
    if any(t.shape[0] != H for t in tiles):
        raise ValueError(f"panels differ in height: {[t.shape[0] for t in tiles]}")
    gap = np.full((H, pad, 3), background, np.uint8)
    row = []
    for t in tiles:
        row += [t, gap]
    return np.concatenate(row[:-1], axis=1)


def auto_zoom(height, target=256):
    """The integer zoom that brings a picture of ``height`` close to ``target`` px (at least 1)."""
    return max(1, target // int(height))


class Scale(NamedTuple):
    """A colour scale drawn under a picture, under the panel(s) it belongs to.

    Attributes:
        cmap: a matplotlib colormap name (``"jet"``, ``"bwr"``, ``"gray"``).
        low, high: the words at its two ends ("min", "99th pct").
        label: what it is the scale of, printed in its middle ("overlay").
        span: ``(x0, x1)``, the columns of the picture it sits under (the
            panel it describes, see :func:`panel_spans`); None: the whole width.
    """
    cmap: str
    low: str
    high: str
    label: str = ""
    span: Optional[tuple] = None


#: Height in pixels of the strip of colour scales under a titled picture.
SCALE_HEIGHT = 30


def panel_spans(n, width, pad=4):
    """``(x0, x1)`` columns of the ``n`` panels of :func:`side_by_side`, each ``width`` px.

    >>> panel_spans(3, 256)
    [(0, 256), (260, 516), (520, 776)]
    """
    return [(k * (width + pad), k * (width + pad) + width) for k in range(n)]


def _scales(scale):
    """None, one scale (a ``Scale`` or a ``(cmap, low, high)`` tuple) or a list -> list."""
    if scale is None:
        return []
    if isinstance(scale, tuple) and isinstance(scale[0], str):
        return [Scale(*scale)]
    return [Scale(*s) for s in scale]


def label_fits(scale, width, font):
    """Whether ``low``, ``label`` and ``high`` fit side by side, 8 px apart, in ``width``."""
    words = (str(scale.low), scale.label, str(scale.high))
    half = max(font.getlength(str(scale.low)), font.getlength(str(scale.high)))
    return font.getlength(scale.label) / 2 + half + 8 <= width / 2 and \
        sum(font.getlength(w) for w in words) + 16 <= width


def _scale_strip(scales, width, factor, font):
    """The strip (SCALE_HEIGHT, width, 3) with each scale's ramp and words under its span."""
    import matplotlib
    from PIL import Image, ImageDraw
    strip = Image.new("RGB", (width, SCALE_HEIGHT), "white")
    pen = ImageDraw.Draw(strip)
    for s in scales:
        x0, x1 = (0, width) if s.span is None else (s.span[0] * factor, s.span[1] * factor)
        x0, x1 = x0 + 4, max(x0 + 12, x1 - 4)
        ramp = matplotlib.colormaps[s.cmap](np.linspace(0, 1, x1 - x0))[:, :3]
        strip.paste(Image.fromarray(np.round(np.tile(ramp[None], (9, 1, 1)) * 255)
                                    .astype(np.uint8)), (x0, 2))
        pen.text((x0, 13), str(s.low), fill="black", font=font, anchor="la")
        pen.text((x1, 13), str(s.high), fill="black", font=font, anchor="ra")
        if s.label and label_fits(s, x1 - x0, font):
            pen.text(((x0 + x1) // 2, 13), s.label, fill="black", font=font, anchor="ma")
    return np.asarray(strip)


def titled(picture, title, scale=None, min_width=256):
    """A picture with a title strip above it and, optionally, colour scales below.

    What a lecturer projects must say what it shows: the strip names the
    method, model, target and layer; each scale says what the colours of the
    panel above it mean, and names that panel, so a figure whose panels use
    different scales (a grey map beside a jet overlay) cannot be misread.

    Args:
        picture: uint8 (H, W, 3) or float (3, H, W) in [0, 1].
        title: one or more lines (``\\n``) of text.
        scale: None, a :class:`Scale` (or a ``(cmap, low, high)`` tuple: the
            whole width), or a list of them, each under its own ``span``.
        min_width: the picture is enlarged (pixel repetition) to at least this
            width, so small images stay readable.

    Returns:
        uint8 (H', W', 3): strip, picture, scales (``SCALE_HEIGHT`` px) stacked
        on a white background.
    """
    from PIL import Image, ImageDraw, ImageFont
    pic = to_uint8(picture)
    pic = np.repeat(pic[..., None], 3, axis=2) if pic.ndim == 2 else pic
    factor = max(1, -(-min_width // pic.shape[1])) if pic.shape[1] < min_width else 1
    pic = zoom(pic, factor)
    font = ImageFont.load_default(size=13)
    lines = str(title).split("\n")
    W = max(pic.shape[1], 8 + int(max(font.getlength(line) for line in lines)))
    pic_width = pic.shape[1]
    pic = np.pad(pic, ((0, 0), (0, W - pic.shape[1]), (0, 0)), constant_values=255)
    strip = Image.new("RGB", (W, 6 + 16 * len(lines)), "white")
    pen = ImageDraw.Draw(strip)
    for k, line in enumerate(lines):
        pen.text((4, 3 + 16 * k), line, fill="black", font=font)
    parts = [np.asarray(strip), pic]
    scales = _scales(scale)
    if scales:
        bar = _scale_strip([s if s.span else s._replace(span=(0, pic_width // factor))
                            for s in scales], W, factor, font)
        parts.append(bar)
    return np.concatenate(parts, axis=0)
