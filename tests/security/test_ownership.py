"""Another user's objects cannot be changed, deleted, aliased, or their tokens seen, through
any page or any API operation. The routes are enumerated from registry/web/urls.py and from the
OpenAPI document, so a new route fails here until it is given its expectation below.

What another user may do with a model they may read (a public one: every model before
teams; or one shared with a team they are in) is read it and predict with it: reading is
shared, changes are not. An export is refused (it can hold training rows). Datasets are
private by default: another user's dataset does not exist, as far as they can tell. Every
probe runs as the other user, an outsider or a member of the team the owner's model is
shared with (the probes and their expectations are the same: a team member reads the
model, and changes nothing), against the owner's objects and checks the status, that
nothing of the owner's changed, and that no page or response shows the owner's token.
tests/security/test_visibility.py covers what may be read, per visibility and persona.
"""

import io
import json
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from registry import alerts, services, transfer
from registry.alerts.secrets import encrypt, new_secret
from registry.batchjobs import run as batch_run
from registry.evaluation import run
from registry.models import AlertRule, Feedback, PredictionLog, WebhookEndpoint
from tests.conftest import ApiClient
from tests.security.conftest import TOKEN_NAME, api_operations, fill_path, owned_by, snapshot

pytestmark = pytest.mark.django_db

ROW = {
    "tenure_months": 5,
    "monthly_charges": 70.5,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 1,
}
CSV = (",".join(ROW) + "\n" + (",".join(str(v) for v in ROW.values()) + "\n") * 2).encode()
TRAIN = {
    "name": "churn",
    "description": "taken over",
    "algorithm": "logistic_regression",
    "target": "churned",
    "features": list(ROW),
    "test_size": "0.2",
    "logistic_regression-C": "1.0",
    "logistic_regression-max_iter": "100",
    "logistic_regression-tol": "0.0001",
}

READ = {200}
DENIED = {403, 404}
HIDDEN = {404}  # datasets and tokens: another user's does not exist


