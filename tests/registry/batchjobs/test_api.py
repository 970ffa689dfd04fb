"""POST /api/v1/models/{name}/batch-jobs and /api/v1/batch-jobs/...: queue a job on a file
or a dataset, watch its progress, cancel it, download its result; limits and ownership."""

import csv
import io

import pyarrow.parquet as pq
import pytest

from registry.batchjobs import run
from registry.models import BatchChunk, BatchJob
from tests.conftest import assert_problem
from tests.registry.batchjobs.conftest import churn_csv, upload

pytestmark = pytest.mark.django_db


def post_file(api, data: bytes, name: str = "churn", **fields):
    return api.post(
        f"/models/{name}/batch-jobs", {"file": upload(data), **fields}, content_type=None
    )


def result_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_queues_a_file_scores_it_in_chunks_and_downloads_what_the_sync_route_writes(
    owner_api, churn, small_chunks, django_capture_on_commit_callbacks
):
    data = churn_csv(250)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post_file(owner_api, data)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert (body["model"], body["version"], body["alias"]) == ("churn", 1, "production")
    assert (body["rows_total"], body["rows_done"], body["chunks_total"]) == (250, 0, 3)
    assert body["input"] == {"name": "rows.csv", "dataset": None, "bytes": len(data)}
    assert body["result_url"] is None
    assert len(queued) == 1  # the task, enqueued on commit
    job = BatchJob.objects.get(pk=body["id"])
    chunks = list(BatchChunk.objects.filter(job=job).values_list("start_row", "stop_row"))
    assert chunks == [(0, 100), (100, 200), (200, 250)]

    not_yet = owner_api.get(f"/batch-jobs/{job.pk}/result")
    assert_problem(not_yet, 409, "0 of 250 rows scored")

    assert run.run(job.pk) == "done"
    detail = owner_api.get(f"/batch-jobs/{job.pk}").json()
    assert (detail["status"], detail["rows_done"], detail["progress"]) == ("done", 250, 100)
    assert detail["chunks_done"] == 3
    assert detail["result_url"] == f"/api/v1/batch-jobs/{job.pk}/result"

    download = owner_api.get(f"/batch-jobs/{job.pk}/result")
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="rows-churn-v1-predictions.csv"' in download["Content-Disposition"]
    from registry import serving

    expected = serving.predict_csv(serving.resolve("churn", version=1), data, user=None)
    assert result_bytes(download) == expected
    # ... whose predictions are the JSON route's for the same file.
    sync = owner_api.post("/models/churn/versions/1/predict", data, content_type="text/csv")
    rows = list(csv.DictReader(io.StringIO(expected.decode())))
    assert [r["prediction"] for r in rows] == sync.json()["predictions"]
    assert [r["id"] for r in rows] == [str(i) for i in range(250)]


def test_it_writes_parquet_with_the_sync_routes_predictions(owner_api, churn, small_chunks):
    data = churn_csv(230)
    response = post_file(owner_api, data, format="parquet")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert run.run(job_id) == "done"

    download = owner_api.get(f"/batch-jobs/{job_id}/result")

    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(result_bytes(download)))
    assert (
        pq.ParquetFile(
            io.BytesIO(result_bytes(owner_api.get(f"/batch-jobs/{job_id}/result")))
        ).num_row_groups
        == 3
    )  # a row group per chunk
    sync = owner_api.post("/models/churn/versions/1/predict", data, content_type="text/csv").json()
    assert table.column("id").to_pylist() == [str(i) for i in range(230)]
    assert table.column("prediction").to_pylist() == sync["predictions"]
    assert table.column("probability_yes").to_pylist() == pytest.approx(
        [p[1] for p in sync["probabilities"]], abs=1e-6
    )


