"""An evaluation scores every chosen version on the same rows exactly as serving does, counts
the rows it cannot score per version with the reason, and keeps the rows each gets wrong."""

import csv
import io

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score

from numpyml import metrics as M
from registry import evaluation, services, serving
from registry.evaluation import run
from registry.models import Evaluation
from tests.registry.evaluation.conftest import FEATURES, churn_rows, second_version, to_csv

pytestmark = pytest.mark.django_db


def by_hand(number: int, header: list[str], rows: list[list[str]]) -> dict:
    """Version `number` of churn scored row by row through serving.predict_rows."""
    served = serving.resolve("churn", version=number)
    target = header.index("churned")
    features = [{h: cell for h, cell in zip(header, row, strict=True)} for row in rows]
    result = serving.predict_rows(served, features)
    truth = np.array([row[target] for row in rows], dtype=object)
    return {
        "truth": truth,
        "predicted": np.array(result["predictions"], dtype=object),
        "proba": result.get("probabilities"),
        "classes": list(served.classes),
    }


def test_two_versions_on_the_same_rows_match_scoring_each_by_hand(owner, churn_two, fresh):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    assert created.status == "queued"
    assert created.versions == [1, 2]
    assert created.target == "churned"

    assert run.run(created.pk) == "done"

    done = Evaluation.objects.get(pk=created.pk)
    assert done.status == "done"
    assert done.progress == 100
    assert done.error == ""
    header, rows = churn_rows(400, 550)
    for number in (1, 2):
        mine = done.results[str(number)]
        hand = by_hand(number, header, rows)
        truth, predicted = hand["truth"], hand["predicted"]
        assert mine["n_rows"] == mine["n_scored"] == 150
        assert mine["n_unscorable"] == 0
        assert mine["unscorable"] == {}
        metrics = mine["metrics"]
        assert metrics["accuracy"] == pytest.approx(M.accuracy_score(truth, predicted))
        assert metrics["f1_macro"] == pytest.approx(
            M.f1_score(truth, predicted, average="macro", zero_division=0)
        )
        assert metrics["confusion_matrix"] == {
            "labels": hand["classes"],
            "matrix": M.confusion_matrix(truth, predicted, labels=hand["classes"]).tolist(),
        }
        wrong = np.flatnonzero(truth != predicted)
        assert mine["n_wrong"] == wrong.size > 0
        assert mine["wrong_rows"] == wrong.tolist()
        assert mine["wrong_predicted"] == predicted[wrong].tolist()
        # Probabilities as served: the same log loss, and scikit-learn's AUC on them.
        proba = np.asarray(hand["proba"])
        codes = np.array([hand["classes"].index(t) for t in truth])
        assert metrics["log_loss"] == pytest.approx(M.log_loss(codes, proba, labels=[0, 1]))
        assert_allclose(metrics["roc_auc"], roc_auc_score(truth == "yes", proba[:, 1]))
        assert metrics["positive_class"] == "yes"
        assert {"label", "precision", "recall", "f1", "support"} <= set(metrics["per_class"][0])

    # Side by side: each metric with its delta against the first version.
    accuracy = next(row for row in evaluation.comparison(done) if row["metric"] == "accuracy")
    first, second = accuracy["values"]
    assert first["delta"] is None
    assert second["delta"] == pytest.approx(second["value"] - first["value"])
    assert second["value"] == done.results["2"]["metrics"]["accuracy"]


def test_rows_a_version_cannot_score_are_counted_with_the_reason(owner, make_dataset):
    from tests.conftest import train_once

    training_data = make_dataset("churn.csv")
    v1 = train_once(
        owner=owner,
        dataset=training_data,
        name="churn",
        algorithm="logistic_regression",
        target="churned",
    )
    without_internet = [f for f in FEATURES if f != "internet"]
    second_version(v1.model, training_data, owner, features=without_internet)
    header, rows = churn_rows(0, 60)
    rows[3][header.index("churned")] = ""  # no right answer: left out for both
    rows[7][header.index("support_calls")] = "lots"  # not a number
    drop = header.index("internet")  # the file lacks a column v1 takes
    header = [h for i, h in enumerate(header) if i != drop]
    rows = [[c for i, c in enumerate(row) if i != drop] for row in rows]
    labelled = services.dataset_create(owner=owner, data=to_csv(header, rows), name="labelled")

    created = services.evaluation_create(user=owner, model=v1.model, dataset=labelled)
    assert run.run(created.pk) == "done"

    results = Evaluation.objects.get(pk=created.pk).results
    assert results["1"]["n_rows"] == 60
    assert results["1"]["n_scored"] == 0
    assert results["1"]["n_unscorable"] == 60
    assert results["1"]["unscorable"] == {
        "the column 'internet' is missing": 59,
        "no value for the target": 1,
    }
    assert results["1"]["metrics"] == {}
    assert results["2"]["n_scored"] == 58
    assert results["2"]["unscorable"] == {
        "a value of 'support_calls' is not a number": 1,
        "no value for the target": 1,
    }
    assert results["2"]["metrics"]["accuracy"] > 0.5
    scored = [i for i in range(60) if i not in (3, 7)]
    assert set(results["2"]["wrong_rows"]) <= set(scored)


