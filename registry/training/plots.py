"""Plots rendered once at training time (matplotlib, Agg backend) and stored as SVG text, and
the check of plots that come from elsewhere (imports)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from registry.algorithms import CLASSIFIER, CLUSTERING, DECOMPOSITION, REGRESSOR
from registry.pipeline import encoded_labels, estimator_of, preprocessing_of

MAX_POINTS = 2000  # scatter plots sample at most this many rows
MAX_LEGEND_GROUPS = 20  # more clusters than this: colours repeat, a legend would not help
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


def warm_up() -> None:
    """Draw one small figure with a title and a legend, and throw it away: matplotlib finds
    its fonts and sets up its SVG renderer on its first figure (tasks._preload_training)."""

    def draw(ax: Any) -> None:
        ax.plot([0, 1], [0, 1], label="warm-up")
        ax.set_title("warm-up")
        ax.legend()

    _figure(draw)


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


def _whole_numbers(axis: Any) -> None:
    """Ticks at whole numbers only, for an axis that counts (iterations, components)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def loss_curve(losses: list[float], *, by_depth: bool = False) -> str:
    """The loss per iteration; a tree's is the impurity of its leaves per depth level."""

    def draw(ax: Any) -> None:
        ax.plot(np.arange(1, len(losses) + 1), losses, color=ACCENT)
        _whole_numbers(ax.xaxis)
        ax.set_xlabel("depth" if by_depth else "iteration")
        ax.set_ylabel("leaf impurity" if by_depth else "loss")
        ax.set_title("Training loss")

    return _figure(draw)


def roc_curve(fpr: list[float], tpr: list[float], area: float, positive: Any) -> str:
    def draw(ax: Any) -> None:
        ax.plot([0, 1], [0, 1], color="#9ca3af", linestyle="--", linewidth=1)
        ax.plot(fpr, tpr, color=ACCENT)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"ROC curve of {positive}: AUC {area:.3f}")

    return _figure(draw)


def pr_curve(recall: list[float], precision: list[float], area: float, positive: Any) -> str:
    def draw(ax: Any) -> None:
        ax.plot(recall, precision, color=ACCENT, drawstyle="steps-post")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"Precision-recall of {positive}: AP {area:.3f}")

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


def feature_importances(
    names: list[str],
    importances: np.ndarray,
    *,
    title: str = "Feature importances",
    xlabel: str = "importance",
) -> str:
    """The 20 largest, the largest on top."""
    order = np.argsort(importances, kind="stable")[::-1][:20][::-1]

    def draw(ax: Any) -> None:
        ax.barh([names[i] for i in order], importances[order], color=ACCENT)
        ax.set_xlabel(xlabel)
        ax.set_title(title)

    return _figure(draw, size=(5.0, 0.8 + 0.22 * len(order)))


def projection(points: np.ndarray, groups: np.ndarray | None, title: str) -> str:
    rows = _sample(points.shape[0])

    def draw(ax: Any) -> None:
        import matplotlib

        x = points[rows, 0]
        y = points[rows, 1] if points.shape[1] > 1 else np.zeros(rows.size)
        if groups is None:
            ax.scatter(x, y, s=8, alpha=0.7, color=ACCENT)
        else:
            # One scatter per group, so that the legend says which colour is which cluster.
            shown = groups[rows]
            found = np.unique(shown)
            colours = matplotlib.colormaps["tab10" if found.size <= 10 else "tab20"]
            for index, group in enumerate(found):
                mine = shown == group
                colour = colours(index % colours.N)
                ax.scatter(x[mine], y[mine], s=8, alpha=0.7, color=colour, label=str(group))
            if found.size <= MAX_LEGEND_GROUPS:
                ax.legend(title="cluster", fontsize="small", markerscale=1.5, loc="best")
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
        _whole_numbers(ax.xaxis)
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
    *,
    kind: str,
    pipeline: Any,
    metrics: dict,
    losses: list[float],
    X_test: dict,
    y_test: Any,
    beat: Callable[[], None] = lambda: None,
) -> dict[str, str]:
    """Every plot that fits this kind of model, by name; `beat()` after each plot and each
    prediction it draws (the training child's sign of life: training.Heartbeat)."""
    model, prep = estimator_of(pipeline), preprocessing_of(pipeline)
    plots = _BeatingDict(beat)
    if kind == CLASSIFIER:
        cm = metrics["confusion_matrix"]
        plots["confusion_matrix"] = confusion_matrix(cm["labels"], cm["matrix"])
        if "roc_curve" in metrics:  # binary, with scores
            positive = metrics["positive_class"]
            roc, pr = metrics["roc_curve"], metrics["pr_curve"]
            plots["roc_curve"] = roc_curve(roc["fpr"], roc["tpr"], metrics["roc_auc"], positive)
            plots["pr_curve"] = pr_curve(
                pr["recall"], pr["precision"], metrics["average_precision"], positive
            )
    elif kind == REGRESSOR:
        predicted = np.asarray(pipeline.predict(X_test), dtype=float)
        beat()
        actual = np.asarray(y_test, dtype=float)
        plots["predicted_vs_actual"] = predicted_vs_actual(actual, predicted)
        plots["residuals"] = residuals(actual, predicted)
    elif kind == CLUSTERING:
        Z = prep.transform(X_test)
        points = _projected(Z)
        beat()
        plots["clusters"] = projection(points, model.predict(Z), "Clusters (PCA projection)")
    elif kind == DECOMPOSITION:
        plots["explained_variance"] = explained_variance(metrics["explained_variance_ratio"])
        Z = pipeline.transform(X_test)
        beat()
        plots["projection"] = projection(Z[:, :2], None, "Test rows in component space")
    if hasattr(model, "feature_importances_"):
        names = encoded_labels(pipeline)  # `carat`, `clarity = SI2`: the user's words
        plots["feature_importances"] = feature_importances(names, model.feature_importances_)
    if len(losses) > 1:
        plots["loss_curve"] = loss_curve(
            [v for v in losses if v is not None], by_depth=hasattr(model, "get_depth")
        )
    return dict(plots)


