"""The estimator contract, checked on every numpyml estimator and transformer at once.

The estimators are discovered from numpyml's class table (`known_classes`), so a new one
is covered automatically: it is built with its defaults (plus ``random_state=0`` where it
has one), fitted on a small dataset of its kind (classifier, regressor, unsupervised,
label transformer) and put through scikit-learn's common checks, rewritten for numpyml:
construction, parameters, fit returning self, errors before fit and on bad input,
reproducibility, inputs left untouched, save/load, named columns and fit callbacks.
An estimator that needs constructor arguments (Pipeline, ColumnTransformer) gets a
sensible instance from BUILDERS.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import sklearn.base as sk_base
import sklearn.exceptions as sk_exceptions
from numpy.testing import assert_array_equal
from sklearn.utils.estimator_checks import check_estimator

import numpyml
from numpyml import (
    PCA,
    ColumnTransformer,
    LogisticRegression,
    NotFittedError,
    Pipeline,
    StandardScaler,
)
from numpyml.base import BaseEstimator
from numpyml.exceptions import ConvergenceWarning, DataConversionWarning
from numpyml.persistence import known_classes

OUTPUT_METHODS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")

# Estimators that accept NaN in X, as their scikit-learn twins do (missing values are
# their job, or are passed through to the next step).
ALLOW_NAN = {"SimpleImputer", "StandardScaler", "OneHotEncoder", "DateFeatures"}
# Estimators that accept strings in X (categories).
ALLOW_STRINGS = {"OneHotEncoder"}

# Estimators that cannot be built from defaults alone.
BUILDERS: dict[str, Callable[[], BaseEstimator]] = {
    "Pipeline": lambda: Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]),
    # The first columns go to PCA, which refuses NaN: so does the whole transformer.
    "ColumnTransformer": lambda: ColumnTransformer(
        [("pca", PCA(n_components=1, random_state=0), [0, 1]), ("scale", StandardScaler(), [2, 3])]
    ),
}


def _is_abstract(cls: type) -> bool:
    parameters = inspect.signature(cls.__init__).parameters.values()
    has_varargs = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)
    return has_varargs or not hasattr(cls, "fit")


def _needs_arguments(cls: type) -> bool:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return any(p.default is inspect.Parameter.empty for p in parameters)


_CONCRETE = {
    name: cls
    for name, cls in sorted(known_classes().items())
    if name in BUILDERS or not _is_abstract(cls)
}
# A new estimator whose constructor needs arguments must get an entry in BUILDERS.
UNBUILDABLE = sorted(n for n, c in _CONCRETE.items() if n not in BUILDERS and _needs_arguments(c))
CLASSES = {name: cls for name, cls in _CONCRETE.items() if name not in UNBUILDABLE}


def build(name: str) -> BaseEstimator:
    """A fresh instance: the builder's, or defaults plus random_state=0 where there is one."""
    if name in BUILDERS:
        return BUILDERS[name]()
    estimator = CLASSES[name]()
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=0)
    return estimator


def kind(name: str) -> str:
    """classifier, regressor, label (fit(y)) or unsupervised (fit(X))."""
    estimator = build(name)
    if list(inspect.signature(type(estimator).fit).parameters)[1:2] == ["y"]:
        return "label"
    estimator_type = getattr(estimator, "_estimator_type", None)
    if estimator_type in ("classifier", "regressor"):
        return estimator_type
    return "unsupervised"


# ------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class Data:
    X: np.ndarray
    y: np.ndarray | None


def _make_classification() -> Data:
    rng = np.random.default_rng(0)
    centres = np.array([[2.0, 2.0, 2.0, 2.0], [5.0, 5.0, 2.0, 3.0], [2.0, 5.0, 5.0, 5.0]])
    y = np.repeat([0, 1, 2], 20)
    # Non-negative, so that MultinomialNB (counts) takes the same data as the others.
    X = np.abs(centres[y] + rng.normal(0.0, 0.7, (60, 4)))
    return Data(X, y)


def _make_regression() -> Data:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=60)
    return Data(X, y)


