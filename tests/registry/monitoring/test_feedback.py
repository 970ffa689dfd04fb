"""Ground-truth feedback (POST /api/v1/models/{name}/feedback): prediction ids in every
answer and in the log, labels joined to logged predictions, idempotency, another user's
predictions, CSV, and the live metric computed from them against numpyml and scikit-learn."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from numpyml import metrics as M
from registry.models import Feedback, PredictionLog
from registry.monitoring import live
from tests.conftest import assert_problem
from tests.registry.monitoring.conftest import churn_rows

pytestmark = pytest.mark.django_db(transaction=True)


def labelled_churn(n: int) -> tuple[list[dict], list[str]]:
    """The first n demo churn rows and their true `churned` answers."""
    from registry import csvio
    from tests.conftest import demo_bytes

    rows = churn_rows()[:n]
    truth = csvio.parse_csv(demo_bytes("churn.csv")).data["churned"][:n].tolist()
    return rows, [str(t) for t in truth]


def predict_logged(api, predlog, rows, per_request: int) -> list[dict]:
    """Predict `rows` in requests of `per_request` and write the log now; the answers."""
    answers = []
    for start in range(0, len(rows), per_request):
        response = api.post(
            "/models/churn/predict", {"instances": rows[start : start + per_request]}
        )
        assert response.status_code == 200, response.content
        answers.append(response.json())
    predlog.writer().flush()
    return answers


def ids_and_predictions(answers: list[dict]) -> list[tuple[str, object]]:
    return [
        (f"{a['prediction_id']}:{i}", p) for a in answers for i, p in enumerate(a["predictions"])
    ]


def test_every_answer_carries_a_prediction_id_that_the_log_row_records(
    prediction_log, owner_api, churn
):
    rows, _ = labelled_churn(3)
    answers = predict_logged(owner_api, prediction_log, rows, per_request=3)
    answer = answers[0]
    request_id = uuid.UUID(answer["prediction_id"])
    assert answer["prediction_ids"] == [f"{request_id}:{i}" for i in range(3)]
    logged = PredictionLog.objects.get()
    assert logged.request_id == request_id
    assert logged.outputs["predictions"] == answer["predictions"]


def test_rows_past_what_the_log_keeps_get_no_per_row_ids(
    prediction_log, owner_api, churn, settings
):
    settings.MLSERVE_PREDICTION_LOG_MAX_ROWS = 2
    rows, _ = labelled_churn(3)
    (answer,) = predict_logged(owner_api, prediction_log, rows, per_request=3)
    assert "prediction_ids" not in answer
    first = f"{answer['prediction_id']}:0"
    third = f"{answer['prediction_id']}:2"
    sent = owner_api.post(
        "/models/churn/feedback",
        [{"prediction_id": first, "label": "no"}, {"prediction_id": third, "label": "no"}],
    )
    assert sent.json()["counts"]["accepted"] == 1
    assert sent.json()["counts"]["unknown"] == 1


def test_a_multipart_csv_upload_is_feedback_too(prediction_log, owner_api, churn):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows, _ = labelled_churn(1)
    (answer,) = predict_logged(owner_api, prediction_log, rows, per_request=1)
    data = f"label,prediction_id\nyes,{answer['prediction_id']}:0\n".encode()
    upload = SimpleUploadedFile("labels.csv", data, content_type="text/csv")
    response = owner_api.post("/models/churn/feedback", {"file": upload}, content_type=None)
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["accepted"] == 1
    assert list(Feedback.objects.values_list("label", flat=True)) == ["yes"]


def test_labels_join_their_predictions_and_the_live_metric_is_the_metric_by_hand(
    prediction_log, owner, owner_api, churn
):
    from sklearn.metrics import accuracy_score

    rows, truth = labelled_churn(40)
    answers = predict_logged(owner_api, prediction_log, rows, per_request=8)
    pairs = ids_and_predictions(answers)
    body = [{"prediction_id": pid, "label": t} for (pid, _), t in zip(pairs, truth, strict=True)]
    response = owner_api.post("/models/churn/feedback", body)
    assert response.status_code == 200, response.content
    assert response.json()["counts"] == {
        "accepted": 40,
        "updated": 0,
        "unchanged": 0,
        "unknown": 0,
        "refused": 0,
        "invalid": 0,
    }
    assert Feedback.objects.count() == 40
    stored = Feedback.objects.get(request_id=answers[1]["prediction_id"], row=2)
    assert stored.version_id == churn.pk
    assert stored.label == truth[10]
    assert stored.predicted == answers[1]["predictions"][2]
    assert stored.created_by_id == owner.pk

    predicted = [p for _, p in pairs]
    by_hand = M.accuracy_score(np.array(truth), np.array(predicted))
    assert by_hand == pytest.approx(accuracy_score(truth, predicted))
    result = live.live_metric(churn)
    assert result["metric"] == "accuracy"
    assert result["value"] == pytest.approx(by_hand)
    assert result["n_labelled"] == 40
    assert result["training_value"] == pytest.approx(churn.metrics["accuracy"])
    assert len(result["series"]) == 1
    assert result["series"][0]["n"] == 40
    assert result["series"][0]["value"] == pytest.approx(by_hand)

    # The last N labelled rows: the newest predictions (the last requests' rows).
    last = live.live_metric(churn, last_n=16)
    assert last["n_labelled"] == 16
    assert last["value"] == pytest.approx(accuracy_score(truth[24:], predicted[24:]))

    api = owner_api.get("/models/churn/versions/1/live-metrics?last_n=16")
    assert api.status_code == 200, api.content
    assert api.json()["value"] == pytest.approx(last["value"])
    assert api.json()["n_labelled"] == 16


def test_feedback_is_idempotent_and_a_changed_label_is_an_update(prediction_log, owner_api, churn):
    rows, _ = labelled_churn(2)
    (answer,) = predict_logged(owner_api, prediction_log, rows, per_request=2)
    first = f"{answer['prediction_id']}:0"
    sent = owner_api.post("/models/churn/feedback", [{"prediction_id": first, "label": "yes"}])
    assert sent.json()["counts"]["accepted"] == 1
    again = owner_api.post("/models/churn/feedback", [{"prediction_id": first, "label": "yes"}])
    assert again.status_code == 200
    assert again.json()["counts"]["unchanged"] == 1
    assert again.json()["counts"]["accepted"] == 0
    changed = owner_api.post("/models/churn/feedback", [{"prediction_id": first, "label": "no"}])
    assert changed.json()["counts"]["updated"] == 1
    assert "updated" in changed.json()["detail"]
    assert list(Feedback.objects.values_list("label", flat=True)) == ["no"]


def test_another_users_predictions_are_refused_unless_the_caller_owns_the_model(
    prediction_log, owner_api, other_api, churn
):
    rows, _ = labelled_churn(2)
    (mine,) = predict_logged(owner_api, prediction_log, rows, per_request=2)
    (theirs,) = predict_logged(other_api, prediction_log, rows, per_request=2)

    # The outsider may label their own predictions of the owner's model...
    own = other_api.post(
        "/models/churn/feedback", [{"prediction_id": f"{theirs['prediction_id']}:0", "label": "no"}]
    )
    assert own.status_code == 200, own.content
    assert own.json()["counts"]["accepted"] == 1
    # ...but not the owner's.
    refused = other_api.post(
        "/models/churn/feedback", [{"prediction_id": f"{mine['prediction_id']}:0", "label": "no"}]
    )
    problem = assert_problem(refused, 403)
    assert problem["counts"]["refused"] == 1
    assert not Feedback.objects.filter(request_id=mine["prediction_id"]).exists()
    # The model's owner may label anyone's predictions of it.
    owned = owner_api.post(
        "/models/churn/feedback", [{"prediction_id": f"{theirs['prediction_id']}:1", "label": "no"}]
    )
    assert owned.json()["counts"]["accepted"] == 1
    assert Feedback.objects.count() == 2


def test_unknown_ids_and_bad_labels_are_counted_and_named(prediction_log, owner_api, churn):
    rows, _ = labelled_churn(2)
    (answer,) = predict_logged(owner_api, prediction_log, rows, per_request=2)
    body = [
        {"prediction_id": f"{answer['prediction_id']}:0", "label": "yes"},
        {"prediction_id": f"{answer['prediction_id']}:5", "label": "yes"},  # no such row
        {"prediction_id": f"{uuid.uuid4()}:0", "label": "yes"},  # never logged
        {"prediction_id": "nonsense", "label": "yes"},
        {"prediction_id": f"{answer['prediction_id']}:1", "label": {"a": 1}},
    ]
    response = owner_api.post("/models/churn/feedback", body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["counts"] == {
        "accepted": 1,
        "updated": 0,
        "unchanged": 0,
        "unknown": 3,
        "refused": 0,
        "invalid": 1,
    }
    assert [p["index"] for p in data["problems"]] == [1, 2, 3, 4]
    assert "nonsense" in data["problems"][2]["detail"]


def test_the_list_is_bounded_before_any_work(owner_api, churn, settings, db):
    from registry.monitoring import feedback

    body = [{"prediction_id": f"{uuid.uuid4()}:0", "label": 1}] * (feedback.MAX_ITEMS + 1)
    assert_problem(owner_api.post("/models/churn/feedback", body), 413)


def test_a_csv_of_prediction_ids_and_labels_is_feedback(prediction_log, owner_api, churn):
    rows, truth = labelled_churn(6)
    answers = predict_logged(owner_api, prediction_log, rows, per_request=3)
    lines = ["prediction_id,label"] + [
        f"{pid},{t}" for (pid, _), t in zip(ids_and_predictions(answers), truth, strict=True)
    ]
    response = owner_api.post(
        "/models/churn/feedback", "\n".join(lines).encode(), content_type="text/csv"
    )
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["accepted"] == 6
    assert sorted(Feedback.objects.values_list("label", flat=True)) == sorted(truth)
    missing = owner_api.post(
        "/models/churn/feedback", b"prediction_id,truth\nx,1\n", content_type="text/csv"
    )
    assert_problem(missing, 422)


@pytest.mark.parametrize(("delimiter", "encoding"), [(";", "cp1252"), ("\t", "utf-8")])
def test_a_csv_as_excel_writes_it_is_feedback_too(
    prediction_log, owner_api, churn, delimiter, encoding
):
    """A European Excel export (semicolons, Windows-1252) or a tab-separated file is read
    as an upload is: the delimiter and the encoding detected."""
    rows, truth = labelled_churn(4)
    answers = predict_logged(owner_api, prediction_log, rows, per_request=2)
    lines = [f"prediction_id{delimiter}label{delimiter}comment"] + [
        f"{pid}{delimiter}{t}{delimiter}café"
        for (pid, _), t in zip(ids_and_predictions(answers), truth, strict=True)
    ]
    data = "\r\n".join(lines).encode(encoding)
    response = owner_api.post("/models/churn/feedback", data, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["accepted"] == 4
    assert sorted(Feedback.objects.values_list("label", flat=True)) == sorted(truth)


@pytest.mark.parametrize(
    "data",
    [
        b"prediction_id,label\rx\n",  # a bare carriage return inside an unquoted cell
        b'prediction_id,label\n"unterminated,no\n',
        b"\xc2\xae\xf1\xaf\xa4\xbd=\r\xe0\xa0\x970",  # what schemathesis sent
    ],
)
def test_a_csv_the_csv_module_cannot_read_is_a_422_problem(owner_api, churn, data):
    response = owner_api.post("/models/churn/feedback", data, content_type="text/csv")
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
