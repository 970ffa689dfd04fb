"""DecisionTreeClassifier and DecisionTreeRegressor against scikit-learn as the oracle."""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import pytest
import sklearn.tree as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split

import numpyml
from numpyml.exceptions import NotFittedError
from numpyml.tree import DecisionTreeClassifier, DecisionTreeRegressor

CLASSIFICATION_SETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


def _split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = CLASSIFICATION_SETS[name](return_X_y=True)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0, stratify=y))


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0))


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


def _r2(y: np.ndarray, prediction: np.ndarray) -> float:
    return 1.0 - ((y - prediction) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def _breadth_first(tree: object) -> np.ndarray:
    """scikit-learn's node ids (depth-first) listed in breadth-first order, like ours."""
    queue, order = deque([0]), []
    while queue:
        node = queue.popleft()
        order.append(node)
        if tree.children_left[node] != -1:
            queue.extend((tree.children_left[node], tree.children_right[node]))
    return np.array(order)


def _assert_same_tree(reference: object, ours: DecisionTreeClassifier) -> None:
    tree = reference.tree_
    order = _breadth_first(tree)
    assert ours.node_count_ == tree.node_count
    assert_array_equal(ours.tree_feature_, tree.feature[order])
    assert_array_equal(ours.tree_n_node_samples_, tree.n_node_samples[order])
    assert_array_equal(ours.tree_children_left_ == -1, tree.children_left[order] == -1)
    assert_allclose(ours.tree_impurity_, tree.impurity[order], rtol=1e-9, atol=1e-9)
    # scikit-learn splits float32 copies of X: thresholds agree to float32 precision.
    assert_allclose(ours.tree_threshold_, tree.threshold[order], rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------
# Quality against scikit-learn


@pytest.mark.parametrize("name", CLASSIFICATION_SETS)
@pytest.mark.parametrize("max_depth", [None, 5])
def test_it_matches_sklearn_test_accuracy_on_bundled_datasets(
    name: str, max_depth: int | None
) -> None:
    X_train, X_test, y_train, y_test = _split(name)
    reference = sk.DecisionTreeClassifier(max_depth=max_depth, random_state=0).fit(X_train, y_train)
    model = DecisionTreeClassifier(max_depth=max_depth, random_state=0).fit(X_train, y_train)
    ours = np.mean(model.predict(X_test) == y_test)
    assert ours >= reference.score(X_test, y_test) - 0.02
    assert abs(model.get_depth() - reference.get_depth()) <= max(2, reference.get_depth() // 4)
    assert abs(model.get_n_leaves() - reference.get_n_leaves()) <= max(
        3, reference.get_n_leaves() // 5
    )


@pytest.mark.parametrize("name", CLASSIFICATION_SETS)
def test_it_fits_distinct_training_rows_perfectly_when_unlimited(name: str) -> None:
    X_train, _, y_train, _ = _split(name)
    _, first = np.unique(X_train, axis=0, return_index=True)
    X_train, y_train = X_train[first], y_train[first]
    model = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    assert_array_equal(model.predict(X_train), y_train)
    leaves = model.tree_children_left_ == -1
    assert_allclose(model.tree_impurity_[leaves], 0.0, atol=1e-12)


def test_regressor_matches_sklearn_r2_on_diabetes(diabetes: tuple) -> None:
    X_train, X_test, y_train, y_test = diabetes
    reference = sk.DecisionTreeRegressor(random_state=0).fit(X_train, y_train)
    model = DecisionTreeRegressor(random_state=0).fit(X_train, y_train)
    assert _r2(y_test, model.predict(X_test)) >= reference.score(X_test, y_test) - 0.02
    assert abs(model.get_depth() - reference.get_depth()) <= 4
    assert abs(model.get_n_leaves() - reference.get_n_leaves()) <= reference.get_n_leaves() // 10
    assert_allclose(model.predict(X_train), y_train)  # unlimited depth interpolates


def test_regressor_with_max_depth_grows_sklearns_tree_on_diabetes(diabetes: tuple) -> None:
    X_train, X_test, y_train, _ = diabetes
    reference = sk.DecisionTreeRegressor(max_depth=3, random_state=0).fit(X_train, y_train)
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X_train, y_train)
    _assert_same_tree(reference, model)
    assert_allclose(model.tree_value_, reference.tree_.value[_breadth_first(reference.tree_), 0, 0])
    # A test row sitting exactly on a threshold may go the other way than in float32.
    assert np.mean(np.isclose(model.predict(X_test), reference.predict(X_test))) > 0.98


def test_regressor_with_max_depth_4_stays_close_to_sklearn_on_diabetes(diabetes: tuple) -> None:
    # Same 16-leaf tree as scikit-learn; one test row lies exactly on a threshold, which
    # scikit-learn's float32 rounding sends the other way, so R^2 differs by ~0.03.
    X_train, X_test, y_train, y_test = diabetes
    reference = sk.DecisionTreeRegressor(max_depth=4, random_state=0).fit(X_train, y_train)
    model = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X_train, y_train)
    assert model.get_n_leaves() == reference.get_n_leaves()
    order = _breadth_first(reference.tree_)
    assert_array_equal(model.tree_n_node_samples_, reference.tree_.n_node_samples[order])
    assert np.mean(model.apply(X_test) == np.argsort(order)[reference.apply(X_test)]) > 0.98
    assert _r2(y_test, model.predict(X_test)) >= reference.score(X_test, y_test) - 0.05


@pytest.mark.parametrize(
    ("name", "criterion"), [("digits", "gini"), ("digits", "entropy"), ("breast_cancer", "entropy")]
)
def test_classifier_with_max_depth_grows_sklearns_tree(name: str, criterion: str) -> None:
    X_train, X_test, y_train, _ = _split(name)
    reference = sk.DecisionTreeClassifier(max_depth=3, criterion=criterion, random_state=0)
    reference.fit(X_train, y_train)
    model = DecisionTreeClassifier(max_depth=3, criterion=criterion, random_state=0)
    model.fit(X_train, y_train)
    _assert_same_tree(reference, model)
    assert_allclose(model.tree_value_, reference.tree_.value[_breadth_first(reference.tree_), 0])
    assert_allclose(model.predict_proba(X_test), reference.predict_proba(X_test))


def test_entropy_and_log_loss_grow_the_same_tree(blobs: tuple) -> None:
    X, y = blobs
    entropy = DecisionTreeClassifier(criterion="entropy", random_state=0).fit(X, y)
    log_loss = DecisionTreeClassifier(criterion="log_loss", random_state=0).fit(X, y)
    assert_array_equal(entropy.tree_feature_, log_loss.tree_feature_)
    assert_array_equal(entropy.tree_threshold_, log_loss.tree_threshold_)


def test_friedman_mse_is_an_alias_of_squared_error(diabetes: tuple) -> None:
    X_train, _, y_train, _ = diabetes
    plain = DecisionTreeRegressor(random_state=0).fit(X_train, y_train)
    friedman = DecisionTreeRegressor(criterion="friedman_mse", random_state=0).fit(X_train, y_train)
    assert_array_equal(plain.tree_threshold_, friedman.tree_threshold_)


def test_multiclass_entropy_matches_sklearn_accuracy(blobs: tuple) -> None:
    X, y = blobs
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    reference = sk.DecisionTreeClassifier(criterion="entropy", random_state=0)
    reference.fit(X_train, y_train)
    model = DecisionTreeClassifier(criterion="entropy", random_state=0).fit(X_train, y_train)
    assert np.mean(model.predict(X_test) == y_test) >= reference.score(X_test, y_test) - 0.05
    assert_array_equal(model.predict(X_train), y_train)


def test_it_matches_sklearn_on_a_larger_synthetic_problem() -> None:
    X, y = make_classification(
        n_samples=6000, n_features=20, n_informative=10, n_redundant=5, random_state=0
    )
    reference = sk.DecisionTreeClassifier(random_state=0).fit(X[:5000], y[:5000])
    model = DecisionTreeClassifier(random_state=0).fit(X[:5000], y[:5000])
    ours = np.mean(model.predict(X[5000:]) == y[5000:])
    assert ours >= reference.score(X[5000:], y[5000:]) - 0.02
    assert abs(model.get_depth() - reference.get_depth()) <= 3
    assert abs(model.get_n_leaves() - reference.get_n_leaves()) <= reference.get_n_leaves() // 10


def test_regressor_matches_sklearn_on_make_regression() -> None:
    X, y = make_regression(
        n_samples=2000, n_features=20, n_informative=10, noise=10.0, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    reference = sk.DecisionTreeRegressor(random_state=0).fit(X_train, y_train)
    model = DecisionTreeRegressor(random_state=0).fit(X_train, y_train)
    assert _r2(y_test, model.predict(X_test)) >= reference.score(X_test, y_test) - 0.02


# --------------------------------------------------------------------------------------
# Fitted attributes


def test_feature_importances_sum_to_one_and_rank_like_sklearn() -> None:
    X_train, _, y_train, _ = _split("breast_cancer")
    reference = sk.DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    model = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    assert_allclose(model.feature_importances_.sum(), 1.0)
    top = np.argsort(-reference.feature_importances_)[:2]
    assert_array_equal(np.argsort(-model.feature_importances_)[:2], top)
    assert_allclose(model.feature_importances_[top], reference.feature_importances_[top], atol=0.01)
    correlation = np.corrcoef(model.feature_importances_, reference.feature_importances_)[0, 1]
    assert correlation > 0.95


def test_feature_importances_are_the_normalised_impurity_decrease(diabetes: tuple) -> None:
    X_train, _, y_train, _ = diabetes
    model = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X_train, y_train)
    left, right = model.tree_children_left_, model.tree_children_right_
    n, impurity = model.tree_n_node_samples_, model.tree_impurity_
    expected = np.zeros(X_train.shape[1])
    for node in np.flatnonzero(left != -1):
        decrease = (
            n[node] * impurity[node]
            - n[left[node]] * impurity[left[node]]
            - n[right[node]] * impurity[right[node]]
        )
        expected[model.tree_feature_[node]] += decrease
    assert_allclose(model.feature_importances_, expected / expected.sum())


def test_flat_arrays_describe_a_consistent_breadth_first_tree(blobs: tuple) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    left, right = model.tree_children_left_, model.tree_children_right_
    internal = left != -1
    assert_array_equal(internal, right != -1)
    assert np.all(left[internal] > np.flatnonzero(internal))  # children come after parents
    assert_array_equal(
        model.tree_n_node_samples_[internal],
        model.tree_n_node_samples_[left[internal]] + model.tree_n_node_samples_[right[internal]],
    )
    assert np.all(model.tree_feature_[~internal] == -2)
    assert np.all(model.tree_feature_[internal] >= 0)
    assert model.tree_n_node_samples_[0] == X.shape[0]
    assert_allclose(model.tree_value_.sum(axis=1), 1.0)
    assert_allclose(model.tree_value_[0], np.bincount(y) / y.shape[0])
    assert model.node_count_ == left.shape[0]
    assert model.get_n_leaves() == np.count_nonzero(~internal)


def test_apply_returns_the_leaf_reached_and_predictions_come_from_it(blobs: tuple) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    leaves = model.apply(X)
    assert np.all(model.tree_children_left_[leaves] == -1)
    assert_array_equal(model.predict_proba(X), model.tree_value_[leaves])
    assert_array_equal(model.predict(X), model.classes_[np.argmax(model.tree_value_[leaves], 1)])
    # The leaf sizes recorded at fit are the counts of training rows reaching them.
    counts = np.bincount(leaves, minlength=model.node_count_)
    assert_array_equal(counts[leaves], model.tree_n_node_samples_[leaves])


def test_single_row_prediction_matches_batch_prediction(blobs: tuple) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    batch = model.predict_proba(X)
    for i in range(0, X.shape[0], 7):
        assert_array_equal(model.predict_proba(X[i : i + 1]), batch[i : i + 1])
        assert model.predict(X[i : i + 1]).shape == (1,)
    regressor = DecisionTreeRegressor(random_state=0).fit(X, X[:, 0] + y)
    rows = np.array([regressor.predict(X[i : i + 1])[0] for i in range(X.shape[0])])
    assert_array_equal(rows, regressor.predict(X))


def test_predict_log_proba_is_the_log_of_predict_proba(blobs: tuple) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    with np.errstate(divide="ignore"):
        assert_array_equal(model.predict_log_proba(X), np.log(proba))


def test_string_labels_are_kept_in_classes_and_predictions() -> None:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = DecisionTreeClassifier(random_state=0).fit(X, names)
    assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert model.n_classes_ == 3
    assert_array_equal(model.predict(X), names)
    assert model.predict(X[:1])[0] == "setosa"


def test_score_is_accuracy_for_the_classifier_and_r2_for_the_regressor(diabetes: tuple) -> None:
    X_train, X_test, y_train, y_test = _split("wine")
    model = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) == pytest.approx(np.mean(model.predict(X_test) == y_test))
    X_train, X_test, y_train, y_test = diabetes
    regressor = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X_train, y_train)
    assert regressor.score(X_test, y_test) == pytest.approx(_r2(y_test, regressor.predict(X_test)))


