"""The webhook pages (add an endpoint: its secret shown once; its delivery log; send a test
event; delete) and a model's Alerts page (its rules, add and delete)."""

import pytest

from registry import services
from registry.alerts import secrets
from registry.models import AlertRule, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True


def test_it_adds_an_endpoint_and_shows_its_secret_once(owner_client, make_model):
    make_model("churn")
    response = owner_client.post(
        "/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "model": "churn", "events": ["alias.moved", "test"]},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get()
    secret = secrets.decrypt(endpoint.secret_encrypted)
    assert secret.encode() in response.content
    assert (endpoint.model.name, endpoint.events) == ("churn", ["alias.moved", "test"])
    again = owner_client.get("/webhooks/")
    assert secret.encode() not in again.content
    assert b"http://127.0.0.1:9/hook" in again.content


def test_a_refused_url_is_said_next_to_the_field(owner_client, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = False
    response = owner_client.post("/webhooks/", {"url": "http://10.1.2.3/hook"})
    assert response.status_code == 200
    assert b"private, loopback" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_the_log_shows_deliveries_and_the_button_queues_a_test(owner_client, owner):
    endpoint, _ = services.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")
    page = owner_client.get(f"/webhooks/{endpoint.pk}/")
    assert b"Nothing sent yet" in page.content
    assert b"data-send-test" in page.content
    response = owner_client.post(f"/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.endpoint) == ("test", endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=6, response_status=502, response_excerpt="bad gateway"
    )
    page = owner_client.get(f"/webhooks/{endpoint.pk}/")
    assert b"data-delivery-log" in page.content
    assert b"502" in page.content
    assert b"bad gateway" in page.content


def test_another_users_endpoint_does_not_exist(other_client, owner):
    endpoint, _ = services.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")
    assert other_client.get(f"/webhooks/{endpoint.pk}/").status_code == 404
    assert other_client.post(f"/webhooks/{endpoint.pk}/test/").status_code == 404
    assert other_client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert b"127.0.0.1:9" not in other_client.get("/webhooks/").content
    assert WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_it_deletes_an_endpoint(owner_client, owner):
    endpoint, _ = services.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")
    assert owner_client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_the_alerts_page_adds_lists_and_deletes_rules(owner_client, make_model):
    model = make_model("churn")
    assert b"/models/churn/alerts/" in owner_client.get("/models/churn/").content
    response = owner_client.post(
        "/models/churn/alerts/",
        {"kind": "error_rate", "alias": "production", "percent": "5", "minutes": "30"},
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.model, rule.kind) == (model, "error_rate")
    assert rule.params == {"alias": "production", "percent": 5.0, "minutes": 30, "min_requests": 20}
    page = owner_client.get("/models/churn/alerts/")
    assert b"data-alert-rules" in page.content
    assert b"percent=5.0" in page.content
    assert owner_client.post(f"/models/churn/alerts/{rule.pk}/delete/").status_code == 302
    assert not AlertRule.objects.exists()


def test_a_rule_without_its_value_is_refused_in_words(owner_client, make_model):
    make_model("churn")
    response = owner_client.post(
        "/models/churn/alerts/", {"kind": "error_rate", "alias": "production"}
    )
    assert response.status_code == 200
    assert b"Required for this kind of rule." in response.content
    assert not AlertRule.objects.exists()


def test_another_users_model_alerts_are_forbidden(other_client, make_model):
    model = make_model("churn")
    rule = AlertRule.objects.create(model=model, kind="drift", params={"alias": "production"})
    assert other_client.get("/models/churn/alerts/").status_code == 403
    assert (
        other_client.post(
            "/models/churn/alerts/", {"kind": "drift", "alias": "production"}
        ).status_code
        == 403
    )
    assert other_client.post(f"/models/churn/alerts/{rule.pk}/delete/").status_code == 403
    assert AlertRule.objects.count() == 1
