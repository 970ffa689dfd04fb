"""Alert rules: what each kind checks, its parameters, and the periodic evaluation the task
worker runs (registry/management/commands/db_worker.py).

A rule is "firing" while its condition holds. The evaluation that finds it starting to hold
moves it from ok to firing with one conditional UPDATE and, only if that UPDATE moved it,
emits "alert.fired": several workers evaluating at once send it once, and a rule that stays
firing sends nothing more until it has been ok again. A check without enough data (too few
requests, no drift verdict yet) leaves the state as it is.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from registry import alerts
from registry.models import AlertRule, Alias, ModelVersion, PredictionLog, RegisteredModel
from registry.monitoring import drift, live, rollout

logger = logging.getLogger(__name__)

OK, FIRING = "ok", "firing"
MAX_WINDOW_MINUTES = 7 * 24 * 60


class RuleError(ValueError):
    """A rule's parameters are wrong: `fields` says which and why."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


def _number(params: dict, name: str, low: float, high: float, default: float | None) -> float:
    value = params.get(name, default)
    if value is None:
        raise RuleError(f"{name} is required.", {name: "Required for this kind of rule."})
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise RuleError(
            f"{name} must be a number from {low:g} to {high:g}.",
            {name: f"A number from {low:g} to {high:g}."},
        )
    return float(value)


def _alias(params: dict) -> str:
    alias = params.get("alias", "production")
    if not isinstance(alias, str) or not 0 < len(alias) <= 50:
        raise RuleError("alias must be an alias name.", {"alias": "An alias name."})
    return alias


def clean_params(kind: str, params: Any) -> dict[str, Any]:
    """The rule's parameters, checked and completed with their defaults."""
    if kind not in KINDS:
        raise RuleError(
            f"{kind!r} is not a rule kind: use one of {', '.join(KINDS)}.",
            {"kind": f"One of {', '.join(KINDS)}."},
        )
    if not isinstance(params, dict):
        raise RuleError("params must be an object.", {"params": "An object."})
    known = KINDS[kind]["params"]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise RuleError(
            f"A {kind} rule takes {', '.join(known)}, not {', '.join(unknown)}.",
            {"params": f"Unknown: {', '.join(unknown)}."},
        )
    cleaned: dict[str, Any] = {"alias": _alias(params)}
    if kind in ("error_rate", "canary_error_rate"):
        cleaned["minutes"] = int(_number(params, "minutes", 1, MAX_WINDOW_MINUTES, 60))
    if kind == "error_rate":
        cleaned["min_requests"] = int(_number(params, "min_requests", 1, 1_000_000, 20))
        cleaned["percent"] = _number(params, "percent", 0, 100, None)
    if kind == "canary_error_rate":
        cleaned["margin"] = _number(params, "margin", 0, 100, 0)
    if kind == "live_metric":
        below, drop = params.get("below"), params.get("drop")
        if (below is None) == (drop is None):
            raise RuleError(
                "A live_metric rule takes either below (a value) or drop (how far under the "
                "training value).",
                {"params": "Give below or drop."},
            )
        if below is not None:
            cleaned["below"] = _number(params, "below", -1e12, 1e12, None)
        else:
            cleaned["drop"] = _number(params, "drop", 0, 1e12, None)
        if "days" in params:
            cleaned["days"] = int(_number(params, "days", 1, 365, None))
    return cleaned


def _version(model: RegisteredModel, alias: str) -> ModelVersion | None:
    found = Alias.objects.filter(model=model, name=alias).select_related("version__model").first()
    return found.version if found else None


def _drift(rule: AlertRule) -> tuple[bool | None, float | None]:
    version = _version(rule.model, rule.params.get("alias", "production"))
    if version is None:
        return None, None
    report = drift.report(version)
    drifting = report.get("drifting")
    if drifting is None:
        return None, None
    return bool(drifting), float(
        sum(1 for f in report["features"] if f.get("status") == "drifting")
    )


