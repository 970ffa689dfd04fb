"""The drift report of a wide model reads a bounded part of the prediction log (issue 14).

A 1,000-feature model with 500 logged requests: the version page and the drift API read at
most MLSERVE_DRIFT_MAX_CELLS / features rows (a LIMIT in the query, and that many logged
requests decoded at most), and a second view of the page is served from the cache until a
new request is logged. Before: every view read every logged request of the window in chunks
of 500, whatever max_rows said (23 s and +3 GB a view in the issue).
"""

import time

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import PredictionLog, RegisteredModel
from registry.monitoring import drift
from registry.web import charts
from tests.registry.conftest import make_version
from tests.registry.monitoring.conftest import log_requests

pytestmark = pytest.mark.django_db

N_FEATURES = 1000
N_REQUESTS = 500
PER_REQUEST = 2
MAX_CELLS = 200_000  # 200 rows of 1,000 features
PAGE = "/models/wide/versions/1/"
API = "/models/wide/versions/1/drift"


@pytest.fixture
def wide(owner):
    rng = np.random.default_rng(0)
    features = [{"name": f"f{i}", "type": "number"} for i in range(N_FEATURES)]
    training = {f["name"]: rng.normal(size=300) for f in features}
    model = RegisteredModel.objects.create(name="wide", owner=owner)
    version = make_version(
        model, 1, features=features, profile=drift.profile_of(training, features)
    )
    names = [f["name"] for f in features]
    rows = [
        dict(zip(names, np.round(rng.normal(size=N_FEATURES), 3).tolist(), strict=True))
        for _ in range(N_REQUESTS * PER_REQUEST)
    ]
    log_requests(version, rows, per_request=PER_REQUEST)
    assert PredictionLog.objects.filter(version=version).count() == N_REQUESTS
    return version


@pytest.fixture
def decoded(monkeypatch):
    """How many logged requests' inputs were read from the database and decoded."""
    field = PredictionLog._meta.get_field("inputs")
    original = field.from_db_value
    count = {"inputs": 0}

    def counting(value, expression, conn):
        count["inputs"] += 1
        return original(value, expression, conn)

    monkeypatch.setattr(field, "from_db_value", counting)
    return count


def _log_reads(queries) -> list[str]:
    table = PredictionLog._meta.db_table
    return [q["sql"] for q in queries if table in q["sql"] and '"inputs"' in q["sql"]]


def _view(fetch, decoded):
    decoded["inputs"] = 0
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = fetch()
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.content[:300]
    return response, seconds, decoded["inputs"], _log_reads(queries.captured_queries)


def test_the_page_and_the_api_read_at_most_the_bound_and_views_use_the_cache(
    settings, client, owner, owner_api, wide, decoded
):
    settings.MLSERVE_DRIFT_MAX_CELLS = MAX_CELLS
    bound = MAX_CELLS // N_FEATURES
    client.force_login(owner)

    page, first_s, first_decoded, reads = _view(lambda: client.get(PAGE), decoded)
    shown = page.content.decode()
    print(
        f"\npage, first view: {first_s * 1000:.0f} ms, {first_decoded} logged requests decoded "
        f"(of {N_REQUESTS}, {N_REQUESTS * PER_REQUEST} rows x {N_FEATURES} features logged)"
    )
    assert f"<strong data-drift-rows>{bound}</strong>" in shown
    # The panel charts the features with the highest PSI, not all 1,000.
    assert shown.count("data-drift-feature=") == charts.PAGE_DRIFT_FEATURES
    assert "data-drift-shown" in shown
    assert first_decoded <= bound
    assert reads
    assert all("LIMIT" in sql for sql in reads), reads

    page, second_s, second_decoded, reads = _view(lambda: client.get(PAGE), decoded)
    print(f"page, second view: {second_s * 1000:.0f} ms, {second_decoded} decoded (cached)")
    assert second_decoded == 0
    assert reads == []
    assert f"<strong data-drift-rows>{bound}</strong>" in page.content.decode()

    # The API with its own window reads at most the bound too, then hits the cache.
    query = f"{API}?days=30&max_rows=100000"
    api, api_s, api_decoded, reads = _view(lambda: owner_api.get(query), decoded)
    report = api.json()
    print(f"api, first call: {api_s * 1000:.0f} ms, {api_decoded} decoded, {report['rows']} rows")
    assert report["rows"] == bound
    assert report["window"]["max_rows"] == bound
    assert api_decoded <= bound
    assert reads
    assert all("LIMIT" in sql for sql in reads), reads
    again, _, again_decoded, _ = _view(lambda: owner_api.get(query), decoded)
    assert again_decoded == 0
    assert again.json()["rows"] == bound
    assert again.json()["features"] == report["features"]

    # A newly logged request is a new key: the next view computes the report again.
    log_requests(wide, [{f"f{i}": 50.0 for i in range(N_FEATURES)}])
    _, _, fresh_decoded, _ = _view(lambda: client.get(PAGE), decoded)
    assert 0 < fresh_decoded <= bound


def test_a_narrow_model_keeps_max_rows(settings, owner, wide):
    """The bound is rows x features: with few features max_rows decides, as before."""
    settings.MLSERVE_DRIFT_MAX_CELLS = MAX_CELLS
    assert drift.row_budget(5, 10_000) == 10_000
    assert drift.row_budget(N_FEATURES, 10_000) == MAX_CELLS // N_FEATURES
    assert drift.row_budget(10 * MAX_CELLS, 10_000) == 1
