"""The one table of algorithms: ids, kinds, numpyml estimators and their hyperparameters.

Training, the JSON API and the forms all read this table; nothing else lists algorithms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numpyml.cluster import KMeans
from numpyml.decomposition import PCA
from numpyml.linear_model import LinearRegression, LogisticRegression, Perceptron
from numpyml.mixture import GaussianMixture
from numpyml.naive_bayes import GaussianNB, MultinomialNB
from numpyml.neighbors import KNeighborsClassifier, KNeighborsRegressor
from numpyml.svm import SVC
from numpyml.tree import DecisionTreeClassifier, DecisionTreeRegressor

CLASSIFIER, REGRESSOR, CLUSTERING, DECOMPOSITION = (
    "classifier",
    "regressor",
    "clustering",
    "decomposition",
)
KINDS = (CLASSIFIER, REGRESSOR, CLUSTERING, DECOMPOSITION)
HEADLINE_METRIC = {
    CLASSIFIER: "accuracy",
    REGRESSOR: "r2",
    CLUSTERING: "silhouette",
    DECOMPOSITION: "explained_variance",
}


@dataclass(frozen=True)
class Param:
    """One hyperparameter: type is "int", "float", "bool" or "choice"."""

    name: str
    type: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    nullable: bool = False  # None allowed (shown as "no limit" / "all")
    exclusive_minimum: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "help": self.help,
            "nullable": self.nullable,
        }
        if self.minimum is not None:
            data["minimum" if not self.exclusive_minimum else "exclusive_minimum"] = self.minimum
        if self.maximum is not None:
            data["maximum"] = self.maximum
        if self.choices:
            data["choices"] = list(self.choices)
        return data

    def clean(self, value: Any) -> Any:
        """The validated value, or ValueError with a sentence a person understands."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError("a value is required")
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError("must be true or false")
        if self.type == "choice":
            if value in self.choices:
                return value
            raise ValueError(f"must be one of {', '.join(map(str, self.choices))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number")
        if self.type == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("must be a whole number")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError("must be a finite number")
        if self.minimum is not None:
            if self.exclusive_minimum and value <= self.minimum:
                raise ValueError(f"must be greater than {self.minimum:g}")
            if value < self.minimum:
                raise ValueError(f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")
        return value


@dataclass(frozen=True)
class Algorithm:
    id: str
    label: str
    kind: str
    description: str
    estimator: type
    params: tuple[Param, ...]
    scale: bool = True  # standardise numeric features before the estimator
    # Fits by iterations, each with a loss: it has a loss curve. (Every fit reports progress
    # through its callback, the others part by part: numpyml.progress.ProgressCallback.)
    iterative: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # fixed estimator arguments
    # The fitted model holds rows of its training data (k-NN all of them, an SVM its support
    # vectors): its export is a copy of them. Shown on the version page and in GET /algorithms.
    keeps_training_rows: bool = False
    # The work one predicted row costs the fitted estimator, in values it reads (about one
    # multiply-add each): k-NN compares a row with every training row, an SVM with its
    # support vectors, PCA projects it on every component. serving.py multiplies it by the
    # rows of a request and refuses a request over MLSERVE_MAX_PREDICT_COST before running it.
    row_cost: Callable[[Any], int] = field(default=lambda model: _sizes(model, "coef_"))
    # ...all of them, one float per row and input column (after one-hot encoding): its size
    # is known before fitting, and a training too big to serve is refused when requested.
    keeps_every_row: bool = False

    @property
    def supervised(self) -> bool:
        return self.kind in (CLASSIFIER, REGRESSOR)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def build(self, params: dict[str, Any]) -> Any:
        return self.estimator(**self.extra, **params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "description": self.description,
            "needs_target": self.supervised,
            "keeps_training_rows": self.keeps_training_rows,
            "hyperparameters": [p.to_dict() for p in self.params],
        }


def _sizes(model: Any, *names: str) -> int:
    """The number of values in the named fitted arrays of an estimator (missing ones: 0)."""
    return sum(int(np.size(getattr(model, name, 0))) for name in names)


def _svm_row_cost(model: Any) -> int:
    if model.kernel == "linear" and hasattr(model, "coef_"):
        cost = _sizes(model, "coef_")
    else:
        cost = _sizes(model, "support_vectors_", "dual_coef_")
    return cost + _coupling_cost(model)


def _coupling_cost(model: Any) -> int:
    """Probabilities of more than two classes from pairwise ones: a (k + 1)-square linear
    system per row (numpyml.calibration.pairwise_coupling)."""
    k = int(np.size(getattr(model, "classes_", ())))
    return (k + 1) ** 3 if hasattr(model, "probA_") and k > 2 else 0


def _tree_row_cost(model: Any) -> int:
    return int(getattr(model, "max_depth_", 0)) + 1  # one comparison per level


def _seed() -> Param:
    return Param("random_state", "int", 0, "Seed for the random number generator.", 0, 2**31 - 1)


# The most iterations a request may ask for. numpyml caps EM and Lloyd iterations further
# by the data size (numpyml.base.iteration_cap); the SVM has its own step cap.
MAX_ITER_MAXIMUM = 10_000


def _max_iter(default: int) -> Param:
    return Param(
        "max_iter", "int", default, "Most iterations before stopping.", 1, MAX_ITER_MAXIMUM
    )


# The smallest tol accepted: below it the stopping tests compare rounding noise (a 6-row
# SVM with tol=1e-300 ran 10 million SMO steps), so a run only ends at its iteration cap.
TOL_MINIMUM = 1e-12


def _tol(default: float) -> Param:
    return Param(
        "tol",
        "float",
        default,
        "Stop when the improvement falls below this.",
        TOL_MINIMUM,
        1,
    )


_TREE_PARAMS = (
    Param(
        "max_depth",
        "int",
        None,
        "Deepest the tree may grow (empty: no limit).",
        1,
        1000,
        nullable=True,
    ),
    Param("min_samples_split", "int", 2, "Fewest samples a node needs to be split.", 2, 1_000_000),
    Param("min_samples_leaf", "int", 1, "Fewest samples in each leaf.", 1, 1_000_000),
    Param(
        "max_features",
        "choice",
        None,
        "Features tried per split (empty: all).",
        choices=(None, "sqrt", "log2"),
        nullable=True,
    ),
    _seed(),
)

_TABLE = (
    Algorithm(
        "linear_regression",
        "Linear regression",
        REGRESSOR,
        "Least squares fit of a straight-line relationship; alpha > 0 adds ridge shrinkage.",
        LinearRegression,
        (
            Param("alpha", "float", 0.0, "Ridge penalty (0: ordinary least squares).", 0, 1e6),
            Param("fit_intercept", "bool", True, "Learn an intercept term."),
        ),
        scale=False,
    ),
    Algorithm(
        "logistic_regression",
        "Logistic regression",
        CLASSIFIER,
        "Linear classifier with calibrated class probabilities (multinomial, L2 penalty).",
        LogisticRegression,
        (
            Param(
                "C",
                "float",
                1.0,
                "Inverse regularisation strength: smaller is simpler.",
                0,
                1e6,
                exclusive_minimum=True,
            ),
            _max_iter(100),
            _tol(1e-4),
        ),
        iterative=True,
    ),
    Algorithm(
        "gaussian_nb",
        "Gaussian naive Bayes",
        CLASSIFIER,
        "Fast probabilistic classifier assuming independent, normally distributed features.",
        GaussianNB,
        (
            Param(
                "var_smoothing",
                "float",
                1e-9,
                "Share of the largest variance added for stability.",
                0,
                1,
            ),
        ),
        scale=False,
        row_cost=lambda model: _sizes(model, "theta_", "var_"),
    ),
    Algorithm(
        "multinomial_nb",
        "Multinomial naive Bayes",
        CLASSIFIER,
        "Naive Bayes for counts (word counts, event tallies); features must be non-negative.",
        MultinomialNB,
        (
            Param(
                "alpha",
                "float",
                1.0,
                "Additive (Laplace) smoothing.",
                0,
                1e6,
                exclusive_minimum=True,
            ),
            Param("fit_prior", "bool", True, "Learn class priors (else uniform)."),
        ),
        scale=False,
        row_cost=lambda model: _sizes(model, "feature_log_prob_"),
    ),
    Algorithm(
        "perceptron",
        "Perceptron",
        CLASSIFIER,
        "The classic linear classifier trained by mistake-driven updates.",
        Perceptron,
        (
            _max_iter(1000),
            _tol(1e-3),
            Param("eta0", "float", 1.0, "Learning rate.", 0, 100, exclusive_minimum=True),
            _seed(),
        ),
        iterative=True,
        # Class probabilities by Platt scaling (5 more fits on internal folds), so that its
        # answers carry probabilities, its ROC curve is of them and it can be thresholded.
        extra={"probability": True},
        row_cost=lambda model: _sizes(model, "coef_", "probA_"),
    ),
    Algorithm(
        "svm",
        "Support vector machine",
        CLASSIFIER,
        "Maximum-margin classifier with a linear or RBF kernel.",
        SVC,
        (
            Param(
                "C",
                "float",
                1.0,
                "Penalty for margin violations: larger fits tighter.",
                0,
                1e6,
                exclusive_minimum=True,
            ),
            Param("kernel", "choice", "rbf", "Kernel function.", choices=("rbf", "linear")),
            Param("gamma", "choice", "scale", "RBF kernel width rule.", choices=("scale", "auto")),
            _tol(1e-3),
        ),
        iterative=True,
        keeps_training_rows=True,
        row_cost=_svm_row_cost,
        # Platt scaling as scikit-learn's SVC(probability=True): 5 more fits on internal
        # folds, dealt by a fixed seed so that a training is repeatable.
        extra={"probability": True, "random_state": 0},
    ),
    Algorithm(
        "knn_classifier",
        "k-nearest neighbours classifier",
        CLASSIFIER,
        "Predicts the majority class among the k most similar training rows.",
        KNeighborsClassifier,
        (
            Param("n_neighbors", "int", 5, "Neighbours consulted (k).", 1, 1000),
            Param(
                "weights",
                "choice",
                "uniform",
                "Weight neighbours equally or by closeness.",
                choices=("uniform", "distance"),
            ),
            Param(
                "metric",
                "choice",
                "euclidean",
                "Distance between rows.",
                choices=("euclidean", "manhattan"),
            ),
        ),
        keeps_training_rows=True,
        row_cost=lambda model: _sizes(model, "_fit_X"),
        keeps_every_row=True,
    ),
    Algorithm(
        "knn_regressor",
        "k-nearest neighbours regressor",
        REGRESSOR,
        "Predicts the average target of the k most similar training rows.",
        KNeighborsRegressor,
        (
            Param("n_neighbors", "int", 5, "Neighbours consulted (k).", 1, 1000),
            Param(
                "weights",
                "choice",
                "uniform",
                "Weight neighbours equally or by closeness.",
                choices=("uniform", "distance"),
            ),
            Param(
                "metric",
                "choice",
                "euclidean",
                "Distance between rows.",
                choices=("euclidean", "manhattan"),
            ),
        ),
        keeps_training_rows=True,
        row_cost=lambda model: _sizes(model, "_fit_X"),
        keeps_every_row=True,
    ),
    Algorithm(
        "kmeans",
        "k-means clustering",
        CLUSTERING,
        "Groups rows into k clusters around their centres.",
        KMeans,
        (
            Param("n_clusters", "int", 3, "Number of clusters (k).", 1, 100),
            Param("n_init", "int", 1, "Restarts from different seeds; the best is kept.", 1, 50),
            _max_iter(300),
            _tol(1e-4),
            _seed(),
        ),
        iterative=True,
        row_cost=lambda model: _sizes(model, "cluster_centers_"),
    ),
    Algorithm(
        "decision_tree_classifier",
        "Decision tree classifier",
        CLASSIFIER,
        "If-then splits on feature thresholds; easy to read, no scaling needed.",
        DecisionTreeClassifier,
        (
            Param(
                "criterion", "choice", "gini", "Split quality measure.", choices=("gini", "entropy")
            ),
            *_TREE_PARAMS,
        ),
        scale=False,
        row_cost=_tree_row_cost,
        iterative=True,
    ),
    Algorithm(
        "decision_tree_regressor",
        "Decision tree regressor",
        REGRESSOR,
        "If-then splits on feature thresholds predicting the mean target of each leaf.",
        DecisionTreeRegressor,
        _TREE_PARAMS,
        scale=False,
        row_cost=_tree_row_cost,
        iterative=True,
    ),
    Algorithm(
        "pca",
        "Principal component analysis",
        DECOMPOSITION,
        "Projects rows onto the directions of greatest variance.",
        PCA,
        (
            Param(
                "n_components",
                "float",
                2,
                "Components kept: a count (1, 2, ...) or, below 1, "
                "the share of variance to keep (e.g. 0.95).",
                0,
                1000,
                exclusive_minimum=True,
            ),
            Param("whiten", "bool", False, "Scale components to unit variance."),
        ),
        row_cost=lambda model: _sizes(model, "components_", "mean_"),
    ),
    Algorithm(
        "gmm",
        "Gaussian mixture",
        CLUSTERING,
        "Soft clustering with one Gaussian per cluster, fitted by expectation-maximisation.",
        GaussianMixture,
        (
            Param("n_components", "int", 3, "Number of mixture components.", 1, 50),
            Param(
                "covariance_type",
                "choice",
                "full",
                "Shape of each component.",
                choices=("full", "diag", "spherical", "tied"),
            ),
            Param("reg_covar", "float", 1e-6, "Added to covariance diagonals for stability.", 0, 1),
            _max_iter(100),
            _tol(1e-3),
            _seed(),
        ),
        iterative=True,
        row_cost=lambda model: _sizes(model, "means_", "precisions_cholesky_"),
    ),
)

ALGORITHMS: dict[str, Algorithm] = {a.id: a for a in _TABLE}


class ParamsError(ValueError):
    """Hyperparameters that do not fit the table; `errors` maps each name to a sentence
    ("" for one about the hyperparameters as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))
        self.errors = errors


def clean_params(algorithm: Algorithm, params: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in, every value checked against the table; ParamsError otherwise."""
    params = dict(params or {})
    errors: dict[str, str] = {}
    known = ", ".join(p.name for p in algorithm.params) or "none"
    unknown = sorted(set(params) - {p.name for p in algorithm.params}, key=str)
    if len(unknown) > 3:  # one error, not one per key of a request body
        errors[""] = f"{len(unknown)} unknown hyperparameters for {algorithm.id} (known: {known})"
    for name in unknown if len(unknown) <= 3 else ():
        shown = name if len(str(name)) <= 60 else f"{str(name)[:59]}…"
        errors[shown] = f"is not a hyperparameter of {algorithm.id} (known: {known})"
    cleaned: dict[str, Any] = {}
    for param in algorithm.params:
        try:
            cleaned[param.name] = param.clean(params.get(param.name, param.default))
        except ValueError as exc:
            errors[param.name] = str(exc)
    if algorithm.id == "pca" and "n_components" in cleaned:
        n = cleaned["n_components"]
        if n >= 1 and not float(n).is_integer():
            errors["n_components"] = "must be a whole number of components, or a share below 1"
        elif n >= 1:
            cleaned["n_components"] = int(n)
    if errors:
        raise ParamsError(errors)
    return cleaned