# --------------------------------------------------------------------------------------
# Hyperparameters


def test_max_depth_bounds_the_depth(blobs: tuple) -> None:
    X, y = blobs
    for depth in (1, 2, 5):
        model = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
        assert model.get_depth() == depth
        assert model.max_depth_ == depth


@pytest.mark.parametrize("min_samples_leaf", [7, 0.05])
def test_min_samples_leaf_is_respected(blobs: tuple, min_samples_leaf: float) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(min_samples_leaf=min_samples_leaf, random_state=0).fit(X, y)
    smallest = int(np.ceil(min_samples_leaf * X.shape[0])) if min_samples_leaf < 1 else 7
    leaves = model.tree_children_left_ == -1
    assert model.tree_n_node_samples_[leaves].min() >= smallest


@pytest.mark.parametrize("min_samples_split", [40, 0.2])
def test_min_samples_split_is_respected(blobs: tuple, min_samples_split: float) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(min_samples_split=min_samples_split, random_state=0)
    model.fit(X, y)
    smallest = int(np.ceil(min_samples_split * X.shape[0])) if min_samples_split < 1 else 40
    internal = model.tree_children_left_ != -1
    assert model.tree_n_node_samples_[internal].min() >= smallest


@pytest.mark.parametrize(
    "params",
    [
        {"min_samples_leaf": 5},
        {"min_samples_split": 20},
        {"min_impurity_decrease": 0.005},
        {"min_impurity_decrease": 0.001, "criterion": "entropy"},
    ],
)
def test_stopping_rules_give_sklearns_tree_size(params: dict) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    reference = sk.DecisionTreeClassifier(random_state=0, **params).fit(X, y)
    model = DecisionTreeClassifier(random_state=0, **params).fit(X, y)
    assert model.get_n_leaves() == reference.get_n_leaves()
    assert model.get_depth() == reference.get_depth()


