"""The pictures of one explanation, shared by the tour and the subcommands.

``method_panels`` draws a map method's result as [raw map, overlay];
``localization_panels`` draws Simonyan et al. 2014, Sec. 6 as [image with
boxes, map, segmentation]; ``method_scales`` and ``localization_scales`` give
the colour scale of each panel that has one, placed under that panel
(``vis.draw.Scale``), for the subcommands' PNGs.
"""

from vis import draw
from vis.localization.segmentation import localize
from vis.netinfo import channel_order

#: The colour encodings of the pictures, explained once in the tour's legend.
LEGEND = [
    ("attribution (colour image)", "gray",
     "an attribution of the input's shape shown as an image: grey = 0, each colour "
     "channel's sign and size as its brightness, capped at the 99th percentile"),
    ("map in grey", "gray", "a non-negative map (saliency, Grad-CAM): black = its minimum, "
     "white = its 99th percentile"),
    ("signed map", "bwr", "CAM and occlusion: blue = negative, white = 0, red = positive"),
    ("overlay", "jet", "the map over the image on the jet scale: blue = low, red = high"),
]


def method_panels(image01, e, n, net):
    """[raw map, overlay] for sample ``n`` of Explanation ``e`` (float (3, H, W) each).

    The raw map: an attribution as a colour image (``draw.signed_rgb``), a
    signed map on a diverging scale, a non-negative map in grey, capped at its
    99th percentile (``draw.cap``).
    """
    m = e.map[n] if e.signed else draw.cap(e.map[n])
    if e.attribution is not None:
        raw = draw.signed_rgb(e.attribution[n], channel_order(net))
    elif e.signed:
        raw = draw.diverging(m)
    else:
        raw = draw.grey(m)
    return [raw, draw.heat_overlay(image01, m)]


def raw_scale(e, span):
    """The scale of ``method_panels``' raw map, as ``method_panels`` draws it."""
    if e.attribution is not None:
        return draw.Scale("gray", "-p99 |a|", "+p99 |a|", "map: grey = 0", span)
    if e.signed:
        return draw.Scale("bwr", "-max |m|", "+max |m|", "map: white = 0", span)
    return draw.Scale("gray", "min", "99th pct", "map", span)


def method_scales(e, spans):
    """[raw map scale, overlay scale] for the panels [input, raw map, overlay] at ``spans``."""
    high = "max" if e.signed else "99th pct"
    return [raw_scale(e, spans[1]), draw.Scale("jet", "min", high, "overlay", spans[2])]


def localization_scales(spans):
    """The scale of ``localization_panels``' map (the middle panel at ``spans``)."""
    return [draw.Scale("gray", "min", "99th pct", "map", spans[1])]


def localization_panels(image01, m, true_box=None, **kwargs):
    """[image with boxes, map, segmentation] for Simonyan et al. 2014, Sec. 6.

    Returns:
        (panels, mask (H, W) bool, box (x0, y0, x1, y1)); the true box is drawn
        green, the predicted box red.
    """
    mask, box = localize(image01, m, **kwargs)
    boxed = image01 if true_box is None else draw.draw_box(image01, true_box, draw.TRUE_BOX)
    boxed = draw.draw_box(boxed, box, draw.PRED_BOX)
    return [boxed, draw.grey(draw.cap(m)), draw.mask_overlay(image01, mask)], mask, box
