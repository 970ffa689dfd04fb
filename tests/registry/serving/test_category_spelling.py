"""One spelling of a category whatever body carried it (issue 14).

A CSV cell is text: a pandas export of a bool column says `True`, a float column `1.0`, and
those spellings are the categories a model trained on such a file knows. A JSON client sends
the same cells as `true` and `1.0`; they must reach the model as the trained spelling, so the
same row predicts the same as JSON and as CSV instead of as an unknown category.
"""

import numpy as np
import pytest

from registry.csvio import category_spellings
from registry.serving.bodies import spell_category
from tests.conftest import train_once

pytestmark = pytest.mark.django_db

FLAGS = ["x", "flag"]
LEVELS = ["x", "level"]


def _training_csv(column: str, values: list[str], targets: dict[str, str]) -> bytes:
    rng = np.random.default_rng(0)
    lines = [f"x,{column},y"]
    for i in range(90):
        value = values[i % len(values)]
        lines.append(f"{rng.random():.3f},{value},{targets[value]}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def flags(owner, make_dataset):
    """A model trained on a bool column as pandas writes it (True/False) that decides y."""
    data = _training_csv("flag", ["True", "False"], {"True": "yes", "False": "no"})
    return train_once(
        owner=owner,
        name="flags",
        dataset=make_dataset(data=data, dataset_name="flags"),
        algorithm="logistic_regression",
        target="y",
    )


@pytest.fixture
def levels(owner, make_dataset):
    """A model trained on a category column of float spellings (1.0/2.0, and a word)."""
    data = _training_csv("level", ["1.0", "2.0", "none"], {"1.0": "a", "2.0": "b", "none": "c"})
    return train_once(
        owner=owner,
        name="levels",
        dataset=make_dataset(data=data, dataset_name="levels"),
        algorithm="logistic_regression",
        target="y",
    )


def _csv(names: list[str], rows: list[list]) -> bytes:
    lines = [",".join(names), *(",".join(str(cell) for cell in row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def _bodies(names: list[str], rows: list[list]) -> dict[str, dict]:
    named = [dict(zip(names, row, strict=True)) for row in rows]
    return {
        "instances (lists)": {"instances": rows},
        "instances (objects)": {"instances": named},
        "inputs (columns)": {"inputs": {n: [row[j] for row in rows] for j, n in enumerate(names)}},
        "dataframe_records": {"dataframe_records": named},
        "dataframe_split": {"dataframe_split": {"columns": names, "data": rows}},
    }


def _answer(response, label: str):
    assert response.status_code == 200, (label, response.status_code, response.content[:400])
    data = response.json()
    return data["predictions"], data["probabilities"]


def _same_as_csv(api, model: str, names: list[str], json_rows: list[list], csv_rows: list[list]):
    path = f"/models/{model}/predict"
    expected = _answer(api.post(path, _csv(names, csv_rows), content_type="text/csv"), "csv")
    answers = {
        label: _answer(api.post(path, body), label)
        for label, body in _bodies(names, json_rows).items()
    }
    differing = {label: a for label, a in answers.items() if a != expected}
    assert not differing, (expected, differing)
    return expected


def test_it_reads_a_json_boolean_as_the_true_false_a_csv_model_was_trained_on(owner_api, flags):
    predictions, _ = _same_as_csv(
        owner_api, "flags", FLAGS, [[0.5, True], [0.5, False]], [[0.5, "True"], [0.5, "False"]]
    )
    assert predictions == ["yes", "no"]  # the flag is known, not an unknown category


def test_it_reads_a_json_number_as_the_float_spelling_a_csv_model_was_trained_on(owner_api, levels):
    csv_rows = [[0.5, "1.0"], [0.5, "2.0"], [0.5, "none"]]
    predictions, _ = _same_as_csv(
        owner_api, "levels", LEVELS, [[0.5, 1.0], [0.5, 2.0], [0.5, "none"]], csv_rows
    )
    assert predictions == ["a", "b", "c"]
    # A JSON integer denotes the same value as 1.0.
    _same_as_csv(owner_api, "levels", LEVELS, [[0.5, 1], [0.5, 2]], csv_rows[:2])


@pytest.mark.parametrize(
    ("value", "trained", "expected"),
    [
        (True, ["True", "False"], "True"),
        (False, ["True", "False"], "False"),
        (True, ["true", "false"], "true"),
        (True, ["TRUE", "FALSE"], "TRUE"),
        (True, ["0", "1"], "1"),
        (False, ["0", "1"], "0"),
        (True, ["0.0", "1.0"], "1.0"),
        (1.0, ["1.0", "2.0"], "1.0"),
        (1, ["1.0", "2.0"], "1.0"),
        (1.0, ["1", "2"], "1"),
        (2.5, ["2.50", "x"], "2.50"),
        # No trained category denotes the value: today's spelling.
        (True, ["yes", "no"], "true"),
        (1.0, ["a", "b"], "1"),
        (1.5, ["a", "b"], "1.5"),
        (3, ["1.0", "2.0"], "3"),
        (2**53 + 1, [str(2**53)], str(2**53 + 1)),  # not the double it rounds to
        (10**400, ["1.0"], str(10**400)),
        # Strings are read as a CSV cell is, whatever the model knows.
        ("true", ["True", "False"], "true"),
        (" 1 ", ["1.0", "2.0"], "1"),
        (None, ["True", "False"], None),
    ],
)
def test_it_spells_a_json_value_as_the_trained_category_that_denotes_it(value, trained, expected):
    assert spell_category(value, category_spellings(trained)) == expected
