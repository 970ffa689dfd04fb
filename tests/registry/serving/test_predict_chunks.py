"""Large requests are predicted a chunk of rows at a time (serving/predict.py CHUNK_ROWS), so
that the preprocessed matrix of a big request never exists whole: the answer is the same."""

import importlib

import numpy as np
import pytest

from registry import serving
from tests.conftest import demo_bytes

pytestmark = pytest.mark.django_db
# the module, not the function the package re-exports under the same name
predict_module = importlib.import_module("registry.serving.predict")


def _rows(n: int) -> list[dict]:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(demo_bytes("churn.csv").decode())))
    return [rows[i % len(rows)] for i in range(n)]


def test_it_answers_the_same_in_chunks_as_whole(churn, monkeypatch):
    served = serving.resolve("churn")
    table = serving.rows_to_table(
        served, [{f["name"]: row[f["name"]] for f in served.features} for row in _rows(25)]
    )
    whole = serving.predict_table(served, table)
    monkeypatch.setattr(predict_module, "CHUNK_ROWS", 4)
    chunked = serving.predict_table(served, table)
    assert chunked["predictions"] == whole["predictions"]
    assert len(chunked["predictions"]) == 25
    # a matrix product of another shape may round the last bit differently (as BLAS does)
    np.testing.assert_allclose(chunked["probabilities"], whole["probabilities"], rtol=1e-12)
    assert chunked["classes"] == whole["classes"]


def test_it_writes_the_same_json_in_chunks_as_whole(churn, monkeypatch):
    import orjson

    served = serving.resolve("churn")
    table = serving.rows_to_table(
        served, [{f["name"]: row[f["name"]] for f in served.features} for row in _rows(25)]
    )
    result = serving.predict_table(served, table, explain=True)
    result["probabilities"][3, 1] = np.nan  # written as null either way
    result["cube"] = np.arange(25 * 2 * 3, dtype=np.float32).reshape(25, 2, 3)
    whole = orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)
    monkeypatch.setattr(predict_module, "CHUNK_ROWS", 4)
    assert serving.result_json(result) == whole
    assert orjson.loads(whole)["probabilities"][3][1] is None
