"""alerts.emit and its wiring: registry events (a version ready or failed, an alias moved or
rolled back) become deliveries to the owner's subscribed endpoints, after commit."""

import pytest

from registry import alerts, services, training
from registry.models import WebhookDelivery
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(owner, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True

    def make(**fields):
        return services.webhook_create(owner=owner, url="http://127.0.0.1:9/hook", **fields)[0]

    return make


def events(endpoint=None):
    rows = WebhookDelivery.objects.order_by("id")
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    return [(d.event, d.payload["data"]) for d in rows]


def test_a_version_ready_is_sent(owner, make_dataset, hook, django_capture_on_commit_callbacks):
    # (The first ready version also takes production: that move is test_alias_events.py's.)
    endpoint = hook(events=["version.ready"])
    version = services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=make_dataset("churn.csv"),
        algorithm="logistic_regression",
        target="churned",
    )
    with django_capture_on_commit_callbacks() as queued:
        assert training.train(version.pk) == "ready"
    [(event, data)] = events(endpoint)
    assert event == "version.ready"
    assert data["model"] == "churn"
    assert data["version"] == 1
    assert data["algorithm"] == "logistic_regression"
    version.refresh_from_db()
    assert data["metrics"]["accuracy"] == version.metrics["accuracy"]
    # The delivery is queued once the version is committed.
    assert sum(1 for f in queued if "_queue_after_commit" in f.__qualname__) == 1


def test_a_version_failed_is_sent(owner, make_model, hook):
    endpoint = hook()
    model = make_model("churn", versions=0)
    version = make_version(model, 1, status="running")
    training.fail(version.pk, "The data has no rows.")
    training.fail(version.pk, "again")  # already failed: nothing more is sent
    [(event, data)] = events(endpoint)
    assert event == "version.failed"
    assert data == {
        "model": "churn",
        "version": 1,
        "algorithm": "logistic_regression",
        "error": "The data has no rows.",
    }


def test_an_alias_move_and_a_rollback_are_sent(
    owner, make_model, hook, django_capture_on_commit_callbacks
):
    endpoint = hook()
    model = make_model("churn", versions=2)
    with django_capture_on_commit_callbacks() as queued:
        services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
        services.alias_move(
            model=model, name="production", version_number=2, user=owner, via="page"
        )
        services.alias_move(  # no change: nothing recorded, nothing sent
            model=model, name="production", version_number=2, user=owner, via="page"
        )
        services.alias_rollback(model=model, name="production", user=owner, via="api")
    assert events(endpoint) == [
        (
            "alias.moved",
            {
                "model": "churn",
                "alias": "production",
                "version": 1,
                "previous": None,
                "by": "olivia",
                "via": "api",
            },
        ),
        (
            "alias.moved",
            {
                "model": "churn",
                "alias": "production",
                "version": 2,
                "previous": 1,
                "by": "olivia",
                "via": "page",
            },
        ),
        (
            "alias.rollback",
            {
                "model": "churn",
                "alias": "production",
                "version": 1,
                "previous": 2,
                "by": "olivia",
                "via": "api",
            },
        ),
    ]
    assert sum(1 for f in queued if "_queue_after_commit" in f.__qualname__) == 3


def test_endpoints_get_the_events_and_models_they_chose(owner, other, make_model, hook, settings):
    everything = hook()
    moves_only = hook(events=["alias.moved"])
    churn = make_model("churn", versions=1)
    houses = make_model("houses", versions=1)
    churn_only = hook(model=churn)
    theirs = services.webhook_create(owner=other, url="http://127.0.0.1:9/theirs")[0]
    inactive = hook()
    inactive.active = False
    inactive.save(update_fields=["active"])
    alerts.emit("version.failed", churn, {"version": 1})
    alerts.emit("alias.moved", houses, {"alias": "production"})
    assert [e for e, _ in events(everything)] == ["version.failed", "alias.moved"]
    assert [e for e, _ in events(moves_only)] == ["alias.moved"]
    assert [e for e, _ in events(churn_only)] == ["version.failed"]
    assert events(theirs) == []
    assert events(inactive) == []


def test_an_event_rolled_back_sends_nothing(owner, make_model, hook):
    from django.db import transaction

    hook()
    model = make_model("churn", versions=1)
    with transaction.atomic():
        alerts.emit("version.failed", model, {"version": 1})
        transaction.set_rollback(True)
    assert events() == []


def test_an_unknown_event_is_a_programming_error(make_model):
    with pytest.raises(ValueError, match="event must be one of"):
        alerts.emit("version.exploded", make_model("churn"), {})


def test_a_version_the_reaper_fails_is_sent(owner, make_model, hook, settings):
    from datetime import timedelta

    from django.utils import timezone

    from registry.tasks import reap_stale_versions

    endpoint = hook(events=["version.failed"])
    model = make_model("churn", versions=0)
    stale = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S + 60)
    make_version(model, 1, status="running", heartbeat_at=stale, attempts=2)
    assert reap_stale_versions() == 1
    [(event, data)] = events(endpoint)
    assert event == "version.failed"
    assert data["version"] == 1
    assert "worker stopped" in data["error"]