def test_it_scores_a_dataset_with_the_version_an_alias_named_when_the_job_was_made(
    owner_api, owner, churn, make_dataset
):
    from registry import services

    dataset = make_dataset("churn.csv", dataset_name="april")
    response = owner_api.post(
        "/models/churn/batch-jobs", {"dataset": dataset.pk, "alias": "production"}
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["input"]["name"] == "april"
    assert body["input"]["dataset"] == dataset.pk
    assert body["rows_total"] == dataset.n_rows
    services.alias_delete(model=churn.model, name="production", user=owner, via="api")
    assert run.run(body["id"]) == "done"  # a later move does not change what the job scores
    assert BatchJob.objects.get(pk=body["id"]).rows_done == dataset.n_rows


def test_it_refuses_another_users_job_and_lists_only_the_callers(owner_api, other_api, churn):
    job_id = post_file(owner_api, churn_csv(10)).json()["id"]
    run.run(job_id)

    for path in (f"/batch-jobs/{job_id}", f"/batch-jobs/{job_id}/result"):
        assert_problem(other_api.get(path), 404, f"You have no batch job {job_id}.")
    assert_problem(other_api.post(f"/batch-jobs/{job_id}/cancel"), 404)
    assert other_api.get("/batch-jobs").json()["count"] == 0
    listed = owner_api.get("/batch-jobs").json()
    assert [item["id"] for item in listed["items"]] == [job_id]


def test_it_refuses_a_dataset_of_another_user(owner_api, churn, other, make_dataset):
    theirs = make_dataset("churn.csv", user=other)
    response = owner_api.post("/models/churn/batch-jobs", {"dataset": theirs.pk})
    assert_problem(response, 404, f"There is no dataset {theirs.pk} that you can read.")
    assert not BatchJob.objects.exists()


def test_it_cancels_a_queued_job_and_its_worker_then_scores_nothing(owner_api, churn):
    job_id = post_file(owner_api, churn_csv(10)).json()["id"]

    response = owner_api.post(f"/batch-jobs/{job_id}/cancel")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["error"] == "Cancelled by olivia."
    assert run.run(job_id) == "skipped"
    assert BatchJob.objects.get(pk=job_id).rows_done == 0
    assert_problem(owner_api.post(f"/batch-jobs/{job_id}/cancel"), 409, "is cancelled")
    assert_problem(owner_api.get(f"/batch-jobs/{job_id}/result"), 409, "is cancelled")


@pytest.mark.parametrize(
    ("setting", "value", "status", "detail"),
    [
        ("MLSERVE_MAX_BATCH_ROWS", 100, 413, "more than 100 rows"),
        ("MLSERVE_MAX_BATCH_UPLOAD_MB", 0, 413, "MLSERVE_MAX_BATCH_UPLOAD_MB"),
    ],
)
def test_it_refuses_a_file_over_the_limits_before_storing_anything(
    owner_api, churn, settings, setting, value, status, detail
):
    setattr(settings, setting, value)
    response = post_file(owner_api, churn_csv(101))
    assert_problem(response, status, detail)
    assert not BatchJob.objects.exists()
    assert not BatchChunk.objects.exists()


def test_it_refuses_a_job_past_the_users_jobs_in_flight(owner_api, churn, settings):
    settings.MLSERVE_USER_MAX_BATCH_JOBS = 2
    for _ in range(2):
        assert post_file(owner_api, churn_csv(5)).status_code == 202
    assert_problem(post_file(owner_api, churn_csv(5)), 429, "MLSERVE_USER_MAX_BATCH_JOBS")
    assert BatchJob.objects.count() == 2
    run.run(BatchJob.objects.order_by("pk").first().pk)  # a finished job frees its place
    assert post_file(owner_api, churn_csv(5)).status_code == 202


@pytest.mark.parametrize(
    ("data", "fields", "status", "detail"),
    [
        (b"a,b\n1,2\n", {}, 422, "lacks the model's column(s)"),
        (b"", {}, 422, "The file is empty"),
        (b"tenure_months\n", {}, 422, "no rows"),
        (None, {"format": "xlsx"}, 422, None),
        (None, {"version": "9"}, 404, None),
        (None, {"version": "1", "alias": "staging"}, 404, None),
        (None, {"colour": "red"}, 422, None),
    ],
)
def test_it_refuses_bad_input_as_problem_json(owner_api, churn, data, fields, status, detail):
    response = post_file(owner_api, churn_csv(5) if data is None else data, **fields)
    assert_problem(response, status, detail)
    assert not BatchJob.objects.exists()


def test_it_refuses_a_body_without_a_file_or_a_dataset(owner_api, churn):
    assert_problem(owner_api.post("/models/churn/batch-jobs", {}), 422)
    assert_problem(
        owner_api.post("/models/churn/batch-jobs", b"a,b\n", content_type="text/csv"), 415
    )
    assert_problem(owner_api.post("/models/nope/batch-jobs", {"dataset": 1}), 404)


def test_it_asks_for_a_token(anon_api, churn):
    assert_problem(anon_api.get("/batch-jobs"), 401)


def test_its_upload_may_be_larger_than_a_request_body_elsewhere(owner_api, churn, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096  # the body limit of every other route
    data = churn_csv(500)
    assert len(data) > 4096

    assert post_file(owner_api, data).status_code == 202
    elsewhere = owner_api.post("/datasets", {"file": upload(data)}, content_type=None)
    assert_problem(elsewhere, 413, "(MLSERVE_MAX_UPLOAD_MB)")


@pytest.mark.parametrize("visibility", ["private", "public"])
def test_it_scores_only_a_model_the_caller_may_read(other_api, churn, visibility):
    # Scoring is reading (docs/access.md): a private model is not found by an outsider,
    # whatever the file; a public one may be scored by anyone signed in.
    churn.model.__class__.objects.filter(pk=churn.model_id).update(visibility=visibility)
    response = post_file(other_api, churn_csv(5))
    if visibility == "private":
        assert_problem(response, 404, "no model named")
        assert not BatchJob.objects.exists()
    else:
        assert response.status_code == 202, response.content
