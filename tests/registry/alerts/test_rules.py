"""Alert rules: checked periodically by the task worker; a rule that starts to hold sends
"alert.fired" once (not at every check) and records its state."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry import services
from registry.alerts import rules
from registry.models import AlertRule, PredictionLog, WebhookDelivery
from registry.services import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(owner, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    return services.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")[0]


def log(version, statuses, minutes_ago=1):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    PredictionLog.objects.bulk_create(
        PredictionLog(
            version=version, created_at=at, source="api", status=s, latency_ms=1.0, n_rows=1
        )
        for s in statuses
    )


def check_now(rule):
    """One periodic check, as if the interval had passed since the last."""
    AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=None)
    rules.evaluate_rules()
    rule.refresh_from_db()
    return rule.state


def fired():
    return list(WebhookDelivery.objects.filter(event="alert.fired").order_by("id"))


def test_an_error_rate_rule_fires_once_then_again_after_recovering(owner, make_model, hook):
    model = make_model("churn", versions=1)
    version = model.versions.get()
    rule = services.alert_rule_create(
        model=model, user=owner, kind="error_rate", params={"percent": 10, "min_requests": 20}
    )
    assert rule.params == {
        "alias": "production",
        "minutes": 60,
        "min_requests": 20,
        "percent": 10.0,
    }
    log(version, [200] * 38 + [500] * 2)  # 5 %
    assert check_now(rule) == "ok"
    assert rule.last_value == pytest.approx(5.0)
    assert rule.last_evaluated_at is not None
    log(version, [503] * 10)  # 12 of 50: 24 %
    assert check_now(rule) == "firing"
    assert rule.last_value == pytest.approx(24.0)
    assert rule.last_fired_at is not None
    [alert] = fired()
    assert alert.endpoint == hook
    assert alert.payload["data"]["model"] == "churn"
    assert alert.payload["data"]["kind"] == "error_rate"
    assert alert.payload["data"]["rule"] == rule.pk
    assert alert.payload["data"]["value"] == pytest.approx(24.0)
    assert check_now(rule) == "firing"  # still holding: nothing more is sent
    assert check_now(rule) == "firing"
    assert len(fired()) == 1
    log(version, [200] * 200)  # 12 of 250: 4.8 %
    assert check_now(rule) == "ok"
    assert len(fired()) == 1
    log(version, [500] * 100)
    assert check_now(rule) == "firing"
    assert len(fired()) == 2


def test_too_few_requests_give_no_verdict(owner, make_model, hook):
    model = make_model("churn", versions=1)
    rule = services.alert_rule_create(
        model=model, user=owner, kind="error_rate", params={"percent": 10}
    )
    log(model.versions.get(), [500] * 19)  # fewer than the default 20
    assert check_now(rule) == "ok"
    assert fired() == []


def test_requests_outside_the_window_do_not_count(owner, make_model, hook):
    model = make_model("churn", versions=1)
    rule = services.alert_rule_create(
        model=model, user=owner, kind="error_rate", params={"percent": 10, "minutes": 30}
    )
    log(model.versions.get(), [500] * 50, minutes_ago=45)
    assert check_now(rule) == "ok"
    assert rule.last_value is None


def test_a_drift_rule_without_logged_inputs_has_no_verdict(owner, make_model, hook):
    model = make_model("churn", versions=1)
    model.aliases.create(name="production", version=model.versions.get())
    rule = services.alert_rule_create(model=model, user=owner, kind="drift")
    assert check_now(rule) == "ok"
    assert fired() == []


@pytest.mark.django_db(transaction=True)  # the worker closes connections
def test_the_worker_checks_the_rules(owner, make_model, hook, worker):
    model = make_model("churn", versions=1)
    rule = services.alert_rule_create(
        model=model, user=owner, kind="error_rate", params={"percent": 50}
    )
    log(model.versions.get(), [500] * 30)
    worker()
    rule.refresh_from_db()
    assert rule.state == "firing"
    assert rule.last_evaluated_at is not None
    assert len(fired()) == 1


def test_an_inactive_rule_is_not_checked(owner, make_model, hook):
    model = make_model("churn", versions=1)
    rule = services.alert_rule_create(
        model=model, user=owner, kind="error_rate", params={"percent": 1}
    )
    AlertRule.objects.filter(pk=rule.pk).update(active=False)
    log(model.versions.get(), [500] * 30)
    assert check_now(rule) == "ok"
    assert rule.last_evaluated_at is None


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("latency", {}, "not a rule kind"),
        ("error_rate", {}, "percent is required"),
        ("error_rate", {"percent": 150}, "from 0 to 100"),
        ("error_rate", {"percent": "ten"}, "must be a number"),
        ("error_rate", {"percent": 5, "minutes": 0}, "minutes must be"),
        ("error_rate", {"percent": 5, "threshold": 1}, "not threshold"),
        ("live_metric", {}, "either below"),
        ("live_metric", {"below": 0.8, "drop": 0.1}, "either below"),
        ("drift", {"alias": ""}, "alias"),
    ],
)
def test_bad_parameters_are_refused(owner, make_model, kind, params, message):
    model = make_model("churn", versions=1)
    with pytest.raises(InvalidInput, match=message):
        services.alert_rule_create(model=model, user=owner, kind=kind, params=params)
    assert not AlertRule.objects.exists()


def test_only_the_owner_makes_rules(other, make_model):
    from registry.services import Forbidden

    with pytest.raises(Forbidden):
        services.alert_rule_create(
            model=make_model("churn"), user=other, kind="error_rate", params={"percent": 5}
        )


def _stand_in(monkeypatch, name, **functions):
    """Another monitoring module's answer (registry.monitoring.live's live metric, rollout's
    error rates: tested with real data in their own tests) set to what a rule is checked
    against."""
    import importlib

    module = importlib.import_module(f"registry.monitoring.{name}")
    for attribute, function in functions.items():
        monkeypatch.setattr(module, attribute, function)


def test_a_live_metric_rule_fires_below_its_value(owner, make_model, hook, monkeypatch):
    model = make_model("churn", versions=1)
    model.aliases.create(name="production", version=model.versions.get())
    value = {"now": 0.9}
    _stand_in(
        monkeypatch,
        "live",
        live_metric=lambda version, *, days=None, last_n=None: {
            "metric": "accuracy",
            "value": value["now"],
            "training_value": 0.85,
        },
    )
    below = services.alert_rule_create(
        model=model, user=owner, kind="live_metric", params={"below": 0.8}
    )
    drop = services.alert_rule_create(
        model=model, user=owner, kind="live_metric", params={"drop": 0.1}
    )
    assert (check_now(below), check_now(drop)) == ("ok", "ok")
    value["now"] = 0.78  # below 0.8, and only 0.07 under training
    assert (check_now(below), check_now(drop)) == ("firing", "ok")
    value["now"] = 0.7  # 0.15 under training
    assert (check_now(below), check_now(drop)) == ("firing", "firing")
    assert len(fired()) == 2
    assert drop.last_value == pytest.approx(0.7)


def test_a_canary_rule_compares_the_canary_with_its_champion(owner, make_model, hook, monkeypatch):
    model = make_model("churn", versions=2)
    rates = {"champion": 0.01, "canary": 0.02}
    _stand_in(monkeypatch, "rollout", rollout_error_rates=lambda model, alias, minutes: rates)
    rule = services.alert_rule_create(
        model=model, user=owner, kind="canary_error_rate", params={"margin": 5}
    )
    assert check_now(rule) == "ok"
    rates["canary"] = 0.2
    assert check_now(rule) == "firing"
    assert rule.last_value == pytest.approx(20.0)
    assert len(fired()) == 1
