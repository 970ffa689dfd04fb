"""Every alias change sends its webhook event, through every door: the first production a
training or an import sets, a canary started, promoted or ended, a shadow set or ended, a
move in the admin, an alias removed. Each change sends exactly one event, whose data names
the model, the alias, the version, the one before, who and through which door."""

import pytest
from django.test import Client
from django.urls import reverse

from registry import services, training
from registry.models import Alias, WebhookDelivery

pytestmark = pytest.mark.django_db

ALIAS = "/models/churn/aliases/production"


@pytest.fixture
def hook(owner, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    return services.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")[0]


@pytest.fixture
def churn3(owner, make_model, hook):
    """churn with three ready versions, production on v1 (its move's event already sent)."""
    model = make_model("churn", versions=3)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    WebhookDelivery.objects.all().delete()
    return model


def sent(endpoint) -> list[tuple[str, dict]]:
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")
    return [(d.event, d.payload["data"]) for d in rows]


def data(version, previous, via, *, model="churn", by="olivia", **extra) -> dict:
    return {
        "model": model,
        "alias": "production",
        "version": version,
        "previous": previous,
        "by": by,
        "via": via,
        **extra,
    }


def start_canary(owner, model, *, percent=10, shadow=None):
    services.alias_rollout(
        model=model,
        name="production",
        version_number=1,
        canary=(2, percent),
        shadow=shadow,
        user=owner,
        via="api",
    )
    WebhookDelivery.objects.all().delete()


def test_a_trainings_first_production_is_sent(owner, make_dataset, hook):
    version = services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=make_dataset("churn.csv"),
        algorithm="logistic_regression",
        target="churned",
    )
    assert training.train(version.pk) == "ready"
    events = sent(hook)
    assert [event for event, _ in events] == ["version.ready", "alias.moved"]
    assert events[1][1] == data(1, None, "system")


def test_an_imports_first_production_is_sent_and_a_later_import_sends_no_move(
    owner_api, churn, hook
):
    exported = owner_api.get("/models/churn/versions/1/export").content
    WebhookDelivery.objects.all().delete()
    response = owner_api.post("/models/twin/import", exported, content_type="application/zip")
    assert response.status_code == 201, response.content
    assert sent(hook) == [("alias.moved", data(1, None, "import", model="twin"))]
    # twin has its production already: v2 imported moves nothing.
    response = owner_api.post("/models/twin/import", exported, content_type="application/zip")
    assert response.status_code == 201, response.content
    assert len(sent(hook)) == 1
    assert Alias.objects.get(model__name="twin", name="production").version.version == 1


def test_a_canary_started_through_the_api_is_sent(owner_api, churn3, hook):
    body = {"version": 1, "canary": {"version": 2, "percent": 10}}
    assert owner_api.put(ALIAS, body).status_code == 200
    assert sent(hook) == [("alias.canary.started", data(2, None, "api", percent=10.0))]
    # The same PUT again changes nothing and sends nothing; a new share is sent.
    assert owner_api.put(ALIAS, body).status_code == 200
    assert len(sent(hook)) == 1
    body["canary"]["percent"] = 25
    assert owner_api.put(ALIAS, body).status_code == 200
    assert sent(hook)[1] == ("alias.canary.started", data(2, 2, "api", percent=25.0))


@pytest.mark.parametrize("door", ["api", "page"])
def test_a_canary_promoted_is_sent_once(door, owner, owner_api, churn3, hook):
    start_canary(owner, churn3)
    if door == "api":
        response = owner_api.post(f"{ALIAS}/canary/promote")
        assert response.status_code == 200, response.content
    else:
        client = Client()
        client.force_login(owner)
        url = reverse("alias_canary", args=["churn", "production", "promote"])
        assert client.post(url).status_code == 302
    assert sent(hook) == [("alias.canary.promoted", data(2, 1, door))]
    assert Alias.objects.get(model=churn3, name="production").version.version == 2


