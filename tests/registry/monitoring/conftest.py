"""Fixtures for the monitoring tests: a trained model, the prediction log turned on (with
its writer thread stopped before the test database is emptied), and Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

CHURN_ROW = {
    "tenure_months": 3,
    "monthly_charges": 95.0,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}


@pytest.fixture
def prediction_log(settings, transactional_db) -> Iterator[object]:
    """The log on at rate 1 with a fresh writer; stopped (and its rows written) at the end,
    before pytest-django empties the database."""
    from registry.models import PredictionLog
    from registry.monitoring import predlog

    settings.MLSERVE_PREDICTION_LOG_RATE = 1.0
    PredictionLog.objects.all().delete()
    predlog.reset_writer()
    try:
        yield predlog
    finally:
        predlog.writer().stop()
        predlog.reset_writer()


def scrape(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics -> {(sample name, sorted labels): value}."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def churn_rows() -> list[dict]:
    """The demo churn data's rows as the model sees them (numbers as floats, None missing)."""
    import math

    from registry import csvio
    from tests.conftest import demo_bytes

    table = csvio.parse_csv(demo_bytes("churn.csv"))
    names = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
    columns = [table.data[n].tolist() for n in names]
    return [
        {
            n: None if isinstance(v, float) and math.isnan(v) else v
            for n, v in zip(names, row, strict=True)
        }
        for row in zip(*columns, strict=True)
    ]


def log_requests(version, rows, *, status=200, latency_ms=5.0, ago=None, per_request=1):
    """Prediction log rows written directly (as the writer would), `per_request` rows each."""
    from datetime import timedelta

    from django.utils import timezone

    from registry.models import PredictionLog

    when = timezone.now() - (ago or timedelta(0))
    entries = [rows[i : i + per_request] for i in range(0, len(rows), per_request)]
    PredictionLog.objects.bulk_create(
        PredictionLog(
            version_id=version.pk,
            created_at=when,
            source="api",
            status=status,
            latency_ms=latency_ms,
            n_rows=len(entry),
            inputs=entry,
            outputs=None if status >= 400 else {"predictions": ["no"] * len(entry)},
        )
        for entry in entries
    )