def test_min_impurity_decrease_keeps_only_worthwhile_splits(diabetes: tuple) -> None:
    X_train, _, y_train, _ = diabetes
    full = DecisionTreeRegressor(random_state=0).fit(X_train, y_train)
    model = DecisionTreeRegressor(min_impurity_decrease=50.0, random_state=0).fit(X_train, y_train)
    assert model.get_n_leaves() < full.get_n_leaves()
    left, right = model.tree_children_left_, model.tree_children_right_
    n, impurity = model.tree_n_node_samples_, model.tree_impurity_
    for node in np.flatnonzero(left != -1):
        decrease = (
            n[node] * impurity[node]
            - n[left[node]] * impurity[left[node]]
            - n[right[node]] * impurity[right[node]]
        ) / n[0]
        assert decrease >= 50.0 - 1e-9


@pytest.mark.parametrize("max_features", ["sqrt", "log2", 2, 0.5])
def test_max_features_samples_features_per_node_reproducibly(
    blobs: tuple, max_features: object
) -> None:
    X, y = blobs
    first = DecisionTreeClassifier(max_features=max_features, random_state=3).fit(X, y)
    again = DecisionTreeClassifier(max_features=max_features, random_state=3).fit(X, y)
    assert_array_equal(first.tree_feature_, again.tree_feature_)
    assert_array_equal(first.tree_threshold_, again.tree_threshold_)
    assert_array_equal(first.predict(X), y)  # still grows until the leaves are pure
    trees = {
        DecisionTreeClassifier(max_features=max_features, random_state=seed)
        .fit(X, y)
        .tree_feature_.tobytes()
        for seed in range(6)
    }
    assert len(trees) > 1  # the draw depends on the seed


