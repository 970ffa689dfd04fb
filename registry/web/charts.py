"""Geometry for the small server-rendered SVG charts: the dataset page's histograms and
value counts, the model page's traffic (requests, error rate, p50/p95 latency per hour) and
the version page's drift (training vs recent share per bin). Every bar comes from `_bar`, in
one VIEW_W x VIEW_H view box. Attributes only (x, y, width, height): the pages' CSP allows
no inline style, and the colours come from classes in app.css.
"""

from __future__ import annotations

from typing import Any

VIEW_W, VIEW_H = 100.0, 30.0
TOP_VALUES = 12  # most common values charted for a categorical column
NONE_TEXT = "\u2013"  # an en dash: no value
# Features charted in the version page's drift panel: a wide model shows those with the
# highest PSI (the JSON report has them all); 1,000 charts took seconds to render.
PAGE_DRIFT_FEATURES = 50
STATUS_TEXT = {
    "stable": "stable",
    "moderate": "moderate",
    "drifting": "drifting",
    "insufficient_data": "not enough data",
    "no_profile": "no profile",
}


def _height(value: float | None, top: float) -> float:
    if not value or top <= 0:
        return 0.0
    return max(VIEW_H * value / top, 0.6)  # a non-zero value stays visible


def _bar(
    index: int,
    count: int,
    value: float | None,
    top: float,
    title: str,
    *,
    part: int = 0,
    parts: int = 1,
) -> dict[str, str]:
    """Bar `index` of `count` across the view box, its height `value` on a `top` scale; with
    `parts` > 1, part `part` of a group of bars side by side in that slot."""
    slot = VIEW_W / max(count, 1)
    width = max(slot - 0.6, 0.2) / parts
    height = _height(value, top)
    return {
        "x": f"{index * slot + 0.3 + part * width:.2f}",
        "y": f"{VIEW_H - height:.2f}",
        "width": f"{width:.2f}",
        "height": f"{height:.2f}",
        "title": title,
    }


def _ms(value: float | None) -> str:
    if value is None:
        return NONE_TEXT
    return f"{value:.3g} ms" if value < 1000 else f"{value / 1000:.3g} s"


def _percent(value: float | None) -> str:
    return NONE_TEXT if value is None else f"{100 * value:.1f}%"


