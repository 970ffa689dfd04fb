"""GaussianNB and MultinomialNB against scikit-learn as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.naive_bayes as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split

import numpyml
from numpyml.exceptions import NotFittedError
from numpyml.naive_bayes import GaussianNB, MultinomialNB

CLASSIFICATION_SETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


def _split(X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def _raw_split(name: str) -> list[np.ndarray]:
    return _split(*CLASSIFICATION_SETS[name](return_X_y=True))


def synthetic_bow(
    n_docs: int,
    vocab: int,
    n_classes: int,
    mean_len: float,
    concentration: float,
    class_strength: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Word counts: each class mixes a shared and its own Dirichlet word distribution."""
    shared = rng.dirichlet(np.full(vocab, concentration))
    topics = rng.dirichlet(np.full(vocab, concentration), size=n_classes)
    word_probs = (1 - class_strength) * shared + class_strength * topics
    y = rng.integers(0, n_classes, n_docs)
    lengths = rng.poisson(mean_len, n_docs)
    X = np.empty((n_docs, vocab))
    for c in range(n_classes):
        X[y == c] = rng.multinomial(lengths[y == c], word_probs[c])
    return X, y


@pytest.fixture(scope="module")
def bow() -> list[np.ndarray]:
    X, y = synthetic_bow(2000, 300, 4, 40, 0.1, 0.5, np.random.default_rng(0))
    return _split(X, y)


def _assert_same_predictions(ours, theirs, X_test: np.ndarray) -> None:
    assert_array_equal(ours.predict(X_test), theirs.predict(X_test))
    assert_allclose(ours.predict_proba(X_test), theirs.predict_proba(X_test), rtol=0, atol=1e-6)
    assert_allclose(
        ours.predict_log_proba(X_test), theirs.predict_log_proba(X_test), rtol=1e-9, atol=1e-6
    )
    assert_allclose(
        ours.predict_joint_log_proba(X_test),
        theirs.predict_joint_log_proba(X_test),
        rtol=1e-12,
        atol=1e-9,
    )


# --------------------------------------------------------------------------------------
# GaussianNB


@pytest.mark.parametrize("name", list(CLASSIFICATION_SETS))
def test_gaussian_nb_matches_sklearn_on_bundled_datasets(name: str) -> None:
    X_train, X_test, y_train, _ = _raw_split(name)
    ours = GaussianNB().fit(X_train, y_train)
    theirs = sk.GaussianNB().fit(X_train, y_train)

    _assert_same_predictions(ours, theirs, X_test)
    assert_array_equal(ours.classes_, theirs.classes_)
    assert_allclose(ours.theta_, theirs.theta_, rtol=1e-12)
    assert_allclose(ours.var_, theirs.var_, rtol=1e-12)
    assert_allclose(ours.class_prior_, theirs.class_prior_, rtol=1e-12)
    assert_array_equal(ours.class_count_, theirs.class_count_)
    assert ours.epsilon_ == pytest.approx(theirs.epsilon_, rel=1e-12)


def test_gaussian_nb_matches_sklearn_with_priors_and_smoothing() -> None:
    X_train, X_test, y_train, _ = _raw_split("wine")
    params = {"priors": [0.5, 0.3, 0.2], "var_smoothing": 1e-3}
    ours = GaussianNB(**params).fit(X_train, y_train)
    theirs = sk.GaussianNB(**params).fit(X_train, y_train)
    _assert_same_predictions(ours, theirs, X_test)
    assert_allclose(ours.class_prior_, [0.5, 0.3, 0.2])


def test_gaussian_nb_gives_a_zero_prior_class_zero_probability() -> None:
    X_train, X_test, y_train, _ = _raw_split("iris")
    model = GaussianNB(priors=[0.5, 0.5, 0.0]).fit(X_train, y_train)
    assert np.all(model.predict_proba(X_test)[:, 2] == 0)
    assert not np.any(model.predict(X_test) == 2)


def test_gaussian_nb_reaches_reference_accuracy_on_digits() -> None:
    X_train, X_test, y_train, y_test = _raw_split("digits")
    accuracy = np.mean(GaussianNB().fit(X_train, y_train).predict(X_test) == y_test)
    assert accuracy == pytest.approx(0.8356, abs=1e-4)  # REFERENCE.md Table 1a


def test_gaussian_nb_works_with_string_labels() -> None:
    X_train, X_test, y_train, _ = _raw_split("iris")
    names = np.array(["setosa", "versicolor", "virginica"])
    model = GaussianNB().fit(X_train, names[y_train])
    assert_array_equal(model.classes_, names)
    expected = names[GaussianNB().fit(X_train, y_train).predict(X_test)]
    assert_array_equal(model.predict(X_test), expected)


def test_gaussian_nb_refuses_zero_variance_without_smoothing() -> None:
    X = np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 2.0], [2.0, 5.0]])
    with pytest.raises(ValueError, match="constant within class"):
        GaussianNB(var_smoothing=0.0).fit(X, [0, 0, 1, 1])


