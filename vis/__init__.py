"""The visualization methods, on top of the minicnn engine (``vis -> minicnn``)."""
