"""What a model gives away of the data it was trained on (issue 14, "Data that leaks").

A k-NN model keeps every training row and an SVM its support vectors: an export is a copy
of those rows. So a version is exported only by its model's owner or staff, a version's
dataset (id, name, sha256) is shown only to the dataset's owner, and the version page says
which algorithms keep training rows. Any signed-in user still reads and predicts with every
model.
"""

import pytest
from django.test import Client

from registry import transfer
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

EXPORT = "/models/churn/versions/1/export"


def test_it_refuses_an_export_to_another_user_through_the_api(owner_api, other_api, churn):
    assert other_api.get("/models/churn/versions/1").status_code == 200  # reading is allowed
    assert_problem(other_api.get(EXPORT), 403, "only its owner")
    assert owner_api.get(EXPORT).status_code == 200


def test_it_refuses_an_export_to_another_user_on_the_pages(
    logged_in, other_logged_in, churn, other
):
    page = other_logged_in.get("/models/churn/versions/1/")
    assert page.status_code == 200
    assert "data-export" not in page.content.decode()
    assert other_logged_in.get(f"{EXPORT}/").status_code == 403
    assert logged_in.get(f"{EXPORT}/").status_code == 200
    assert "data-export" in logged_in.get("/models/churn/versions/1/").content.decode()


def test_it_lets_staff_export_any_model(churn, admin_user, django_user_model):
    staff = django_user_model.objects.create_user("stan", is_staff=True)
    for user in (admin_user, staff):
        client = Client()
        client.force_login(user)
        response = client.get(f"{EXPORT}/")
        assert response.status_code == 200
        assert transfer.read_export(response.content).card["exported"]["by"] == user.username


def test_it_shows_a_versions_dataset_only_to_the_datasets_owner(owner_api, other_api, churn):
    mine = owner_api.get("/models/churn/versions/1").json()["dataset"]
    assert mine == {
        "id": churn.dataset_id,
        "name": churn.dataset_name,
        "sha256": churn.dataset_sha256,
    }
    theirs = other_api.get("/models/churn/versions/1").json()
    assert theirs["dataset"] == {"id": None, "name": None, "sha256": None}
    assert churn.dataset_sha256 not in str(theirs)


def test_the_pages_name_a_private_dataset_only_to_its_owner(logged_in, other_logged_in, churn):
    for url in ("/models/churn/versions/1/", "/models/churn/"):
        assert churn.dataset_name in logged_in.get(url).content.decode()
        html = other_logged_in.get(url).content.decode()
        assert churn.dataset_name not in html
        assert "a private dataset" in html


def test_it_says_on_the_version_page_which_algorithms_keep_training_rows(logged_in, train_version):
    train_version("churn", "logistic_regression")
    train_version("near", "knn_classifier")
    train_version("margin", "svm")
    linear = logged_in.get("/models/churn/versions/1/").content.decode()
    assert "data-keeps-training-rows" not in linear
    for name in ("near", "margin"):
        html = logged_in.get(f"/models/{name}/versions/1/").content.decode()
        assert "data-keeps-training-rows" in html
        assert "keeps training rows" in html


def test_the_algorithms_table_flags_the_ones_that_keep_training_rows(owner_api):
    flagged = {a["id"] for a in owner_api.get("/algorithms").json() if a["keeps_training_rows"]}
    assert flagged == {"knn_classifier", "knn_regressor", "svm"}
