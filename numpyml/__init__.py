"""numpyml: the product's own pure-numpy machine-learning library.

numpy is its only runtime dependency; it never imports Django or scikit-learn. It follows
scikit-learn's names and conventions (fit/predict, get_params/set_params, attributes
ending in `_`) and saves models without pickle (`save`/`load`).
"""

__version__ = "0.1.0"

from numpyml.exceptions import ConvergenceWarning, ModelFormatError, NotFittedError
from numpyml.persistence import load, save

__all__ = ["ConvergenceWarning", "ModelFormatError", "NotFittedError", "load", "save"]
