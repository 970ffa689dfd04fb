"""One million prediction log rows: the pages' and the drift report's queries go through the
(version, created_at) index, and predictions (which never read the log) still work."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from registry.models import PredictionLog
from registry.monitoring import drift, predlog
from tests.registry.conftest import make_version
from tests.registry.monitoring.conftest import CHURN_ROW, churn_rows

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

N_ROWS = 1_000_000
INDEX = "predlog_version_time"
URL = "/models/churn/versions/1/predict"
COLUMNS = "version_id, created_at, user_id, source, status, latency_ms, n_rows, inputs, error"


def insert_rows(version_id: int, other_id: int, inputs: str) -> None:
    """1M rows in one statement, in time order (as the writer makes them), one every 2 s up
    to now (about 23 days); one in ten for `version_id`, the rest for another version; one
    in fifty an error."""
    table = connection.ops.quote_name(PredictionLog._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({COLUMNS}) SELECT "  # noqa: S608 (our own table name)
                "CASE WHEN g %% 10 = 0 THEN %s ELSE %s END, "
                "now() - (%s - g) * interval '2 seconds', "
                "NULL, 'api', CASE WHEN g %% 50 = 0 THEN 500 ELSE 200 END, (g %% 97) + 0.5, 1, "
                "%s::jsonb, '' FROM generate_series(1, %s) AS g",
                [version_id, other_id, N_ROWS, inputs, N_ROWS],
            )
            cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute(
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %s) "  # noqa: S608
                f"INSERT INTO {table} ({COLUMNS}) SELECT "
                "CASE WHEN i %% 10 = 0 THEN %s ELSE %s END, "
                "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || ((%s - i) * 2) || ' seconds'), "
                "NULL, 'api', CASE WHEN i %% 50 = 0 THEN 500 ELSE 200 END, (i %% 97) + 0.5, 1, "
                "%s, '' FROM g",
                [N_ROWS, version_id, other_id, N_ROWS, inputs],
            )
            cursor.execute("ANALYZE")


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"  {label}: {1000 * (time.perf_counter() - started):.0f} ms")
    return result


def test_a_million_log_rows_leave_pages_drift_and_predictions_fast(
    prediction_log, client, owner, owner_api, churn, monkeypatch
):
    other = make_version(churn.model, 2, status="failed")  # only its id is used
    inputs = json.dumps([churn_rows()[0]])
    print()
    timed(f"insert {N_ROWS:,} rows", lambda: insert_rows(churn.pk, other.pk, inputs))
    assert PredictionLog.objects.count() == N_ROWS

    since = timezone.now() - timedelta(hours=24)
    traffic_plan = predlog.traffic_query([churn.pk], since).explain()
    drift_plan = drift.recent_inputs_query(churn.pk, since)[:10_000].explain()
    print(f"  traffic plan: {traffic_plan}\n  drift plan: {drift_plan}")
    for plan in (traffic_plan, drift_plan):
        assert INDEX in plan
        assert ("SEARCH" in plan) if connection.vendor == "sqlite" else ("Index" in plan)

    summary = timed("traffic summary (24 h)", lambda: predlog.traffic([churn.pk]))
    first_hour = summary[churn.pk]["hours"][0]["hour"]  # 23 to 24 hours ago
    in_window = PredictionLog.objects.filter(version=churn, created_at__gte=first_hour).count()
    assert summary[churn.pk]["requests"] == in_window > 4000
    report = timed("drift report (7 days, 10,000 rows)", lambda: drift.report(churn))
    assert report["rows"] == 10_000

    client.force_login(owner)
    response = timed("model page", lambda: client.get("/models/churn/"))
    assert response.status_code == 200
    assert b'data-traffic-version="1"' in response.content
    response = timed("version page", lambda: client.get("/models/churn/versions/1/"))
    assert response.status_code == 200
    assert b"data-drift-rows>10000<" in response.content

    for _ in range(20):
        response = owner_api.post(URL, {"instances": [CHURN_ROW]})
        assert response.status_code == 200
    started = time.perf_counter()
    for _ in range(100):
        owner_api.post(URL, {"instances": [CHURN_ROW]})
    print(f"  predict: {10 * (time.perf_counter() - started):.2f} ms per request")
    prediction_log.writer().stop()
    assert PredictionLog.objects.count() == N_ROWS + 120

    # One clock for the count and the prune: rows are 2 s apart, and a prune that read the
    # clock a moment later would delete one more than was counted.
    now = timezone.now()
    cutoff = now - timedelta(days=20)
    old = PredictionLog.objects.filter(created_at__lt=cutoff).count()
    with monkeypatch.context() as frozen:
        frozen.setattr(predlog.timezone, "now", lambda: now)
        deleted = timed(f"prune {old:,} rows older than 20 days", lambda: predlog.prune(days=20))
    assert deleted == old > 100_000
    assert not PredictionLog.objects.filter(created_at__lt=cutoff).exists()
