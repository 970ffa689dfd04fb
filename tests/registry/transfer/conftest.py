"""Real trained versions (the training code run in-process) and clients for the transfer tests."""

import pytest


@pytest.fixture(autouse=True)
def fresh_serving_caches():
    """The serving caches are per process and keyed by version id; test databases reuse ids
    after a rollback, so a pipeline cached by an earlier test must not answer for this one."""
    from registry import serving

    serving.forget_resolutions()
    serving.pipeline_cache().clear()


@pytest.fixture
def train_version(owner, make_dataset):
    """train(model, algorithm, csv, target) -> a ready version, trained by training.train
    (each distinct training once per session: tests/conftest.py train_once)."""
    from registry.models import ModelVersion
    from tests.conftest import train_once

    datasets = {}

    def train(name, algorithm, csv="churn.csv", target="churned", *, user=None, **spec):
        user = user or owner
        key = (csv, user.pk)
        if key not in datasets:
            datasets[key] = make_dataset(csv, user=user, dataset_name=f"{csv}-{user.pk}")
        version = train_once(
            owner=user,
            dataset=datasets[key],
            name=name,
            algorithm=algorithm,
            target=target,
            **spec,
        )
        return ModelVersion.objects.select_related("model", "created_by").get(pk=version.pk)

    return train


@pytest.fixture
def churn(train_version):
    return train_version("churn", "logistic_regression", params={"C": 0.5})


@pytest.fixture
def logged_in(owner):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def other_logged_in(other):
    from django.test import Client

    client = Client()
    client.force_login(other)
    return client


@pytest.fixture(scope="session")
def exports(django_db_setup, django_db_blocker):
    """Export files and artifacts of real trainings, made once in a rolled-back transaction:
    the refusal tests take them apart without training again."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import override_settings

    from registry import services, training, transfer
    from registry.models import ModelVersion
    from tests.conftest import demo_bytes
    from tests.registry.transfer.zips import OTHER_KEY, SIGNING_KEY

    made = {}
    with django_db_blocker.unblock(), transaction.atomic():
        user = get_user_model().objects.create_user("exporter")
        datasets = {
            csv: services.dataset_create(owner=user, data=demo_bytes(csv), name=csv)
            for csv in ("churn.csv", "houses.csv")
        }

        def train(name, algorithm, csv="churn.csv", target="churned", **spec):
            version = services.model_create_with_version(
                owner=user,
                name=name,
                dataset=datasets[csv],
                algorithm=algorithm,
                target=target,
                **spec,
            )
            assert training.train(version.pk) == "ready", version.error
            return ModelVersion.objects.select_related("model", "created_by").get(pk=version.pk)

        churn = train("churn", "logistic_regression", params={"C": 0.5})
        made["churn"] = transfer.version_export(churn)
        with override_settings(MLSERVE_SIGNING_KEY=SIGNING_KEY):
            made["signed"] = transfer.version_export(churn)
        with override_settings(MLSERVE_SIGNING_KEY=OTHER_KEY):
            made["signed_other_key"] = transfer.version_export(churn)
        others = {
            "algorithm": train("churn-tree", "decision_tree_classifier"),
            "params": train("churn-c2", "logistic_regression", params={"C": 2.0}),
            "features": train(
                "churn-less",
                "logistic_regression",
                params={"C": 0.5},
                features=["tenure_months", "contract"],
            ),
            "data": train("houses", "linear_regression", "houses.csv", "price"),
        }
        made["other_artifacts"] = {
            k: bytes(ModelVersion.objects.get(pk=v.pk).artifact) for k, v in others.items()
        }
        transaction.set_rollback(True)
    return made
