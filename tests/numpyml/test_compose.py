"""ColumnTransformer on tables and arrays, against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.compose as sk_compose
import sklearn.impute as sk_impute
import sklearn.pipeline as sk_pipeline
import sklearn.preprocessing as sk
from numpy.testing import assert_allclose, assert_array_equal

import numpyml
from numpyml.compose import ColumnTransformer
from numpyml.exceptions import NotFittedError
from numpyml.pipeline import Pipeline
from numpyml.preprocessing import OneHotEncoder, SimpleImputer, StandardScaler

NUMERIC = ["age", "income"]
CATEGORICAL = ["city", "plan"]


def _table(n: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """A table as the registry builds it from a CSV: NaN / None for missing values."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    age[::7] = np.nan
    income = rng.normal(5e4, 1e4, n)
    income[3::11] = np.nan
    city = rng.choice(np.array(["paris", "lyon", "nice", None], dtype=object), n)
    plan = rng.choice(np.array(["free", "pro", "team"], dtype=object), n)
    return {"age": age, "income": income, "city": city, "plan": plan}


def _as_object_array(table: dict[str, np.ndarray]) -> np.ndarray:
    """The same data as scikit-learn takes it without pandas: NaN marks missing values."""
    columns = []
    for name in NUMERIC + CATEGORICAL:
        column = table[name].astype(object)
        column[np.equal(column, None)] = np.nan
        columns.append(column)
    out = np.empty((len(columns[0]), len(columns)), dtype=object)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def _registry_preprocessor() -> ColumnTransformer:
    numeric = Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    return ColumnTransformer([("num", numeric, NUMERIC), ("cat", categorical, CATEGORICAL)])


def _sklearn_preprocessor() -> sk_compose.ColumnTransformer:
    numeric = sk_pipeline.Pipeline(
        [("impute", sk_impute.SimpleImputer(strategy="mean")), ("scale", sk.StandardScaler())]
    )
    categorical = sk_pipeline.Pipeline(
        [
            ("impute", sk_impute.SimpleImputer(strategy="most_frequent")),
            ("onehot", sk.OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    return sk_compose.ColumnTransformer([("num", numeric, [0, 1]), ("cat", categorical, [2, 3])])


def test_it_matches_sklearn_on_a_table_with_nans_and_unknown_categories():
    train, test = _table(200, seed=0), _table(50, seed=1)
    test["city"][:5] = "berlin"  # unseen in fit
    test["plan"][5:8] = "enterprise"
    ours = _registry_preprocessor()
    ref = _sklearn_preprocessor()
    out = ours.fit_transform(train)
    assert out.dtype == np.float64
    assert_allclose(out, ref.fit_transform(_as_object_array(train)), rtol=1e-12, atol=1e-12)
    assert_allclose(
        ours.transform(test), ref.transform(_as_object_array(test)), rtol=1e-12, atol=1e-12
    )
    one_row = {name: column[:1] for name, column in test.items()}
    assert_allclose(ours.transform(one_row), ref.transform(_as_object_array(test)[:1]), atol=1e-12)
    names = [n.replace("x0", "age").replace("x1", "income") for n in ref.get_feature_names_out()]
    names = [n.replace("x2", "city").replace("x3", "plan") for n in names]
    assert ours.get_feature_names_out().tolist() == names


def test_it_matches_sklearn_on_a_2d_object_array_with_integer_columns():
    X = _as_object_array(_table())
    ours = ColumnTransformer(
        [
            ("num", Pipeline([("i", SimpleImputer()), ("s", StandardScaler())]), [0, 1]),
            (
                "cat",
                Pipeline([("i", SimpleImputer(strategy="most_frequent")), ("o", OneHotEncoder())]),
                [2, 3],
            ),
        ]
    )
    assert_allclose(ours.fit_transform(X), _sklearn_preprocessor().fit_transform(X), atol=1e-12)
    assert ours.n_features_in_ == 4
    assert not hasattr(ours, "feature_names_in_")
    assert ours.get_feature_names_out()[:2].tolist() == ["num__x0", "num__x1"]


def test_it_leaves_the_given_transformers_unfitted():
    scaler = StandardScaler()
    transformer = ColumnTransformer([("num", scaler, ["age"])])
    transformer.fit({"age": np.array([1.0, 2.0, 3.0])})
    assert not hasattr(scaler, "mean_")
    fitted = transformer.transformers_[0][1]
    assert fitted is not scaler
    assert_allclose(fitted.mean_, [2.0])
    assert transformer.named_transformers_["num"] is fitted


def test_it_handles_remainder_passthrough_drop_and_output_indices_like_sklearn():
    X = np.arange(24, dtype=np.float64).reshape(6, 4)
    for remainder in ("drop", "passthrough"):
        ours = ColumnTransformer([("s", StandardScaler(), [1, 3])], remainder=remainder)
        ref = sk_compose.ColumnTransformer(
            [("s", sk.StandardScaler(), [1, 3])], remainder=remainder
        )
        assert_allclose(ours.fit_transform(X), ref.fit_transform(X))
        assert ours.output_indices_ == ref.output_indices_
        assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())
        assert [t[0] for t in ours.transformers_] == [t[0] for t in ref.transformers_]
        assert ours.transformers_[-1][2] == [0, 2]


def test_it_passes_through_and_drops_named_columns():
    table = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0]), "c": np.array([5.0, 6.0])}
    ours = ColumnTransformer(
        [("keep", "passthrough", ["c", "a"]), ("gone", "drop", ["b"])],
        verbose_feature_names_out=False,
    )
    assert_array_equal(ours.fit_transform(table), [[5.0, 1.0], [6.0, 2.0]])
    assert ours.get_feature_names_out().tolist() == ["c", "a"]
    del table["b"]  # a dropped column may be absent at transform
    assert_array_equal(ours.transform(table), [[5.0, 1.0], [6.0, 2.0]])


