"""The model page's "Evaluate on new data" form, the evaluation page (side by side, deltas,
rows not scored, downloads, live status) and its status JSON."""

import io

import pytest

from registry import services
from registry.evaluation import run
from registry.models import Evaluation
from tests.registry.evaluation.conftest import churn_rows, to_csv

pytestmark = pytest.mark.django_db


def test_the_model_page_offers_the_form_to_its_owner_only(
    owner_client, other_client, churn_two, fresh
):
    mine = owner_client.get("/models/churn/")
    assert b"Evaluate on new data" in mine.content
    assert b"data-evaluation-form" in mine.content
    assert f'value="{fresh.pk}"'.encode() in mine.content  # one of the owner's datasets
    theirs = other_client.get("/models/churn/")
    assert b"data-evaluation-form" not in theirs.content


def test_uploading_a_file_queues_an_evaluation_and_shows_its_progress(
    owner_client, owner, churn_two
):
    header, rows = churn_rows(0, 30)
    upload = io.BytesIO(to_csv(header, rows))
    upload.name = "may.csv"

    response = owner_client.post(
        "/models/churn/evaluations/", {"evaluate-file": upload, "evaluate-versions": ["2", "1"]}
    )

    created = Evaluation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/models/churn/evaluations/{created.pk}/"
    assert created.versions == [2, 1]
    assert created.dataset.name == "may"
    page = owner_client.get(response["Location"])
    assert b"Waiting for a worker" in page.content
    assert f"/models/churn/evaluations/{created.pk}/status/".encode() in page.content
    status = owner_client.get(f"/models/churn/evaluations/{created.pk}/status/").json()
    assert status == {"status": "queued", "progress": 0, "finished": False, "error": None}


def test_the_evaluation_page_shows_the_versions_side_by_side(owner_client, owner, churn_two, fresh):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    run.run(created.pk)
    done = Evaluation.objects.get(pk=created.pk)

    page = owner_client.get(f"/models/churn/evaluations/{created.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Metrics side by side" in html
    assert 'data-metric="accuracy"' in html
    assert f"{done.results['1']['metrics']['accuracy']:.4f}" in html
    change = done.results["2"]["metrics"]["accuracy"] - done.results["1"]["metrics"]["accuracy"]
    assert f"{abs(change):.4f}" in html  # the delta against v1
    assert f"/models/churn/evaluations/{created.pk}/versions/2/wrong-rows.csv" in html
    download = owner_client.get(f"/models/churn/evaluations/{created.pk}/versions/2/wrong-rows.csv")
    assert download.status_code == 200
    body = b"".join(download.streaming_content).decode()
    assert body.splitlines()[0].endswith(",predicted")
    assert len(body.splitlines()) - 1 == done.results["2"]["n_wrong"]


def test_a_refused_evaluation_says_why_on_the_model_page(owner_client, churn_two):
    upload = io.BytesIO(b"a,b\n1,2\n3,4\n")
    upload.name = "unlabelled.csv"
    response = owner_client.post(
        "/models/churn/evaluations/", {"evaluate-file": upload}, follow=True
    )
    assert b"no column &#x27;churned&#x27;" in response.content
    assert not Evaluation.objects.exists()


def test_another_users_evaluation_is_not_found(owner, other_client, churn_two, fresh):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    assert other_client.get(f"/models/churn/evaluations/{created.pk}/").status_code == 404
    assert other_client.get(f"/models/churn/evaluations/{created.pk}/status/").status_code == 404
    assert other_client.post("/models/churn/evaluations/", {}).status_code == 403


def test_the_admin_lists_evaluations_and_shows_one(admin_user, owner, churn_two, fresh, client):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    run.run(created.pk)
    client.force_login(admin_user)
    listed = client.get("/admin/registry/evaluation/")
    assert listed.status_code == 200
    assert b"fresh" in listed.content
    shown = client.get(f"/admin/registry/evaluation/{created.pk}/change/")
    assert shown.status_code == 200
    assert b"150 of 150 rows scored" in shown.content
    assert client.get("/admin/registry/evaluation/add/").status_code == 403


def test_a_staff_user_lists_the_evaluations_of_their_own_models_only(
    owner, other, churn_two, fresh, client
):
    from django.contrib.auth.models import Permission

    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    other.is_staff = True
    other.save(update_fields=["is_staff"])
    other.user_permissions.add(Permission.objects.get(codename="view_evaluation"))
    client.force_login(other)
    listed = client.get("/admin/registry/evaluation/")
    assert listed.status_code == 200
    assert b"fresh" not in listed.content
    shown = client.get(f"/admin/registry/evaluation/{created.pk}/change/")
    assert shown.status_code in (302, 404)
