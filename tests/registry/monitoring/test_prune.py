"""`manage.py prune_prediction_log --days N`: deletes older rows in batches, prints the count."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import PredictionLog
from tests.registry.monitoring.conftest import churn_rows, log_requests

pytestmark = pytest.mark.django_db


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_prediction_log", *args, stdout=out)
    return out.getvalue()


def test_it_deletes_rows_older_than_n_days_in_batches(churn):
    rows = churn_rows()[:25]
    log_requests(churn, rows, ago=timedelta(days=40))
    log_requests(churn, rows[:7], ago=timedelta(days=31))
    log_requests(churn, rows[:5], ago=timedelta(days=29))
    log_requests(churn, rows[:3])
    with CaptureQueriesContext(connection) as queries:
        out = prune("--days", "30", "--batch-size", "10")
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 4  # 10 + 10 + 10 + 2
    assert "Deleted 32 prediction log row(s) older than 30 days." in out
    assert PredictionLog.objects.count() == 8
    assert min(PredictionLog.objects.values_list("created_at", flat=True)) > (
        PredictionLog.objects.latest("created_at").created_at - timedelta(days=30)
    )
    assert "Deleted 0 prediction log row(s)" in prune("--days", "30")


def test_zero_days_empties_the_log(churn):
    log_requests(churn, churn_rows()[:4])
    assert "Deleted 4" in prune("--days", "0")
    assert PredictionLog.objects.count() == 0


def test_it_needs_a_valid_number_of_days():
    with pytest.raises(CommandError, match="--days"):
        call_command("prune_prediction_log")
    with pytest.raises(CommandError, match="--days must be 0 or more"):
        call_command("prune_prediction_log", "--days", "-1")
