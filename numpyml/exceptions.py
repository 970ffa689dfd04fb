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


class InputTypeError(TypeError, ValueError):
    """X is not dense numeric data (a sparse matrix, a dict in a cell). A TypeError as in
    numpy and scikit-learn, and a ValueError like every other input numpyml refuses, so
    that callers catching bad input as ValueError still do."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at `max_iter` before meeting its tolerance."""


class DataConversionWarning(UserWarning):
    """The input had another shape or type than expected and was converted (a column
    vector y raveled to 1-D), as scikit-learn warns."""
