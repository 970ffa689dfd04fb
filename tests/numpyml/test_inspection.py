import numpy as np
import pytest
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LinearRegression as SkLinearRegression

from numpyml.inspection import permutation_importance
from numpyml.linear_model import LinearRegression, LogisticRegression


def _regression(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 3 * X[:, 0] + 1 * X[:, 1] + rng.normal(scale=0.1, size=n)  # column 2 is unused
    return X, y


def test_it_agrees_with_scikit_learn_on_average():
    X, y = _regression()
    ours = permutation_importance(LinearRegression().fit(X, y), X, y, n_repeats=30, random_state=0)
    theirs = sk_permutation_importance(
        SkLinearRegression().fit(X, y), X, y, n_repeats=30, random_state=0
    )
    # Different generators shuffle differently: the means agree, not each repeat.
    np.testing.assert_allclose(ours.importances_mean, theirs.importances_mean, atol=0.05)
    assert ours.importances.shape == theirs.importances.shape == (3, 30)
    np.testing.assert_allclose(ours.importances_mean, ours.importances.mean(axis=1))
    np.testing.assert_allclose(ours.importances_std, ours.importances.std(axis=1))


def test_it_gives_exactly_zero_to_a_feature_the_model_ignores():
    X, y = _regression(n=200)
    model = SkLinearRegression().fit(X[:, :2], y)

    class FirstTwo:  # a model that never reads column 2
        def fit(self, X, y):
            return self

        def score(self, X, y):
            return model.score(X[:, :2], y)

    ours = permutation_importance(FirstTwo(), X, y, random_state=1)
    theirs = sk_permutation_importance(
        FirstTwo(), X, y, random_state=1, scoring=lambda e, X, y: e.score(X, y)
    )
    assert ours.importances[2].tolist() == theirs.importances[2].tolist() == [0.0] * 5


def test_it_is_the_same_for_the_same_seed_and_differs_for_another():
    X, y = _regression(n=300)
    model = LinearRegression().fit(X, y)
    first = permutation_importance(model, X, y, random_state=7)
    again = permutation_importance(model, X, y, random_state=7)
    other = permutation_importance(model, X, y, random_state=8)
    assert first.importances.tolist() == again.importances.tolist()
    assert first.importances.tolist() != other.importances.tolist()


def test_it_takes_a_dict_of_columns_and_leaves_it_untouched():
    X, y = _regression(n=300)

    class ByName:
        def __init__(self):
            self.model = LinearRegression().fit(X, y)

        def predict(self, columns):
            return self.model.predict(np.column_stack([columns[k] for k in "abc"]))

    columns = {"a": X[:, 0].copy(), "b": X[:, 1].copy(), "c": X[:, 2].copy()}
    result = permutation_importance(
        ByName(), columns, y, scoring="neg_mean_squared_error", random_state=0
    )
    on_array = permutation_importance(
        ByName().model, X, y, scoring="neg_mean_squared_error", random_state=0
    )
    np.testing.assert_allclose(result.importances, on_array.importances)
    assert result.importances_mean[0] > result.importances_mean[1] > 0
    assert columns["a"].tolist() == X[:, 0].tolist()


def test_it_scores_a_classifier_by_its_accuracy_by_default():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] > 0).astype(int)
    result = permutation_importance(LogisticRegression().fit(X, y), X, y, random_state=0)
    assert result.importances_mean[0] > 0.3
    assert abs(result.importances_mean[1]) < 0.05


def test_it_refuses_bad_arguments():
    X, y = _regression(n=50)
    model = LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="n_repeats"):
        permutation_importance(model, X, y, n_repeats=0)
    with pytest.raises(ValueError, match="scoring"):
        permutation_importance(model, X, y, scoring="nope")