def test_max_features_sqrt_matches_sklearn_accuracy_on_breast_cancer() -> None:
    X_train, X_test, y_train, y_test = _split("breast_cancer")
    ours, theirs = [], []
    for seed in range(5):
        model = DecisionTreeClassifier(max_features="sqrt", random_state=seed).fit(X_train, y_train)
        reference = sk.DecisionTreeClassifier(max_features="sqrt", random_state=seed)
        ours.append(np.mean(model.predict(X_test) == y_test))
        theirs.append(reference.fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.03


def test_same_random_state_gives_the_same_tree(diabetes: tuple) -> None:
    X_train, _, y_train, _ = diabetes
    a = DecisionTreeRegressor(random_state=7).fit(X_train, y_train)
    b = DecisionTreeRegressor(random_state=7).fit(X_train, y_train)
    for name in ("tree_feature_", "tree_threshold_", "tree_value_", "tree_children_left_"):
        assert_array_equal(getattr(a, name), getattr(b, name))


def test_a_generator_random_state_is_accepted(blobs: tuple) -> None:
    X, y = blobs
    model = DecisionTreeClassifier(max_features=2, random_state=np.random.default_rng(0))
    assert_array_equal(model.fit(X, y).predict(X), y)


# --------------------------------------------------------------------------------------
# Edge cases


def test_constant_target_or_features_give_a_single_leaf() -> None:
    X = np.random.default_rng(0).normal(size=(30, 3))
    regressor = DecisionTreeRegressor().fit(X, np.full(30, 2.5))
    assert regressor.get_n_leaves() == 1
    assert regressor.get_depth() == 0
    assert_allclose(regressor.predict(X[:4]), 2.5)
    classifier = DecisionTreeClassifier().fit(np.ones((6, 2)), [0, 1, 0, 1, 1, 1])
    assert classifier.get_n_leaves() == 1
    assert_allclose(classifier.predict_proba(np.zeros((2, 2))), [[1 / 3, 2 / 3]] * 2)
    assert_allclose(classifier.feature_importances_, 0.0)


def test_a_single_sample_regressor_predicts_its_target() -> None:
    model = DecisionTreeRegressor().fit([[1.0, 2.0]], [3.0])
    assert_allclose(model.predict([[0.0, 0.0], [5.0, 5.0]]), 3.0)


def test_values_closer_than_1e_7_are_not_split() -> None:
    X = np.array([[0.0], [1e-9], [1.0], [1.0 + 1e-9]])
    model = DecisionTreeClassifier().fit(X, [0, 1, 0, 1])
    reference = sk.DecisionTreeClassifier().fit(X, [0, 1, 0, 1])
    assert model.get_n_leaves() == reference.get_n_leaves() == 2  # a useless split, as sklearn
    leaves = model.tree_children_left_ == -1
    assert_allclose(model.tree_value_[leaves], 0.5)  # near-equal values stay together


def test_inputs_are_not_modified(diabetes: tuple) -> None:
    X_train, _, y_train, _ = diabetes
    X_copy, y_copy = X_train.copy(), y_train.copy()
    DecisionTreeRegressor(random_state=0).fit(X_train, y_train).predict(X_train)
    assert_array_equal(X_train, X_copy)
    assert_array_equal(y_train, y_copy)


def test_lists_and_named_columns_are_accepted() -> None:
    columns = {"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 0.0]}
    model = DecisionTreeClassifier().fit(columns, ["x", "x", "y", "y"])
    assert_array_equal(model.feature_names_in_, ["a", "b"])
    assert_array_equal(model.predict({"a": [0.5, 2.5], "b": [1.0, 0.0]}), ["x", "y"])
    assert_array_equal(model.predict([[0.5, 1.0]]), ["x"])


def test_fit_reports_progress_once_per_depth(blobs: tuple) -> None:
    X, y = blobs
    events: list[dict] = []
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y, callback=events.append)
    assert [e["iteration"] for e in events] == [1, 2, 3, 4]
    assert all(e["max_iter"] == 4 for e in events)
    losses = [e["loss"] for e in events]
    assert losses == sorted(losses, reverse=True)
    leaves = model.tree_children_left_ == -1
    weighted = model.tree_n_node_samples_[leaves] @ model.tree_impurity_[leaves] / X.shape[0]
    assert losses[-1] == pytest.approx(weighted)


# --------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize("estimator", [DecisionTreeClassifier, DecisionTreeRegressor])
def test_predicting_before_fit_raises_not_fitted(estimator: type) -> None:
    model = estimator()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict(np.zeros((1, 2)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.apply(np.zeros((1, 2)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.get_depth()


def test_predict_proba_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        DecisionTreeClassifier().predict_proba(np.zeros((1, 2)))


@pytest.mark.parametrize("estimator", [DecisionTreeClassifier, DecisionTreeRegressor])
def test_bad_inputs_get_clear_errors(estimator: type) -> None:
    X, y = np.random.default_rng(0).normal(size=(10, 3)), np.array([0, 1] * 5)
    model = estimator().fit(X, y)
    with pytest.raises(ValueError, match=r"X has 2 features, but .* 3 features"):
        model.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        estimator().fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="infinity"):
        estimator().fit(np.where(X > 1, np.inf, X), y)
    with pytest.raises(ValueError, match="must be numeric"):
        estimator().fit([["a", 1.0, 2.0]] * 10, y)
    with pytest.raises(ValueError, match="y has 9 values but X has 10 samples"):
        estimator().fit(X, y[:9])
    with pytest.raises(ValueError, match="2-D"):
        estimator().fit(X[:, 0], y)


def test_classifier_refuses_a_single_class_and_continuous_targets() -> None:
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="at least 2 classes"):
        DecisionTreeClassifier().fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="continuous"):
        DecisionTreeClassifier().fit(X, X[:, 0])


def test_regressor_refuses_non_numeric_targets() -> None:
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(ValueError, match="must be numeric"):
        DecisionTreeRegressor().fit(X, ["a", "b", "c", "d"])


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"criterion": "mse"}, ValueError, "criterion must be one of"),
        ({"max_depth": 0}, ValueError, "max_depth must be >= 1"),
        ({"max_depth": 2.5}, TypeError, "max_depth must be an int"),
        ({"min_samples_split": 1}, ValueError, "min_samples_split must be >= 2"),
        ({"min_samples_split": 1.5}, ValueError, "min_samples_split must be <= 1"),
        ({"min_samples_leaf": 0}, ValueError, "min_samples_leaf must be >= 1"),
        ({"min_samples_leaf": 0.0}, ValueError, "min_samples_leaf must be > 0"),
        ({"min_impurity_decrease": -1.0}, ValueError, "min_impurity_decrease must be >= 0"),
        ({"max_features": "auto"}, ValueError, "max_features must be one of"),
        ({"max_features": 0}, ValueError, "max_features must be >= 1"),
        ({"max_features": 4}, ValueError, "max_features must be <= 3"),
        ({"max_features": 1.5}, ValueError, "max_features must be <= 1"),
        ({"max_features": True}, TypeError, "max_features must be None, an int"),
        ({"random_state": "seed"}, ValueError, "random_state must be"),
    ],
)
def test_bad_hyperparameters_are_refused_at_fit(params: dict, error: type, match: str) -> None:
    X, y = np.random.default_rng(0).normal(size=(10, 3)), np.array([0, 1] * 5)
    model = DecisionTreeClassifier(**params)  # the constructor never validates
    with pytest.raises(error, match=match):
        model.fit(X, y)


