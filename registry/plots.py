"""Plots rendered once at training time (matplotlib, Agg backend) and stored as SVG text."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np

from registry.algorithms import CLASSIFIER, CLUSTERING, DECOMPOSITION, REGRESSOR

MAX_POINTS = 2000  # scatter plots sample at most this many rows
ACCENT = "#2563eb"


def _figure(draw: Callable[[Any], None], *, size: tuple[float, float] = (5.0, 3.6)) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "mlserving",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        try:
            draw(ax)
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        finally:
            plt.close(fig)
    return buffer.getvalue()


def _sample(n: int) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, MAX_POINTS, replace=False))


def confusion_matrix(labels: list[Any], matrix: list[list[int]]) -> str:
    values = np.asarray(matrix)

    def draw(ax: Any) -> None:
        ax.imshow(values, cmap="Blues")
        ticks = np.arange(len(labels))
        ax.set_xticks(ticks, [str(x) for x in labels], rotation=45 if len(labels) > 4 else 0)
        ax.set_yticks(ticks, [str(x) for x in labels])
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        if len(labels) <= 15:
            threshold = values.max() / 2 if values.size else 0
            for (i, j), count in np.ndenumerate(values):
                ax.text(
                    j,
                    i,
                    str(count),
                    ha="center",
                    va="center",
                    color="white" if count > threshold else "black",
                )
        ax.set_title("Confusion matrix (test rows)")

    return _figure(draw, size=(4.6, 4.0))


def loss_curve(losses: list[float]) -> str:
    def draw(ax: Any) -> None:
        ax.plot(np.arange(1, len(losses) + 1), losses, color=ACCENT)
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        ax.set_title("Training loss")

    return _figure(draw)


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray) -> str:
    rows = _sample(actual.size)

    def draw(ax: Any) -> None:
        ax.scatter(actual[rows], predicted[rows], s=8, alpha=0.6, color=ACCENT)
        low = float(min(actual.min(), predicted.min()))
        high = float(max(actual.max(), predicted.max()))
        ax.plot([low, high], [low, high], color="#888", linewidth=1)
        ax.set_xlabel("actual")
        ax.set_ylabel("predicted")
        ax.set_title("Predicted vs actual (test rows)")

    return _figure(draw)


def residuals(actual: np.ndarray, predicted: np.ndarray) -> str:
    rows = _sample(actual.size)

    def draw(ax: Any) -> None:
        ax.scatter(predicted[rows], (actual - predicted)[rows], s=8, alpha=0.6, color=ACCENT)
        ax.axhline(0, color="#888", linewidth=1)
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual - predicted")
        ax.set_title("Residuals (test rows)")

    return _figure(draw)


def feature_importances(names: list[str], importances: np.ndarray) -> str:
    order = np.argsort(importances)[::-1][:20][::-1]

    def draw(ax: Any) -> None:
        ax.barh([names[i] for i in order], importances[order], color=ACCENT)
        ax.set_xlabel("importance")
        ax.set_title("Feature importances")

    return _figure(draw, size=(5.0, 0.8 + 0.22 * len(order)))


def projection(points: np.ndarray, groups: np.ndarray | None, title: str) -> str:
    rows = _sample(points.shape[0])

    def draw(ax: Any) -> None:
        y = points[rows, 1] if points.shape[1] > 1 else np.zeros(rows.size)
        ax.scatter(
            points[rows, 0],
            y,
            s=8,
            alpha=0.7,
            c=None if groups is None else groups[rows],
            cmap="tab10",
            color=ACCENT if groups is None else None,
        )
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        ax.set_title(title)

    return _figure(draw)


def explained_variance(ratios: list[float]) -> str:
    values = np.asarray(ratios)

    def draw(ax: Any) -> None:
        positions = np.arange(1, values.size + 1)
        ax.bar(positions, values, color=ACCENT, label="per component")
        ax.plot(positions, np.cumsum(values), color="#f59e0b", marker="o", label="cumulative")
        ax.set_xlabel("component")
        ax.set_ylabel("share of variance")
        ax.set_ylim(0, 1.05)
        ax.legend(loc="center right")
        ax.set_title("Explained variance")

    return _figure(draw)


def _projected(Z: np.ndarray) -> np.ndarray:
    from numpyml.decomposition import PCA

    if Z.shape[1] <= 2:
        return Z
    return PCA(n_components=2).fit_transform(Z)


def render_all(
    *, kind: str, pipeline: Any, metrics: dict, losses: list[float], X_test: dict, y_test: Any
) -> dict[str, str]:
    """Every plot that fits this kind of model, by name."""
    model = pipeline[-1]
    plots: dict[str, str] = {}
    if kind == CLASSIFIER:
        cm = metrics["confusion_matrix"]
        plots["confusion_matrix"] = confusion_matrix(cm["labels"], cm["matrix"])
    elif kind == REGRESSOR:
        predicted = np.asarray(pipeline.predict(X_test), dtype=float)
        actual = np.asarray(y_test, dtype=float)
        plots["predicted_vs_actual"] = predicted_vs_actual(actual, predicted)
        plots["residuals"] = residuals(actual, predicted)
    elif kind == CLUSTERING:
        Z = pipeline[:-1].transform(X_test)
        plots["clusters"] = projection(_projected(Z), model.predict(Z), "Clusters (PCA projection)")
    elif kind == DECOMPOSITION:
        plots["explained_variance"] = explained_variance(metrics["explained_variance_ratio"])
        Z = pipeline.transform(X_test)
        plots["projection"] = projection(Z[:, :2], None, "Test rows in component space")
    if hasattr(model, "feature_importances_"):
        names = [str(n) for n in pipeline[:-1].get_feature_names_out()]
        plots["feature_importances"] = feature_importances(names, model.feature_importances_)
    if len(losses) > 1:
        plots["loss_curve"] = loss_curve([v for v in losses if v is not None])
    return plots
