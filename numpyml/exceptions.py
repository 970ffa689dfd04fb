"""Exceptions and warnings raised by numpyml."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before `fit`."""


class ModelFormatError(ValueError):
    """Bytes given to `numpyml.load` are not a valid, untampered numpyml file."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at `max_iter` before meeting its tolerance."""
