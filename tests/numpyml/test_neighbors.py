"""KNeighborsClassifier and KNeighborsRegressor against scikit-learn as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.neighbors as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import numpyml
import numpyml.neighbors as module
from numpyml.exceptions import NotFittedError
from numpyml.neighbors import KNeighborsClassifier, KNeighborsRegressor

CLASSIFICATION_SETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}
VARIANTS = [
    {"weights": w, "metric": m} for w in ("uniform", "distance") for m in ("euclidean", "manhattan")
]
VARIANT_IDS = [f"{v['weights']}-{v['metric']}" for v in VARIANTS]


def _scaled(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def _scaled_split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = CLASSIFICATION_SETS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    return (*_scaled(X_train, X_test), y_train, y_test)


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    return (*_scaled(X_train, X_test), y_train, y_test)


def _untied(reference: sk.KNeighborsMixin, X_test: np.ndarray, k: int) -> np.ndarray:
    """Queries whose k-th and (k+1)-th nearest distances differ: their neighbour set is
    unique, so any correct search must return it (ties may be broken either way)."""
    dist, _ = reference.kneighbors(X_test, n_neighbors=k + 1)
    gap = dist[:, k] - dist[:, k - 1]
    return gap > 1e-9 * (1.0 + dist[:, k])


# --------------------------------------------------------------------------------------
# Parity with scikit-learn


@pytest.mark.parametrize("params", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("name", list(CLASSIFICATION_SETS))
def test_classifier_matches_sklearn_on_bundled_datasets(name: str, params: dict) -> None:
    X_train, X_test, y_train, _ = _scaled_split(name)
    ours = KNeighborsClassifier(**params).fit(X_train, y_train)
    theirs = sk.KNeighborsClassifier(**params).fit(X_train, y_train)
    untied = _untied(theirs, X_test, 5)
    assert untied.mean() > 0.9

    assert_array_equal(ours.predict(X_test)[untied], theirs.predict(X_test)[untied])
    assert_allclose(
        ours.predict_proba(X_test)[untied], theirs.predict_proba(X_test)[untied], atol=1e-9
    )
    dist, ind = ours.kneighbors(X_test)
    their_dist, their_ind = theirs.kneighbors(X_test)
    assert_allclose(dist, their_dist, rtol=1e-9, atol=1e-9)
    assert_array_equal(np.sort(ind[untied], axis=1), np.sort(their_ind[untied], axis=1))
    assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.effective_metric_ == theirs.effective_metric_
    assert ours.n_samples_fit_ == theirs.n_samples_fit_


@pytest.mark.parametrize("params", VARIANTS, ids=VARIANT_IDS)
def test_regressor_matches_sklearn_on_diabetes(diabetes: tuple, params: dict) -> None:
    X_train, X_test, y_train, _ = diabetes
    ours = KNeighborsRegressor(**params).fit(X_train, y_train)
    theirs = sk.KNeighborsRegressor(**params).fit(X_train, y_train)
    untied = _untied(theirs, X_test, 5)
    assert untied.mean() > 0.9
    assert_allclose(ours.predict(X_test)[untied], theirs.predict(X_test)[untied], rtol=1e-10)


def test_reference_quality_is_reached() -> None:
    X_train, X_test, y_train, y_test = _scaled_split("digits")
    assert KNeighborsClassifier().fit(X_train, y_train).score(X_test, y_test) == pytest.approx(
        0.9733, abs=1e-4
    )  # REFERENCE.md Table 1a


def test_regressor_score_is_r2(diabetes: tuple) -> None:
    X_train, X_test, y_train, y_test = diabetes
    model = KNeighborsRegressor().fit(X_train, y_train)
    expected = sk.KNeighborsRegressor().fit(X_train, y_train).score(X_test, y_test)
    assert model.score(X_test, y_test) == pytest.approx(expected, rel=1e-9)
    assert model.score(X_test, y_test) == pytest.approx(0.1941, abs=1e-4)  # REFERENCE.md 1b


def test_minkowski_p_selects_the_metric() -> None:
    X_train, X_test, y_train, _ = _scaled_split("wine")
    for p, metric in [(1, "manhattan"), (2, "euclidean")]:
        ours = KNeighborsClassifier(metric="minkowski", p=p).fit(X_train, y_train)
        named = KNeighborsClassifier(metric=metric).fit(X_train, y_train)
        assert ours.effective_metric_ == metric
        assert_array_equal(ours.kneighbors(X_test)[1], named.kneighbors(X_test)[1])


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_exact_matches_take_all_the_weight(metric: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.normal(size=40)
    queries = np.vstack([X[[3, 17]], rng.normal(size=(5, 3))])
    params = {"weights": "distance", "metric": metric}
    ours = KNeighborsRegressor(**params).fit(X, y)
    theirs = sk.KNeighborsRegressor(**params).fit(X, y)
    prediction = ours.predict(queries)
    assert_array_equal(prediction[:2], y[[3, 17]])
    assert_allclose(prediction, theirs.predict(queries), rtol=1e-12)

    labels = np.arange(40) % 3
    classifier = KNeighborsClassifier(**params).fit(X, labels)
    assert_array_equal(classifier.predict_proba(X[[3]]), np.eye(3)[[labels[3]]])


def test_duplicate_training_rows_share_the_weight() -> None:
    X = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [6.0, 6.0], [7.0, 7.0]])
    model = KNeighborsClassifier(n_neighbors=3, weights="distance").fit(X, [0, 1, 1, 1, 1])
    assert_array_equal(model.predict_proba([[0.0, 0.0]]), [[0.5, 0.5]])
    assert_array_equal(model.predict([[0.0, 0.0]]), [0])  # a tie goes to the smallest label


# --------------------------------------------------------------------------------------
# The search on larger training sets (sampled threshold, panels, threads)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_large_training_sets_give_exact_neighbours(metric: str) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40_000, 8))
    queries = rng.normal(size=(600, 8))  # 24M pairs: the threaded, panelled search
    ours = KNeighborsClassifier(n_neighbors=7, metric=metric).fit(X, np.arange(40_000) % 2)
    theirs = sk.NearestNeighbors(n_neighbors=7, metric=metric, algorithm="brute").fit(X)
    dist, ind = ours.kneighbors(queries)
    their_dist, their_ind = theirs.kneighbors(queries)
    assert_array_equal(ind, their_ind)
    assert_allclose(dist, their_dist, rtol=1e-9)
    single = ours.kneighbors(queries[:1])
    assert_array_equal(single[1], their_ind[:1])


def test_it_stays_exact_when_the_sampled_rows_are_far_from_the_queries() -> None:
    # Every stride-th training row is what sets the thresholds; put those rows far away so
    # that the thresholds are useless and the candidate lists must be compacted.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30_000, 5))
    stride = 30_000 // 2048
    X[::stride] += 50.0
    queries = rng.normal(size=(400, 5))
    ours = KNeighborsRegressor(n_neighbors=3).fit(X, np.zeros(30_000))
    theirs = sk.NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X)
    assert_array_equal(ours.kneighbors(queries)[1], theirs.kneighbors(queries)[1])


def test_it_stays_exact_when_candidates_are_compacted_after_every_panel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tiny candidate cap compacts while some queries have fewer than k candidates yet.
    original = module._Search.__init__

    def tiny_cap(self: module._Search, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        self.cap = 1

    monkeypatch.setattr(module._Search, "__init__", tiny_cap)
    rng = np.random.default_rng(4)
    X = np.sort(rng.normal(size=(30_000, 3)), axis=0)  # neighbours cluster in row order
    queries = rng.normal(size=(300, 3))
    for metric in ("euclidean", "manhattan"):
        ours = KNeighborsClassifier(n_neighbors=6, metric=metric).fit(X, np.arange(30_000) % 2)
        theirs = sk.NearestNeighbors(n_neighbors=6, metric=metric, algorithm="brute").fit(X)
        assert_array_equal(ours.kneighbors(queries)[1], theirs.kneighbors(queries)[1])


def test_it_falls_back_to_a_full_scan_if_the_threshold_is_too_tight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20_000, 4))
    queries = rng.normal(size=(200, 4))
    monkeypatch.setattr(module._Search, "_rounding_margin", lambda self, Q, tau: -1e9)
    ours = KNeighborsClassifier().fit(X, np.arange(20_000) % 3)
    theirs = sk.NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X)
    assert_array_equal(ours.kneighbors(queries)[1], theirs.kneighbors(queries)[1])


def test_small_memory_budget_gives_the_same_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    X_train, X_test, y_train, _ = _scaled_split("digits")
    model = KNeighborsClassifier(n_neighbors=9).fit(X_train, y_train)
    expected = model.kneighbors(X_test)
    monkeypatch.setattr(module, "_WORKING_MEMORY", 1)  # one query row per chunk
    for got, want in zip(model.kneighbors(X_test), expected, strict=True):
        assert_array_equal(got, want)


def test_n_neighbors_can_equal_the_training_size() -> None:
    X_train, X_test, y_train, _ = _scaled_split("iris")
    model = KNeighborsClassifier(n_neighbors=len(X_train)).fit(X_train, y_train)
    dist, ind = model.kneighbors(X_test)
    assert_array_equal(np.sort(ind, axis=1), np.tile(np.arange(len(X_train)), (len(X_test), 1)))
    assert np.all(np.diff(dist, axis=1) >= 0)
    shares = np.bincount(y_train) / len(y_train)
    assert_allclose(model.predict_proba(X_test), np.tile(shares, (len(X_test), 1)))


def test_kneighbors_options() -> None:
    X_train, X_test, y_train, _ = _scaled_split("wine")
    model = KNeighborsClassifier().fit(X_train, y_train)
    ind = model.kneighbors(X_test, n_neighbors=2, return_distance=False)
    assert ind.shape == (45, 2)
    assert_array_equal(ind, model.kneighbors(X_test)[1][:, :2])
    dist, _ = model.kneighbors(X_train[:3], n_neighbors=1)
    assert_array_equal(dist, np.zeros((3, 1)))


# --------------------------------------------------------------------------------------
# Contract: errors, params, persistence


@pytest.mark.parametrize("cls", [KNeighborsClassifier, KNeighborsRegressor])
def test_it_refuses_prediction_before_fit(cls: type) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        cls().predict(np.ones((1, 3)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        cls().kneighbors(np.ones((1, 3)))


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"n_neighbors": 0}, ValueError, "n_neighbors must be >= 1"),
        ({"n_neighbors": 2.5}, TypeError, "n_neighbors must be an int"),
        ({"n_neighbors": 500}, ValueError, "n_neighbors=500 is larger than the 112 training"),
        ({"weights": "gaussian"}, ValueError, "weights must be one of"),
        ({"metric": "cosine"}, ValueError, "metric must be one of"),
        ({"p": 3}, ValueError, "p must be 1 .manhattan. or 2"),
    ],
)
def test_it_refuses_bad_hyperparameters(params: dict, error: type, message: str) -> None:
    X_train, _, y_train, _ = _scaled_split("iris")
    with pytest.raises(error, match=message):
        KNeighborsClassifier(**params).fit(X_train, y_train)


def test_it_refuses_bad_inputs() -> None:
    X_train, X_test, y_train, _ = _scaled_split("iris")
    model = KNeighborsClassifier().fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"X has 3 features, but .* 4 features"):
        model.predict(X_test[:, :3])
    with_nan = X_test.copy()
    with_nan[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(with_nan)
    with pytest.raises(ValueError, match="Expected a 2-D array"):
        model.predict(X_test[0])
    with pytest.raises(ValueError, match="n_neighbors=200 is larger than the 112"):
        model.kneighbors(X_test, n_neighbors=200)
    with pytest.raises(ValueError, match="y has 5 values but X has 112 samples"):
        KNeighborsClassifier().fit(X_train, y_train[:5])
    with pytest.raises(ValueError, match="at least 2 classes"):
        KNeighborsClassifier().fit(X_train, np.ones(len(X_train)))
    with pytest.raises(ValueError, match="continuous values"):
        KNeighborsClassifier().fit(X_train, np.linspace(0, 1, len(X_train)))
    with pytest.raises(ValueError, match="must be numeric"):
        KNeighborsRegressor().fit(X_train, ["a"] * len(X_train))


def test_it_refuses_values_whose_squared_distances_overflow() -> None:
    X = np.array([[1e200, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="squared distances overflow"):
        KNeighborsClassifier(n_neighbors=1).fit(X, [0, 1, 1])
    model = KNeighborsClassifier(n_neighbors=1, metric="manhattan").fit(X, [0, 1, 1])
    assert_array_equal(model.predict([[1e200, 1.0]]), [0])


def test_parameters_changed_after_fit_are_checked_at_prediction() -> None:
    X_train, X_test, y_train, _ = _scaled_split("iris")
    model = KNeighborsClassifier().fit(X_train, y_train)
    with pytest.raises(ValueError, match="weights must be one of"):
        model.set_params(weights="nearest").predict(X_test)
    with pytest.raises(ValueError, match="larger than the 112 training samples"):
        model.set_params(weights="uniform", n_neighbors=113).predict(X_test)


def test_it_works_with_string_labels_and_named_columns() -> None:
    X_train, X_test, y_train, _ = _scaled_split("iris")
    names = np.array(["setosa", "versicolor", "virginica"])
    columns = ["a", "b", "c", "d"]
    table = {c: X_train[:, i] for i, c in enumerate(columns)}
    model = KNeighborsClassifier().fit(table, names[y_train])
    assert_array_equal(model.classes_, names)
    plain = KNeighborsClassifier().fit(X_train, y_train)
    test_table = {c: X_test[:, i] for i, c in enumerate(columns)}
    assert_array_equal(model.predict(test_table), names[plain.predict(X_test)])


@pytest.mark.parametrize("cls", [KNeighborsClassifier, KNeighborsRegressor])
def test_params_round_trip(cls: type) -> None:
    model = cls(n_neighbors=3, weights="distance", metric="manhattan")
    params = model.get_params()
    assert params == {"n_neighbors": 3, "weights": "distance", "metric": "manhattan", "p": 2}
    assert cls(**params).get_params() == params
    assert model.set_params(n_neighbors=7).n_neighbors == 7
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(algorithm="kd_tree")


@pytest.mark.parametrize("params", VARIANTS, ids=VARIANT_IDS)
def test_saved_models_predict_bit_for_bit(diabetes: tuple, params: dict) -> None:
    X_train, X_test, y_train, _ = diabetes
    regressor = KNeighborsRegressor(**params).fit(X_train, y_train)
    loaded = numpyml.load(numpyml.save(regressor))
    assert_array_equal(loaded.predict(X_test), regressor.predict(X_test))
    assert_array_equal(loaded.predict(X_test[:1]), regressor.predict(X_test[:1]))

    labels = np.where(y_train > np.median(y_train), "high", "low").astype(object)
    classifier = KNeighborsClassifier(**params).fit(X_train, labels)
    loaded = numpyml.load(numpyml.save(classifier))
    assert_array_equal(loaded.predict(X_test), classifier.predict(X_test))
    assert_array_equal(loaded.predict_proba(X_test), classifier.predict_proba(X_test))


def test_refitting_gives_identical_models(diabetes: tuple) -> None:
    X_train, X_test, y_train, _ = diabetes
    first = KNeighborsRegressor().fit(X_train, y_train).predict(X_test)
    assert_array_equal(KNeighborsRegressor().fit(X_train, y_train).predict(X_test), first)


def test_fit_copies_the_training_data() -> None:
    X_train, X_test, y_train, _ = _scaled_split("iris")
    X_mutable = X_train.copy()
    model = KNeighborsClassifier().fit(X_mutable, y_train)
    before = model.predict_proba(X_test)
    X_mutable[:] = 0.0
    assert_array_equal(model.predict_proba(X_test), before)


def test_single_row_prediction_matches_batch() -> None:
    X_train, X_test, y_train, _ = _scaled_split("digits")
    model = KNeighborsClassifier(weights="distance").fit(X_train, y_train)
    batch = model.predict_proba(X_test)
    for i in range(0, 40, 7):
        assert_allclose(model.predict_proba(X_test[i : i + 1])[0], batch[i], rtol=1e-12)
