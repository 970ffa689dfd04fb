"""train_test_split: sizes like scikit-learn's, stratification, tables and errors."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.model_selection as sk
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, load_iris

from numpyml.model_selection import train_test_split


@pytest.mark.parametrize("n_samples", [4, 10, 13, 150, 1001])
@pytest.mark.parametrize(
    ("test_size", "train_size"),
    [(None, None), (0.25, None), (0.3, None), (None, 0.6), (3, None), (None, 2), (0.2, 0.5)],
)
def test_split_sizes_match_sklearn(n_samples, test_size, train_size):
    X = np.arange(n_samples)
    ours = train_test_split(X, test_size=test_size, train_size=train_size, random_state=0)
    ref = sk.train_test_split(X, test_size=test_size, train_size=train_size, random_state=0)
    assert [len(part) for part in ours] == [len(part) for part in ref]


def test_split_is_a_partition_and_keeps_rows_aligned():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
    assert_array_equal(X_train[:, 0] // 2, y_train)
    assert_array_equal(X_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(50))


def test_split_is_reproducible_with_the_same_random_state():
    X = np.arange(200)
    first = train_test_split(X, random_state=7)
    again = train_test_split(X, random_state=7)
    other = train_test_split(X, random_state=8)
    assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_split_without_shuffle_takes_the_first_rows_for_training():
    train, test = train_test_split(list(range(10)), shuffle=False, test_size=0.3)
    assert train == [0, 1, 2, 3, 4, 5, 6]
    assert test == [7, 8, 9]


def test_split_returns_the_types_it_was_given():
    table = {"age": np.arange(20.0), "city": np.array(["a", "b"] * 10, dtype=object)}
    labels = [f"row{i}" for i in range(20)]
    table_train, table_test, labels_train, labels_test = train_test_split(
        table, labels, test_size=5, random_state=0
    )
    assert isinstance(table_train, dict)
    assert isinstance(labels_train, list)
    assert len(table_test["age"]) == len(table_test["city"]) == len(labels_test) == 5
    for i, age in enumerate(table_train["age"]):
        assert labels_train[i] == f"row{int(age)}"
        assert table_train["city"][i] == "ab"[int(age) % 2]


@pytest.mark.parametrize("loader", [load_iris, load_digits])
def test_stratified_split_keeps_class_proportions_like_sklearn(loader):
    X, y = loader(return_X_y=True)
    _, _, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    *_, ref_test = sk.train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    assert len(y_test) == len(ref_test)
    ours_counts = np.bincount(y_test)
    ref_counts = np.bincount(ref_test)
    assert np.abs(ours_counts - ref_counts).max() <= 1
    ideal = np.bincount(y) * len(y_test) / len(y)
    assert np.abs(ours_counts - ideal).max() < 1
    assert set(y_train) == set(y_test) == set(y)


def test_stratified_split_puts_every_class_in_both_parts():
    y = np.array(["big"] * 96 + ["tiny"] * 2 + ["small"] * 2)
    X = np.arange(100)
    for seed in range(5):
        _, _, y_train, y_test = train_test_split(X, y, test_size=0.1, stratify=y, random_state=seed)
        assert set(y_train) == set(y_test) == {"big", "tiny", "small"}
        assert len(y_test) == 10


def test_stratified_split_refuses_a_class_with_one_member():
    y = np.array([0] * 10 + [1])
    with pytest.raises(ValueError, match="only 1 member"):
        train_test_split(np.arange(11), stratify=y, random_state=0)
    with pytest.raises(ValueError, match="greater or equal to the number of classes"):
        train_test_split(np.arange(30), stratify=np.arange(30) % 5, test_size=3)
    with pytest.raises(ValueError, match="shuffle=False"):
        train_test_split(np.arange(10), stratify=np.arange(10) % 2, shuffle=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_size": 0}, "test_size=0 should be either positive"),
        ({"test_size": 10}, "test_size=10 should be either positive"),
        ({"test_size": 1.0}, r"test_size=1.0 should be a float in the \(0, 1\) range"),
        ({"train_size": -0.5}, "train_size=-0.5"),
        ({"test_size": 0.6, "train_size": 0.6}, "sum of test_size and train_size"),
        ({"test_size": 6, "train_size": 6}, "should be smaller than the number of samples"),
        ({"train_size": 0.05}, "the resulting train set will be empty"),
    ],
)
def test_split_refuses_out_of_range_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_test_split(np.arange(10), **kwargs)


def test_split_refuses_bad_arrays():
    with pytest.raises(ValueError, match="At least one array"):
        train_test_split()
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[10, 9\]"):
        train_test_split(np.arange(10), np.arange(9))
    with pytest.raises(TypeError, match="test_size must be"):
        train_test_split(np.arange(10), test_size="half")
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split({"a": [1, 2, 3], "b": [1, 2]})
