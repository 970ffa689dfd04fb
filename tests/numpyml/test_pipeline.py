"""Pipeline, make_pipeline and clone: scikit-learn's behaviour, plus callback routing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sklearn.impute as sk_impute
import sklearn.pipeline as sk_pipeline
import sklearn.preprocessing as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

import numpyml
from numpyml.base import BaseEstimator, ClassifierMixin
from numpyml.compose import ColumnTransformer
from numpyml.exceptions import NotFittedError
from numpyml.pipeline import Pipeline, clone, make_pipeline
from numpyml.preprocessing import OneHotEncoder, SimpleImputer, StandardScaler
from numpyml.validation import validate_data


class _Centroid(ClassifierMixin, BaseEstimator):
    """A tiny nearest-centroid classifier that records what fit received."""

    def __init__(self, shrink: float = 0.0) -> None:
        self.shrink = shrink

    def fit(self, X: Any, y: Any, callback: Any = None, sample_weight: Any = None) -> _Centroid:
        X = validate_data(self, X, reset=True)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.centroids_ = np.array([X[codes == k].mean(axis=0) for k in range(len(self.classes_))])
        self.fit_sample_weight_ = sample_weight
        if callback is not None:
            callback({"iteration": 1, "max_iter": 1, "loss": 0.0})
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        X = validate_data(self, X, reset=False)
        return -(((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


class _NoCallback(_Centroid):
    def fit(self, X: Any, y: Any) -> _NoCallback:  # type: ignore[override]
        return super().fit(X, y)


def _wine_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_it_fits_transformers_then_the_final_step():
    X_train, X_test, y_train, _ = _wine_split()
    pipe = Pipeline([("scale", StandardScaler()), ("model", _Centroid())]).fit(X_train, y_train)
    scaler = StandardScaler().fit(X_train)
    model = _Centroid().fit(scaler.transform(X_train), y_train)
    assert_array_equal(pipe.predict(X_test), model.predict(scaler.transform(X_test)))
    assert_array_equal(
        pipe.decision_function(X_test), model.decision_function(scaler.transform(X_test))
    )
    assert pipe.score(X_test, model.predict(scaler.transform(X_test))) == 1.0
    assert_array_equal(pipe.classes_, [0, 1, 2])
    assert pipe.n_features_in_ == 13


def test_its_transform_matches_sklearn_pipeline():
    X_train, X_test, _, _ = _wine_split()
    X_train = X_train.copy()
    X_train[::5, 2] = np.nan
    ours = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    ref = sk_pipeline.Pipeline(
        [("impute", sk_impute.SimpleImputer(strategy="median")), ("scale", sk.StandardScaler())]
    )
    assert_allclose(ours.fit_transform(X_train), ref.fit_transform(X_train), rtol=1e-12)
    assert_allclose(ours.transform(X_test), ref.transform(X_test), rtol=1e-12, atol=1e-12)
    with pytest.raises(AttributeError, match="inverse_transform"):
        ours.inverse_transform(X_test)  # SimpleImputer cannot be inverted
    scaling = Pipeline([("scale", StandardScaler())]).fit(X_test)
    assert_allclose(scaling.inverse_transform(scaling.transform(X_test)), X_test, rtol=1e-12)


def test_it_routes_step_params_and_the_callback_to_the_final_step():
    X_train, _, y_train, _ = _wine_split()
    calls: list[dict[str, Any]] = []
    weights = np.ones(len(y_train))
    pipe = Pipeline([("scale", StandardScaler()), ("model", _Centroid())])
    pipe.fit(X_train, y_train, callback=calls.append, model__sample_weight=weights)
    assert calls == [{"iteration": 1, "max_iter": 1, "loss": 0.0}]
    assert pipe.named_steps["model"].fit_sample_weight_ is weights
    # A final step whose fit takes no callback simply does not get one.
    Pipeline([("scale", StandardScaler()), ("model", _NoCallback())]).fit(
        X_train, y_train, callback=calls.append
    )
    assert len(calls) == 1
    with pytest.raises(ValueError, match="'stepname__parameter'"):
        pipe.fit(X_train, y_train, sample_weight=weights)
    with pytest.raises(ValueError, match="does not accept the 'nope__x'"):
        pipe.fit(X_train, y_train, nope__x=1)


def test_it_exposes_steps_like_sklearn():
    scale, model = StandardScaler(), _Centroid()
    pipe = Pipeline([("scale", scale), ("model", model)])
    assert len(pipe) == 2
    assert pipe[0] is scale
    assert pipe["model"] is model
    assert pipe.named_steps.model is model
    head = pipe[:1]
    assert isinstance(head, Pipeline)
    assert head.steps == [("scale", scale)]
    assert not hasattr(pipe, "predict_proba")  # the final step has none
    assert hasattr(pipe, "decision_function")
    assert not hasattr(pipe, "transform")
    assert not hasattr(pipe, "classes_")  # not fitted yet


def test_its_params_are_nested_and_settable():
    pipe = Pipeline([("scale", StandardScaler()), ("model", _Centroid())])
    params = pipe.get_params()
    assert params["scale__with_mean"] is True
    assert params["model__shrink"] == 0.0
    assert params["model"] is pipe.steps[1][1]
    assert set(pipe.get_params(deep=False)) == {"steps"}
    pipe.set_params(scale__with_mean=False, model__shrink=0.5)
    assert pipe.steps[0][1].with_mean is False
    assert pipe.steps[1][1].shrink == 0.5
    steps_before = pipe.steps
    pipe.set_params(scale="passthrough")
    assert pipe.steps[0][1] == "passthrough"
    assert steps_before[0][1] != "passthrough"  # the old list was not modified
    with pytest.raises(ValueError, match="Invalid parameter 'colour'"):
        pipe.set_params(colour=1)


def test_it_skips_passthrough_steps_anywhere():
    X_train, X_test, y_train, _ = _wine_split()
    pipe = Pipeline([("a", "passthrough"), ("b", None), ("model", _Centroid())])
    pipe.fit(X_train, y_train)
    assert_array_equal(pipe.predict(X_test), _Centroid().fit(X_train, y_train).predict(X_test))
    only_scale = Pipeline([("scale", StandardScaler()), ("model", "passthrough")])
    assert_allclose(only_scale.fit_transform(X_train), StandardScaler().fit_transform(X_train))
    assert_allclose(only_scale.transform(X_test), StandardScaler().fit(X_train).transform(X_test))


def test_it_refuses_bad_steps():
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match="unique"):
        Pipeline([("a", StandardScaler()), ("a", _Centroid())]).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="must not contain '__'"):
        Pipeline([("a__b", _Centroid())]).fit(X, [0, 1, 0, 1])
    with pytest.raises(TypeError, match="only the last step may be a model"):
        Pipeline([("m", _Centroid()), ("s", StandardScaler())]).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="non-empty list"):
        Pipeline([]).fit(X)
    with pytest.raises(NotFittedError):
        Pipeline([("s", StandardScaler()), ("m", _Centroid())]).predict(X)


def test_make_pipeline_names_steps_after_their_classes():
    pipe = make_pipeline(StandardScaler(), StandardScaler(), _Centroid())
    assert [name for name, _ in pipe.steps] == ["standardscaler-1", "standardscaler-2", "_centroid"]
    assert make_pipeline(StandardScaler()).steps[0][0] == "standardscaler"


def test_clone_makes_an_unfitted_copy_with_equal_params():
    scaler = StandardScaler(with_std=False).fit(np.ones((3, 2)))
    copy = clone(scaler)
    assert copy is not scaler
    assert copy.get_params() == scaler.get_params()
    assert not hasattr(copy, "mean_")
    pipe = Pipeline([("scale", scaler), ("model", _Centroid(shrink=0.3))])
    copied = clone(pipe)
    assert copied.steps[0][1] is not scaler
    assert copied.get_params()["model__shrink"] == 0.3
    assert not hasattr(copied.steps[0][1], "mean_")
    with pytest.raises(TypeError, match="not an estimator"):
        clone("scaler")


def _registry_pipeline(model: Any) -> Pipeline:
    numeric = Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    prep = ColumnTransformer([("num", numeric, ["age", "income"]), ("cat", categorical, ["city"])])
    return Pipeline([("prep", prep), ("model", model)])


def _table(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    income = rng.normal(5e4, 1e4, n)
    city = rng.choice(np.array(["paris", "lyon", None], dtype=object), n)
    y = np.where((age > 40) ^ (city == "paris"), "churn", "stay")
    age[::6] = np.nan
    return {"age": age, "income": income, "city": city}, y


def test_a_full_table_pipeline_handles_nans_and_unknown_categories():
    table, y = _table(200, seed=0)
    pipe = _registry_pipeline(_Centroid()).fit(table, y)
    assert_array_equal(pipe.feature_names_in_, ["age", "income", "city"])
    assert set(pipe.classes_) == {"churn", "stay"}
    row = {"age": np.array([np.nan]), "income": np.array([4e4]), "city": np.array(["rome"], object)}
    prediction = pipe.predict(row)
    assert prediction.shape == (1,)
    assert prediction[0] in {"churn", "stay"}


def test_a_saved_full_pipeline_predicts_identically_after_load():
    naive_bayes = pytest.importorskip("numpyml.naive_bayes")
    table, y = _table(300, seed=1)
    pipe = _registry_pipeline(naive_bayes.GaussianNB()).fit(table, y)
    loaded = numpyml.load(numpyml.save(pipe))
    assert isinstance(loaded, Pipeline)
    test, _ = _table(40, seed=2)
    test["city"][:3] = "unseen"
    assert_array_equal(loaded.predict(test), pipe.predict(test))
    assert_array_equal(loaded.predict_proba(test), pipe.predict_proba(test))
    one_row = {name: column[5:6] for name, column in test.items()}
    assert_array_equal(loaded.predict_proba(one_row), pipe.predict_proba(one_row))
    assert_array_equal(loaded.classes_, pipe.classes_)
    assert loaded.get_params()["prep__num__impute__strategy"] == "mean"


def test_a_saved_transformer_pipeline_round_trips_unfitted_and_fitted():
    pipe = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    unfitted = numpyml.load(numpyml.save(pipe))
    assert unfitted.get_params(deep=False).keys() == {"steps"}
    X = np.array([[1.0, np.nan], [2.0, 4.0], [np.nan, 8.0]])
    pipe.fit(X)
    loaded = numpyml.load(numpyml.save(pipe))
    assert_array_equal(loaded.transform(X), pipe.transform(X))