def traffic_rows(versions: Any, summary: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per version with logged traffic: totals and the hourly bars of each chart."""
    rows = []
    for version in versions:
        data = summary.get(version.pk)
        if data is None:
            continue
        hours = data["hours"]
        n = len(hours)
        top_requests = max(h["requests"] for h in hours)
        top_latency = max((h["p95_ms"] or 0) for h in hours)
        # Error bars on the worst hour's scale (at least 1%), the rate itself beside them.
        top_errors = max(0.01, *((h["error_rate"] or 0) for h in hours))
        rows.append(
            {
                "version": version,
                "requests": data["requests"],
                "errors": data["errors"],
                "error_rate": _percent(data["error_rate"]),
                "p50": _ms(data["p50_ms"]),
                "p95": _ms(data["p95_ms"]),
                "first_hour": hours[0]["hour"],
                "requests_bars": [
                    _bar(i, n, h["requests"], top_requests, f"{h['hour']:%H:00}: {h['requests']}")
                    for i, h in enumerate(hours)
                ],
                "error_bars": [
                    _bar(
                        i,
                        n,
                        h["error_rate"],
                        top_errors,
                        f"{h['hour']:%H:00}: {_percent(h['error_rate'])} of {h['requests']}",
                    )
                    for i, h in enumerate(hours)
                ],
                # Each hour: a light bar up to p95 and a dark one up to p50, on one scale.
                "p95_bars": [
                    _bar(
                        i, n, h["p95_ms"], top_latency, f"{h['hour']:%H:00}: p95 {_ms(h['p95_ms'])}"
                    )
                    for i, h in enumerate(hours)
                ],
                "p50_bars": [
                    _bar(
                        i, n, h["p50_ms"], top_latency, f"{h['hour']:%H:00}: p50 {_ms(h['p50_ms'])}"
                    )
                    for i, h in enumerate(hours)
                ],
                "latency_top": _ms(top_latency or None),
            }
        )
    return rows


def drift_view(report: dict[str, Any]) -> dict[str, Any]:
    """The drift report with, per feature, paired bars (training share, recent share)."""
    shown = report["features"]
    if len(shown) > PAGE_DRIFT_FEATURES:
        shown = sorted(
            shown,
            key=lambda f: (f["psi"] is None, -(f["psi"] or 0.0), -(f["unseen_share"] or 0.0)),
        )[:PAGE_DRIFT_FEATURES]
    features = []
    for feature in shown:
        bins = feature["bins"]
        n = len(bins)
        top = max(max(b["expected"], b["actual"] or 0) for b in bins) if bins else 0
        pairs = []
        for i, b in enumerate(bins):
            title = f"{b['label']}: training {_percent(b['expected'])}, "
            title += f"recent {_percent(b['actual'])}"
            for part, kind in enumerate(("expected", "actual")):
                bar = _bar(i, n, b[kind], top, title, part=part, parts=2)
                pairs.append({"kind": kind, **bar})
        features.append(
            {
                **feature,
                "psi_text": NONE_TEXT if feature["psi"] is None else f"{feature['psi']:.3f}",
                "unseen_text": _percent(feature["unseen_share"]),
                "bars": pairs,
                "first_label": bins[0]["label"] if bins else "",
                "last_label": bins[-1]["label"] if bins else "",
            }
        )
    return {
        **report,
        "features": features,
        "features_total": len(report["features"]),
        "status_text": STATUS_TEXT[report["status"]],
        "unseen_threshold": f"{100 * report['thresholds']['unseen_share_drifting']:.0f}%",
    }


def column_chart(column: dict[str, Any]) -> dict[str, Any] | None:
    """A dataset column's chart: a histogram of a number, the most common values of a
    category (as meters), or nothing."""
    if column["type"] == "number" and column.get("histogram"):
        edges = column["histogram"]["edges"]
        counts = column["histogram"]["counts"]
        top = max(counts, default=0)
        return {
            "kind": "histogram",
            "bars": [
                _bar(i, len(counts), count, top, f"{edges[i]:.4g} to {edges[i + 1]:.4g}: {count}")
                for i, count in enumerate(counts)
            ],
            "low": f"{edges[0]:.4g}",
            "high": f"{edges[-1]:.4g}",
        }
    if column["type"] == "category" and column.get("top"):
        top = column["top"][:TOP_VALUES]
        most = max(count for _, count in top)
        return {
            "kind": "categories",
            "rows": [
                {"label": label, "count": count, "share": round(100 * count / most)}
                for label, count in top
            ],
            "more": max(column.get("distinct", 0) - len(top), 0),
        }
    return None


# The leaderboard's chart: one horizontal bar per algorithm (its mean over the folds) with a
# whisker of one standard deviation each side; labels on the left, in the SVG's own units.
BOARD_W, BOARD_ROW_H = 300.0, 14.0
BOARD_LABEL_W = 110.0


def leaderboard_chart(
    rows: list[tuple[str, float | None, float | None]], metric: str
) -> dict[str, Any] | None:
    """`rows`: (label, mean, sd) per algorithm, in the order shown; those without a mean
    (no trial ran) are left out. None when no row has a mean."""
    scored = [(label, mean, std or 0.0) for label, mean, std in rows if mean is not None]
    if not scored:
        return None
    low = min(0.0, *(mean - std for _, mean, std in scored))
    high = max(0.0, *(mean + std for _, mean, std in scored))
    span = (high - low) or 1.0
    plot_w = BOARD_W - BOARD_LABEL_W - 4

    def x(value: float) -> float:
        return BOARD_LABEL_W + plot_w * (value - low) / span

    bars = []
    for index, (label, mean, std) in enumerate(scored):
        top = index * BOARD_ROW_H
        start, end = sorted((x(0.0), x(mean)))
        bars.append(
            {
                "label": label,
                "label_y": f"{top + BOARD_ROW_H * 0.7:.2f}",
                "x": f"{start:.2f}",
                "y": f"{top + 2:.2f}",
                "width": f"{max(end - start, 0.5):.2f}",
                "height": f"{BOARD_ROW_H - 4:.2f}",
                "whisker_x1": f"{x(mean - std):.2f}",
                "whisker_x2": f"{x(mean + std):.2f}",
                "whisker_y": f"{top + BOARD_ROW_H / 2:.2f}",
                "title": f"{label}: {mean:.4g} ± {std:.2g}",
            }
        )
    return {
        "metric": metric,
        "bars": bars,
        "width": f"{BOARD_W:.0f}",
        "height": f"{len(scored) * BOARD_ROW_H + 20:.0f}",
        "axis_y": f"{len(scored) * BOARD_ROW_H + 6:.0f}",
        "axis_label_y": f"{len(scored) * BOARD_ROW_H + 15:.0f}",
        "axis_x0": f"{BOARD_LABEL_W:.0f}",
        "axis_x1": f"{BOARD_W - 4:.0f}",
        "low": f"{low:.3g}",
        "high": f"{high:.3g}",
    }


def live_view(result: dict[str, Any]) -> dict[str, Any]:
    """A live metric (monitoring/live.py) with one bar per day of the window, oldest first:
    accuracy on a 0-1 scale, r2 likewise (below 0 is no bar; the title keeps the value)."""
    series = result["series"]
    n = len(series)

    def text(value: float | None) -> str:
        return NONE_TEXT if value is None else f"{value:.3f}"

    bars = []
    for i, day in enumerate(series):
        bar = _bar(
            i,
            n,
            max(day["value"] or 0.0, 0.0),
            1.0,
            f"{day['day']}: {text(day['value'])} of {day['n']}",
        )
        bars.append({**bar, "kind": "live"})
    return {
        **result,
        "value_text": text(result["value"]),
        "training_text": text(result["training_value"]),
        "bars": bars,
        "first_day": series[0]["day"] if series else None,
        "last_day": series[-1]["day"] if series else None,
    }
