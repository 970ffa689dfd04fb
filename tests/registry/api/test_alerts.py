"""/api/v1/webhooks and /api/v1/models/{name}/alert_rules: your endpoints (the secret shown
once), their delivery log and test event; your models' alert rules. Nobody else's."""

import pytest

from registry.alerts import secrets
from registry.models import AlertRule, WebhookDelivery, WebhookEndpoint
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True


def test_it_creates_an_endpoint_and_shows_the_secret_once(owner_api, owner, make_model):
    make_model("churn")
    response = owner_api.post(
        "/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["alias.moved"], "model": "churn"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["events"], body["model"], body["active"]) == (
        "http://127.0.0.1:9/hook",
        ["alias.moved"],
        "churn",
        True,
    )
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.owner == owner
    assert secrets.decrypt(endpoint.secret_encrypted) == body["secret"]
    listed = owner_api.get("/webhooks").json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in owner_api.get(f"/webhooks/{body['id']}").json()


def test_it_refuses_a_private_url_when_the_setting_is_off(owner_api, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = False
    response = owner_api.post("/webhooks", {"url": "http://192.168.1.10/hook"})
    assert_problem(response, 422, "private")
    assert_problem(owner_api.post("/webhooks", {"url": "ftp://example.com/"}), 422)
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_is_refused(owner_api):
    response = owner_api.post("/webhooks", {"url": "http://127.0.0.1/", "events": ["nope"]})
    assert_problem(response, 422)
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_for_another_users_model_is_refused(other_api, make_model):
    make_model("churn")
    response = other_api.post("/webhooks", {"url": "http://127.0.0.1/", "model": "churn"})
    assert_problem(response, 403)
    assert not WebhookEndpoint.objects.exists()


def test_the_test_event_is_queued_and_logged(owner_api, django_capture_on_commit_callbacks):
    created = owner_api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}).json()
    with django_capture_on_commit_callbacks() as queued:
        response = owner_api.post(f"/webhooks/{created['id']}/test")
    assert response.status_code == 202, response.content
    assert response.json()["event"] == "test"
    assert response.json()["status"] == "pending"
    assert len(queued) == 1
    log = owner_api.get(f"/webhooks/{created['id']}/deliveries").json()
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [("test", "pending", 0)]
    assert log[0]["payload"]["data"]["endpoint"] == created["id"]


def test_another_users_endpoint_does_not_exist(owner_api, other_api):
    created = owner_api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}).json()
    pk = created["id"]
    for call in (
        lambda: other_api.get(f"/webhooks/{pk}"),
        lambda: other_api.get(f"/webhooks/{pk}/deliveries"),
        lambda: other_api.post(f"/webhooks/{pk}/test"),
        lambda: other_api.delete(f"/webhooks/{pk}"),
    ):
        assert_problem(call(), 404)
    assert other_api.get("/webhooks").json() == []
    assert WebhookEndpoint.objects.filter(pk=pk).exists()
    assert not WebhookDelivery.objects.exists()


def test_it_deletes_an_endpoint(owner_api):
    created = owner_api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}).json()
    assert owner_api.delete(f"/webhooks/{created['id']}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_alert_rules_are_made_listed_and_deleted_by_the_owner(owner_api, make_model):
    make_model("churn")
    response = owner_api.post(
        "/models/churn/alert_rules", {"kind": "error_rate", "params": {"percent": 5}}
    )
    assert response.status_code == 201, response.content
    rule = response.json()
    assert (rule["kind"], rule["state"], rule["params"]["percent"]) == ("error_rate", "ok", 5.0)
    listed = owner_api.get("/models/churn/alert_rules").json()
    assert [r["id"] for r in listed] == [rule["id"]]
    assert owner_api.delete(f"/models/churn/alert_rules/{rule['id']}").status_code == 204
    assert not AlertRule.objects.exists()


def test_bad_rule_parameters_are_a_problem(owner_api, make_model):
    make_model("churn")
    response = owner_api.post(
        "/models/churn/alert_rules", {"kind": "error_rate", "params": {"percent": 500}}
    )
    assert_problem(response, 422, "percent")
    assert_problem(owner_api.post("/models/churn/alert_rules", {"kind": "latency"}), 422)
    assert not AlertRule.objects.exists()


def test_another_users_rules_are_not_theirs_to_read_or_change(other_api, owner, make_model):
    model = make_model("churn")
    rule = AlertRule.objects.create(model=model, kind="drift", params={"alias": "production"})
    assert_problem(other_api.get("/models/churn/alert_rules"), 403)
    assert_problem(
        other_api.post("/models/churn/alert_rules", {"kind": "drift"}), 403, "belongs to"
    )
    assert_problem(other_api.delete(f"/models/churn/alert_rules/{rule.pk}"), 403)
    assert AlertRule.objects.count() == 1
