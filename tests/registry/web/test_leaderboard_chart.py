"""The board page's chart geometry (registry/web/charts.py leaderboard_chart): a bar from
zero to each algorithm's mean, a whisker of one sd each side, negative means drawn left of
zero (an R² below zero), algorithms without a score left out."""

from registry.web import charts


def _x(bar, key):
    return float(bar[key])


def test_it_draws_each_mean_from_zero_with_its_spread():
    chart = charts.leaderboard_chart(
        [("ridge", 0.5, 0.1), ("tree", -0.25, 0.05), ("knn", None, None)], "R²"
    )
    assert [b["label"] for b in chart["bars"]] == ["ridge", "tree"]
    assert (chart["low"], chart["high"]) == ("-0.3", "0.6")
    ridge, tree = chart["bars"]
    zero = _x(ridge, "x")  # a positive bar starts at zero
    assert _x(tree, "x") + _x(tree, "width") == zero  # a negative one ends there
    assert _x(ridge, "whisker_x1") < _x(ridge, "x") + _x(ridge, "width") < _x(ridge, "whisker_x2")
    # One unit of the metric is the same length everywhere on the axis.
    unit = _x(ridge, "width") / 0.5
    assert abs(_x(tree, "width") / 0.25 - unit) < 0.05
    assert abs((_x(ridge, "whisker_x2") - _x(ridge, "whisker_x1")) / 0.2 - unit) < 0.05
    assert "ridge: 0.5 ± 0.1" == ridge["title"]


def test_no_scored_algorithm_no_chart():
    assert charts.leaderboard_chart([("knn", None, None)], "Accuracy") is None
