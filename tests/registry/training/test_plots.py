"""The plots speak the user's language: whole-number axes (iterations, components) have
whole-number ticks, feature importances name the user's columns and categories, and a
clustering plot says which colour is which cluster."""

import numpy as np
import pytest
from defusedxml import ElementTree as ET

from registry import services
from registry.models import ModelVersion
from registry.training import plots
from registry.training.run import train

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str, group_prefix: str) -> list[str]:
    """The text of every tick (group id xtick_N / ytick_N) or legend in a matplotlib SVG."""
    root = ET.fromstring(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        if group.get("id", "").startswith(group_prefix):
            found.extend("".join(t.itertext()).strip() for t in group.iter(f"{SVG}text"))
    return [t for t in found if t]


def test_iterations_have_whole_number_ticks():
    ticks = texts(plots.loss_curve([5.0, 4.0, 3.5]), "xtick_")
    assert ticks
    assert all(t.isdigit() for t in ticks), ticks


def test_components_have_whole_number_ticks():
    ticks = texts(plots.explained_variance([0.6, 0.3, 0.1]), "xtick_")
    assert ticks == ["1", "2", "3"]


def test_a_clustering_plot_has_a_legend():
    points = np.random.default_rng(0).normal(size=(60, 2))
    svg = plots.projection(points, np.repeat([0, 1, 2], 20), "Clusters (PCA projection)")
    assert texts(svg, "legend_") == ["cluster", "0", "1", "2"]


@pytest.mark.django_db
def test_feature_importances_name_the_users_columns_and_categories(owner, make_dataset):
    version = services.model_create_with_version(
        owner=owner,
        name="tree",
        dataset=make_dataset("churn.csv"),
        algorithm="decision_tree_classifier",
        target="churned",
        params={"max_depth": 4},
    )
    assert train(version.pk) == "ready"
    svg = ModelVersion.objects.get(pk=version.pk).plots["feature_importances"]
    labels = texts(svg, "ytick_")
    assert "tenure_months" in labels
    assert "contract = month-to-month" in labels
    assert not [label for label in labels if "__" in label], labels
    # The tree reported each depth level as it grew: its curve is by depth.
    curve = ModelVersion.objects.get(pk=version.pk).plots["loss_curve"]
    assert ">depth</text>" in curve
    assert texts(curve, "xtick_") == ["1", "2", "3", "4"]