@pytest.mark.parametrize("door", ["api", "page"])
def test_a_canary_ended_is_sent_once(door, owner, owner_api, churn3, hook):
    start_canary(owner, churn3)
    if door == "api":
        assert owner_api.delete(f"{ALIAS}/canary").status_code == 200
    else:
        client = Client()
        client.force_login(owner)
        url = reverse("alias_canary", args=["churn", "production", "end"])
        assert client.post(url).status_code == 302
    assert sent(hook) == [("alias.canary.ended", data(None, 2, door))]


def test_a_canary_left_out_of_a_put_is_ended_and_sent(owner, owner_api, churn3, hook):
    start_canary(owner, churn3)
    assert owner_api.put(ALIAS, {"version": 1}).status_code == 200
    assert sent(hook) == [("alias.canary.ended", data(None, 2, "api"))]


def test_an_alias_moved_onto_its_canary_sends_the_end_and_the_move(owner, owner_api, churn3, hook):
    start_canary(owner, churn3)
    assert owner_api.put(ALIAS, {"version": 2}).status_code == 200
    assert sent(hook) == [
        ("alias.canary.ended", data(None, 2, "api")),
        ("alias.moved", data(2, 1, "api")),
    ]


def test_a_canary_and_a_shadow_started_from_the_model_page_are_sent(owner_client, churn3, hook):
    form = "rollout-production-"
    response = owner_client.post(
        "/models/churn/aliases/production/rollout/",
        {
            f"{form}alias_version": 1,
            f"{form}canary_version": 2,
            f"{form}canary_percent": 10,
            f"{form}shadow_version": 3,
        },
    )
    assert response.status_code == 302
    assert sent(hook) == [
        ("alias.canary.started", data(2, None, "page", percent=10.0)),
        ("alias.shadow.changed", data(3, None, "page")),
    ]


def test_a_shadow_set_changed_and_ended_is_sent(owner_api, churn3, hook):
    assert owner_api.put(ALIAS, {"version": 1, "shadow": {"version": 3}}).status_code == 200
    assert owner_api.put(ALIAS, {"version": 1, "shadow": {"version": 3}}).status_code == 200
    assert owner_api.put(ALIAS, {"version": 1, "shadow": {"version": 2}}).status_code == 200
    assert owner_api.put(ALIAS, {"version": 1}).status_code == 200
    assert sent(hook) == [
        ("alias.shadow.changed", data(3, None, "api")),
        ("alias.shadow.changed", data(2, 3, "api")),
        ("alias.shadow.changed", data(None, 2, "api")),
    ]


def test_a_move_in_the_admin_is_sent(owner, admin_user, churn3, hook):
    client = Client()
    client.force_login(admin_user)
    production = Alias.objects.get(model=churn3, name="production")
    moved = client.post(
        reverse("admin:registry_alias_change", args=[production.pk]),
        {"model": churn3.pk, "name": "production", "version": churn3.versions.get(version=3).pk},
    )
    assert moved.status_code == 302
    assert sent(hook) == [("alias.moved", data(3, 1, "admin", by="ada"))]


def test_an_alias_removed_is_sent(owner_api, churn3, hook):
    assert owner_api.delete(ALIAS).status_code == 204
    assert sent(hook) == [("alias.deleted", data(None, 1, "api"))]
    assert not Alias.objects.filter(model=churn3).exists()


ALIAS_EVENTS = [
    "alias.moved",
    "alias.rollback",
    "alias.deleted",
    "alias.canary.started",
    "alias.canary.promoted",
    "alias.canary.ended",
    "alias.shadow.changed",
]


def test_every_alias_event_can_be_subscribed_to_through_the_api_and_the_page(
    owner_api, owner_client, settings
):
    from registry.models import WebhookEndpoint

    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    response = owner_api.post("/webhooks", {"url": "http://127.0.0.1:9/a", "events": ALIAS_EVENTS})
    assert response.status_code == 201, response.content
    assert response.json()["events"] == ALIAS_EVENTS
    page = owner_client.get("/webhooks/")
    for event in ALIAS_EVENTS:
        assert f'value="{event}"'.encode() in page.content
    response = owner_client.post(
        "/webhooks/", {"url": "http://127.0.0.1:9/p", "events": ALIAS_EVENTS}
    )
    assert response.status_code == 200
    assert WebhookEndpoint.objects.get(url="http://127.0.0.1:9/p").events == ALIAS_EVENTS
