"""StandardScaler, SimpleImputer, OneHotEncoder and LabelEncoder against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.impute as sk_impute
import sklearn.preprocessing as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.model_selection import train_test_split

import numpyml
from numpyml.exceptions import NotFittedError
from numpyml.preprocessing import LabelEncoder, OneHotEncoder, SimpleImputer, StandardScaler


def _breast_cancer_split() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, _, _ = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    return X_train, X_test


def _with_nans(X: np.ndarray, fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


def _categorical(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.empty((n, 3), dtype=object)
    X[:, 0] = rng.choice(["red", "green", "blue"], n)
    X[:, 1] = rng.choice(["s", "m", "l", "xl"], n)
    X[:, 2] = rng.choice(["yes", "no"], n)
    return X


# --------------------------------------------------------------------------- StandardScaler


def test_scaler_matches_sklearn_statistics_and_transform_on_breast_cancer():
    X_train, X_test = _breast_cancer_split()
    ours = StandardScaler().fit(X_train)
    ref = sk.StandardScaler().fit(X_train)
    for name in ("mean_", "var_", "scale_"):
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-12, atol=1e-12)
    assert ours.n_samples_seen_ == ref.n_samples_seen_
    assert_allclose(ours.transform(X_test), ref.transform(X_test), rtol=1e-12, atol=1e-12)
    assert_allclose(ours.inverse_transform(ours.transform(X_test)), X_test, rtol=1e-12, atol=1e-12)
    assert ours.n_features_in_ == 30


@pytest.mark.parametrize(("with_mean", "with_std"), [(True, False), (False, True), (False, False)])
def test_scaler_matches_sklearn_without_mean_or_std(with_mean, with_std):
    X_train, X_test = _breast_cancer_split()
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(X_train)
    ref = sk.StandardScaler(with_mean=with_mean, with_std=with_std).fit(X_train)
    for name in ("mean_", "var_", "scale_"):
        if getattr(ref, name) is None:
            assert getattr(ours, name) is None
        else:
            assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-12)
    assert_allclose(ours.transform(X_test), ref.transform(X_test), rtol=1e-12, atol=1e-12)


def test_scaler_gives_constant_features_unit_scale_like_sklearn():
    X = np.column_stack([np.full(50, 3.7), np.linspace(0, 1, 50), np.full(50, 1e10)])
    ours = StandardScaler().fit(X)
    ref = sk.StandardScaler().fit(X)
    assert_array_equal(ours.scale_, ref.scale_)
    assert ours.scale_[0] == 1.0
    assert_allclose(ours.transform(X), ref.transform(X), atol=1e-12)


def test_scaler_ignores_nans_in_fit_and_keeps_them_like_sklearn():
    X_train, X_test = _breast_cancer_split()
    X_train, X_test = _with_nans(X_train), _with_nans(X_test, seed=1)
    ours = StandardScaler().fit(X_train)
    ref = sk.StandardScaler().fit(X_train)
    assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    assert_allclose(ours.var_, ref.var_, rtol=1e-12)
    assert_array_equal(ours.n_samples_seen_, ref.n_samples_seen_)
    assert_allclose(ours.transform(X_test), ref.transform(X_test), rtol=1e-12, atol=1e-12)


def test_scaler_refuses_bad_input_with_clear_errors():
    with pytest.raises(NotFittedError, match="not fitted"):
        StandardScaler().transform(np.ones((2, 2)))
    scaler = StandardScaler().fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match="2 features"):
        scaler.transform(np.ones((1, 3)))
    with pytest.raises(ValueError, match="infinity"):
        StandardScaler().fit(np.array([[1.0], [np.inf]]))
    with pytest.raises(ValueError, match="numeric"):
        StandardScaler().fit(np.array([["a"], ["b"]], dtype=object))
    with pytest.raises(ValueError, match="2-D"):
        StandardScaler().fit(np.ones(3))


def test_scaler_records_table_column_names_and_survives_save_load():
    table = {"a": np.array([1.0, 2.0, 4.0]), "b": np.array([0.0, 1.0, 5.0])}
    scaler = StandardScaler().fit(table)
    assert_array_equal(scaler.feature_names_in_, ["a", "b"])
    assert_array_equal(scaler.get_feature_names_out(), ["a", "b"])
    loaded = numpyml.load(numpyml.save(scaler))
    X = np.array([[3.0, 2.0]])
    assert_array_equal(loaded.transform(X), scaler.transform(X))
    with pytest.raises(ValueError, match="feature names"):
        scaler.transform({"b": np.array([1.0]), "a": np.array([1.0])})


def test_scaler_does_not_modify_its_input():
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    before = X.copy()
    StandardScaler().fit(X).transform(X)
    assert_array_equal(X, before)


def test_scaler_params_round_trip():
    scaler = StandardScaler(with_mean=False)
    assert scaler.get_params() == {"with_mean": False, "with_std": True}
    assert scaler.set_params(with_std=False).with_std is False


# --------------------------------------------------------------------------- SimpleImputer


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_imputer_matches_sklearn_on_numeric_data(strategy):
    X = load_wine().data
    X = np.round(_with_nans(X, 0.2), 1)  # rounding makes most_frequent meaningful
    ours = SimpleImputer(strategy=strategy).fit(X)
    ref = sk_impute.SimpleImputer(strategy=strategy).fit(X)
    # scikit-learn keeps the constant fill as an object array of ints
    assert_allclose(ours.statistics_, ref.statistics_.astype(np.float64), rtol=1e-12)
    out = ours.transform(X)
    assert out.dtype == np.float64
    assert_allclose(out, ref.transform(X), rtol=1e-12)


def test_imputer_most_frequent_breaks_ties_with_the_smallest_value_like_sklearn():
    X = np.array([[2.0, "b"], [1.0, "a"], [2.0, "b"], [1.0, "a"], [np.nan, None]], dtype=object)
    numeric = X[:, :1].astype(np.float64)
    assert SimpleImputer(strategy="most_frequent").fit(numeric).statistics_[0] == 1.0
    assert SimpleImputer(strategy="most_frequent").fit(X[:, 1:]).statistics_[0] == "a"


@pytest.mark.parametrize("strategy", ["most_frequent", "constant"])
def test_imputer_matches_sklearn_on_object_data(strategy):
    X = _categorical()
    X[::7, 0] = np.nan
    X[::11, 2] = np.nan
    ours = SimpleImputer(strategy=strategy).fit(X)
    ref = sk_impute.SimpleImputer(strategy=strategy).fit(X)
    assert_array_equal(ours.statistics_, ref.statistics_)
    out = ours.transform(X)
    assert out.dtype == object
    assert_array_equal(out, ref.transform(X))


def test_imputer_treats_none_nan_and_empty_string_as_missing_in_object_data():
    X = np.array([["a"], ["a"], [None], [np.nan], [""], ["b"]], dtype=object)
    out = SimpleImputer(strategy="most_frequent").fit_transform(X)
    assert out[:, 0].tolist() == ["a", "a", "a", "a", "a", "b"]
    row = SimpleImputer(strategy="constant", fill_value="?").fit(X).transform(X[2:3])
    assert row.tolist() == [["?"]]


def test_imputer_keeps_entirely_missing_columns_and_fills_them():
    numeric = np.array([[1.0, np.nan], [3.0, np.nan]])
    for strategy in ("mean", "median", "most_frequent"):
        imputer = SimpleImputer(strategy=strategy).fit(numeric)
        assert_array_equal(imputer.transform(numeric), [[1.0, 0.0], [3.0, 0.0]])
    objects = np.array([["x", None], ["y", ""]], dtype=object)
    out = SimpleImputer(strategy="most_frequent").fit_transform(objects)
    assert out[:, 1].tolist() == ["missing", "missing"]
    out = SimpleImputer(strategy="most_frequent", fill_value="n/a").fit_transform(objects)
    assert out[:, 1].tolist() == ["n/a", "n/a"]


def test_imputer_one_row_path_equals_the_batch_path():
    X = _categorical(60)
    X[::3, 1] = None
    X[1::5, 0] = ""
    imputer = SimpleImputer(strategy="most_frequent").fit(X)
    batch = imputer.transform(X)
    rows = np.vstack([imputer.transform(X[i : i + 1]) for i in range(X.shape[0])])
    assert_array_equal(rows, batch)


def test_imputer_mean_converts_numbers_held_as_objects():
    X = np.array([[1.0], [None], [3.0], [""]], dtype=object)
    out = SimpleImputer().fit_transform(X)
    assert out.dtype == np.float64
    assert_array_equal(out[:, 0], [1.0, 2.0, 3.0, 2.0])


def test_imputer_refuses_strings_for_mean_and_bad_fill_values():
    with pytest.raises(ValueError, match="needs numeric data, but column 0 of X holds 'blue'"):
        SimpleImputer(strategy="mean").fit(_categorical())
    with pytest.raises(ValueError, match="needs numeric data"):
        SimpleImputer(strategy="median").fit(_categorical())
    with pytest.raises(ValueError, match="numeric fill_value"):
        SimpleImputer(strategy="constant", fill_value="x").fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="strategy must be one of"):
        SimpleImputer(strategy="mode").fit(np.ones((2, 1)))
    with pytest.raises(NotFittedError):
        SimpleImputer().transform(np.ones((1, 1)))
    imputer = SimpleImputer().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="2 features"):
        imputer.transform(np.ones((1, 3)))


def test_imputer_does_not_modify_its_input_and_survives_save_load():
    X = _with_nans(load_wine().data, 0.2)
    before = X.copy()
    imputer = SimpleImputer(strategy="median").fit(X)
    out = imputer.transform(X)
    assert_array_equal(X, before)
    loaded = numpyml.load(numpyml.save(imputer))
    assert_array_equal(loaded.transform(X), out)
    objects = SimpleImputer(strategy="most_frequent").fit(_categorical())
    loaded = numpyml.load(numpyml.save(objects))
    assert_array_equal(loaded.statistics_, objects.statistics_)


# --------------------------------------------------------------------------- OneHotEncoder


def _sk_onehot(**params):
    return sk.OneHotEncoder(sparse_output=False, **params)


@pytest.mark.parametrize("drop", [None, "first", "if_binary", ["green", "m", "yes"]])
def test_onehot_matches_sklearn_on_strings(drop):
    X = _categorical()
    ours = OneHotEncoder(drop=drop).fit(X)
    ref = _sk_onehot(drop=drop, handle_unknown="ignore" if drop is None else "error").fit(X)
    for ours_cats, ref_cats in zip(ours.categories_, ref.categories_, strict=True):
        assert_array_equal(ours_cats, ref_cats)
    assert_array_equal(ours.transform(X), ref.transform(X))
    assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())
    assert_array_equal(
        ours.get_feature_names_out(["c", "size", "ok"]),
        ref.get_feature_names_out(["c", "size", "ok"]),
    )


def test_onehot_matches_sklearn_on_numeric_columns_with_nan():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.integers(0, 4, 200), rng.choice([0.5, 1.5, np.nan], 200)])
    ours = OneHotEncoder().fit(X)
    ref = _sk_onehot(handle_unknown="ignore").fit(X)
    for ours_cats, ref_cats in zip(ours.categories_, ref.categories_, strict=True):
        assert_array_equal(ours_cats, ref_cats)
    assert_array_equal(ours.transform(X), ref.transform(X))
    assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())
    ints = rng.integers(0, 3, (20, 2))
    assert OneHotEncoder().fit(ints).categories_[0].dtype.kind == "i"


def test_onehot_matches_sklearn_with_none_and_nan_as_categories():
    X = np.array([["a"], [None], ["b"], [np.nan], ["a"]], dtype=object)
    ours = OneHotEncoder().fit(X)
    ref = _sk_onehot(handle_unknown="ignore").fit(X)
    assert ours.categories_[0][:2].tolist() == ["a", "b"]
    assert ours.categories_[0][2] is None
    assert np.isnan(ours.categories_[0][3])
    assert_array_equal(ours.transform(X), ref.transform(X))
    assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())


def test_onehot_encodes_unknown_categories_as_zeros_like_sklearn():
    X = _categorical()
    unseen = np.array([["purple", "m", "maybe"], ["red", "xxl", "no"]], dtype=object)
    ours = OneHotEncoder(handle_unknown="ignore").fit(X)
    ref = _sk_onehot(handle_unknown="ignore").fit(X)
    assert_array_equal(ours.transform(unseen), ref.transform(unseen))
    big = np.repeat(unseen, 40, axis=0)  # the vectorised path
    assert_array_equal(ours.transform(big), ref.transform(big))


def test_onehot_raises_on_unknown_categories_when_asked():
    encoder = OneHotEncoder(handle_unknown="error").fit(_categorical())
    with pytest.raises(ValueError, match=r"unknown categories \['purple'\] in column 0"):
        encoder.transform(np.array([["purple", "m", "no"]], dtype=object))
    big = np.array([["red", "m", "no"]] * 30 + [["red", "m", "maybe"]], dtype=object)
    with pytest.raises(ValueError, match=r"unknown categories \['maybe'\] in column 2"):
        encoder.transform(big)
    with pytest.raises(ValueError, match="unknown categories"):
        OneHotEncoder(categories=[["a"]], handle_unknown="error").fit([["a"], ["b"]])


def test_onehot_one_row_path_equals_the_vectorised_path():
    X = _categorical(200)
    numeric = np.random.default_rng(2).integers(0, 5, (200, 2)).astype(np.float64)
    for data, drop in ((X, None), (X, "first"), (numeric, None), (numeric, "if_binary")):
        encoder = OneHotEncoder(drop=drop).fit(data[:150])
        batch = encoder.transform(data)
        rows = np.vstack([encoder.transform(data[i : i + 1]) for i in range(data.shape[0])])
        assert_array_equal(rows, batch)


def test_onehot_with_given_categories_matches_sklearn():
    X = _categorical()
    categories = [["blue", "green", "red", "white"], ["l", "m", "s", "xl"], ["no", "yes"]]
    ours = OneHotEncoder(categories=categories).fit(X)
    ref = _sk_onehot(categories=categories, handle_unknown="ignore").fit(X)
    assert_array_equal(ours.transform(X), ref.transform(X))
    assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())


def test_onehot_inverse_transform_recovers_categories():
    X = _categorical(50)
    encoder = OneHotEncoder(drop="first").fit(X)
    assert_array_equal(encoder.inverse_transform(encoder.transform(X)), X)


def test_onehot_refuses_bad_input_with_clear_errors():
    with pytest.raises(NotFittedError):
        OneHotEncoder().transform([["a"]])
    with pytest.raises(ValueError, match="mixes value types"):
        OneHotEncoder().fit(np.array([["a"], [1]], dtype=object))
    with pytest.raises(ValueError, match="handle_unknown must be one of"):
        OneHotEncoder(handle_unknown="warn").fit([["a"]])
    with pytest.raises(ValueError, match="drop must be one of"):
        OneHotEncoder(drop="last").fit([["a"]])
    with pytest.raises(ValueError, match="not a category"):
        OneHotEncoder(drop=["zzz"]).fit([["a"], ["b"]])
    encoder = OneHotEncoder().fit(_categorical())
    with pytest.raises(ValueError, match="3 features"):
        encoder.transform([["red", "m"]])


def test_onehot_accepts_tables_and_survives_save_load():
    table = {"color": np.array(["red", "blue", "red"], dtype=object), "n": np.array([1.0, 2, 1])}
    encoder = OneHotEncoder().fit(table)
    assert encoder.get_feature_names_out().tolist() == [
        "color_blue",
        "color_red",
        "n_1.0",
        "n_2.0",
    ]
    loaded = numpyml.load(numpyml.save(encoder))
    row = {"color": np.array(["blue"], dtype=object), "n": np.array([7.0])}
    assert_array_equal(loaded.transform(row), [[1.0, 0.0, 0.0, 0.0]])
    assert_array_equal(loaded.transform(table), encoder.transform(table))
    assert OneHotEncoder(dtype="float32").fit(table).transform(table).dtype == np.float32


# --------------------------------------------------------------------------- LabelEncoder


@pytest.mark.parametrize(
    "y", [["b", "a", "c", "a"], [3, 1, 2, 3], np.array(["x", "y", "x"], dtype=object)]
)
def test_label_encoder_matches_sklearn(y):
    ours = LabelEncoder().fit(y)
    ref = sk.LabelEncoder().fit(y)
    assert_array_equal(ours.classes_, ref.classes_)
    assert_array_equal(ours.transform(y), ref.transform(y))
    assert_array_equal(ours.fit_transform(y), ref.fit_transform(y))
    assert_array_equal(ours.inverse_transform([0, 1]), ref.inverse_transform([0, 1]))


def test_label_encoder_refuses_unseen_labels_and_codes():
    encoder = LabelEncoder().fit(["cat", "dog"])
    with pytest.raises(ValueError, match=r"unseen labels: \['bird'\]"):
        encoder.transform(["cat", "bird"])
    with pytest.raises(ValueError, match="unseen labels"):
        encoder.inverse_transform([0, 5])
    with pytest.raises(ValueError, match="unseen labels"):
        LabelEncoder().fit([1, 2]).transform(["a"])
    with pytest.raises(NotFittedError):
        LabelEncoder().transform(["a"])
    with pytest.raises(ValueError, match="missing"):
        LabelEncoder().fit(np.array(["a", None], dtype=object))


def test_label_encoder_survives_save_load():
    encoder = LabelEncoder().fit(["b", "a", "c"])
    loaded = numpyml.load(numpyml.save(encoder))
    assert_array_equal(loaded.transform(["c", "a"]), [2, 0])