CLASSIFICATION = _make_classification()
REGRESSION = _make_regression()
LABELS = Data(np.array(["b", "a", "c", "a", "b", "c"], dtype=object), None)


def data_for(name: str) -> Data:
    k = kind(name)
    if k == "regressor":
        return REGRESSION
    if k == "label":
        return LABELS
    if k == "classifier":
        return CLASSIFICATION
    return Data(CLASSIFICATION.X, None)


def fit(estimator: BaseEstimator, data: Data, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if data.y is None:
            return estimator.fit(data.X, **kwargs)
        return estimator.fit(data.X, data.y, **kwargs)


def fitted(name: str) -> BaseEstimator:
    estimator = build(name)
    fit(estimator, data_for(name))
    return estimator


def methods(estimator: Any) -> list[str]:
    return [m for m in OUTPUT_METHODS if hasattr(estimator, m)]


def outputs(estimator: Any, X: Any) -> dict[str, Any]:
    return {m: getattr(estimator, m)(X) for m in methods(estimator)}


def names_where(predicate: Callable[[str], bool]) -> list[str]:
    return [name for name in CLASSES if predicate(name)]


ALL = list(CLASSES)
ON_X = names_where(lambda n: kind(n) != "label")
SUPERVISED = names_where(lambda n: kind(n) in ("classifier", "regressor"))
CLASSIFIERS = names_where(lambda n: kind(n) == "classifier")
TAKES_CALLBACK = names_where(lambda n: "callback" in inspect.signature(CLASSES[n].fit).parameters)
# Fits without iterations take a callback too, and report each part of their work done with
# no loss (numpyml.progress.ProgressCallback); the others report their iterations and losses.
PARTS = [
    "GaussianNB",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "LinearRegression",
    "MultinomialNB",
    "PCA",
]
ITERATIVE = [n for n in TAKES_CALLBACK if n not in PARTS]


def assert_same_outputs(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for method in a:
        assert_array_equal(a[method], b[method], err_msg=method, strict=True)


# ------------------------------------------------------------------------------ discovery


def test_it_covers_every_public_estimator():
    exported = {
        name
        for name in numpyml.__all__
        if isinstance(getattr(numpyml, name), type)
        and issubclass(getattr(numpyml, name), BaseEstimator)
    }
    assert exported <= set(CLASSES)
    assert {"Pipeline", "ColumnTransformer", "LogisticRegression", "KMeans", "PCA"} <= set(CLASSES)


def test_every_estimator_can_be_built():
    assert not UNBUILDABLE, f"add a sensible instance of {UNBUILDABLE} to BUILDERS"


def test_it_knows_the_kind_of_each_estimator():
    assert kind("LogisticRegression") == "classifier"
    assert kind("Pipeline") == "classifier"
    assert kind("LinearRegression") == "regressor"
    assert kind("KMeans") == "unsupervised"
    assert kind("LabelEncoder") == "label"


# ------------------------------------------------------------------------------ construction


@pytest.mark.parametrize("name", names_where(lambda n: n not in BUILDERS))
def test_it_constructs_with_defaults_and_stores_them_unchanged(name):
    cls = CLASSES[name]
    estimator = cls()
    defaults = {
        key: p.default
        for key, p in inspect.signature(cls.__init__).parameters.items()
        if key != "self"
    }
    params = estimator.get_params(deep=False)
    assert params.keys() == defaults.keys()
    for key, default in defaults.items():
        assert params[key] is default, key
    assert set(vars(estimator)) == set(defaults), "__init__ must only store its parameters"
    assert repr(estimator) == f"{name}()"


DOCUMENTED = ("fit", "predict", "predict_proba", "transform", "fit_transform", "fit_predict")


@pytest.mark.parametrize("name", ALL)
def test_its_fit_and_output_methods_have_numpydoc_parameters_and_returns(name):
    estimator = build(name)
    sections = {"Parameters", "Returns"}
    undocumented = [
        m
        for m in DOCUMENTED
        if hasattr(estimator, m)
        and not sections <= set((inspect.getdoc(getattr(estimator, m)) or "").split())
    ]
    assert not undocumented, f"{name}: {undocumented} lack a Parameters or Returns section"


@pytest.mark.parametrize("name", ALL)
def test_it_round_trips_its_params(name):
    estimator = build(name)
    params = estimator.get_params(deep=False)
    twin = type(estimator)(**params)
    assert twin.get_params(deep=False).keys() == params.keys()
    for key, value in twin.get_params(deep=False).items():
        assert value is params[key], key
    assert estimator.set_params(**params) is estimator
    deep = estimator.get_params(deep=True)
    assert set(params) <= set(deep)
    assert estimator.set_params(**deep) is estimator
    assert estimator.get_params(deep=True).keys() == deep.keys()


@pytest.mark.parametrize("name", ALL)
def test_it_refuses_an_unknown_param(name):
    estimator = build(name)
    with pytest.raises(ValueError, match="not_a_param"):
        estimator.set_params(not_a_param=1)


def test_it_sets_nested_params_of_composites():
    pipe = build("Pipeline")
    pipe.set_params(model__C=0.5, scale__with_mean=False)
    assert pipe.named_steps["model"].C == 0.5
    assert pipe.get_params()["scale__with_mean"] is False
    with pytest.raises(ValueError, match="not_a_param"):
        pipe.set_params(model__not_a_param=1)


# ------------------------------------------------------------------------------ fit


@pytest.mark.parametrize("name", ALL)
def test_fit_returns_self(name):
    estimator = build(name)
    assert fit(estimator, data_for(name)) is estimator


@pytest.mark.parametrize("name", ALL)
def test_fit_leaves_the_params_alone_and_sets_fitted_attributes(name):
    estimator = build(name)
    before = estimator.get_params(deep=False)
    fit(estimator, data_for(name))
    after = estimator.get_params(deep=False)
    assert after.keys() == before.keys()
    for key, value in after.items():
        assert value is before[key], key
    assert any(k.endswith("_") and not k.startswith("_") for k in dir(estimator))
    if kind(name) != "label":
        assert estimator.n_features_in_ == data_for(name).X.shape[1]


@pytest.mark.parametrize("name", ALL)
def test_refitting_gives_the_same_model(name):
    data = data_for(name)
    estimator = fitted(name)
    first = outputs(estimator, data.X)
    fit(estimator, Data(data.X[::-1][:40], None if data.y is None else data.y[::-1][:40]))
    fit(estimator, data)
    assert_same_outputs(outputs(estimator, data.X), first)


@pytest.mark.parametrize("name", ALL)
def test_it_uses_no_global_random_state(name):
    state = np.random.get_state()
    estimator = fitted(name)
    outputs(estimator, data_for(name).X)
    after = np.random.get_state()
    assert_array_equal(after[1], state[1])
    assert after[2:] == state[2:]


@pytest.mark.parametrize("name", ALL)
def test_it_refuses_to_predict_before_fit(name):
    estimator = build(name)
    X = data_for(name).X
    available = methods(estimator) + (["inverse_transform"] if kind(name) == "label" else [])
    assert available, f"{name} has no prediction method"
    for method in available:
        with pytest.raises(NotFittedError, match="not fitted"):
            getattr(estimator, method)(X)


@pytest.mark.parametrize("name", ON_X)
def test_it_refuses_a_different_number_of_features(name):
    estimator = fitted(name)
    X = data_for(name).X
    for method in methods(estimator):
        with pytest.raises(ValueError, match=r"features") as error:
            getattr(estimator, method)(X[:, :3])
        assert re.search(r"\b3\b", str(error.value)), str(error.value)
        assert re.search(r"\b4\b", str(error.value)), str(error.value)


@pytest.mark.parametrize("name", ON_X)
def test_it_says_how_many_features_it_expects_in_scikit_learns_words(name):
    # scikit-learn's wording, which its check_n_features_in_after_fitting matches and
    # which users of both libraries already search for.
    estimator = fitted(name)
    X = data_for(name).X
    # A pipeline's first step checks the columns, and names itself (as scikit-learn's does).
    checker = estimator.steps[0][1] if isinstance(estimator, Pipeline) else estimator
    for method in methods(estimator) + (["score"] if hasattr(estimator, "score") else []):
        args = (X[:, :1], data_for(name).y) if method == "score" else (X[:, :1],)
        with pytest.raises(ValueError, match="is expecting") as error:
            getattr(estimator, method)(*args)
        assert str(error.value) == (
            f"X has 1 features, but {type(checker).__name__} is expecting 4 features as input."
        ), method


def _with(X: np.ndarray, value: float) -> np.ndarray:
    X = X.copy()
    X[1, 0] = value
    return X


@pytest.mark.parametrize("name", ON_X)
def test_it_refuses_nan_in_X_unless_missing_values_are_its_job(name):
    data = data_for(name)
    X = _with(data.X, np.nan)
    if name in ALLOW_NAN:
        fit(build(name), Data(X, data.y))
        return
    with pytest.raises(ValueError, match="NaN"):
        fit(build(name), Data(X, data.y))
    estimator = fitted(name)
    for method in methods(estimator):
        with pytest.raises(ValueError, match="NaN"):
            getattr(estimator, method)(X)


@pytest.mark.parametrize("name", ON_X)
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_it_refuses_infinity_in_X(name, value):
    data = data_for(name)
    X = _with(data.X, value)
    with pytest.raises(ValueError, match="infinity"):
        fit(build(name), Data(X, data.y))
    estimator = fitted(name)
    for method in methods(estimator):
        with pytest.raises(ValueError, match="infinity"):
            getattr(estimator, method)(X)


@pytest.mark.parametrize("name", names_where(lambda n: n in ON_X and n not in ALLOW_STRINGS))
def test_it_refuses_non_numeric_X(name):
    data = data_for(name)
    X = data.X.astype(object)
    X[1, 0] = "abc"
    with pytest.raises(ValueError, match="abc"):
        fit(build(name), Data(X, data.y))
    estimator = fitted(name)
    for method in methods(estimator):
        with pytest.raises(ValueError, match="abc"):
            getattr(estimator, method)(X)


@pytest.mark.parametrize("name", ON_X)
def test_it_refuses_a_1d_or_empty_X(name):
    data = data_for(name)
    for bad, message in ((data.X[:, 0], "2-D"), (data.X[:0], "0 sample")):
        with pytest.raises(ValueError, match=message):
            fit(build(name), Data(bad, None if data.y is None else data.y[: len(bad)]))
    estimator = fitted(name)
    for method in methods(estimator):
        with pytest.raises(ValueError, match="2-D"):
            getattr(estimator, method)(data.X[0])
        with pytest.raises(ValueError, match="0 sample"):
            getattr(estimator, method)(data.X[:0])


@pytest.mark.parametrize("name", SUPERVISED)
def test_it_refuses_y_of_the_wrong_length(name):
    data = data_for(name)
    with pytest.raises(ValueError, match=r"59 .*60|60 .*59"):
        fit(build(name), Data(data.X, data.y[:-1]))


@pytest.mark.parametrize("name", SUPERVISED)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_it_refuses_a_missing_or_infinite_target(name, value):
    data = data_for(name)
    y = data.y.astype(float)
    y[3] = value
    with pytest.raises(ValueError, match=r"NaN|infinity|missing|continuous"):
        fit(build(name), Data(data.X, y))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_it_refuses_a_single_class(name):
    data = data_for(name)
    with pytest.raises(ValueError, match="class"):
        fit(build(name), Data(data.X, np.zeros(len(data.y), dtype=int)))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_it_predicts_string_labels(name):
    data = data_for(name)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[data.y]
    estimator = fit(build(name), Data(data.X, labels))
    assert_array_equal(estimator.classes_, ["setosa", "versicolor", "virginica"])
    assert set(estimator.predict(data.X)) <= set(labels)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_predict_with_proba_is_predict_and_predict_proba_together(name):
    estimator = fitted(name)
    if not hasattr(estimator, "predict_proba"):
        pytest.skip(f"{name} has no probabilities")
    X = data_for(name).X
    # Scores near the decision boundary too, where one scoring pass must still agree.
    X = np.vstack([X, X[:5] * 1e-9])
    labels, proba = estimator.predict_with_proba(X)
    assert_array_equal(labels, estimator.predict(X))
    assert_array_equal(proba, estimator.predict_proba(X))


# ------------------------------------------------------------------------------ determinism


@pytest.mark.parametrize("name", ALL)
def test_the_same_random_state_gives_the_same_results(name):
    data = data_for(name)
    first, second = fitted(name), fitted(name)
    assert_same_outputs(outputs(first, data.X), outputs(second, data.X))


@pytest.mark.parametrize("name", ALL)
def test_it_does_not_modify_its_inputs(name):
    data = data_for(name)
    X = data.X.copy()
    y = None if data.y is None else data.y.copy()
    estimator = fit(build(name), Data(X, y))
    outputs(estimator, X)
    assert_array_equal(X, data.X, strict=True)
    if y is not None:
        assert_array_equal(y, data.y, strict=True)


@pytest.mark.parametrize("name", ON_X)
def test_it_does_not_modify_a_table(name):
    data = data_for(name)
    table = {f"f{j}": data.X[:, j].copy() for j in range(data.X.shape[1])}
    estimator = fit(build(name), Data(table, data.y))  # type: ignore[arg-type]
    outputs(estimator, table)
    for j in range(data.X.shape[1]):
        assert_array_equal(table[f"f{j}"], data.X[:, j], strict=True)


# ------------------------------------------------------------------------------ persistence


@pytest.mark.parametrize("name", ALL)
def test_a_loaded_model_predicts_bit_for_bit_the_same(name):
    data = data_for(name)
    estimator = fitted(name)
    loaded = numpyml.load(numpyml.save(estimator))
    assert type(loaded) is type(estimator)
    assert_same_outputs(outputs(loaded, data.X), outputs(estimator, data.X))
    assert loaded.get_params(deep=False).keys() == estimator.get_params(deep=False).keys()


@pytest.mark.parametrize("name", ALL)
def test_an_unfitted_model_round_trips_and_stays_unfitted(name):
    estimator = build(name)
    loaded = numpyml.load(numpyml.save(estimator))
    assert repr(loaded) == repr(estimator)
    for method in methods(loaded):
        with pytest.raises(NotFittedError):
            getattr(loaded, method)(data_for(name).X)


# ------------------------------------------------------------------------------ named columns


@pytest.mark.parametrize("name", ON_X)
def test_fit_on_a_table_sets_feature_names_in(name):
    data = data_for(name)
    names = ["sepal", "petal", "stem", "leaf"]
    table = {n: data.X[:, j] for j, n in enumerate(names)}
    estimator = fit(build(name), Data(table, data.y))  # type: ignore[arg-type]
    assert estimator.n_features_in_ == 4
    assert_array_equal(estimator.feature_names_in_, names)
    assert_same_outputs(outputs(estimator, table), outputs(estimator, data.X))
    fit(estimator, data)  # refitted on an array: the names are forgotten
    assert not hasattr(estimator, "feature_names_in_")


@pytest.mark.parametrize(
    "name", names_where(lambda n: n in ON_X and n not in ("ColumnTransformer", "Pipeline"))
)
def test_it_refuses_a_table_with_other_columns(name):
    data = data_for(name)
    table = {f"f{j}": data.X[:, j] for j in range(4)}
    estimator = fit(build(name), Data(table, data.y))  # type: ignore[arg-type]
    renamed = {("g0" if k == "f0" else k): v for k, v in table.items()}
    with pytest.raises(ValueError, match="f0"):
        getattr(estimator, methods(estimator)[0])(renamed)


# ------------------------------------------------------------------------------ callbacks


def _final(estimator: Any) -> Any:
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


# Estimators that take a fit callback but break the contract around it (to fix in numpyml).
CALLBACK_BUGS: dict[str, str] = {}


def _known_bug(names: list[str], bugs: dict[str, str]) -> list[Any]:
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=bugs[n], strict=True)) if n in bugs else n
        for n in names
    ]