def page_probes(objects: dict) -> dict[str, list[tuple]]:
    """route name -> [(method, path, data, allowed statuses)], all aimed at the owner's
    objects (or, for pages that only ever act on the caller's own, at what they could
    reach of the owner's)."""
    ds, token, theirs = objects["dataset"].pk, objects["token"].pk, objects["their_dataset"].pk
    board = objects["board"].pk
    ev = objects["evaluation"].pk
    done, queued = objects["done_job"].pk, objects["queued_job"].pk
    hook, rule = objects["hook"].pk, objects["rule"].pk
    v = "/models/churn/versions"
    register = {"model": "mine", "algorithm": "logistic_regression"}
    return {
        "dashboard": [("get", "/", None, READ)],
        "dataset_list": [("get", "/datasets/", None, READ)],
        "dataset_upload": [("get", "/datasets/upload/", None, READ)],  # acts on yours only
        "dataset_detail": [("get", f"/datasets/{ds}/", None, HIDDEN)],
        "dataset_csv": [("get", f"/datasets/{ds}/csv/", None, HIDDEN)],
        "dataset_types": [("post", f"/datasets/{ds}/types/", {"type-0": "category"}, HIDDEN)],
        "dataset_delete": [
            ("get", f"/datasets/{ds}/delete/", None, HIDDEN),
            ("post", f"/datasets/{ds}/delete/", {}, HIDDEN),
        ],
        "train": [
            ("get", f"/train/?dataset={ds}", None, HIDDEN),
            ("post", "/train/", {**TRAIN, "dataset": ds, "name": "mine"}, HIDDEN),
            # Their own data, the owner's model name: a new version of it is refused.
            ("post", "/train/", {**TRAIN, "dataset": theirs}, {200}),
        ],
        # Leaderboards are private like datasets: another user's does not exist.
        "leaderboard_create": [
            ("get", f"/datasets/{ds}/leaderboard/", None, HIDDEN),
            ("post", f"/datasets/{ds}/leaderboard/", {"board-target": "churned"}, HIDDEN),
        ],
        "leaderboard_list": [("get", "/leaderboards/", None, READ)],
        "leaderboard_detail": [("get", f"/leaderboards/{board}/", None, HIDDEN)],
        "leaderboard_status": [("get", f"/leaderboards/{board}/status/", None, HIDDEN)],
        "leaderboard_cancel": [("post", f"/leaderboards/{board}/cancel/", {}, HIDDEN)],
        "leaderboard_register": [
            ("post", f"/leaderboards/{board}/register/", register, HIDDEN),
            ("post", f"/leaderboards/{board}/register/", {**register, "model": "churn"}, HIDDEN),
        ],
        "model_list": [("get", "/models/", None, READ)],
        "model_detail": [("get", "/models/churn/", None, READ)],
        "model_delete": [
            ("get", "/models/churn/delete/", None, DENIED),
            ("post", "/models/churn/delete/", {}, DENIED),
        ],
        "model_edit": [
            ("get", "/models/churn/edit/", None, {405}),
            ("post", "/models/churn/edit/", {"description": "mine", "tags": "x=y"}, DENIED),
        ],
        "version_edit": [
            ("post", f"{v}/1/edit/", {"note": "mine", "tags": "x=y"}, DENIED),
        ],
        # Only the owner chooses who may read a model or a dataset.
        "model_visibility": [
            ("post", "/models/churn/visibility/", {"visibility": "private"}, DENIED),
            ("post", "/models/churn/visibility/", {"visibility": "public"}, DENIED),
        ],
        "dataset_visibility": [
            ("post", f"/datasets/{ds}/visibility/", {"visibility": "public"}, HIDDEN),
        ],
        "version_compare": [("get", "/models/churn/compare/?a=1&b=2", None, READ)],
        "alias_move": [
            ("get", "/models/churn/aliases/?alias=staging&version=1", None, DENIED),
            ("post", "/models/churn/aliases/", {"alias": "production", "version": 2}, DENIED),
            ("post", "/models/churn/aliases/", {"alias": "staging", "version": 1}, DENIED),
            (
                "post",
                "/models/churn/aliases/",
                {"alias": "production", "version": 1, "action": "remove"},
                DENIED,
            ),
        ],
        "alias_rollback": [
            ("get", "/models/churn/aliases/production/rollback/", None, DENIED),
            ("post", "/models/churn/aliases/production/rollback/", {}, DENIED),
        ],
        "alias_canary": [
            ("get", "/models/churn/aliases/production/canary/promote/", None, DENIED),
            ("post", "/models/churn/aliases/production/canary/promote/", {}, DENIED),
            ("get", "/models/churn/aliases/production/canary/end/", None, DENIED),
            ("post", "/models/churn/aliases/production/canary/end/", {}, DENIED),
        ],
        "alias_rollout": [
            (
                "post",
                "/models/churn/aliases/production/rollout/",
                {
                    "rollout-production-alias_version": 1,
                    "rollout-production-canary_version": 2,
                    "rollout-production-canary_percent": 50,
                    "rollout-production-shadow_version": 2,
                },
                DENIED,
            ),
        ],
        "version_detail": [("get", f"{v}/1/", None, READ)],
        "version_status": [("get", f"{v}/1/status/", None, READ)],
        "version_plot": [("get", f"{v}/1/plots/confusion_matrix.svg", None, READ)],
        "version_predict": [("post", f"{v}/1/predict/", page_row(), READ)],
        "version_threshold": [
            ("post", f"{v}/1/threshold/", {"threshold": "0.3"}, DENIED),
            ("post", f"{v}/1/threshold/", {"action": "clear"}, DENIED),
        ],
        "version_batch_predict": [
            ("post", f"{v}/1/batch/", {"file": csv_file()}, READ),
        ],
        # Predicting with a shared model is allowed: the job is the caller's own.
        "version_batch_job": [
            ("post", f"{v}/1/batch-job/", {"job-file": csv_file(), "job-format": "csv"}, {302})
        ],
        # Batch jobs are private like datasets: another user's does not exist.
        "batch_job_list": [("get", "/batch-jobs/", None, READ)],  # the caller's own only
        "batch_job_status": [("get", f"/batch-jobs/{done}/status/", None, HIDDEN)],
        "batch_job_result": [("get", f"/batch-jobs/{done}/result/", None, HIDDEN)],
        "batch_job_cancel": [("post", f"/batch-jobs/{queued}/cancel/", {}, HIDDEN)],
        "version_delete": [
            ("get", f"{v}/2/delete/", None, DENIED),
            ("post", f"{v}/2/delete/", {}, DENIED),
        ],
        "version_cancel": [
            ("get", f"{v}/2/cancel/", None, DENIED),
            ("post", f"{v}/2/cancel/", {}, DENIED),
        ],
        "version_export": [("get", f"{v}/1/export/", None, DENIED)],
        # Evaluations are private (made of the caller's data); only the model's owner
        # evaluates it.
        "evaluation_create": [
            ("post", "/models/churn/evaluations/", {"evaluate-dataset": theirs}, DENIED),
            ("post", "/models/churn/evaluations/", {"evaluate-dataset": ds}, DENIED),
        ],
        "evaluation_detail": [("get", f"/models/churn/evaluations/{ev}/", None, HIDDEN)],
        "evaluation_status": [("get", f"/models/churn/evaluations/{ev}/status/", None, HIDDEN)],
        "evaluation_rows": [
            ("get", f"/models/churn/evaluations/{ev}/versions/1/wrong-rows.csv", None, HIDDEN)
        ],
        "version_import": [
            ("get", "/import/?model=churn", None, READ),
            ("post", "/import/", {"file": export_file(objects), "name": "churn"}, DENIED),
        ],
        # Webhook endpoints are private like tokens; a model's alert rules are its owner's.
        "webhook_list": [
            ("get", "/webhooks/", None, READ),  # lists the caller's own only
            ("post", "/webhooks/", {"url": "https://hooks.example.com/x", "model": "churn"}, {200}),
        ],
        "webhook_detail": [("get", f"/webhooks/{hook}/", None, HIDDEN)],
        "webhook_test": [("post", f"/webhooks/{hook}/test/", {}, HIDDEN)],
        "webhook_delete": [("post", f"/webhooks/{hook}/delete/", {}, HIDDEN)],
        "alert_rules": [
            ("get", "/models/churn/alerts/", None, DENIED),
            ("post", "/models/churn/alerts/", {"kind": "drift", "alias": "production"}, DENIED),
        ],
        "alert_rule_delete": [("post", f"/models/churn/alerts/{rule}/delete/", {}, DENIED)],
        "token_list": [("get", "/tokens/", None, READ)],
        "token_revoke": [("post", f"/tokens/{token}/revoke/", {}, HIDDEN)],
        "signup": [("get", "/accounts/signup/", None, {404})],  # off by default
    }


