"""numpyml.validation: the helpers every estimator validates its input with."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from numpyml import LinearRegression, LogisticRegression, NotFittedError, Pipeline, StandardScaler
from numpyml.exceptions import DataConversionWarning, InputTypeError
from numpyml.validation import check_array, check_is_fitted, is_fitted

X = np.arange(12.0).reshape(6, 2)
y = np.array([0, 1, 0, 1, 0, 1])


def test_it_says_not_fitted_before_fit_and_nothing_after():
    model = LogisticRegression()
    assert not is_fitted(model)
    with pytest.raises(NotFittedError, match="This LogisticRegression instance is not fitted"):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        check_is_fitted(model, "coef_")
    model.fit(X, y)
    assert is_fitted(model)
    check_is_fitted(model)
    check_is_fitted(model, ["coef_", "intercept_"])
    with pytest.raises(NotFittedError):
        check_is_fitted(model, ["coef_", "no_such_"])
    check_is_fitted(model, ["coef_", "no_such_"], all_or_any=any)


def test_it_takes_a_message_and_refuses_what_is_not_an_estimator_instance():
    with pytest.raises(NotFittedError, match=r"^LinearRegression: fit me$"):
        check_is_fitted(LinearRegression(), msg="%(name)s: fit me")
    with pytest.raises(TypeError, match="is a class"):
        check_is_fitted(LinearRegression)
    with pytest.raises(TypeError, match="not an estimator"):
        check_is_fitted(object())


def test_a_pipeline_answers_for_itself():
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe)
    check_is_fitted(pipe.fit(X, y))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "dok", "lil"])
def test_it_refuses_sparse_input_by_name(fmt):
    sparse = sp.csr_array(X).asformat(fmt)
    with pytest.raises(InputTypeError, match="Sparse data was passed for X"):
        check_array(sparse)
    with pytest.raises(ValueError, match="toarray"):
        StandardScaler().fit(sparse)


def test_a_cell_that_is_neither_number_nor_string_is_a_type_error_and_a_value_error():
    cells = X.astype(object)
    cells[1, 0] = {"a": 1}
    with pytest.raises(TypeError, match=r"holds \{'a': 1\} at row 1, column 0"):
        check_array(cells)
    with pytest.raises(ValueError, match="must be a string or a real number, not 'dict'"):
        LinearRegression().fit(cells, y)


def test_a_column_vector_y_is_raveled_with_a_warning():
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        column = LinearRegression().fit(X, y[:, np.newaxis].astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = LinearRegression().fit(X, y.astype(float))
    np.testing.assert_allclose(column.coef_, flat.coef_)


def test_messages_say_what_scikit_learn_says():
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_array(X + 1j)
    with pytest.raises(ValueError, match="Reshape your data"):
        check_array(X[0])
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(6, 0\)\) while a minimum"):
        check_array(X[:, :0])
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        LinearRegression().fit(X, None)
    with pytest.raises(ValueError, match="got only 1 class"):
        LogisticRegression().fit(X, np.zeros(6))
