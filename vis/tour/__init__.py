"""``minicnn tour``: every method of the registry on a few images, as one HTML page.

==============  ==================================================================
``run.py``      ``run_tour``: the folder, its lock, nothing half-written
``gallery.py``  the sections, built from ``vis.registry``; the localization table
``photo.py``    a real photo through a real network: units under the three rules
``panels.py``   the pictures of one explanation (also used by the subcommands)
``page.py``     the HTML page, its legend and the tables
==============  ==================================================================
"""

from .run import run_tour

__all__ = ["run_tour"]