def test_regressor_refuses_a_classification_criterion() -> None:
    with pytest.raises(ValueError, match="criterion must be one of"):
        DecisionTreeRegressor(criterion="gini").fit(np.zeros((4, 1)), [1.0, 2.0, 3.0, 4.0])


# --------------------------------------------------------------------------------------
# Parameters and persistence


@pytest.mark.parametrize("estimator", [DecisionTreeClassifier, DecisionTreeRegressor])
def test_params_round_trip(estimator: type) -> None:
    model = estimator(max_depth=3, min_samples_leaf=2, max_features="sqrt", random_state=1)
    params = model.get_params()
    assert params["max_depth"] == 3
    assert params["max_features"] == "sqrt"
    assert set(params) == {
        "criterion",
        "max_depth",
        "min_samples_split",
        "min_samples_leaf",
        "max_features",
        "random_state",
        "min_impurity_decrease",
    }
    clone = estimator(**params)
    assert clone.get_params() == params
    assert model.set_params(max_depth=5) is model
    assert model.max_depth == 5
    assert repr(estimator(max_depth=2)) == f"{estimator.__name__}(max_depth=2)"
    with pytest.raises(ValueError, match="Invalid parameter 'depth'"):
        model.set_params(depth=2)


def test_fit_returns_self(blobs: tuple) -> None:
    X, y = blobs
    model = DecisionTreeClassifier()
    assert model.fit(X, y) is model


