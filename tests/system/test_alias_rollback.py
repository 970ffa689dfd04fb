"""A rollback through server A is served by server B within 2 seconds, like any alias move
(tests/system/test_cluster.py): two gunicorn servers on the test PostgreSQL database.

PostgreSQL only: several machines sharing one SQLite file is not a supported setup.
"""

import time

import pytest

from registry import services
from registry.models import AuditEntry, ModelVersion
from tests.system.conftest import PREDICT_BODY, Api, Load, figures, report
from tests.system.test_cluster import (
    ALIAS_DEADLINE_S,
    POSTGRES,
    PREDICT,
    time_to_serve,
    version_of,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not POSTGRES,
        reason="several servers share one PostgreSQL database (run with DATABASE_URL=postgres://...)",
    ),
]


def test_a_rollback_through_a_is_served_by_b_within_2_seconds(churn, owner, token, start_server):
    # v2: the same trained artifact as v1 under another number (no training needed to tell
    # which version answered: the answer names it).
    fields = {
        f.attname: getattr(churn, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in {"id", "version", "created_at"}
    }
    ModelVersion.objects.create(**{**fields, "version": 2, "artifact": bytes(churn.artifact)})
    services.alias_move(
        model=churn.model, name="production", version_number=2, user=owner, via="api"
    )
    a, b = start_server("a"), start_server("b")
    api_a, api_b = Api(a.url, token), Api(b.url, token)
    assert version_of(api_b.post("/models/churn/predict", PREDICT_BODY)) == 2

    load = Load([b.url], PREDICT, PREDICT_BODY, token, concurrency=4, duration_s=10).start()
    time.sleep(0.5)  # B's workers have resolved (and cached) production as it was
    sent = time.monotonic()
    reply = api_a.post("/models/churn/aliases/production/rollback")
    assert reply.status == 200, reply.body
    assert (reply.json()["version"], reply.json()["previous"]) == (1, 2)
    time.sleep(ALIAS_DEADLINE_S + 1.0)
    results = load.stop()

    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok][:5]
    late = [r for r in results if r.started >= sent + ALIAS_DEADLINE_S]
    assert len(late) >= 4, f"too few requests after the deadline to tell: {figures(results)}"
    assert {version_of(r) for r in late} == {1}, "B still served v2 2 s after the rollback"
    took = time_to_serve(results, sent, 1)
    report("rollback through A, served by B", seconds=round(took, 3), **figures(results))
    assert took <= ALIAS_DEADLINE_S
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.via, entry.before["version"], entry.after["version"]) == (
        "alias.rollback",
        "api",
        2,
        1,
    )