class _BeatingDict(dict):
    """The plots by name, calling `beat()` as each one is added: each plot is a sign of life,
    and no plot can be added without one."""

    def __init__(self, beat: Callable[[], None]) -> None:
        super().__init__()
        self.beat = beat

    def __setitem__(self, name: str, svg: str) -> None:
        super().__setitem__(name, svg)
        self.beat()


# Plots from elsewhere (imports) ------------------------------------------------------------
# An imported plot is foreign SVG: it is parsed with a real XML parser (defusedxml: no entity
# declarations, no external anything) and every node checked against an allow-list of what
# matplotlib writes. Anything else (a script under any prefix, an event handler, a link or
# an image that is not a fragment or an inline PNG, an animation, a processing instruction,
# CSS that imports or fetches) is refused; text content is only text, so a class label that
# reads like markup is fine. The stored text is the checked text: a browser's XML parser
# builds the same tree.

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
METADATA_NS = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://creativecommons.org/ns#",
    "http://purl.org/dc/elements/1.1/",
)
SVG_ELEMENTS = frozenset(
    "svg g defs use path text tspan rect circle ellipse line polyline polygon clipPath "
    "image style metadata title desc linearGradient radialGradient stop pattern mask "
    "marker symbol".split()
)
SVG_ATTRIBUTES = frozenset(
    "width height viewBox version id d style clip-path clipPathUnits transform x y dx dy "
    "x1 y1 x2 y2 cx cy r rx ry points fill fill-opacity fill-rule stroke stroke-width "
    "stroke-opacity stroke-linecap stroke-linejoin stroke-dasharray stroke-dashoffset "
    "stroke-miterlimit opacity font-size font-family font-weight font-style text-anchor "
    "dominant-baseline preserveAspectRatio offset stop-color stop-opacity gradientUnits "
    "gradientTransform patternUnits patternTransform markerWidth markerHeight refX refY "
    "orient mask type class".split()
)
CSS_ATTRIBUTES = frozenset({"style", "clip-path", "fill", "stroke", "mask", "font-family"})
LINK_ATTRIBUTES = frozenset({"href", f"{{{XLINK_NS}}}href"})
INLINE_PNG = "data:image/png;base64,"
_FRAGMENT_RE = re.compile(r"#[A-Za-z0-9_.:-]{1,200}")
# In CSS and presentation attributes: url(#id) only, no at-rule, no escape, no expression.
_CSS_URL_RE = re.compile(r"url\(\s*#[A-Za-z0-9_.:-]{1,200}\s*\)")
_CSS_BAD_RE = re.compile(r"url\(|@|\\|expression|javascript|behavior|binding", re.IGNORECASE)


def _css_ok(value: str) -> bool:
    return not _CSS_BAD_RE.search(_CSS_URL_RE.sub("", value))


def _check_node(node: Any, in_metadata: bool) -> None:
    tag = node.tag
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if in_metadata and namespace in METADATA_NS:
        if any(not k.startswith(f"{{{METADATA_NS[0]}}}") for k in node.attrib):
            raise ValueError(f"its metadata element {local} has an unexpected attribute")
        return
    if namespace != SVG_NS or local not in SVG_ELEMENTS:
        raise ValueError(f"it holds an element that is not allowed ({local[:40]})")
    for key, value in node.attrib.items():
        if key in LINK_ATTRIBUTES:
            fragment = _FRAGMENT_RE.fullmatch(value)
            inline = local == "image" and value.startswith(INLINE_PNG)
            if not (fragment or inline):
                raise ValueError(f"its {local} links to {value[:40]!r}")
        elif key not in SVG_ATTRIBUTES and key != f"{{{XML_NS}}}space":
            raise ValueError(f"its {local} has an attribute that is not allowed ({key[:40]})")
        elif key in CSS_ATTRIBUTES and not _css_ok(value):
            raise ValueError(f"its {local} has a {key} that is not allowed")
    if local == "style" and not _css_ok(node.text or ""):
        raise ValueError("its style sheet imports, fetches or escapes")


def check_svg(text: str) -> None:
    """A foreign SVG image passes the allow-list; ValueError saying what is wrong otherwise."""
    import xml.etree.ElementTree as ET

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    class Builder(ET.TreeBuilder):
        """Notes comments and processing instructions anywhere, before the root too (an
        xml-stylesheet instruction there would style the image)."""

        extra: str | None = None

        def comment(self, text: str) -> Any:
            self.extra = "a comment"
            return super().comment(text)

        def pi(self, target: str, text: str | None = None) -> Any:
            self.extra = "a processing instruction"
            return super().pi(target, text)

    builder = Builder()
    parser = DefusedXMLParser(
        target=builder,
        forbid_dtd=False,  # matplotlib writes the SVG 1.1 doctype, with no internal subset
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(text)
        root = parser.close()
    except DefusedXmlException as exc:
        raise ValueError(
            f"it declares entities or external content ({type(exc).__name__})"
        ) from None
    except ET.ParseError as exc:
        raise ValueError(f"it is not well-formed XML ({exc})") from None
    if builder.extra:
        raise ValueError(f"it holds {builder.extra}")
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ValueError("its root is not an svg element")
    pending = [(root, False)]
    while pending:
        node, in_metadata = pending.pop()
        _check_node(node, in_metadata)
        inside = in_metadata or node.tag == f"{{{SVG_NS}}}metadata"
        pending.extend((child, inside) for child in node)