def test_gaussian_nb_refuses_values_too_large_for_float64() -> None:
    X = np.array([[1e200, 1.0], [-1e200, 2.0], [0.0, 3.0], [1.0, 4.0]])
    with pytest.raises(ValueError, match="variance overflows"):
        GaussianNB().fit(X, [0, 0, 1, 1])
    model = GaussianNB().fit(X[:, 1:], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="Row 1 of X is so far from every class"):
        model.predict([[2.0], [1e300]])
    # Feature 0 is rare in both classes: 1e308 of it overflows every log-likelihood.
    counts = MultinomialNB().fit([[1, 1000], [2, 900], [1, 800], [3, 1000]], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="Row 0 of X is so far from every class"):
        counts.predict_proba([[1e308, 0.0]])


@pytest.mark.parametrize(
    ("priors", "message"),
    [
        ([0.5, 0.5], "priors has 2 values but y has 3 classes"),
        ([0.5, 0.3, 0.3], "priors must sum to 1"),
        ([1.2, -0.1, -0.1], "non-negative"),
        (["a", "b", "c"], "priors must be numbers"),
    ],
)
def test_gaussian_nb_refuses_bad_priors(priors: list, message: str) -> None:
    X_train, _, y_train, _ = _raw_split("iris")
    with pytest.raises(ValueError, match=message):
        GaussianNB(priors=priors).fit(X_train, y_train)


def test_gaussian_nb_refuses_negative_var_smoothing() -> None:
    X_train, _, y_train, _ = _raw_split("iris")
    with pytest.raises(ValueError, match="var_smoothing must be >= 0"):
        GaussianNB(var_smoothing=-1.0).fit(X_train, y_train)


# --------------------------------------------------------------------------------------
# MultinomialNB


def test_multinomial_nb_matches_sklearn_on_digits_counts() -> None:
    X_train, X_test, y_train, y_test = _raw_split("digits")
    ours = MultinomialNB().fit(X_train, y_train)
    theirs = sk.MultinomialNB().fit(X_train, y_train)

    _assert_same_predictions(ours, theirs, X_test)
    assert_array_equal(ours.feature_count_, theirs.feature_count_)
    assert_array_equal(ours.class_count_, theirs.class_count_)
    assert_allclose(ours.feature_log_prob_, theirs.feature_log_prob_, rtol=1e-12)
    assert_allclose(ours.class_log_prior_, theirs.class_log_prior_, rtol=1e-12)
    assert np.mean(ours.predict(X_test) == y_test) == pytest.approx(0.9044, abs=1e-4)


def test_multinomial_nb_matches_sklearn_on_bag_of_words(bow: list[np.ndarray]) -> None:
    X_train, X_test, y_train, _ = bow
    ours = MultinomialNB().fit(X_train, y_train)
    theirs = sk.MultinomialNB().fit(X_train, y_train)
    _assert_same_predictions(ours, theirs, X_test)
    assert_allclose(ours.feature_log_prob_, theirs.feature_log_prob_, rtol=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0.1},
        {"alpha": 2.5, "fit_prior": False},
        {"class_prior": [0.1, 0.2, 0.3, 0.4]},
        {"alpha": np.linspace(0.1, 2.0, 300)},
    ],
    ids=["small-alpha", "uniform-prior", "class-prior", "alpha-per-feature"],
)
def test_multinomial_nb_matches_sklearn_options(bow: list[np.ndarray], params: dict) -> None:
    X_train, X_test, y_train, _ = bow
    ours = MultinomialNB(**params).fit(X_train, y_train)
    theirs = sk.MultinomialNB(**params).fit(X_train, y_train)
    _assert_same_predictions(ours, theirs, X_test)
    assert_allclose(ours.class_log_prior_, theirs.class_log_prior_, rtol=1e-12)


def test_multinomial_nb_raises_tiny_alpha_when_not_forced(bow: list[np.ndarray]) -> None:
    X_train, X_test, y_train, _ = bow
    with pytest.warns(UserWarning, match="alpha too small"):
        ours = MultinomialNB(alpha=0.0, force_alpha=False).fit(X_train, y_train)
    with pytest.warns(UserWarning, match="alpha too small"):
        theirs = sk.MultinomialNB(alpha=0.0, force_alpha=False).fit(X_train, y_train)
    _assert_same_predictions(ours, theirs, X_test)


def test_multinomial_nb_refuses_zero_alpha_that_would_give_minus_infinity() -> None:
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="feature 1 never occurs in class 0"):
        MultinomialNB(alpha=0.0).fit(X, [0, 0, 1, 1])


