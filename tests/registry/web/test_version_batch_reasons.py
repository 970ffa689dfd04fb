"""Batch prediction with reasons: reason_1..reason_3 name each row's three columns that
moved its prediction most, with their signed contributions (the API's explanation)."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry import serving
from registry.serving.explain import reasons
from tests.conftest import demo_bytes

pytestmark = pytest.mark.django_db

HEADER = "tenure_months,monthly_charges,contract,internet,support_calls"
REASON = re.compile(r"^(\w+) \(([+-][0-9.e+-]+)\)$")


def batch(client, data: bytes, **extra):
    upload = SimpleUploadedFile("rows.csv", data, content_type="text/csv")
    return client.post(
        reverse("version_batch_predict", args=["churn", 1]), {"file": upload, **extra}
    )


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_batch_form_offers_reasons(other_client, churn):
    html = other_client.get(reverse("version_detail", args=["churn", 1])).content.decode()
    assert 'name="reasons"' in html


def test_it_adds_three_reason_columns_from_the_explanation(other_client, churn):
    data = (HEADER + "\n3,95,month-to-month,fiber,4\n60,20,two-year,dsl,0\n").encode()
    response = batch(other_client, data, reasons="on")
    assert response.status_code == 200, response.content
    rows = rows_of(response)
    assert list(rows[0])[-4:] == ["warnings", "reason_1", "reason_2", "reason_3"]
    served = serving.resolve("churn", version=1)
    explained = serving.predict(
        served, data, user=None, source="test", content_type="text/csv", explain=True
    )
    expected = reasons(explained["explanations"])
    for row, words in zip(rows, expected, strict=True):
        assert [row["reason_1"], row["reason_2"], row["reason_3"]] == words
        sizes = [abs(float(REASON.match(row[f"reason_{i}"])[2])) for i in (1, 2, 3)]
        assert sizes == sorted(sizes, reverse=True)


def test_without_reasons_the_file_is_as_before(other_client, churn):
    rows = rows_of(batch(other_client, (HEADER + "\n3,95,month-to-month,fiber,4\n").encode()))
    assert "reason_1" not in rows[0]


def test_reasons_for_more_rows_than_it_explains_is_a_form_error(other_client, churn, settings):
    settings.MLSERVE_MAX_EXPLAIN_ROWS = 100
    response = batch(other_client, demo_bytes("churn.csv"), reasons="on")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "MLSERVE_MAX_EXPLAIN_ROWS" in response.content.decode()