def csv_file() -> io.BytesIO:
    upload = io.BytesIO(CSV)
    upload.name = "rows.csv"
    return upload


def page_row() -> dict:
    return {f"f{i}": value for i, value in enumerate(ROW.values())}


def export_file(objects: dict) -> io.BytesIO:
    """A real export of the owner's v1 (made by its owner; the outsider may not export it)."""
    version = objects["model"].versions.get(version=1)
    data = transfer.version_export(version, user=objects["model"].owner)
    upload = io.BytesIO(data)
    upload.name = "churn-v1.mlserve.zip"
    return upload


def route_names(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= route_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def assert_no_token_of(owner_objects: dict, body: bytes, where: str) -> None:
    token = owner_objects["token"]
    text = body.decode(errors="replace")
    for secret in (TOKEN_NAME, token.prefix, token.token_hash, owner_objects["token_text"]):
        assert secret not in text, f"{where} shows the owner's token ({secret[:12]}...)"


@pytest.fixture(params=["outsider", "team member"])
def objects(request, registry, owner, other):
    from registry.models import Team
    from tests.registry.boards import finish, make_board

    if request.param == "team member":
        # The other user reads the owner's model as a member of the team it is shared with
        # (the owner is one too: one shares with a team one is in).
        team = Team.objects.create(name="analysts")
        team.members.add(owner, other)
        services.set_visibility(
            registry["model"], user=owner, visibility="team", team="analysts", via="api"
        )
    # The owner's leaderboard still running (a probe could cancel it: its status is in the
    # snapshot) with one algorithm's trials done (a row a probe could register).
    board = finish(make_board(owner, registry["dataset"]), {"logistic_regression": [0.8, 0.9]})
    # The owner's evaluation of their model, done (its rows downloadable by them only).
    evaluation = services.evaluation_create(
        user=owner, model=registry["model"], dataset=registry["dataset"], versions=[1]
    )
    run.run(evaluation.pk)
    # The owner's webhook endpoint (with a delivery in its log) and an alert rule on churn.
    hook = WebhookEndpoint.objects.create(
        owner=owner, url="https://hooks.example.com/ml", secret_encrypted=encrypt(new_secret())
    )
    alerts.send_test(hook)
    rule = AlertRule.objects.create(
        model=registry["model"], kind="error_rate", params={"percent": 5.0, "minutes": 60}
    )
    # A logged prediction of the owner's (its true answer is theirs to send).
    prediction = PredictionLog.objects.create(
        version=registry["model"].versions.get(version=1),
        created_at=timezone.now(),
        user_id=owner.pk,
        source="api",
        status=200,
        latency_ms=1.0,
        n_rows=1,
        outputs={"predictions": ["yes"]},
        request_id=uuid.uuid4(),
    )
    # The owner's batch jobs: one done (its result theirs to download), one queued.
    done_job = services.batch_job_create(user=owner, name="churn", upload=csv_file())
    batch_run.run(done_job.pk)
    queued_job = services.batch_job_create(user=owner, name="churn", upload=csv_file())
    return {
        **registry,
        "other": other,
        "board": board,
        "evaluation": evaluation,
        "done_job": done_job,
        "queued_job": queued_job,
        "hook": hook,
        "rule": rule,
        "prediction": prediction,
    }


def test_every_page_route_has_an_ownership_expectation(objects):
    from registry.web import urls

    assert route_names(urls.urlpatterns) == set(page_probes(objects)), (
        "a page route was added or removed: give it its probes in page_probes()"
    )


def test_no_page_lets_a_user_change_another_users_objects(objects, owner, other):
    client = Client()
    client.force_login(other)
    before = snapshot()
    failures = []
    count = 0
    for name, probes in page_probes(objects).items():
        for method, path, data, allowed in probes:
            response = getattr(client, method)(path, data) if data is not None else client.get(path)
            count += 1
            if response.status_code not in allowed:
                failures.append((name, method, path, response.status_code, sorted(allowed)))
            assert_no_token_of(objects, response.content, f"{method.upper()} {path}")
            assert owned_by(snapshot(), owner.pk) == owned_by(before, owner.pk), (
                f"{method.upper()} {path} changed the owner's objects"
            )
    assert failures == [], failures
    print(f"\n{count} page probes as another user: the owner's objects unchanged")


def test_the_refusals_say_why_and_predicting_works(objects, other):
    client = Client()
    client.force_login(other)
    denied = client.post("/models/churn/delete/")
    assert denied.status_code == 403
    assert b"belongs to olivia" in denied.content
    taken = client.post("/train/", {**TRAIN, "dataset": objects["their_dataset"].pk})
    assert b"another user&#x27;s model" in taken.content
    predicted = client.post("/models/churn/versions/1/batch/", {"file": csv_file()})
    assert predicted.status_code == 200
    assert predicted["Content-Type"].startswith("text/csv")
    assert (
        predicted.content.decode()
        .splitlines()[0]
        .endswith("prediction,probability_no,probability_yes,warnings")
    )
    one = client.post("/models/churn/versions/1/predict/", page_row())
    assert one.status_code == 200
    assert b"data-prediction-value" in one.content


def api_probes(objects: dict) -> dict[tuple[str, str], list[tuple]]:
    """(method, path template) -> [(path values, JSON body, allowed statuses)]."""
    ds, theirs = objects["dataset"].pk, objects["their_dataset"].pk
    board = {"board_id": objects["board"].pk}
    evaluation = {"name": "churn", "evaluation_id": objects["evaluation"].pk}
    done_job, queued_job = {"job_id": objects["done_job"].pk}, {"job_id": objects["queued_job"].pk}
    train = {"algorithm": "logistic_regression", "target": "churned"}
    churn = {"name": "churn"}
    hook = {"webhook_id": objects["hook"].pk}
    prediction = objects["prediction"].request_id
    return {
        ("get", "/api/v1/algorithms"): [({}, None, READ)],
        ("get", "/api/v1/datasets"): [({}, None, READ)],
        ("post", "/api/v1/datasets"): [],  # creates the caller's own dataset only
        ("get", "/api/v1/datasets/{dataset_id}"): [({"dataset_id": ds}, None, HIDDEN)],
        ("delete", "/api/v1/datasets/{dataset_id}"): [({"dataset_id": ds}, None, HIDDEN)],
        ("get", "/api/v1/datasets/{dataset_id}/csv"): [({"dataset_id": ds}, None, HIDDEN)],
        ("patch", "/api/v1/datasets/{dataset_id}"): [
            ({"dataset_id": ds}, {"types": {"churned": "category"}}, HIDDEN)
        ],
        ("post", "/api/v1/models"): [
            ({}, {"name": "churn", "dataset": theirs, **train}, {409}),
            ({}, {"name": "mine", "dataset": ds, **train}, HIDDEN),
        ],
        ("get", "/api/v1/models"): [({}, None, READ)],
        ("get", "/api/v1/models/{name}"): [(churn, None, READ)],
        ("delete", "/api/v1/models/{name}"): [(churn, None, DENIED)],
        ("patch", "/api/v1/models/{name}"): [
            (churn, {"description": "mine", "tags": {"x": "y"}}, DENIED),
        ],
        ("patch", "/api/v1/models/{name}/versions/{version}"): [
            ({**churn, "version": 1}, {"note": "mine", "tags": {"x": "y"}}, DENIED),
        ],
        ("put", "/api/v1/models/{name}/visibility"): [
            (churn, {"visibility": "private"}, DENIED),
            (churn, {"visibility": "team", "team": "analysts"}, DENIED),
        ],
        ("put", "/api/v1/datasets/{dataset_id}/visibility"): [
            ({"dataset_id": ds}, {"visibility": "public"}, HIDDEN),
        ],
        ("post", "/api/v1/models/{name}/versions"): [
            (churn, {"dataset": theirs, **train}, DENIED),
            (churn, {"dataset": ds, **train}, DENIED),
        ],
        ("get", "/api/v1/models/{name}/versions/{version}"): [
            ({**churn, "version": 1}, None, READ)
        ],
        ("delete", "/api/v1/models/{name}/versions/{version}"): [
            ({**churn, "version": 2}, None, DENIED),
            ({**churn, "version": 1}, None, DENIED | {409}),
        ],
        ("post", "/api/v1/models/{name}/versions/{version}/cancel"): [
            ({**churn, "version": 2}, None, DENIED),
        ],
        ("put", "/api/v1/models/{name}/versions/{version}/threshold"): [
            ({**churn, "version": 1}, {"threshold": 0.3}, DENIED),
            ({**churn, "version": 1}, {"threshold": None}, DENIED),
        ],
        ("put", "/api/v1/models/{name}/aliases/{alias}"): [
            ({**churn, "alias": "production"}, {"version": 2}, DENIED),
            ({**churn, "alias": "staging"}, {"version": 1}, DENIED),
            (
                {**churn, "alias": "production"},
                {"version": 1, "canary": {"version": 2, "percent": 10}, "shadow": {"version": 2}},
                DENIED,
            ),
        ],
        ("delete", "/api/v1/models/{name}/aliases/{alias}"): [
            ({**churn, "alias": "production"}, None, DENIED),
        ],
        # The alias history is read like the model; a rollback is a change.
        ("get", "/api/v1/models/{name}/aliases/{alias}"): [
            ({**churn, "alias": "production"}, None, READ),
        ],
        ("post", "/api/v1/models/{name}/aliases/{alias}/rollback"): [
            ({**churn, "alias": "production"}, None, DENIED),
        ],
        # A rollout is a change (the owner has none running: a 409 would be the owner's).
        ("post", "/api/v1/models/{name}/aliases/{alias}/canary/promote"): [
            ({**churn, "alias": "production"}, None, DENIED),
        ],
        ("delete", "/api/v1/models/{name}/aliases/{alias}/canary"): [
            ({**churn, "alias": "production"}, None, DENIED),
        ],
        ("post", "/api/v1/models/{name}/predict"): [(churn, {"instances": [ROW]}, READ)],
        # MLflow-style scoring is predicting: whoever may read the model.
        ("post", "/api/v1/models/{name}/invocations"): [(churn, {"instances": [ROW]}, READ)],
        ("post", "/api/v1/models/{name}@{alias}/invocations"): [
            ({**churn, "alias": "production"}, {"instances": [ROW]}, READ),
        ],
        ("post", "/api/v1/models/{name}/versions/{version}/invocations"): [
            ({**churn, "version": 1}, {"instances": [ROW]}, READ),
        ],
        ("get", "/api/v1/models/{name}/versions/{version}/export"): [
            ({**churn, "version": 1}, None, DENIED),
        ],
        ("post", "/api/v1/models/{name}/import"): [
            (churn, ("application/zip", export_file(objects).getvalue()), DENIED),
        ],
        # No model named: the name in the file, the owner's churn.
        ("post", "/api/v1/import"): [
            ({}, ("application/zip", export_file(objects).getvalue()), DENIED),
        ],
        ("post", "/api/v1/models/{name}/versions/{version}/predict"): [
            ({**churn, "version": 1}, {"instances": [ROW]}, READ),
        ],
        ("post", "/api/v1/leaderboards"): [
            ({}, {"dataset": ds, "target": "churned"}, HIDDEN),  # the owner's dataset
        ],
        ("get", "/api/v1/leaderboards"): [({}, None, READ)],  # the caller's own only
        ("get", "/api/v1/leaderboards/{board_id}"): [(board, None, HIDDEN)],
        ("post", "/api/v1/leaderboards/{board_id}/cancel"): [(board, None, HIDDEN)],
        ("post", "/api/v1/leaderboards/{board_id}/register"): [
            (board, {"model": "mine"}, HIDDEN),
            (board, {"model": "churn"}, HIDDEN),  # into the owner's model
        ],
        ("post", "/api/v1/models/{name}/evaluations"): [
            (churn, {"dataset": theirs}, DENIED),
            (churn, {"dataset": ds}, DENIED),
            (churn, ("multipart/form-data", {"file": csv_file()}), DENIED),
        ],
        ("get", "/api/v1/models/{name}/evaluations"): [(churn, None, READ)],  # the caller's own
        ("get", "/api/v1/models/{name}/evaluations/{evaluation_id}"): [(evaluation, None, HIDDEN)],
        (
            "get",
            "/api/v1/models/{name}/evaluations/{evaluation_id}/versions/{version}/wrong_rows",
        ): [({**evaluation, "version": 1}, None, HIDDEN)],
        ("post", "/api/v1/models/{name}/batch-jobs"): [
            (churn, {"dataset": ds}, HIDDEN),  # the owner's dataset
            (churn, ("multipart/form-data", {"file": csv_file()}), {202}),  # the caller's job
        ],
        ("get", "/api/v1/batch-jobs"): [({}, None, READ)],  # the caller's own only
        ("get", "/api/v1/batch-jobs/{job_id}"): [(done_job, None, HIDDEN)],
        ("get", "/api/v1/batch-jobs/{job_id}/result"): [(done_job, None, HIDDEN)],
        ("post", "/api/v1/batch-jobs/{job_id}/cancel"): [(queued_job, None, HIDDEN)],
        ("get", "/api/v1/models/{name}/versions/{version}/drift"): [
            ({**churn, "version": 1}, None, READ),  # aggregates only, readable like the version
        ],
        # Webhook endpoints are private like datasets; alert rules are the model owner's.
        ("get", "/api/v1/webhooks"): [({}, None, READ)],  # the caller's own only
        ("post", "/api/v1/webhooks"): [
            ({}, {"url": "https://hooks.example.com/x", "model": "churn"}, DENIED),
        ],
        ("get", "/api/v1/webhooks/{webhook_id}"): [(hook, None, HIDDEN)],
        ("delete", "/api/v1/webhooks/{webhook_id}"): [(hook, None, HIDDEN)],
        ("get", "/api/v1/webhooks/{webhook_id}/deliveries"): [(hook, None, HIDDEN)],
        ("post", "/api/v1/webhooks/{webhook_id}/test"): [(hook, None, HIDDEN)],
        ("get", "/api/v1/models/{name}/alert_rules"): [(churn, None, DENIED)],
        ("post", "/api/v1/models/{name}/alert_rules"): [
            (churn, {"kind": "error_rate", "params": {"percent": 1}}, DENIED),
        ],
        ("delete", "/api/v1/models/{name}/alert_rules/{rule_id}"): [
            ({**churn, "rule_id": objects["rule"].pk}, None, DENIED),
        ],
        # True answers for the owner's own predictions are theirs to send.
        ("post", "/api/v1/models/{name}/feedback"): [
            (churn, [{"prediction_id": f"{prediction}:0", "label": "no"}], DENIED),
        ],
        ("get", "/api/v1/models/{name}/versions/{version}/live-metrics"): [
            ({**churn, "version": 1}, None, READ),  # aggregates only, like drift
        ],
    }


def test_every_api_operation_has_an_ownership_expectation(objects, client):
    assert set(api_operations(client)) == set(api_probes(objects)), (
        "an API operation was added or removed: give it its probes in api_probes()"
    )


def test_no_api_operation_lets_a_user_change_another_users_objects(objects, owner, other):
    from registry.tokens import token_create

    api = ApiClient(Client(), token_create(user=other, name="outsider")[1])
    before = snapshot()
    failures = []
    count = 0
    for (method, template), probes in api_probes(objects).items():
        for values, body, allowed in probes:
            path = fill_path(template, values).removeprefix("/api/v1")
            call = getattr(api, method)
            if isinstance(body, tuple) and body[0] == "multipart/form-data":
                response = call(path, body[1], content_type=None)
            elif isinstance(body, tuple):  # (content type, raw bytes)
                response = call(path, body[1], content_type=body[0])
            else:
                response = call(path, body) if body is not None else call(path)
            count += 1
            if response.status_code not in allowed:
                failures.append((method, path, response.status_code, response.content[:200]))
            assert_no_token_of(objects, response.content, f"{method.upper()} {path}")
            assert owned_by(snapshot(), owner.pk) == owned_by(before, owner.pk), (
                f"{method.upper()} {path} changed the owner's objects"
            )
    assert failures == [], failures
    assert not Feedback.objects.exists()
    listed = json.loads(api.get("/datasets").content)
    assert objects["dataset"].pk not in [d["id"] for d in listed["items"]]
    print(f"\n{count} API probes as another user: the owner's objects unchanged")
