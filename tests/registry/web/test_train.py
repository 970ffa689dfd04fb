"""The train form: fields generated from the algorithms table, every error next to its field,
and a valid form queues the training and lands on the new version's page."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from registry.algorithms import ALGORITHMS
from registry.models import ModelVersion, RegisteredModel
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

FEATURES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]


def form_data(dataset, **changes):
    data = {
        "dataset": dataset.pk,
        "name": "churn",
        "description": "Who leaves?",
        "algorithm": "logistic_regression",
        "target": "churned",
        "features": FEATURES,
        "test_size": "0.2",
        "logistic_regression-C": "1.0",
        "logistic_regression-max_iter": "100",
        "logistic_regression-tol": "0.0001",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_it_generates_the_hyperparameter_fields_from_the_algorithms_table(
    owner_client, make_dataset
):
    make_dataset("churn.csv")
    response = owner_client.get(reverse("train"))
    assert response.status_code == 200
    html = response.content.decode()
    for spec in ALGORITHMS.values():
        assert escape(spec.description) in html
        for param in spec.params:
            assert f'name="{spec.id}-{param.name}"' in html
    assert 'name="logistic_regression-C" value="1.0" step="any" min="0" max="1000000.0"' in html
    assert 'name="logistic_regression-max_iter" value="100" min="1" max="10000"' in html
    assert 'placeholder="no limit"' in html  # max_depth may be empty
    assert '<option value="rbf" selected>rbf</option>' in html
    assert 'type="checkbox" name="linear_regression-fit_intercept"' in html
    assert not ModelVersion.objects.exists()


def test_it_preselects_no_target_and_every_column_as_a_feature(owner_client, make_dataset):
    make_dataset("churn.csv")
    html = owner_client.get(reverse("train")).content.decode()
    assert '<option value="" selected>(none)</option>' in html
    assert '<option value="churned" selected>' not in html
    for index, feature in enumerate([*FEATURES, "churned"]):
        assert f'value="{feature}" id="id_features_{index}" checked' in html
    assert 'value="logistic_regression" id="id_algorithm_1" required checked' in html
    assert 'data-supervised="0"' in html  # kmeans, pca, gmm: target hidden by train.js
    assert "js/train.js" in html


def test_it_queues_the_training_and_lands_on_the_version_page(owner_client, owner, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_client.post(reverse("train"), form_data(dataset))
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/versions/1/"
    model = RegisteredModel.objects.get(name="churn")
    assert (model.owner, model.description) == (owner, "Who leaves?")
    version = model.versions.get()
    assert version.status == "queued"
    assert version.params == {"C": 1.0, "max_iter": 100, "tol": 0.0001}
    assert [f["name"] for f in version.features] == FEATURES
    assert (version.target, version.test_size, version.dataset_id) == ("churned", 0.2, dataset.pk)


def test_it_trains_the_next_version_of_your_model(owner_client, make_dataset, make_model):
    dataset = make_dataset("churn.csv")
    make_model("churn", versions=1)
    response = owner_client.post(
        reverse("train"), form_data(dataset, **{"logistic_regression-C": "0.5"})
    )
    assert response["Location"] == "/models/churn/versions/2/"
    assert ModelVersion.objects.get(version=2).params["C"] == 0.5


def test_it_prefills_a_new_version_from_the_newest_one(owner_client, make_dataset, make_model):
    dataset = make_dataset("churn.csv")
    model = make_model("churn", versions=0)
    make_version(model, 1, dataset=dataset, params={"C": 0.25, "max_iter": 300, "tol": 0.001})
    html = owner_client.get(reverse("train"), {"model": "churn"}).content.decode()
    assert 'name="name" value="churn"' in html
    assert 'name="logistic_regression-C" value="0.25"' in html
    assert 'name="logistic_regression-max_iter" value="300"' in html
    assert model.versions.count() == 1


def test_it_ignores_the_target_for_unsupervised_algorithms(owner_client, make_dataset):
    dataset = make_dataset("shoppers.csv")
    data = form_data(
        dataset,
        name="segments",
        algorithm="kmeans",
        target="age",
        features=["age", "monthly_spend", "visits_per_month"],
        **{
            "kmeans-n_clusters": "4",
            "kmeans-n_init": "1",
            "kmeans-max_iter": "300",
            "kmeans-tol": "0.0001",
            "kmeans-random_state": "0",
        },
    )
    response = owner_client.post(reverse("train"), data)
    assert response.status_code == 302
    version = ModelVersion.objects.get()
    assert version.target == ""
    assert version.params["n_clusters"] == 4
    assert len(version.features) == 3


def test_it_keeps_the_target_out_of_the_features(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    owner_client.post(reverse("train"), form_data(dataset, features=[*FEATURES, "churned"]))
    assert "churned" not in [f["name"] for f in ModelVersion.objects.get().features]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "Bad Name!"}, "name", "Use 1-100 lowercase letters"),
        ({"name": ""}, "name", "This field is required."),
        ({"logistic_regression-C": "0"}, "logistic_regression-C", "Must be greater than 0."),
        ({"logistic_regression-C": "abc"}, "logistic_regression-C", "Enter a number."),
        (
            {"logistic_regression-max_iter": "1.5"},
            "logistic_regression-max_iter",
            "Enter a whole number.",
        ),
        (
            {"logistic_regression-max_iter": "0"},
            "logistic_regression-max_iter",
            "Ensure this value is greater than or equal to 1.",
        ),
        ({"logistic_regression-tol": ""}, "logistic_regression-tol", "A value is required."),
        ({"target": ""}, "target", "Logistic regression needs a target column"),
        ({"features": None}, "features", "Pick at least one feature column."),
        (
            {"features": ["churned"]},
            "features",
            "Pick at least one feature column besides the target.",
        ),
        ({"features": ["nope"]}, "features", "Select a valid choice. nope is not one of"),
        ({"test_size": "0.9"}, "test_size", "Ensure this value is less than or equal to 0.5."),
        ({"algorithm": "magic"}, "algorithm", "Select a valid choice. magic is not one of"),
        (
            {
                "algorithm": "linear_regression",
                "target": "contract",
                "linear_regression-alpha": "0",
                "linear_regression-fit_intercept": "on",
            },
            "target",
            "holds categories; a regressor needs a numeric target",
        ),
        (
            {"target": "monthly_charges", "features": FEATURES[:1]},
            "target",
            "'monthly_charges' has 549 distinct numbers: use a regressor, or bin it",
        ),
        (
            {
                "algorithm": "svm",
                "svm-C": "1",
                "svm-kernel": "poly",
                "svm-gamma": "scale",
                "svm-tol": "0.001",
            },
            "svm-kernel",
            "Select a valid choice. poly is not one of the available choices.",
        ),
    ],
)
def test_it_shows_each_error_next_to_its_field(owner_client, make_dataset, changes, field, message):
    dataset = make_dataset("churn.csv")
    response = owner_client.post(reverse("train"), form_data(dataset, **changes))
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(message) in html
    assert f'<p class="field-error" id="id_{field}_error">' in html or (
        field in ("algorithm", "features", "target") and 'class="field-error"' in html
    )
    assert not RegisteredModel.objects.exists()
    assert not ModelVersion.objects.exists()


def test_it_refuses_a_name_taken_by_another_users_model(
    owner_client, make_dataset, make_model, other
):
    dataset = make_dataset("churn.csv")
    make_model("churn", user=other)
    response = owner_client.post(reverse("train"), form_data(dataset))
    assert response.status_code == 200
    assert b"churn is another user&#x27;s model: choose another name for yours." in response.content
    assert ModelVersion.objects.count() == 1


def test_it_trains_only_on_your_own_datasets(other_client, make_dataset):
    dataset = make_dataset("churn.csv")
    response = other_client.post(reverse("train"), form_data(dataset))
    assert response.status_code == 404
    assert not RegisteredModel.objects.exists()


def test_it_asks_for_a_dataset_first(owner_client):
    response = owner_client.get(reverse("train"))
    assert response.status_code == 200
    assert b"Training needs a dataset" in response.content
    assert not RegisteredModel.objects.exists()


def test_it_shows_a_category_column_with_too_many_values_as_a_form_error(
    owner_client, make_dataset
):
    rows = [f"u{i:05d},{i % 97},{'yes' if i % 3 else 'no'}" for i in range(15_000)]
    dataset = make_dataset(data=("id,x,label\n" + "\n".join(rows)).encode(), dataset_name="ids")
    data = {
        "dataset": dataset.pk,
        "name": "ids",
        "algorithm": "knn_classifier",
        "target": "label",
        "features": ["id", "x"],
        "test_size": "0.2",
        "knn_classifier-n_neighbors": "5",
        "knn_classifier-weights": "uniform",
        "knn_classifier-metric": "euclidean",
    }
    response = owner_client.post(reverse("train"), data)
    assert response.status_code == 200
    assert escape("'id' has 15000 distinct values (at most 1000") in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_it_shows_a_knn_bigger_than_the_model_memory_as_a_form_error(
    owner_client, make_dataset, settings
):
    settings.MLSERVE_MODEL_CACHE_MB = 1
    rows = [",".join(str((i * (j + 7)) % 101) for j in range(11)) for i in range(20_000)]
    header = ",".join([*(f"x{j}" for j in range(10)), "y"])
    dataset = make_dataset(data="\n".join([header, *rows]).encode(), dataset_name="numbers")
    data = {
        "dataset": dataset.pk,
        "name": "knn",
        "algorithm": "knn_regressor",
        "target": "y",
        "features": [f"x{j}" for j in range(10)],
        "test_size": "0.2",
        "knn_regressor-n_neighbors": "5",
        "knn_regressor-weights": "uniform",
        "knn_regressor-metric": "euclidean",
    }
    response = owner_client.post(reverse("train"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "would take 1.6 MB in memory, more than the 1 MB a server keeps" in html
    assert not ModelVersion.objects.exists()


def _with_production(make_model):
    from registry.models import Alias

    model = make_model("churn", versions=1)
    Alias.objects.create(model=model, name="production", version=model.versions.get())
    return model


def test_it_refuses_a_version_unlike_production_until_confirmed(
    owner_client, make_dataset, make_model
):
    dataset = make_dataset("churn.csv")
    model = _with_production(make_model)
    changed = form_data(
        dataset,
        algorithm="linear_regression",
        target="monthly_charges",
        features=FEATURES[:1],
        **{"linear_regression-alpha": "0"},
    )
    response = owner_client.post(reverse("train"), changed)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_allow_schema_change_error"' in html
    assert escape("target 'monthly_charges' instead of 'churned'") in html
    assert escape("'churn-monthly-charges'") in html
    assert model.versions.count() == 1

    response = owner_client.post(reverse("train"), {**changed, "allow_schema_change": "on"})
    assert response["Location"] == "/models/churn/versions/2/"
    assert model.versions.get(version=2).target == "monthly_charges"


def test_it_sums_up_every_error_at_the_top_linked_to_its_field(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    changes = {"target": "monthly_charges", "logistic_regression-C": "0", "features": None}
    response = owner_client.post(reverse("train"), form_data(dataset, **changes))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<div class="alert alert-error" role="alert" tabindex="-1" data-error-s')
    summary = html[start : html.index("</div>", start)]
    assert "Fix these 2 problems to continue" in summary
    assert '<a href="#id_features_0" data-error-link>Features: Pick at least one' in summary
    assert '<a href="#id_logistic_regression-C" data-error-link>C: Must be greater than 0.' in (
        summary
    )
    assert start < html.index('id="id_name"')  # above the first field
    response = owner_client.post(reverse("train"), form_data(dataset, target="monthly_charges"))
    html = response.content.decode()
    assert (
        '<a href="#id_target" data-error-link>Target: '
        + escape("'monthly_charges' has 549 distinct numbers")
        in html
    )


def test_it_lands_on_the_version_page_without_a_flash_that_would_go_stale(
    owner_client, make_dataset
):
    dataset = make_dataset("churn.csv")
    response = owner_client.post(reverse("train"), form_data(dataset), follow=True)
    html = response.content.decode()
    assert "is queued" not in html
    assert 'class="messages"' not in html
    assert '<h2 id="training-title" data-training-heading>Waiting for a worker</h2>' in html
    assert "Position 1 in the queue (next for a worker)" in html
