"""Cartable: Jupyter-based courseware for lycées preparing the baccalauréat."""

__version__ = "0.1.0"
