"""Targets a model cannot learn from are refused when the training is asked for, with a
sentence that says what to do, instead of failing later in the worker."""

import pytest

from registry.models import RegisteredModel
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def penguins_csv(rows: int = 120) -> bytes:
    """A body mass with many distinct numbers, a species with a rare class, an island
    with one value, an individual ID, and a small number of clutches (numeric classes)."""
    lines = ["individual_id,bill_length_mm,island,clutch,species,body_mass_g"]
    for i in range(rows):
        species = "Chinstrap" if i == 0 else ("Adelie" if i % 2 else "Gentoo")
        lines.append(f"N{i:03d}A1,{35 + i % 17 * 0.7:.1f},Biscoe,{i % 3},{species},{3000 + i * 25}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def penguins(make_dataset):
    return make_dataset(data=penguins_csv(), dataset_name="penguins")


def refusal(owner_api, dataset, **body) -> str:
    body = {"name": "m", "dataset": dataset.pk, "algorithm": "logistic_regression", **body}
    problem = assert_problem(owner_api.post("/models", body), 422)
    assert not RegisteredModel.objects.exists()
    return next(e["detail"] for e in problem["errors"] if e["field"] == "target")


def test_it_refuses_a_classifier_on_a_number_with_many_distinct_values(owner_api, penguins):
    detail = refusal(owner_api, penguins, target="body_mass_g")
    assert detail.startswith("'body_mass_g' has 120 distinct numbers: use a regressor, or bin it")
    # The same column is a fine regression target; a few distinct numbers are fine classes.
    body = {"dataset": penguins.pk, "target": "body_mass_g", "features": ["bill_length_mm"]}
    response = owner_api.post("/models", {**body, "name": "m", "algorithm": "linear_regression"})
    assert response.status_code == 202, response.content
    body = {**body, "target": "clutch", "name": "c", "algorithm": "logistic_regression"}
    assert owner_api.post("/models", body).status_code == 202


def test_it_refuses_a_target_with_one_value(owner_api, penguins):
    detail = refusal(owner_api, penguins, target="island")
    assert detail == (
        "'island' has the same value ('Biscoe') in every row: there is nothing to predict; "
        "pick another target."
    )


def test_it_refuses_an_id_as_a_classifier_target(owner_api, penguins):
    detail = refusal(owner_api, penguins, target="individual_id")
    assert detail.startswith("'individual_id' has a different value in every row, like an ID")
    assert "pick another target" in detail


def test_it_refuses_a_class_too_small_to_be_both_learned_and_tested(owner_api, penguins):
    detail = refusal(owner_api, penguins, target="species", features=["bill_length_mm"])
    assert detail.startswith("The class 'Chinstrap' of 'species' has only 1 row")
    assert "at least 2" in detail
    assert "drop its rows, or merge it with another class" in detail


def test_it_refuses_a_small_numeric_class_too(owner_api, make_dataset):
    data = b"x,grade\n" + b"".join(f"{i},{1 if i else 9}\n".encode() for i in range(30))
    dataset = make_dataset(data=data, dataset_name="grades")
    detail = refusal(owner_api, dataset, target="grade")
    assert detail.startswith("The class 9 of 'grade' has only 1 row")