def _check_reports(calls: list[dict[str, Any]], estimator: Any) -> None:
    assert 1 <= len(calls) <= 102, f"{len(calls)} progress reports"
    for report in calls:
        assert (
            {"iteration", "max_iter", "loss"}
            <= set(report)
            <= {
                "iteration",
                "max_iter",
                "loss",
                "share",
            }
        )
        assert 0.0 <= report.get("share", 0.0) <= 1.0
        assert isinstance(report["iteration"], int)
        assert isinstance(report["max_iter"], int)
        assert isinstance(report["loss"], float)
        assert np.isfinite(report["loss"])
        assert 1 <= report["iteration"] <= report["max_iter"]
    iterations = [report["iteration"] for report in calls]
    assert iterations == sorted(set(iterations))
    curve = _final(estimator).loss_curve_
    assert len(curve) >= len(calls)
    assert np.all(np.isfinite(curve))
    assert calls[-1]["loss"] == curve[-1]


@pytest.mark.parametrize("name", _known_bug(ITERATIVE, CALLBACK_BUGS))
def test_fit_reports_progress_and_keeps_the_loss_curve(name):
    estimator = build(name)
    calls: list[dict[str, Any]] = []
    fit(estimator, data_for(name), callback=calls.append)
    _check_reports(calls, estimator)


