"""numpyml: the product's own pure-numpy machine-learning library (no Django, no scikit-learn)."""

__version__ = "0.1.0"