def error_share(model: RegisteredModel, minutes: int) -> tuple[float | None, int]:
    """(share of the model's logged requests answered with a server error (5xx) in the
    last `minutes`, how many requests were logged); the log samples requests at
    MLSERVE_PREDICTION_LOG_RATE, so this is an estimate."""
    since = timezone.now() - timedelta(minutes=minutes)
    version_ids = list(model.versions.values_list("pk", flat=True))
    counts = PredictionLog.objects.filter(
        version_id__in=version_ids, created_at__gte=since
    ).aggregate(total=Count("pk"), errors=Count("pk", filter=Q(status__gte=500)))
    total = counts["total"] or 0
    return (counts["errors"] / total if total else None), total


def _error_rate(rule: AlertRule) -> tuple[bool | None, float | None]:
    share, total = error_share(rule.model, rule.params["minutes"])
    if share is None or total < rule.params["min_requests"]:
        return None, share
    percent = 100 * share
    return percent > rule.params["percent"], percent


def _live_metric(rule: AlertRule) -> tuple[bool | None, float | None]:
    version = _version(rule.model, rule.params.get("alias", "production"))
    if version is None:
        return None, None
    result = live.live_metric(version, days=rule.params.get("days"))
    value = result.get("value")
    if value is None:
        return None, None
    if "below" in rule.params:
        return value < rule.params["below"], float(value)
    trained = result.get("training_value")
    if trained is None:
        trained = (version.metrics or {}).get(result.get("metric"))
    if not isinstance(trained, (int, float)):
        return None, float(value)
    return trained - value > rule.params["drop"], float(value)


def _canary_error_rate(rule: AlertRule) -> tuple[bool | None, float | None]:
    rates = rollout.rollout_error_rates(
        rule.model, rule.params.get("alias", "production"), rule.params["minutes"]
    )
    champion, canary = rates.get("champion"), rates.get("canary")
    if champion is None or canary is None:
        return None, None
    return 100 * (canary - champion) > rule.params["margin"], 100 * canary


KINDS: dict[str, dict[str, Any]] = {
    "drift": {
        "params": ("alias",),
        "check": _drift,
        "help": "the alias's version's drift verdict becomes drifting",
    },
    "error_rate": {
        "params": ("alias", "percent", "minutes", "min_requests"),
        "check": _error_rate,
        "help": "more than `percent` % of the model's logged requests in the last `minutes` "
        "got a server error (with at least `min_requests` logged)",
    },
    "live_metric": {
        "params": ("alias", "below", "drop", "days"),
        "check": _live_metric,
        "help": "the alias's version's live metric (from feedback) falls below `below`, or "
        "more than `drop` under its training value",
    },
    "canary_error_rate": {
        "params": ("alias", "margin", "minutes"),
        "check": _canary_error_rate,
        "help": "the alias's canary's error rate (registry.monitoring.rollout) exceeds its "
        "champion's by more than `margin` percentage points",
    },
}


def evaluate(rule: AlertRule) -> str:
    """Check one rule now and record the outcome; returns its state."""
    now = timezone.now()
    try:
        holds, value = KINDS[rule.kind]["check"](rule)
    except Exception:  # one broken rule must not stop the others
        logger.exception("alert rule %s could not be evaluated", rule.pk)
        holds, value = None, None
    rows = AlertRule.objects.filter(pk=rule.pk)
    if holds and rule.state == OK:
        with transaction.atomic():
            moved = rows.filter(state=OK).update(
                state=FIRING, last_fired_at=now, last_evaluated_at=now, last_value=value
            )
            if moved:
                alerts.emit(
                    "alert.fired",
                    rule.model,
                    {
                        "rule": rule.pk,
                        "kind": rule.kind,
                        "params": rule.params,
                        "value": value,
                        "condition": KINDS[rule.kind]["help"],
                    },
                )
        return FIRING
    fields: dict[str, Any] = {"last_evaluated_at": now, "last_value": value}
    if holds is False:
        fields["state"] = OK
    rows.update(**fields)
    return fields.get("state", rule.state)


def evaluate_rules() -> int:
    """Check every active rule (the worker calls this every MLSERVE_ALERT_INTERVAL_S);
    returns how many were checked."""
    due = timezone.now() - timedelta(seconds=settings.MLSERVE_ALERT_INTERVAL_S / 2)
    rules = list(
        AlertRule.objects.filter(active=True)
        .filter(Q(last_evaluated_at__isnull=True) | Q(last_evaluated_at__lt=due))
        .select_related("model")
    )
    for rule in rules:
        evaluate(rule)
    return len(rules)
