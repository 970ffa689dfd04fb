"""Classification, regression and clustering metrics against scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.metrics as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, load_wine

from numpyml import metrics
from numpyml.metrics import UndefinedMetricWarning

RNG = np.random.default_rng(0)
STRINGS_TRUE = RNG.choice(["cat", "dog", "emu"], 300)
STRINGS_PRED = np.where(RNG.random(300) < 0.6, STRINGS_TRUE, RNG.choice(["cat", "dog", "emu"], 300))
INTS_TRUE = RNG.integers(0, 4, 300)
INTS_PRED = np.where(RNG.random(300) < 0.5, INTS_TRUE, RNG.integers(0, 4, 300))
BINARY_TRUE = RNG.integers(0, 2, 200)
BINARY_PRED = np.where(RNG.random(200) < 0.7, BINARY_TRUE, 1 - BINARY_TRUE)
WEIGHTS = RNG.random(300)

LABEL_SETS = {"strings": (STRINGS_TRUE, STRINGS_PRED), "ints": (INTS_TRUE, INTS_PRED)}


def _close(ours, ref):
    assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float), rtol=1e-10)


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize("labels", ["strings", "ints"])
def test_accuracy_matches_sklearn(labels):
    y_true, y_pred = LABEL_SETS[labels]
    _close(metrics.accuracy_score(y_true, y_pred), sk.accuracy_score(y_true, y_pred))
    _close(
        metrics.accuracy_score(y_true, y_pred, normalize=False),
        sk.accuracy_score(y_true, y_pred, normalize=False),
    )
    _close(
        metrics.accuracy_score(y_true, y_pred, sample_weight=WEIGHTS),
        sk.accuracy_score(y_true, y_pred, sample_weight=WEIGHTS),
    )
    assert isinstance(metrics.accuracy_score(y_true, y_pred), float)


@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
@pytest.mark.parametrize("labels", ["strings", "ints"])
def test_precision_recall_f1_match_sklearn_for_every_average(name, average, labels):
    y_true, y_pred = LABEL_SETS[labels]
    ours = getattr(metrics, name)(y_true, y_pred, average=average)
    ref = getattr(sk, name)(y_true, y_pred, average=average)
    _close(ours, ref)
    _close(
        getattr(metrics, name)(y_true, y_pred, average=average, sample_weight=WEIGHTS),
        getattr(sk, name)(y_true, y_pred, average=average, sample_weight=WEIGHTS),
    )


@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
def test_binary_scores_match_sklearn_with_pos_label(name):
    _close(
        getattr(metrics, name)(BINARY_TRUE, BINARY_PRED),
        getattr(sk, name)(BINARY_TRUE, BINARY_PRED),
    )
    _close(
        getattr(metrics, name)(BINARY_TRUE, BINARY_PRED, pos_label=0),
        getattr(sk, name)(BINARY_TRUE, BINARY_PRED, pos_label=0),
    )
    words_true = np.where(BINARY_TRUE == 1, "spam", "ham")
    words_pred = np.where(BINARY_PRED == 1, "spam", "ham")
    _close(
        getattr(metrics, name)(words_true, words_pred, pos_label="spam"),
        getattr(sk, name)(words_true, words_pred, pos_label="spam"),
    )


def test_scores_with_a_label_subset_match_sklearn():
    labels = ["emu", "cat", "yak"]  # "yak" never occurs
    for average in (None, "macro", "micro", "weighted"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = metrics.precision_recall_fscore_support(
                STRINGS_TRUE, STRINGS_PRED, labels=labels, average=average
            )
            ref = sk.precision_recall_fscore_support(
                STRINGS_TRUE, STRINGS_PRED, labels=labels, average=average
            )
        for a, b in zip(ours, ref, strict=True):
            if b is None:
                assert a is None
            else:
                _close(a, b)


@pytest.mark.parametrize("zero_division", ["warn", 0.0, 1.0, np.nan])
def test_zero_division_matches_sklearn(zero_division):
    y_true, y_pred = [0, 0, 1, 1], [0, 0, 0, 0]  # class 1 never predicted
    for name in ("precision_score", "recall_score", "f1_score"):
        for average in ("binary", None, "macro"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours = getattr(metrics, name)(
                    y_true, y_pred, average=average, zero_division=zero_division
                )
                ref = getattr(sk, name)(
                    y_true, y_pred, average=average, zero_division=zero_division
                )
            _close(ours, ref)


def test_ill_defined_precision_warns_only_when_zero_division_is_warn():
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined"):
        assert metrics.precision_score([0, 1], [0, 0]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.precision_score([0, 1], [0, 0], zero_division=1.0) == 1.0


def test_average_and_pos_label_errors_are_clear():
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        metrics.f1_score(INTS_TRUE, INTS_PRED)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        metrics.f1_score(["a", "b"], ["a", "b"])
    with pytest.raises(ValueError, match="average has to be one of"):
        metrics.f1_score(INTS_TRUE, INTS_PRED, average="samples")
    with pytest.raises(ValueError, match="zero_division must be"):
        metrics.f1_score(INTS_TRUE, INTS_PRED, average="macro", zero_division=2)


@pytest.mark.parametrize("labels", ["strings", "ints"])
def test_confusion_matrix_matches_sklearn(labels):
    y_true, y_pred = LABEL_SETS[labels]
    ours = metrics.confusion_matrix(y_true, y_pred)
    assert ours.dtype == np.int64
    assert_array_equal(ours, sk.confusion_matrix(y_true, y_pred))
    subset = list(np.unique(y_true)[::-1][:2])
    assert_array_equal(
        metrics.confusion_matrix(y_true, y_pred, labels=subset),
        sk.confusion_matrix(y_true, y_pred, labels=subset),
    )
    for normalize in ("true", "pred", "all"):
        assert_allclose(
            metrics.confusion_matrix(y_true, y_pred, normalize=normalize),
            sk.confusion_matrix(y_true, y_pred, normalize=normalize),
            rtol=1e-12,
        )
    assert_allclose(
        metrics.confusion_matrix(y_true, y_pred, sample_weight=WEIGHTS),
        sk.confusion_matrix(y_true, y_pred, sample_weight=WEIGHTS),
        rtol=1e-12,
    )


def test_confusion_matrix_normalises_empty_rows_to_zero_like_sklearn():
    y_true, y_pred, labels = [0, 0, 1], [0, 1, 1], [0, 1, 2]
    assert_allclose(
        metrics.confusion_matrix(y_true, y_pred, labels=labels, normalize="true"),
        sk.confusion_matrix(y_true, y_pred, labels=labels, normalize="true"),
    )
    with pytest.raises(ValueError, match="At least one label specified must be in y_true"):
        metrics.confusion_matrix(y_true, y_pred, labels=[7])


def test_log_loss_matches_sklearn_multiclass_binary_and_with_labels():
    proba = RNG.dirichlet(np.ones(3), 300)
    _close(metrics.log_loss(STRINGS_TRUE, proba), sk.log_loss(STRINGS_TRUE, proba))
    _close(
        metrics.log_loss(STRINGS_TRUE, proba, sample_weight=WEIGHTS),
        sk.log_loss(STRINGS_TRUE, proba, sample_weight=WEIGHTS),
    )
    _close(
        metrics.log_loss(STRINGS_TRUE, proba, normalize=False),
        sk.log_loss(STRINGS_TRUE, proba, normalize=False),
    )
    positive = RNG.random(200)
    _close(metrics.log_loss(BINARY_TRUE, positive), sk.log_loss(BINARY_TRUE, positive))
    partial = np.array(["a", "a", "c"])
    proba3 = RNG.dirichlet(np.ones(3), 3)
    _close(
        metrics.log_loss(partial, proba3, labels=["a", "b", "c"]),
        sk.log_loss(partial, proba3, labels=["a", "b", "c"]),
    )


def test_log_loss_clips_certain_wrong_predictions_like_sklearn():
    y_true, proba = [0, 1, 1], [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    _close(metrics.log_loss(y_true, proba), sk.log_loss(y_true, proba))
    assert np.isfinite(metrics.log_loss(y_true, proba))


def test_log_loss_refuses_bad_input():
    with pytest.raises(ValueError, match="only one label"):
        metrics.log_loss([1, 1], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="different number of classes"):
        metrics.log_loss([0, 1, 2], [[0.5, 0.5]] * 3)
    with pytest.raises(ValueError, match="greater than 1"):
        metrics.log_loss([0, 1], [[0.5, 1.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="same length"):
        metrics.log_loss([0, 1, 0], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="not belonging to the passed labels"):
        metrics.log_loss([0, 5], [[0.5, 0.5], [0.5, 0.5]], labels=[0, 1])
    with pytest.warns(UserWarning, match="do not sum to one"):
        metrics.log_loss([0, 1], [[0.2, 0.2], [0.5, 0.5]])


def test_classification_metrics_refuse_bad_targets():
    with pytest.raises(ValueError, match="same length"):
        metrics.accuracy_score([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy_score([], [])
    with pytest.raises(ValueError, match="continuous"):
        metrics.accuracy_score([0.5, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="strings and numbers"):
        metrics.f1_score(["a", "b"], [0, 1], average="macro")
    with pytest.raises(ValueError, match="NaN"):
        metrics.confusion_matrix([0.0, np.nan], [0.0, 1.0])


# --------------------------------------------------------------------------- regression

REG_TRUE = RNG.normal(size=(120, 3)) * [1.0, 10.0, 0.1]
REG_PRED = REG_TRUE + RNG.normal(size=(120, 3)) * [0.5, 4.0, 0.2]
REGRESSION = [
    "r2_score",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "explained_variance_score",
]


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_metrics_match_sklearn(name):
    ours, ref = getattr(metrics, name), getattr(sk, name)
    _close(ours(REG_TRUE[:, 0], REG_PRED[:, 0]), ref(REG_TRUE[:, 0], REG_PRED[:, 0]))
    _close(ours(list(REG_TRUE[:, 1]), list(REG_PRED[:, 1])), ref(REG_TRUE[:, 1], REG_PRED[:, 1]))
    weights = WEIGHTS[:120]
    _close(
        ours(REG_TRUE, REG_PRED, sample_weight=weights),
        ref(REG_TRUE, REG_PRED, sample_weight=weights),
    )
    for multioutput in ("raw_values", "uniform_average", [0.2, 0.3, 0.5]):
        _close(
            ours(REG_TRUE, REG_PRED, multioutput=multioutput),
            ref(REG_TRUE, REG_PRED, multioutput=multioutput),
        )
    assert isinstance(ours(REG_TRUE[:, 0], REG_PRED[:, 0]), float)


@pytest.mark.parametrize("name", ["r2_score", "explained_variance_score"])
def test_variance_based_scores_match_sklearn_on_edge_cases(name):
    ours, ref = getattr(metrics, name), getattr(sk, name)
    _close(
        ours(REG_TRUE, REG_PRED, multioutput="variance_weighted"),
        ref(REG_TRUE, REG_PRED, multioutput="variance_weighted"),
    )
    constant = np.full(5, 2.0)
    for prediction in (constant, constant + np.array([0, 0, 0, 0, 1e-3])):
        _close(ours(constant, prediction), ref(constant, prediction))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _close(
                ours(constant, prediction, force_finite=False),
                ref(constant, prediction, force_finite=False),
            )


def test_r2_is_nan_with_a_warning_for_one_sample():
    with pytest.warns(UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(metrics.r2_score([1.0], [2.0]))


def test_regression_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="same length"):
        metrics.mean_squared_error([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        metrics.mean_absolute_error([], [])
    with pytest.raises(ValueError, match="different number of output"):
        metrics.r2_score(REG_TRUE, REG_PRED[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        metrics.r2_score([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="multioutput must be one of"):
        metrics.r2_score(REG_TRUE, REG_PRED, multioutput="mean")


# --------------------------------------------------------------------------- clustering


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_silhouette_matches_sklearn_on_iris(metric):
    X, y = load_iris(return_X_y=True)
    _close(metrics.silhouette_score(X, y, metric=metric), sk.silhouette_score(X, y, metric=metric))
    assert_allclose(
        metrics.silhouette_samples(X, y, metric=metric),
        sk.silhouette_samples(X, y, metric=metric),
        rtol=1e-10,
        atol=1e-10,
    )


def test_silhouette_matches_sklearn_with_string_labels_singletons_and_precomputed():
    X, y = load_wine(return_X_y=True)
    labels = np.array(["a", "b", "c"])[y].astype(object)
    labels[0] = "alone"  # a singleton cluster scores 0
    _close(metrics.silhouette_score(X, labels), sk.silhouette_score(X, labels))
    distances = sk.pairwise_distances(X)
    _close(
        metrics.silhouette_score(distances, labels, metric="precomputed"),
        sk.silhouette_score(distances, labels, metric="precomputed"),
    )
    assert metrics.silhouette_samples(X, labels)[0] == 0.0


def test_silhouette_in_small_chunks_equals_one_block(monkeypatch):
    X, y = load_iris(return_X_y=True)
    whole = metrics.silhouette_samples(X, y)
    monkeypatch.setattr(metrics, "_CHUNK_VALUES", 7 * 150)  # 7 rows per block
    assert_allclose(metrics.silhouette_samples(X, y), whole, rtol=1e-12, atol=1e-15)


def test_silhouette_samples_large_inputs_and_is_reproducible(monkeypatch):
    X, y = load_iris(return_X_y=True)
    first = metrics.silhouette_score(X, y, sample_size=60, random_state=3)
    assert first == metrics.silhouette_score(X, y, sample_size=60, random_state=3)
    assert first != metrics.silhouette_score(X, y, sample_size=60, random_state=4)
    # Without sample_size, inputs beyond the limit are sampled down to it.
    monkeypatch.setattr(metrics, "SILHOUETTE_DEFAULT_MAX_SAMPLES", 60)
    assert metrics.silhouette_score(X, y, random_state=3) == first


def test_silhouette_refuses_bad_input():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="Number of labels is 1"):
        metrics.silhouette_score(X, np.zeros(150))
    with pytest.raises(ValueError, match="Number of labels is 150"):
        metrics.silhouette_score(X, np.arange(150))
    with pytest.raises(ValueError, match="must match"):
        metrics.silhouette_samples(X, y[:-1])
    with pytest.raises(ValueError, match="metric must be one of"):
        metrics.silhouette_score(X, y, metric="chebyshev")
    with pytest.raises(ValueError, match="non-zero elements on the diagonal"):
        metrics.silhouette_score(np.ones((3, 3)), [0, 0, 1], metric="precomputed")


def test_adjusted_rand_score_matches_sklearn():
    _close(
        metrics.adjusted_rand_score(STRINGS_TRUE, STRINGS_PRED),
        sk.adjusted_rand_score(STRINGS_TRUE, STRINGS_PRED),
    )
    _close(
        metrics.adjusted_rand_score(INTS_TRUE, INTS_PRED),
        sk.adjusted_rand_score(INTS_TRUE, INTS_PRED),
    )
    assert metrics.adjusted_rand_score([0, 0, 1, 1], ["b", "b", "a", "a"]) == 1.0
    assert metrics.adjusted_rand_score([0, 0, 0], [1, 1, 1]) == 1.0
    many = RNG.integers(0, 500, 5000)
    _close(metrics.adjusted_rand_score(many, many // 3), sk.adjusted_rand_score(many, many // 3))
    with pytest.raises(ValueError, match="same length"):
        metrics.adjusted_rand_score([0, 1], [0])


# --------------------------------------------------------------------------- ranking (binary)


def _ranking_cases():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    tied = np.round(rng.random(200), 1)  # many ties, as leaf probabilities give
    yield y, rng.random(200) + 0.3 * y, None
    yield y, tied, None
    yield y, tied, rng.random(200) * 3
    yield np.where(y == 1, "yes", "no"), tied, None


@pytest.mark.parametrize("drop", [True, False])
def test_it_roc_and_pr_curves_match_sklearn(drop):
    for y, score, weight in _ranking_cases():
        pos = "yes" if y.dtype.kind == "U" else 1
        for ours, theirs in (
            (metrics.roc_curve, sk.roc_curve),
            (metrics.precision_recall_curve, sk.precision_recall_curve),
        ):
            got = ours(y, score, pos_label=pos, sample_weight=weight, drop_intermediate=drop)
            want = theirs(y, score, pos_label=pos, sample_weight=weight, drop_intermediate=drop)
            for a, b in zip(got, want, strict=True):
                assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_it_auc_roc_auc_and_average_precision_match_sklearn():
    for y, score, weight in _ranking_cases():
        pos = "yes" if y.dtype.kind == "U" else 1
        assert metrics.roc_auc_score(y, score, sample_weight=weight) == pytest.approx(
            sk.roc_auc_score(y, score, sample_weight=weight), abs=1e-9
        )
        assert metrics.average_precision_score(
            y, score, pos_label=pos, sample_weight=weight
        ) == pytest.approx(
            sk.average_precision_score(y, score, pos_label=pos, sample_weight=weight), abs=1e-9
        )
    x, y = [1.0, 0.5, 0.2, 0.0], [0.9, 0.7, 0.1, 0.0]
    assert metrics.auc(x, y) == pytest.approx(sk.auc(x, y), abs=1e-12)


def test_it_refuses_what_the_ranking_metrics_cannot_score():
    with pytest.raises(ValueError, match="Only one class"):
        metrics.roc_auc_score([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="pos_label"):
        metrics.roc_curve(["a", "b"], [0.1, 0.9])
    with pytest.raises(ValueError, match="increasing"):
        metrics.auc([0, 1, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="binary"):
        metrics.roc_curve([0, 1, 2], [0.1, 0.5, 0.9], pos_label=1)