@pytest.mark.parametrize("estimator", [DecisionTreeClassifier, DecisionTreeRegressor])
def test_save_load_round_trip_predicts_identically(estimator: type) -> None:
    X, y = load_digits(return_X_y=True)
    target = y if estimator is DecisionTreeClassifier else X[:, 20] * 3.0 + y
    model = estimator(max_features=0.5, random_state=0).fit(X, target)
    loaded = numpyml.load(numpyml.save(model))
    assert type(loaded) is estimator
    assert loaded.get_params() == model.get_params()
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert_array_equal(loaded.predict(X[3:4]), model.predict(X[3:4]))
    assert_array_equal(loaded.apply(X), model.apply(X))
    assert_array_equal(loaded.feature_importances_, model.feature_importances_)
    assert loaded.get_depth() == model.get_depth()
    if estimator is DecisionTreeClassifier:
        assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_an_unfitted_tree_saves_and_loads() -> None:
    loaded = numpyml.load(numpyml.save(DecisionTreeRegressor(max_depth=2)))
    assert loaded.max_depth == 2
    with pytest.raises(NotFittedError):
        loaded.predict(np.zeros((1, 1)))


# --------------------------------------------------------------------------------------
# Decision paths (per-prediction explanations walk them)


@pytest.mark.parametrize("max_depth", [None, 3])
def test_node_path_walks_from_the_root_to_the_leaf_apply_names(
    diabetes: tuple, max_depth: int | None
) -> None:
    X_train, X_test, y_train, _ = diabetes
    model = DecisionTreeRegressor(max_depth=max_depth, random_state=0).fit(X_train, y_train)
    paths = model.node_path(X_test)
    assert paths.shape == (X_test.shape[0], model.get_depth() + 1)
    assert_array_equal(paths[:, 0], 0)
    assert_array_equal(paths[:, -1], model.apply(X_test))
    left, right = model.tree_children_left_, model.tree_children_right_
    for row, path in zip(X_test, paths, strict=True):
        for parent, child in itertools.pairwise(path):
            if left[parent] == -1:  # a leaf repeats itself to the end
                assert child == parent
            else:
                goes_left = row[model.tree_feature_[parent]] <= model.tree_threshold_[parent]
                assert child == (left[parent] if goes_left else right[parent])
    # one row alone walks the same path as in a batch
    assert_array_equal(model.node_path(X_test[3:4]), paths[3:4])