def test_multinomial_nb_refuses_negative_counts_naming_the_column() -> None:
    X = np.abs(np.random.default_rng(0).normal(size=(10, 5)))
    X[7, 3] = -1.0
    with pytest.raises(
        ValueError, match=r"MultinomialNB needs non-negative counts; column 3 has -1\.0"
    ):
        MultinomialNB().fit(X, [0, 1] * 5)
    model = MultinomialNB().fit(np.abs(X), [0, 1] * 5)
    with pytest.raises(ValueError, match=r"column 3 has -1\.0"):
        model.predict(X)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"alpha": -1.0}, ValueError, "alpha must be >= 0"),
        ({"alpha": [1.0, 2.0]}, ValueError, "one value per feature"),
        ({"alpha": "big"}, TypeError, "alpha must be a number"),
        ({"fit_prior": "yes"}, TypeError, "fit_prior must be a bool"),
        ({"force_alpha": 1}, TypeError, "force_alpha must be a bool"),
        ({"class_prior": [0.5, 0.5]}, ValueError, "class_prior has 2 values"),
        ({"class_prior": [0.5, 0.5, 0.5, -0.5]}, ValueError, "non-negative"),
    ],
)
def test_multinomial_nb_refuses_bad_hyperparameters(
    bow: list[np.ndarray], params: dict, error: type, message: str
) -> None:
    X_train, _, y_train, _ = bow
    with pytest.raises(error, match=message):
        MultinomialNB(**params).fit(X_train, y_train)


# --------------------------------------------------------------------------------------
# Both


MODELS = [GaussianNB, MultinomialNB]


@pytest.mark.parametrize("cls", MODELS)
def test_it_refuses_prediction_before_fit(cls: type) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        cls().predict(np.ones((1, 4)))


@pytest.mark.parametrize("cls", MODELS)
def test_it_refuses_bad_inputs(cls: type) -> None:
    X_train, X_test, y_train, _ = _raw_split("iris")
    model = cls().fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"X has 3 features, but .* 4 features"):
        model.predict(X_test[:, :3])
    with_nan = X_test.copy()
    with_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict_proba(with_nan)
    with pytest.raises(ValueError, match="must be numeric"):
        model.predict([["a", "b", "c", "d"]])
    with pytest.raises(ValueError, match="y has 5 values but X has 112 samples"):
        cls().fit(X_train, y_train[:5])
    with pytest.raises(ValueError, match="at least 2 classes"):
        cls().fit(X_train, np.zeros(len(X_train)))
    with pytest.raises(ValueError, match="continuous values"):
        cls().fit(X_train, np.linspace(0, 1, len(X_train)))


@pytest.mark.parametrize("cls", MODELS)
def test_params_round_trip(cls: type) -> None:
    model = cls()
    params = model.get_params()
    assert cls(**params).get_params() == params
    changed = {"var_smoothing": 1e-6} if cls is GaussianNB else {"alpha": 0.5}
    assert model.set_params(**changed).get_params() == {**params, **changed}
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(nonsense=1)


@pytest.mark.parametrize("cls", MODELS)
def test_saved_model_predicts_bit_for_bit(cls: type) -> None:
    X_train, X_test, y_train, _ = _raw_split("digits")
    labels = np.array([f"digit-{d}" for d in range(10)], dtype=object)
    model = cls().fit(X_train, labels[y_train])
    loaded = numpyml.load(numpyml.save(model))
    assert type(loaded) is cls
    assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert_array_equal(loaded.predict(X_test[:1]), model.predict(X_test[:1]))


@pytest.mark.parametrize("cls", MODELS)
def test_refitting_gives_identical_models(cls: type) -> None:
    X_train, X_test, y_train, _ = _raw_split("wine")
    first = cls().fit(X_train, y_train).predict_proba(X_test)
    second = cls().fit(X_train, y_train).predict_proba(X_test)
    assert_array_equal(first, second)


@pytest.mark.parametrize("cls", MODELS)
def test_score_is_accuracy(cls: type) -> None:
    X_train, X_test, y_train, y_test = _raw_split("breast_cancer")
    model = cls().fit(X_train, y_train)
    assert model.score(X_test, y_test) == pytest.approx(np.mean(model.predict(X_test) == y_test))


@pytest.mark.parametrize("cls", MODELS)
def test_single_row_prediction_matches_batch(cls: type) -> None:
    X_train, X_test, y_train, _ = _raw_split("wine")
    model = cls().fit(X_train, y_train)
    batch = model.predict_proba(X_test)
    for i in range(5):
        # One row goes through a matrix-vector product: equal up to summation order.
        assert_allclose(model.predict_proba(X_test[i : i + 1])[0], batch[i], rtol=1e-12)


def test_gaussian_nb_handles_large_batches_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpyml.naive_bayes as module

    X_train, X_test, y_train, _ = _raw_split("digits")
    model = GaussianNB().fit(X_train, y_train)
    whole = model.predict_joint_log_proba(X_test)
    monkeypatch.setattr(module, "_BLOCK_BYTES", 8 * 10 * 64 * 7)  # 7 rows per block
    assert_array_equal(model.predict_joint_log_proba(X_test), whole)


def test_it_accepts_named_columns() -> None:
    X_train, X_test, y_train, _ = _raw_split("iris")
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    table = {name: X_train[:, i] for i, name in enumerate(columns)}
    model = GaussianNB().fit(table, y_train)
    assert_array_equal(model.feature_names_in_, columns)
    test_table = {name: X_test[:, i] for i, name in enumerate(columns)}
    assert_array_equal(model.predict(test_table), model.predict(X_test))
