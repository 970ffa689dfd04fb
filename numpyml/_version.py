"""numpyml's version, in a module of its own so that `persistence` can read it without
importing the package `__init__` (which imports `persistence`)."""

__version__ = "0.1.0"
