"""KFold and StratifiedKFold: the folds of scikit-learn's for the same inputs (unshuffled),
the same class shares per fold (shuffled), and the same errors."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.model_selection as sk
from numpy.testing import assert_array_equal

from numpyml.model_selection import KFold, StratifiedKFold


def _folds(splitter, X, y=None):
    return [(train.tolist(), test.tolist()) for train, test in splitter.split(X, y)]


@pytest.mark.parametrize("n_samples", [5, 10, 13, 101])
@pytest.mark.parametrize("n_splits", [2, 3, 5])
def test_kfold_without_shuffle_is_sklearns(n_samples, n_splits):
    X = np.zeros((n_samples, 2))
    assert _folds(KFold(n_splits), X) == _folds(sk.KFold(n_splits), X)


@pytest.mark.parametrize(
    "y",
    [
        [0] * 10 + [1] * 10,
        [0] * 17 + [1] * 5 + [2] * 3,
        ["b", "a", "c", "a", "b", "b", "c", "a", "a", "b", "c", "c", "a"],
        [3, 1, 2] * 7 + [1, 1, 9, 9, 9],
    ],
)
@pytest.mark.parametrize("n_splits", [2, 3])
def test_stratified_kfold_without_shuffle_is_sklearns(y, n_splits):
    y = np.asarray(y)
    X = np.zeros((y.size, 1))
    assert _folds(StratifiedKFold(n_splits), X, y) == _folds(sk.StratifiedKFold(n_splits), X, y)


@pytest.mark.filterwarnings("ignore:The least populated class")
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_shuffled_folds_keep_sklearns_class_counts_and_partition_the_rows(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(["x", "y", "z"], size=97, p=[0.6, 0.3, 0.1])
    X = np.zeros((y.size, 1))
    ours = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y))
    ref = list(sk.StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y))
    for (train, test), (_, ref_test) in zip(ours, ref, strict=True):
        assert sorted(np.unique(y[test], return_counts=True)[1].tolist()) == sorted(
            np.unique(y[ref_test], return_counts=True)[1].tolist()
        )
        assert np.intersect1d(train, test).size == 0
        assert train.size + test.size == y.size
        assert_array_equal(train, np.sort(train))
        assert_array_equal(test, np.sort(test))
    assert sorted(np.concatenate([test for _, test in ours]).tolist()) == list(range(y.size))
    plain = list(KFold(4, shuffle=True, random_state=seed).split(X))
    assert [t.size for _, t in plain] == [t.size for _, t in sk.KFold(4).split(X)]
    assert sorted(np.concatenate([t for _, t in plain]).tolist()) == list(range(y.size))


def test_the_same_seed_gives_the_same_folds_and_another_seed_others():
    y = np.array([0, 1] * 50)
    X = np.zeros((100, 1))
    for splitter in (StratifiedKFold, KFold):
        first = _folds(splitter(5, shuffle=True, random_state=3), X, y)
        assert first == _folds(splitter(5, shuffle=True, random_state=3), X, y)
        assert first != _folds(splitter(5, shuffle=True, random_state=4), X, y)


def test_too_few_members_warn_like_sklearn_and_none_at_all_fails():
    y = np.array([0] * 10 + [1] * 2)
    X = np.zeros((12, 1))
    with pytest.warns(UserWarning, match="least populated class in y has only 2 members"):
        list(StratifiedKFold(3).split(X, y))
    with pytest.raises(ValueError, match="cannot be greater than the number of members"):
        list(StratifiedKFold(3).split(np.zeros((4, 1)), np.array([0, 0, 1, 1])))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: KFold(1), "at least 2"),
        (lambda: KFold(2.5), "integer"),
        (lambda: KFold(3, random_state=1), "shuffle"),
        (lambda: KFold(3, shuffle="yes"), "True or False"),
    ],
)
def test_bad_settings_are_refused_when_splitting(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        list(make().split(np.zeros((10, 1))))


def test_more_folds_than_rows_is_refused():
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(KFold(5).split(np.zeros((3, 1))))


def test_a_table_and_get_n_splits():
    table = {"a": np.arange(6.0), "b": np.array(list("xyzxyz"), dtype=object)}
    assert KFold(3).get_n_splits() == 3
    assert [test.tolist() for _, test in KFold(3).split(table)] == [[0, 1], [2, 3], [4, 5]]
