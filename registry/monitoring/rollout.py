"""How an alias's rollout is doing, from the prediction log: the canary's error rate beside
the champion's, and how often the shadow agrees with the answers it shadowed.

Both read sampled rows (MLSERVE_PREDICTION_LOG_RATE): rates and shares of what was logged,
unbiased estimates of all the traffic's but noisier the fewer rows were logged. The shadow
scores only logged requests, so its rows are a sample of the alias's traffic at the same
rate (and of their first MLSERVE_PREDICTION_LOG_MAX_ROWS rows).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from registry.models import Alias, PredictionLog, RegisteredModel

# An error, for the rollout's error rates: any status >= 400. A canary that refuses
# inputs its champion accepts (a narrower schema) fails its callers as surely as one that
# crashes, and callers' own mistakes land on both in proportion to their traffic.
ERROR_STATUS = 400
# Shadow rows read for the agreement rate: the most recent ones.
AGREEMENT_MAX_REQUESTS = 2000


def _alias(model: RegisteredModel, alias: str) -> Alias | None:
    return Alias.objects.filter(model=model, name=alias).first()


def _error_rate(version_id: int | None, role: str, since: Any) -> float | None:
    if version_id is None:
        return None
    counts = PredictionLog.objects.filter(
        version_id=version_id, created_at__gte=since, role=role
    ).aggregate(n=Count("id"), errors=Count("id", filter=Q(status__gte=ERROR_STATUS)))
    return counts["errors"] / counts["n"] if counts["n"] else None


def rollout_error_rates(model: RegisteredModel, alias: str, minutes: int) -> dict[str, Any]:
    """{"champion": float | None, "canary": float | None}: the share of logged requests with
    a status >= 400 over the last `minutes` minutes, answered by the alias's own version
    (role "champion": pinned calls to that version count too) and by its canary; None
    without logged requests (or without a canary)."""
    found = _alias(model, alias)
    if found is None:
        return {"champion": None, "canary": None}
    since = timezone.now() - timedelta(minutes=minutes)
    return {
        "champion": _error_rate(found.version_id, "champion", since),
        "canary": _error_rate(found.canary_version_id, "canary", since),
    }


def shadow_agreement(version_id: int, *, days: float = 7) -> dict[str, Any]:
    """{"rows", "agreeing", "rate"} of a shadow version's logged rows in the last `days`
    days (the most recent AGREEMENT_MAX_REQUESTS requests): the share whose prediction
    equals the one answered for the same row (rate None without rows)."""
    since = timezone.now() - timedelta(days=days)
    outputs = PredictionLog.objects.filter(
        version_id=version_id, role="shadow", created_at__gte=since
    ).values_list("outputs", flat=True)[:AGREEMENT_MAX_REQUESTS]
    rows = agreeing = 0
    for output in outputs:
        if not isinstance(output, dict):
            continue
        mine, answered = output.get("predictions"), output.get("answered")
        if not isinstance(mine, list) or not isinstance(answered, list):
            continue
        for a, b in zip(mine, answered, strict=False):
            rows += 1
            agreeing += a == b
    return {"rows": rows, "agreeing": agreeing, "rate": agreeing / rows if rows else None}
