"""vis/draw.py: titled pictures and the colour scales under the panels they describe."""

import numpy as np
from PIL import ImageFont

from vis import draw


def strip_of(picture):
    return picture[-draw.SCALE_HEIGHT:]


def coloured(columns):
    """Columns of a strip where a colour ramp is drawn (not white, not black text)."""
    spread = columns.astype(int).max(axis=2) - columns.astype(int).min(axis=2)
    return (spread > 60).any(axis=0)


def test_each_scale_sits_under_its_own_panel_and_nowhere_else():
    panels = draw.side_by_side([np.full((3, 64, 64), 0.5)] * 3)     # 3 x 64 px, 4 px apart
    spans = draw.panel_spans(3, 64)
    picture = draw.titled(panels, "t", [draw.Scale("jet", "min", "max", "overlay", spans[2])],
                          min_width=0)
    jet = coloured(strip_of(picture))
    assert not jet[:spans[2][0]].any()                   # nothing under the first two panels
    assert jet[spans[2][0] + 4:spans[2][1] - 4].all()    # a ramp under the third one


def test_spans_follow_the_zoom_that_makes_small_pictures_readable():
    panels = draw.side_by_side([np.zeros((3, 8, 8))] * 2, pad=2)      # 18 px wide
    spans = draw.panel_spans(2, 8, pad=2)
    picture = draw.titled(panels, "t", [draw.Scale("jet", "a", "b", "", spans[1])])
    factor = picture.shape[1] // 18                                     # min_width 256
    jet = coloured(strip_of(picture))
    assert factor > 1 and not jet[:spans[1][0] * factor].any() and jet[spans[1][0] * factor + 4]


def test_a_plain_tuple_is_one_scale_across_the_whole_width():
    picture = draw.titled(np.zeros((3, 8, 300)), "t", ("gray", "low", "high"))
    assert picture.shape[0] == 6 + 16 + 8 + draw.SCALE_HEIGHT
    assert draw.titled(np.zeros((3, 8, 300)), "t").shape[0] == 6 + 16 + 8


def test_the_map_figures_labels_fit_a_224_px_panel():
    from vis.tour.panels import localization_scales, raw_scale
    font = ImageFont.load_default(size=13)
    labelled = [raw_scale(type("E", (), {"attribution": a, "signed": s})(), (0, 224))
                for a, s in ((np.zeros(1), False), (None, True), (None, False))]
    labelled += localization_scales([(0, 224)] * 3)
    labelled += [draw.Scale("jet", "min", "99th pct", "overlay")]
    assert all(draw.label_fits(s, 224 - 8, font) for s in labelled)
