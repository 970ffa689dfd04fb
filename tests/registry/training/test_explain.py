"""A fit that fails inside numpyml leaves the version failed with plain words, the user's
column names and what to change; numpyml's own text goes to the log only."""

import logging

import pytest

from registry import services
from registry.training.run import train

pytestmark = pytest.mark.django_db


def failed_training(owner, make_dataset, caplog, data: bytes, **request) -> str:
    dataset = make_dataset(data=data, dataset_name="small")
    version = services.model_create_with_version(owner=owner, name="m", dataset=dataset, **request)
    with caplog.at_level(logging.WARNING, logger="registry.training.run"):
        assert train(version.pk) == "failed"
    version.refresh_from_db()
    return version.error


def test_it_explains_more_clusters_than_rows(owner, make_dataset, caplog):
    data = b"x,y\n" + b"".join(f"{i},{i * 2}\n".encode() for i in range(10))
    error = failed_training(
        owner, make_dataset, caplog, data, algorithm="kmeans", params={"n_clusters": 20}
    )
    assert error == (
        "The training part of the data has 8 rows, fewer than the 20 clusters asked for: "
        "set n_clusters to at most 8, or use more rows."
    )
    assert "n_samples=8 should be >= n_clusters=20" in caplog.text  # the raw text: logged


def test_it_explains_more_neighbours_than_rows(owner, make_dataset, caplog):
    data = b"x,y\n" + b"".join(f"{i},{i * 3.5}\n".encode() for i in range(10))
    error = failed_training(
        owner,
        make_dataset,
        caplog,
        data,
        algorithm="knn_regressor",
        target="y",
        params={"n_neighbors": 50},
    )
    assert error.startswith("n_neighbors is 50, but the training part of the data has only 8")
    assert "n_neighbors=50" in caplog.text


def test_it_names_the_users_column_for_a_negative_count(owner, make_dataset, caplog):
    rows = [f"{i % 7},{i % 5 - 2},{'ab'[i % 2]}" for i in range(40)]
    data = ("visits,balance,label\n" + "\n".join(rows) + "\n").encode()
    error = failed_training(
        owner, make_dataset, caplog, data, algorithm="multinomial_nb", target="label"
    )
    assert error.startswith(
        "Multinomial naive Bayes learns from counts, but 'balance' has a negative value"
    )
    assert "use Gaussian naive Bayes for signed numbers" in error
    assert "column 1" not in error
    assert "Negative values in data passed to MultinomialNB" in caplog.text


def test_it_explains_collapsed_mixture_components(owner, make_dataset, caplog):
    data = b"x,y\n" + b"1,1\n" * 30 + b"2,5\n" * 30
    error = failed_training(
        owner,
        make_dataset,
        caplog,
        data,
        algorithm="gmm",
        params={"n_components": 5, "reg_covar": 0.0},
    )
    assert error.startswith("Some mixture components collapsed onto a few identical rows")
    assert "ill-defined empirical covariance" in caplog.text