def test_the_default_versions_are_production_and_the_newest_ready(owner, churn_two, fresh):
    assert evaluation.default_versions(churn_two) == [1, 2]
    services.alias_move(model=churn_two, name="production", version_number=2, user=owner, via="api")
    assert evaluation.default_versions(churn_two) == [2]
    chosen = evaluation.plan(model=churn_two, dataset=fresh, versions=[2, 1, 2], target=None)
    assert chosen.versions == [2, 1]


@pytest.mark.parametrize(
    ("versions", "target", "message"),
    [
        ([7], None, "churn has no version 7"),
        ([1, 2, 3, 4, 5, 6], None, "at most 5 versions"),
        (["one"], None, "list of version numbers"),
        ([1], "plan", "no column 'plan'"),
    ],
)
def test_a_bad_plan_is_refused_in_plain_words(owner, churn_two, fresh, versions, target, message):
    with pytest.raises(services.InvalidInput, match=message):
        services.evaluation_create(
            user=owner, model=churn_two, dataset=fresh, versions=versions, target=target
        )
    assert not Evaluation.objects.exists()


def test_a_version_not_ready_cannot_be_evaluated(owner, churn_two, fresh):
    from tests.registry.conftest import make_version

    make_version(churn_two, 3, status="running")
    with pytest.raises(services.InvalidInput, match="version 3 is running, not ready"):
        services.evaluation_create(user=owner, model=churn_two, dataset=fresh, versions=[3])


def test_rows_times_versions_are_bounded_before_anything_is_queued(
    owner, churn_two, fresh, settings
):
    settings.MLSERVE_MAX_EVALUATION_ROWS = 299  # 150 rows x 2 versions
    with pytest.raises(services.TooLarge, match="MLSERVE_MAX_EVALUATION_ROWS"):
        services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    assert not Evaluation.objects.exists()


def test_only_the_models_owner_evaluates_it(other, churn_two, make_dataset):
    theirs = make_dataset("churn.csv", user=other, dataset_name="theirs")
    with pytest.raises(services.Forbidden):
        services.evaluation_create(user=other, model=churn_two, dataset=theirs)


def test_a_dataset_deleted_before_the_run_fails_it_in_plain_words(owner, churn_two, fresh):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    services.dataset_delete(dataset=fresh, user=owner)
    assert run.run(created.pk) == "failed"
    failed = Evaluation.objects.get(pk=created.pk)
    assert failed.status == "failed"
    assert failed.error == "The dataset was deleted before the evaluation ran."


def test_the_wrong_rows_download_is_the_rows_as_written_with_the_prediction(
    owner, churn_two, fresh
):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    run.run(created.pk)
    done = Evaluation.objects.get(pk=created.pk)
    filename, data = evaluation.wrong_rows_csv(done, 2)
    assert filename == "churn-v2-wrong-fresh.csv"
    header, rows = churn_rows(400, 550)
    lines = list(csv.reader(io.StringIO(data.decode())))
    assert lines[0] == [*header, "predicted"]
    result = done.results["2"]
    assert len(lines) - 1 == result["n_wrong"]
    for line, index, said in zip(
        lines[1:], result["wrong_rows"], result["wrong_predicted"], strict=True
    ):
        assert line == [*rows[index], said]
        assert said != rows[index][header.index("churned")]


