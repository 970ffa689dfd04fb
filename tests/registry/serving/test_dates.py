"""A date column end to end: detected at upload, expanded into calendar features at
training, and converted the same way at prediction time from JSON strings and CSV cells."""

from datetime import date, timedelta

import numpy as np
import pytest

import numpyml
from registry import csvio
from registry import pipeline as shape
from tests.conftest import assert_problem, train_once

pytestmark = pytest.mark.django_db

START = date(2023, 1, 1)
HEADER = "day,store,sales"


def day_first(offset: int) -> str:
    return (START + timedelta(days=offset)).strftime("%d/%m/%Y")


def sales_csv() -> bytes:
    rows = [
        f"{day_first(i * 5)},{'ab'[i % 2]},{100 + i * 2 + 30 * ((i * 5) % 7 == 5)}"
        for i in range(60)
    ]
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def sales(owner, make_dataset):
    dataset = make_dataset(data=sales_csv(), dataset_name="sales")
    return train_once(
        owner=owner,
        dataset=dataset,
        name="sales",
        algorithm="linear_regression",
        target="sales",
    )


def test_it_trains_with_the_date_expanded_into_calendar_features(sales):
    day = next(f for f in sales.features if f["name"] == "day")
    assert (day["type"], day["format"]) == ("date", "%d/%m/%Y")
    assert day["min"] == "2023-01-01"
    pipeline = numpyml.load(bytes(sales.artifact))
    assert shape.features_of(pipeline)[shape.DATE] == ["day"]
    names = shape.preprocessing_of(pipeline).get_feature_names_out().tolist()
    assert "date__day_dayofweek" in names
    assert "date__day_timestamp" in names


def test_it_predicts_the_same_from_json_strings_csv_cells_and_training(owner_api, sales):
    days = ["31/12/2024", "15/06/2023", ""]
    csv_rows = "".join(f"{d},a\n" for d in days)
    # At training, the dataset's cells are read by parse_csv: the same rows read that way.
    table = csvio.parse_csv(f"day,store\n{csv_rows}".encode())
    assert table.column_schema("day")["format"] == "%d/%m/%Y"
    expected = numpyml.load(bytes(sales.artifact)).predict(
        {"day": table.data["day"], "store": table.data["store"]}
    )
    rows = [{"day": d or None, "store": "a"} for d in days]
    as_json = owner_api.post("/models/sales/predict", {"instances": rows})
    assert as_json.status_code == 200, as_json.content
    as_csv = owner_api.post(
        "/models/sales/predict", f"day,store\n{csv_rows}".encode(), content_type="text/csv"
    )
    assert as_csv.status_code == 200, as_csv.content
    np.testing.assert_allclose(as_json.json()["predictions"], expected)
    np.testing.assert_allclose(as_csv.json()["predictions"], expected)
    iso_row = {"day": "2024-12-31", "store": "a"}
    iso = owner_api.post("/models/sales/predict", {"instances": [iso_row]})
    np.testing.assert_allclose(iso.json()["predictions"], expected[:1])


def test_it_names_the_row_and_column_of_a_value_that_is_not_a_date(owner_api, sales):
    body = {"instances": [{"day": "01/02/2024", "store": "a"}, {"day": "soon", "store": "b"}]}
    problem = assert_problem(owner_api.post("/models/sales/predict", body), 422)
    assert "row 1, column 'day'" in problem["detail"]
    assert "'soon' is not a date" in problem["detail"]
    csv = b"day,store\n01/02/2024,a\n12/31/2024,b\n"
    problem = assert_problem(
        owner_api.post("/models/sales/predict", csv, content_type="text/csv"), 422
    )
    assert "Line 3, column 'day'" in problem["detail"]
    assert "'12/31/2024' is not a date" in problem["detail"]
