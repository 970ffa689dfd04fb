"""Exceptions and warnings raised by numpyml."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before `fit`."""


class ModelFormatError(ValueError):
    """Bytes given to `numpyml.load` are not a valid, untampered numpyml file."""


class ModelSizeError(ModelFormatError):
    """A numpyml file would take more memory than `numpyml.load`'s `max_bytes`; `size` is
    what its arrays would take."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at `max_iter` before meeting its tolerance."""