@pytest.mark.parametrize("name", PARTS)
def test_a_fit_without_iterations_reports_each_part_with_no_loss(name):
    estimator = build(name)
    calls: list[dict[str, Any]] = []
    fit(estimator, data_for(name), callback=calls.append)
    assert len(calls) >= 2
    for report in calls:
        assert set(report) == {"iteration", "max_iter", "share"}
        assert isinstance(report["iteration"], int)
        assert report["max_iter"] == calls[0]["max_iter"]
        assert report["share"] == report["iteration"] / report["max_iter"]
    assert [report["iteration"] for report in calls] == list(range(1, len(calls) + 1))
    assert calls[-1]["share"] == 1.0
    assert not hasattr(_final(estimator), "loss_curve_")


def _long_fits() -> list[Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    return [
        pytest.param(numpyml.Perceptron(max_iter=300, tol=None), X, y, id="Perceptron"),
        pytest.param(
            numpyml.GaussianMixture(n_components=5, max_iter=1000, tol=0.0, random_state=0),
            X,
            None,
            id="GaussianMixture",
        ),
    ]


@pytest.mark.parametrize(("estimator", "X", "y"), _long_fits())
def test_a_long_fit_reports_progress_at_most_about_100_times(estimator, X, y):
    calls: list[dict[str, Any]] = []
    fit(estimator, Data(X, y), callback=calls.append)
    assert estimator.n_iter_ == estimator.max_iter
    assert len(estimator.loss_curve_) == estimator.max_iter
    _check_reports(calls, estimator)
    assert 90 <= len(calls) <= 101
    assert calls[-1]["iteration"] == estimator.max_iter


def test_it_fits_the_same_with_and_without_a_callback():
    for name in TAKES_CALLBACK:
        data = data_for(name)
        quiet, watched = build(name), build(name)
        fit(quiet, data)
        fit(watched, data, callback=lambda report: None)
        assert_same_outputs(outputs(quiet, data.X), outputs(watched, data.X))


# ------------------------------------------------------------------------------ scikit-learn
# scikit-learn's own check_estimator, through test-only adapters. numpyml never imports
# scikit-learn, so what scikit-learn wants as its own classes is declared here:
# - the tags: scikit-learn (>= 1.6) reads `__sklearn_tags__()`, and its check
#   `check_valid_tag_types` insists on its own Tags dataclasses, so numpyml cannot
#   declare them itself; the adapter builds them from scikit-learn's mixins plus what
#   numpyml does (NaN, strings, non-negative counts);
# - numpyml's NotFittedError and DataConversionWarning are raised again as scikit-learn's
#   classes of the same name (the checks match on the class). The behaviour checked (an
#   error before fit, a warning for a column-vector y) is numpyml's own.
# Every check passes today; a check that starts failing (a new estimator, a new
# scikit-learn) is listed below with the reason, and the test xfails until it is fixed.

SKLEARN_TODO: dict[str, str] = {}
# Per estimator, beyond SKLEARN_TODO.
SKLEARN_TODO_EXTRA: dict[str, dict[str, str]] = {}

# The methods whose numpyml exception and warning classes the adapter translates.
_TRANSLATED = (
    "fit",
    "fit_predict",
    "fit_transform",
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "inverse_transform",
    "score",
    "score_samples",
)


class _SkNotFittedError(sk_exceptions.NotFittedError, NotFittedError):
    """Both classes, so that the adapter still raises what numpyml's callers catch."""


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    return method(self, *args, **kwargs)
                except NotFittedError as exc:
                    raise _SkNotFittedError(str(exc)) from exc
        finally:
            # Re-emitted outside the recording block, under the caller's own filters.
            for w in caught:
                category = w.category
                if issubclass(category, DataConversionWarning):
                    category = sk_exceptions.DataConversionWarning
                warnings.warn_explicit(str(w.message), category, w.filename, w.lineno)

    return wrapper


def _adapter(name: str) -> type:
    cls = CLASSES[name]
    mixins: list[type] = []
    estimator_type = getattr(cls, "_estimator_type", None)
    if estimator_type == "classifier":
        mixins.append(sk_base.ClassifierMixin)
    elif estimator_type == "regressor":
        mixins.append(sk_base.RegressorMixin)
    elif estimator_type == "clusterer":
        mixins.append(sk_base.ClusterMixin)
    if hasattr(cls, "transform"):
        mixins.append(sk_base.TransformerMixin)

    def __sklearn_tags__(self: Any) -> Any:
        tags = sk_base.BaseEstimator.__sklearn_tags__(self)
        for mixin in mixins:
            tags = mixin.__sklearn_tags__(self) if hasattr(mixin, "__sklearn_tags__") else tags
        tags.input_tags.allow_nan = name in ALLOW_NAN
        tags.input_tags.string = name in ALLOW_STRINGS
        if name == "MultinomialNB":  # as scikit-learn tags its own
            tags.input_tags.positive_only = True
            tags.classifier_tags.poor_score = True
        return tags

    namespace = {
        "__module__": __name__,
        "__qualname__": f"Sk{name}",
        "__sklearn_tags__": __sklearn_tags__,
        # Only the methods an instance has: predict_proba of an SVC exists with
        # probability=True only (available_if), and the adapter must not make it appear.
        **{m: _translating(getattr(cls, m)) for m in _TRANSLATED if hasattr(build(name), m)},
    }
    adapter = type(f"Sk{name}", (*mixins, cls, sk_base.BaseEstimator), namespace)
    globals()[adapter.__name__] = adapter  # so that pickle finds it
    return adapter


SKLEARN_CHECKED = [n for n in CLASSES if n not in BUILDERS and kind(n) != "label"]
ADAPTERS = {name: _adapter(name) for name in SKLEARN_CHECKED}


@pytest.mark.parametrize("name", SKLEARN_CHECKED)
def test_sklearn_check_estimator(name):
    """Every scikit-learn check passes, or fails as listed in the to-do (then: xfail)."""
    todo = {**SKLEARN_TODO, **SKLEARN_TODO_EXTRA.get(name, {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(
            ADAPTERS[name](), expected_failed_checks=todo, on_fail=None, on_skip=None
        )
    unexpected = [r for r in results if r["status"] == "failed"]
    assert not unexpected, "\n".join(f"{r['check_name']}: {r['exception']!r}" for r in unexpected)
    fixed = sorted({r["check_name"] for r in results if r["status"] == "passed"} & set(todo))
    assert not fixed, f"these checks pass now: remove them from the to-do: {fixed}"
    failing = sorted({r["check_name"] for r in results if r["status"] == "xfail"})
    if failing:
        pytest.xfail(f"to-do: {len(failing)} scikit-learn checks fail: {', '.join(failing)}")
