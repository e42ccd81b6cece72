"""vis/targets.py: class names and prefixes, the one rule of the API and ``--target``."""

import numpy as np
import pytest

from minicnn import models
from minicnn.data import CLASS_NAMES
from vis.inputs import parse_target
from vis.targets import class_index, injection


@pytest.fixture
def net():
    return models.tiny(width=(4, 8), class_names=list(CLASS_NAMES))


def test_a_full_name_any_case_and_a_unique_prefix_are_the_class(net):
    assert class_index(net, "Star") == CLASS_NAMES.index("star")
    assert class_index(net, "sq") == CLASS_NAMES.index("square")
    assert class_index(net, " tri ") == CLASS_NAMES.index("triangle")


def test_an_ambiguous_prefix_is_refused_listing_every_match_with_its_index(net):
    with pytest.raises(ValueError) as err:
        class_index(net, "c")
    assert str(err.value) == ("class 'c' is ambiguous in tiny: circle (0), cross (4) start "
                              "with it; give more letters or the index")


def test_a_full_name_wins_over_longer_names_it_starts(net):
    net.meta["class_names"] = ["cat", "catamaran", "b", "c", "d", "e", "f", "g"]
    assert class_index(net, "cat") == 0
    with pytest.raises(ValueError, match=r"cat \(0\), catamaran \(1\)"):
        class_index(net, "ca")


def test_the_api_and_the_command_line_share_the_rule(net):
    x = np.zeros((1, 3, 64, 64), np.float32)
    assert parse_target("he", net) == CLASS_NAMES.index("heart")
    _, used = injection(net, x, "he")                      # a method's target= argument
    assert used.tolist() == [CLASS_NAMES.index("heart")]
    for refuse in (lambda: parse_target("c", net), lambda: injection(net, x, "c")):
        with pytest.raises(ValueError, match="ambiguous in tiny: circle"):
            refuse()
    with pytest.raises(ValueError, match="unknown class 'hexagon'"):
        parse_target("hexagon", net)
