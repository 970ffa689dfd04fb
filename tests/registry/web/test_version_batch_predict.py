"""Batch prediction: upload a CSV, download the same CSV with prediction columns added."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry import services
from registry.models import ModelVersion
from tests.conftest import demo_bytes, train_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def train(owner, make_dataset):
    def run(algorithm="logistic_regression", filename="churn.csv", target="churned", name="churn"):
        return train_once(
            owner=owner,
            dataset=make_dataset(filename, dataset_name=name),
            name=name,
            algorithm=algorithm,
            target=target,
        )

    return run


def batch(client, data: bytes, name="churn", filename="rows.csv"):
    upload = SimpleUploadedFile(filename, data, content_type="text/csv")
    return client.post(reverse("version_batch_predict", args=[name, 1]), {"file": upload})


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_it_returns_the_csv_with_predictions_and_probabilities(other_client, train):
    train()
    data = demo_bytes("churn.csv")
    response = batch(other_client, data)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="rows-churn-v1-predictions.csv"'
    )
    rows = rows_of(response)
    original = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == len(original) == 600
    assert list(rows[0]) == [
        *original[0],
        "prediction",
        "probability_no",
        "probability_yes",
        "warnings",
    ]
    assert all(row["warnings"] == "" for row in rows)
    assert all(row["prediction"] in ("yes", "no") for row in rows)
    assert all(
        abs(float(r["probability_no"]) + float(r["probability_yes"]) - 1) < 1e-5 for r in rows
    )
    assert [r["monthly_charges"] for r in rows] == [r["monthly_charges"] for r in original]
    assert ModelVersion.objects.count() == 1


def test_it_adds_a_prediction_column_for_a_regressor(owner_client, train):
    train("linear_regression", "houses.csv", "price", name="prices")
    data = b"size_m2,bedrooms,age_years,area\n80,3,20,suburb\n150,5,2,centre\n"
    rows = rows_of(batch(owner_client, data, name="prices"))
    assert len(rows) == 2
    assert float(rows[1]["prediction"]) > float(rows[0]["prediction"])


def test_it_predicts_a_file_of_one_row(owner_client, train):
    train()
    data = b"tenure_months,monthly_charges,contract,internet,support_calls\n3,95,one-year,dsl,4\n"
    rows = rows_of(batch(owner_client, data))
    assert len(rows) == 1
    assert rows[0]["prediction"] in ("yes", "no")


def test_it_says_which_rows_hold_a_category_unseen_in_training(owner_client, train):
    train()
    data = (
        b"tenure_months,monthly_charges,contract,internet,support_calls\n"
        b"3,95,one-year,dsl,4\n3,95,One-Year,satellite,4\n"
    )
    rows = rows_of(batch(owner_client, data))
    assert rows[0]["warnings"] == ""
    assert rows[1]["warnings"] == (
        "contract: 'One-Year' is not a known category, but 'one-year' is: it differs only in "
        "case or spaces. Send 'one-year'. internet: 'satellite' was not seen in training: the "
        "model reads it as none of the known categories."
    )


def test_it_keeps_a_column_already_named_prediction(owner_client, train):
    train("kmeans", "shoppers.csv", None, name="segments")
    data = b"age,monthly_spend,visits_per_month,cluster\n25,20,2,x\n60,35,4,y\n"
    rows = rows_of(batch(owner_client, data, name="segments"))
    assert list(rows[0]) == [
        "age",
        "monthly_spend",
        "visits_per_month",
        "cluster",
        "cluster_2",
        "warnings",
    ]
    assert rows[0]["cluster"] == "x"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"tenure_months,contract\n1,one-year\n2,two-year\n",
            "The file lacks the model&#x27;s column(s)",
        ),
        (
            b"tenure_months,monthly_charges,contract,internet,support_calls\n"
            b"1,20,one-year,dsl,0\n2,lots,one-year,dsl,0\n",
            "Line 3, column &#x27;monthly_charges&#x27;: &#x27;lots&#x27; is not a number.",
        ),
        (b"", "The file is empty"),
    ],
)
def test_it_explains_what_is_wrong_with_the_file(owner_client, train, data, message):
    train()
    response = batch(owner_client, data)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert message in html
    assert 'id="id_file_error"' in html
    assert ModelVersion.objects.count() == 1


def test_it_asks_for_a_file(owner_client, train):
    train()
    response = owner_client.post(reverse("version_batch_predict", args=["churn", 1]))
    assert b"Choose a CSV file (or drop one on the box)." in response.content
    assert ModelVersion.objects.count() == 1


FORMULA = '=HYPERLINK("http://evil.example/","open")'


@pytest.mark.django_db(transaction=True)  # the worker's training child reads committed rows
def test_it_neutralises_formula_cells_in_the_download_but_not_numbers(
    owner, other_client, make_dataset, worker
):
    """OWASP CSV injection: a text cell beginning with = + - @ tab or CR is prefixed with a
    single quote, including another user's class labels; numbers such as -1.5 stay as sent."""
    lines = ["x,tag,label"]
    for i in range(40):
        label = f'"{FORMULA.replace(chr(34), chr(34) * 2)}"' if i % 2 else "-minus"
        lines.append(f"{(i % 2) * 10 - 5 + i / 100},{'@a' if i % 3 else '+b'},{label}")
    services.model_create_with_version(
        owner=owner,
        name="formula",
        dataset=make_dataset(data="\n".join(lines).encode(), dataset_name="formula"),
        algorithm="decision_tree_classifier",
        target="label",
    )
    worker()
    version = ModelVersion.objects.get(model__name="formula")
    assert version.status == "ready", version.error
    assert FORMULA in version.classes
    sent = 'x,tag\n6.5,=cmd|" /C calc"!A0\n-1.5,@SUM(1)\n-7,-2+3\n'
    response = batch(other_client, sent.encode(), name="formula")
    assert response.status_code == 200, response.content[:500]
    rows = rows_of(response)
    assert [r["x"] for r in rows] == ["6.5", "-1.5", "-7"]
    assert [r["tag"] for r in rows] == ['\'=cmd|" /C calc"!A0', "'@SUM(1)", "'-2+3"]
    assert [r["prediction"] for r in rows] == [f"'{FORMULA}", "'-minus", "'-minus"]
    assert all(not key.startswith(("=", "+", "-", "@")) for key in rows[0])
    assert float(rows[0][f"probability_{FORMULA}"]) == 1.0


def test_it_sums_up_the_error_at_the_top_of_the_form_linked_to_the_field(other_client, train):
    train()
    response = batch(other_client, b"tenure_months,contract\n3,monthly\n")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<div class="alert alert-error" role="alert" tabindex="-1" data-error-s')
    summary = html[start : html.index("</div>", start)]
    assert "Fix this to continue" in summary
    assert '<a href="#id_file" data-error-link>CSV file: ' in summary
    assert start < html.index('id="id_file"')
