"""A shadow scores an alias's logged requests off the request path: its outputs are log rows
of role "shadow" beside the answered ones; it never changes an answer, and when it fails
the request does not."""

from __future__ import annotations

import pytest

from registry import serving
from registry.models import PredictionLog
from registry.monitoring import rollout as rollout_monitoring
from tests.conftest import without_ids
from tests.registry.monitoring.conftest import CHURN_ROW, churn_rows, scrape, value
from tests.registry.rollout.conftest import set_rollout

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/models/churn/predict"


def answers(api, batches, **headers):
    out = []
    for rows in batches:
        response = api.post(URL, {"instances": rows}, headers=headers)
        assert response.status_code == 200, response.content
        out.append(without_ids(response.json()))  # each request has its own ids
    return out


def test_a_shadow_scores_the_logged_rows_and_never_changes_the_answer(
    prediction_log, owner_api, owner, rollout, client
):
    rows = churn_rows()[:40]
    batches = [rows[i : i + 4] for i in range(0, 40, 4)]
    plain = answers(owner_api, batches)
    prediction_log.writer().flush()
    PredictionLog.objects.all().delete()
    set_rollout(rollout, owner, shadow=3)
    before = scrape(client)
    shadowed = answers(owner_api, batches)
    assert shadowed == plain  # same versions, predictions, probabilities, warnings

    prediction_log.writer().stop()  # writes what waits, scores the shadow, writes its rows
    logged = list(PredictionLog.objects.order_by("id"))
    champion = [r for r in logged if r.role == "champion"]
    shadow = [r for r in logged if r.role == "shadow"]
    assert len(champion) == len(shadow) == 10
    v3 = serving.resolve("churn", version=3)
    assert {r.version_id for r in shadow} == {v3.id}
    by_time = {r.created_at: r for r in champion}
    for row in shadow:
        answered = by_time[row.created_at]  # the same request: same moment, caller, rows
        assert row.inputs == answered.inputs
        assert row.outputs["answered"] == answered.outputs["predictions"]
        expected = serving.predict_rows(v3, row.inputs)["predictions"]
        assert row.outputs["predictions"] == list(expected)
        assert (row.user_id, row.source, row.n_rows) == (owner.pk, "api", 4)
    after = scrape(client)
    labels = {"model": "churn", "version": "3", "role": "shadow"}
    name = "mlserve_prediction_role_requests_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 10

    # The agreement rate: shadow rows whose prediction equals the answered one, by hand.
    pairs = [
        (a, b)
        for r in shadow
        for a, b in zip(r.outputs["predictions"], r.outputs["answered"], strict=True)
    ]
    agreeing = sum(a == b for a, b in pairs)
    assert 0 < agreeing < len(pairs)  # threshold 0.05 answers "yes" more often
    assert rollout_monitoring.shadow_agreement(v3.id) == {
        "rows": 40,
        "agreeing": agreeing,
        "rate": agreeing / 40,
    }


def test_a_failing_shadow_never_fails_a_request(prediction_log, owner_api, owner, rollout, client):
    rows = churn_rows()[:12]
    batches = [rows[i : i + 3] for i in range(0, 12, 3)]
    plain = answers(owner_api, batches)
    prediction_log.writer().flush()
    PredictionLog.objects.all().delete()
    set_rollout(rollout, owner, shadow=4)  # its artifact cannot be loaded
    before = scrape(client)
    assert answers(owner_api, batches) == plain
    prediction_log.writer().stop()
    assert PredictionLog.objects.filter(role="shadow").count() == 0
    assert PredictionLog.objects.filter(role="champion", status=200).count() == 4
    after = scrape(client)
    failures = value(after, "mlserve_shadow_failures_total", reason="error") - value(
        before, "mlserve_shadow_failures_total", reason="error"
    )
    assert failures == 4


def test_a_canary_request_is_logged_as_the_canary_and_shadowed_too(
    prediction_log, owner_api, owner, rollout
):
    set_rollout(rollout, owner, canary=(2, 50), shadow=3)
    keys = [f"k{i}" for i in range(30)]
    roles = {}
    for key in keys:
        answer = answers(owner_api, [[CHURN_ROW]], **{"X-Request-Key": key})[0]
        roles[key] = answer["model"]["role"]
    prediction_log.writer().stop()
    logged = list(PredictionLog.objects.all())
    assert sum(r.role == "canary" for r in logged) == sum(v == "canary" for v in roles.values())
    assert sum(r.role == "champion" for r in logged) == sum(v == "champion" for v in roles.values())
    assert sum(r.role == "shadow" for r in logged) == 30
    canary_id = serving.resolve("churn", version=2).id
    assert all(r.version_id == canary_id for r in logged if r.role == "canary")


def test_error_rates_per_role_for_an_alert_rule(prediction_log, owner_api, owner, rollout):
    set_rollout(rollout, owner, canary=(2, 50))
    for i in range(40):
        response = owner_api.post(
            URL,
            {"instances": [CHURN_ROW] if i % 4 else [{"tenure_months": "many"}]},
            headers={"X-Request-Key": f"e{i}"},
        )
        assert response.status_code in (200, 422)
    prediction_log.writer().stop()
    rates = rollout_monitoring.rollout_error_rates(rollout, "production", minutes=10)
    for role, version in (("champion", 1), ("canary", 2)):
        rows = PredictionLog.objects.filter(role=role, version__version=version)
        expected = rows.filter(status__gte=400).count() / rows.count()
        assert rates[role] == pytest.approx(expected)
    assert rollout_monitoring.rollout_error_rates(rollout, "staging", minutes=10) == {
        "champion": None,
        "canary": None,
    }


def test_one_request_the_shadow_cannot_score_loses_only_its_own_row(monkeypatch, rollout):
    from registry.monitoring import predlog

    def scorer(served, rows):
        if any(row.get("bad") for row in rows):
            raise ValueError("cannot score this row")
        return {"predictions": [row["x"] * 2 for row in rows]}

    monkeypatch.setattr(predlog, "_shadow_scorer", scorer)
    writer = predlog.Writer(100)
    shadow = serving.resolve("churn", version=3)
    for i in range(5):
        row = {"x": i, "bad": i == 2}
        entry = (1.0 + i, 1, None, "api", 200, 1.0, 1, f"[{predlog._json(row)}]",
                 predlog._json({"predictions": [i]}), "", "champion", None)  # fmt: skip
        writer.add_shadow((shadow, entry))
    assert writer.score_shadows() == 4
    scored = list(writer.entries)
    assert [e[0] for e in scored] == [1.0, 2.0, 4.0, 5.0]
    assert all(e[1] == shadow.id and e[-2] == "shadow" for e in scored)
    import orjson

    assert [orjson.loads(e[8]) for e in scored][3] == {"predictions": [8], "answered": [4]}