def test_a_regressor_is_measured_like_its_holdout_and_its_largest_errors_come_first(
    owner, make_dataset
):
    from tests.conftest import demo_bytes, train_once

    houses = make_dataset("houses.csv")
    model = train_once(
        owner=owner, dataset=houses, name="houses", algorithm="linear_regression", target="price"
    ).model
    text = demo_bytes("houses.csv").decode().splitlines()
    header, rows = text[0].split(","), [line.split(",") for line in text[1:101]]
    labelled = services.dataset_create(owner=owner, data=to_csv(header, rows), name="recent")

    created = services.evaluation_create(user=owner, model=model, dataset=labelled)
    assert run.run(created.pk) == "done"

    result = Evaluation.objects.get(pk=created.pk).results["1"]
    served = serving.resolve("houses", version=1)
    price = header.index("price")
    features = [dict(zip(header, row, strict=True)) for row in rows]
    predicted = np.asarray(serving.predict_rows(served, features)["predictions"], dtype=float)
    truth = np.array([float(row[price]) for row in rows])
    assert result["metrics"]["rmse"] == pytest.approx(M.root_mean_squared_error(truth, predicted))
    assert result["metrics"]["r2"] == pytest.approx(M.r2_score(truth, predicted))
    errors = np.abs(predicted - truth)[result["wrong_rows"]]
    assert list(errors) == sorted(errors, reverse=True)
    assert result["wrong_predicted"] == pytest.approx(predicted[result["wrong_rows"]].tolist())


def test_an_evaluation_whose_worker_died_is_failed_by_the_reaper(owner, churn_two, fresh, settings):
    from datetime import timedelta

    from django.utils import timezone

    from registry.tasks import reap_stale_evaluations

    settings.MLSERVE_TRAIN_TIMEOUT_S, settings.MLSERVE_STALE_TRAINING_S = 60.0, 30.0
    lost = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    alive = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    assert run.claim(lost.pk)
    assert run.claim(alive.pk)
    long_ago = timezone.now() - timedelta(seconds=151)  # past 2 x 60 + 30
    Evaluation.objects.filter(pk=lost.pk).update(started_at=long_ago)

    assert reap_stale_evaluations() == 1

    failed = Evaluation.objects.get(pk=lost.pk)
    assert failed.status == "failed"
    assert "worker stopped" in failed.error
    assert Evaluation.objects.get(pk=alive.pk).status == "running"


def test_a_costly_model_is_scored_in_slices_within_the_prediction_budget(
    owner, churn_two, fresh, settings
):
    whole = services.evaluation_create(user=owner, model=churn_two, dataset=fresh, versions=[1])
    run.run(whole.pk)
    served = serving.resolve("churn", version=1)
    per_row = serving.row_cost(served, serving.pipeline_cache().get(served))
    settings.MLSERVE_MAX_PREDICT_COST = per_row * 7  # 150 rows: 22 slices
    sliced = services.evaluation_create(user=owner, model=churn_two, dataset=fresh, versions=[1])

    assert run.run(sliced.pk) == "done"

    assert Evaluation.objects.get(pk=sliced.pk).results == (
        Evaluation.objects.get(pk=whole.pk).results
    )
    settings.MLSERVE_MAX_PREDICT_COST = per_row - 1  # not even one row
    refused = services.evaluation_create(user=owner, model=churn_two, dataset=fresh, versions=[1])
    assert run.run(refused.pk) == "failed"
    assert "MLSERVE_MAX_PREDICT_COST" in Evaluation.objects.get(pk=refused.pk).error


def test_columns_read_as_another_type_are_typed_as_the_version_takes_them(churn_two):
    from registry import csvio

    data = (
        b"tenure_months,monthly_charges,contract,internet,support_calls\n"
        b"2024-01-31,70.5,1,fiber,2\n"
        b",80,2,dsl,1\n"
    )
    table = csvio.parse_csv(data)
    X, reason_of, reasons = run.version_table(serving.resolve("churn", version=1), table)
    assert X["contract"].tolist() == ["1", "2"]  # numbers in the file, a category to the model
    assert np.isnan(X["tenure_months"]).all()
    assert reasons == ["the column 'tenure_months' holds dates, not numbers"]
    assert reason_of.tolist() == [0, -1]  # the missing date is missing, not wrong


def test_a_versions_decision_threshold_decides_its_evaluated_labels(owner, churn_two, fresh):
    v1 = churn_two.versions.get(version=1)
    services.set_threshold(v1, 0.2, actor=owner, via="api")
    serving.forget_resolutions()
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    assert run.run(created.pk) == "done"
    mine = Evaluation.objects.get(pk=created.pk).results["1"]
    assert mine["threshold"] == 0.2
    header, rows = churn_rows(400, 550)
    hand = by_hand(1, header, rows)
    lowered = np.where(np.asarray(hand["proba"])[:, 1] >= 0.2, "yes", "no")
    assert (hand["predicted"] == lowered).all()  # serving applies the threshold...
    truth = hand["truth"]
    assert mine["metrics"]["accuracy"] == pytest.approx(M.accuracy_score(truth, lowered))
    assert mine["wrong_rows"] == np.flatnonzero(truth != lowered).tolist()  # ...and so do we