def test_it_accepts_an_empty_column_list():
    table = {"age": np.array([1.0, 2.0, 3.0])}
    ours = ColumnTransformer([("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(), [])])
    out = ours.fit_transform(table)
    assert out.shape == (3, 1)
    assert ours.output_indices_["cat"] == slice(0, 0)
    assert_array_equal(ours.transform(table), out)


def test_it_selects_by_name_ignoring_extra_columns_and_order():
    table = _table(30)
    ours = _registry_preprocessor().fit(table)
    shuffled = {name: table[name] for name in reversed(list(table))}
    shuffled["unused"] = np.zeros(30)
    assert_array_equal(ours.transform(shuffled), ours.transform(table))


def test_it_accepts_a_row_of_scalars():
    table = _table(30)
    ours = _registry_preprocessor().fit(table)
    scalars = {name: column[4] for name, column in table.items()}
    assert_array_equal(
        ours.transform(scalars), ours.transform({k: v[4:5] for k, v in table.items()})
    )


def test_it_names_a_missing_column_at_transform():
    ours = _registry_preprocessor().fit(_table(30))
    row = {name: column[:1] for name, column in _table(5).items() if name != "plan"}
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['plan'\]"):
        ours.transform(row)


def test_it_refuses_bad_specifications_and_input():
    table = _table(10)
    with pytest.raises(ValueError, match="Column 'zip' of transformer 'num' is not in X"):
        ColumnTransformer([("num", StandardScaler(), ["zip"])]).fit(table)
    with pytest.raises(ValueError, match="by name, but X is an array"):
        ColumnTransformer([("num", StandardScaler(), ["age"])]).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="out of range"):
        ColumnTransformer([("num", StandardScaler(), [5])]).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="unique"):
        ColumnTransformer([("a", "drop", [0]), ("a", "drop", [1])]).fit(np.ones((3, 2)))
    with pytest.raises(TypeError, match="must have fit and transform"):
        ColumnTransformer([("a", object(), [0])]).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="remainder must be"):
        ColumnTransformer([("a", "drop", [0])], remainder="keep").fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="not numeric"):
        ColumnTransformer([("a", "passthrough", ["city"])]).fit(table)
    with pytest.raises(NotFittedError):
        _registry_preprocessor().transform(table)
    fitted = ColumnTransformer([("s", StandardScaler(), [0])]).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="3 features, but ColumnTransformer is expecting 2"):
        fitted.transform(np.ones((1, 3)))


def test_it_exposes_nested_params_like_sklearn():
    ours = _registry_preprocessor()
    params = ours.get_params()
    assert params["num__impute__strategy"] == "mean"
    assert params["cat__onehot__handle_unknown"] == "ignore"
    assert params["remainder"] == "drop"
    ours.set_params(num__impute__strategy="median", remainder="passthrough")
    assert ours.get_params()["num__impute__strategy"] == "median"
    ours.set_params(cat="drop")
    assert ours.transformers[1][1] == "drop"
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        ours.set_params(bogus=1)
    with_remainder = ColumnTransformer([("s", "drop", [0])], remainder=StandardScaler())
    assert with_remainder.get_params()["remainder__with_mean"] is True
    with_remainder.set_params(remainder__with_mean=False)
    assert with_remainder.remainder.with_mean is False


def test_it_predicts_identically_after_save_and_load():
    table = _table(100)
    ours = _registry_preprocessor().fit(table)
    loaded = numpyml.load(numpyml.save(ours))
    test = _table(20, seed=3)
    test["city"][0] = "unseen"
    assert_array_equal(loaded.transform(test), ours.transform(test))
    one_row = {name: column[:1] for name, column in test.items()}
    assert_array_equal(loaded.transform(one_row), ours.transform(one_row))
    assert loaded.output_indices_ == ours.output_indices_
    assert_array_equal(loaded.get_feature_names_out(), ours.get_feature_names_out())
