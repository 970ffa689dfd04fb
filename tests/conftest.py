"""Shared personas and helpers: an owner, another user, demo datasets, the real worker."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import settings

# Property tests search as deep as their own counts say under the "ci" profile (`make test`);
# `make test-fast` loads "fast" (--hypothesis-profile=fast), which scales every count down
# through examples() so the edit loop stays short while the gate keeps its full search.
settings.register_profile("ci", max_examples=100)
settings.register_profile("fast", max_examples=10)
settings.load_profile("ci")

TESTS = Path(__file__).resolve().parent
DEMO = TESTS.parent / "registry" / "demo"
# Folders whose every test is of one kind (markers in pyproject.toml; `make test-fast` leaves
# these kinds out). Tests elsewhere that start processes carry `pytest.mark.system` themselves.
FOLDER_MARKS = {"e2e": "browser", "deploy": "deploy", "system": "system"}


def pytest_collection_modifyitems(items):
    for item in items:
        try:
            folder = item.path.relative_to(TESTS).parts[0]
        except ValueError:  # collected from outside tests/
            continue
        if folder in FOLDER_MARKS:
            item.add_marker(FOLDER_MARKS[folder])
        if folder == "deploy":  # the deploy checks run tools on files: none measures time
            item.add_marker("system_parallel")
        if "page" in getattr(item, "fixturenames", ()):  # pytest-playwright's browser page
            item.add_marker("browser")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """MD5 instead of PBKDF2 for the users tests create, as healthchecks does "for speed": no
    test here is about password hashing. Servers a test starts keep production's hashers, so
    a user who signs in there gets a password they verify (helpers.set_production_password)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session", autouse=True)
def _static_files_listed_once():
    """whitenoise lists and stats every static file through the finders (admin's, ninja's,
    ours) each time a handler loads its middleware, once per process in production but once
    per test client here (benchmarks/README.md, test suite wall time). The first listing is
    kept and handed to the next middleware with the same settings; the files do not change
    during a session. Servers a test starts list their own."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    original = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[tuple, dict] = {}

    def add_files_from_finders(self):
        key = (self.static_prefix, self.max_age, self.allow_all_origins, self.charset)
        if key not in listed:
            before = dict(self.files)
            original(self)
            listed[key] = {u: f for u, f in self.files.items() if before.get(u) is not f}
        self.files.update(listed[key])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders
    yield
    WhiteNoiseMiddleware.add_files_from_finders = original


KEPT_BY_FLUSH = ("django_content_type", "auth_permission")


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_content_types_and_permissions():
    """A transactional test ends with Django's `flush`: every table emptied, then the
    post_migrate signal, whose only receivers (contenttypes and auth) write the content
    types and permissions back as the migrations made them: about half of the flush's cost,
    after each of hundreds of tests. Those two tables hold only what the migrations wrote
    and no test changes them, so the flush leaves them as they are and sends no signal, as
    Django's own `available_apps` option skips it."""
    from django.core.management import sql
    from django.core.management.commands import flush

    original_sql_flush, original_emit = flush.sql_flush, flush.emit_post_migrate_signal

    def sql_flush(style, connection, reset_sequences=True, allow_cascade=False):
        tables = [
            t
            for t in connection.introspection.django_table_names(include_views=False)
            if t not in KEPT_BY_FLUSH
        ]
        return connection.ops.sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )

    flush.sql_flush, flush.emit_post_migrate_signal = sql_flush, lambda *args, **kwargs: None
    assert original_sql_flush is sql.sql_flush  # the function this one narrows
    yield
    flush.sql_flush, flush.emit_post_migrate_signal = original_sql_flush, original_emit


@pytest.fixture(autouse=True)
def _prediction_log_off(settings):
    """In-process predictions are not logged unless a test turns the log on
    (tests/registry/monitoring/): its writer thread would write outside the test's
    transaction. Servers a test starts keep the default."""
    settings.MLSERVE_PREDICTION_LOG_RATE = 0.0


@pytest.fixture(autouse=True)
def _children_keep_cpu_priority(monkeypatch):
    """The worker's training children (run_worker, in this process) keep the test's CPU
    priority instead of lowering it to nice 19 in a session of their own (tasks._yield_cpu):
    next to busy processes (the other pytest workers of `-n auto`, other jobs on a shared
    machine or CI runner) such a child got a sliver of a core while its test waited, and a
    k-NN training of 5 s took over a minute. The test about the priority itself asks for
    children_yield_cpu; workers a test starts as processes keep the production code path."""
    from registry import tasks

    production = tasks._yield_cpu
    monkeypatch.setattr(tasks, "_yield_cpu", lambda: None)
    return production


@pytest.fixture
def children_yield_cpu(monkeypatch, _children_keep_cpu_priority):
    """Training children lower their CPU priority as in production (tasks._yield_cpu)."""
    from registry import tasks

    monkeypatch.setattr(tasks, "_yield_cpu", _children_keep_cpu_priority)


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("olivia", "olivia@example.com", "pw-olivia-123")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("oscar", "oscar@example.com", "pw-oscar-123")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("ada", "ada@example.com", "pw-ada-123")


def examples(count: int) -> int:
    """`count` property-test examples under the "ci" profile, proportionally fewer (at least
    five) under "fast"."""
    return max(5, count * settings.default.max_examples // 100) if count >= 5 else count


def full_search() -> bool:
    """Whether property tests search as deep as they can (the "ci" profile of `make test`),
    not the scaled-down search of the edit loop (`make test-fast`)."""
    return settings.default.max_examples >= 100


def demo_bytes(name: str) -> bytes:
    return (DEMO / name).read_bytes()


@pytest.fixture
def make_dataset(owner):
    from registry import services

    def make(name: str = "churn.csv", *, user=None, data: bytes | None = None, dataset_name=None):
        return services.dataset_create(
            owner=user or owner,
            data=data if data is not None else demo_bytes(name),
            name=dataset_name or name.removesuffix(".csv"),
        )

    return make


def run_worker() -> None:
    """Run every queued task with the real worker command, then return."""
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, verbosity=0, reload=False
    )


@pytest.fixture
def worker():
    return run_worker


@pytest.fixture
def churn_trained_by_worker(owner, make_dataset, worker):
    """A ready logistic regression on the demo churn data (model "churn", version 1), trained
    by the real worker: for the tests about training."""
    from registry import services
    from registry.models import ModelVersion

    services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=make_dataset("churn.csv"),
        algorithm="logistic_regression",
        target="churned",
    )
    worker()
    version = ModelVersion.objects.select_related("model").get(model__name="churn", version=1)
    assert version.status == "ready", version.error
    return version


# What a training writes on a version; the rest (its model, dataset, creator) is the test's own.
_NOT_TRAINED = {"id", "model_id", "dataset_id", "created_by_id", "created_at"}


@pytest.fixture(scope="session")
def trained_churn(django_db_setup, django_db_blocker) -> dict:
    """The fields of the demo churn logistic regression as training leaves them, trained once
    per session (by training.train in this process, in a rolled-back transaction) so that the
    tests that only need a ready model do not each train one."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from registry import services, training
    from registry.models import ModelVersion

    with django_db_blocker.unblock(), transaction.atomic():
        user = get_user_model().objects.create_user("churn-trainer")
        version = services.model_create_with_version(
            owner=user,
            name="churn",
            dataset=services.dataset_create(owner=user, data=demo_bytes("churn.csv"), name="churn"),
            algorithm="logistic_regression",
            target="churned",
        )
        assert training.train(version.pk) == ModelVersion.Status.READY
        fields = trained_fields(version)
        transaction.set_rollback(True)
    fields["attempts"] = 1  # the worker's one attempt
    return fields


def trained_fields(version) -> dict:
    """What training wrote on `version` (read back from the database), for install_trained."""
    from registry.models import ModelVersion

    version = ModelVersion.objects.get(pk=version.pk)
    fields = {
        f.attname: getattr(version, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in _NOT_TRAINED
    }
    fields["artifact"] = bytes(fields["artifact"])
    return fields


def install_trained(trained: dict, *, owner, dataset, name: str = "churn", description: str = ""):
    """Model `name` with version 1 ready from a session's training (`trained`), on the test's
    own dataset: the rows the worker would have left."""
    from registry import services
    from registry.models import Alias, ModelVersion

    model = services.model_create(owner=owner, name=name, description=description)
    version = ModelVersion.objects.create(
        **{
            **trained,
            "model": model,
            "dataset": dataset,
            "dataset_name": dataset.name,
            "dataset_sha256": dataset.sha256,
            "created_by": owner,
        }
    )
    # Trained "now", like a version the worker has just finished.
    moments = {"started_at": version.created_at, "finished_at": version.created_at}
    ModelVersion.objects.filter(pk=version.pk).update(**moments, heartbeat_at=version.created_at)
    # The model's first ready version is its production, as the worker leaves it.
    Alias.objects.create(model=model, name="production", version=version, updated_by=owner)
    return ModelVersion.objects.select_related("model").get(pk=version.pk)


# (dataset sha256, algorithm, target, spec) -> the fields its training wrote (train_once).
_TRAINED: dict[tuple, dict] = {}


def train_once(
    *, owner, dataset, name: str, algorithm: str, target: str | None, description="", **spec
):
    """Model `name` with version 1 trained by training.train in this process. Each distinct
    training runs once per session; later calls get its rows written back (install_trained)."""
    from registry import services, training
    from registry.models import ModelVersion

    key = (dataset.sha256, algorithm, target, repr(sorted(spec.items())))
    if key in _TRAINED:
        return install_trained(
            _TRAINED[key], owner=owner, dataset=dataset, name=name, description=description
        )
    version = services.model_create_with_version(
        owner=owner,
        name=name,
        description=description,
        dataset=dataset,
        algorithm=algorithm,
        target=target,
        **spec,
    )
    assert training.train(version.pk) == ModelVersion.Status.READY, version.error
    _TRAINED[key] = trained_fields(version)
    return ModelVersion.objects.select_related("model").get(pk=version.pk)


@pytest.fixture
def churn(owner, make_dataset, trained_churn):
    """A ready logistic regression on the demo churn data (model "churn", version 1), made
    from the session's one training (tests about training use churn_trained_by_worker)."""
    return install_trained(trained_churn, owner=owner, dataset=make_dataset("churn.csv"))


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, data=None, content_type="application/json", **extra):
        import json as _json

        kwargs = {"headers": {**self.headers, **extra.pop("headers", {})}, **extra}
        if data is not None:
            kwargs["data"] = (
                data
                if isinstance(data, (bytes, str)) or content_type is None
                else (_json.dumps(data))
            )
            if content_type is not None:
                kwargs["content_type"] = content_type
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, **extra):
        return self._call("get", path, **extra)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._call("put", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._call("patch", path, data, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, **extra)


@pytest.fixture
def owner_api(client, owner):
    from registry.tokens import token_create

    return ApiClient(client, token_create(user=owner, name="tests")[1])


@pytest.fixture
def other_api(owner, other):
    from django.test import Client

    from registry.tokens import token_create

    return ApiClient(Client(), token_create(user=other, name="tests")[1])


@pytest.fixture
def anon_api():
    from django.test import Client

    return ApiClient(Client(), None)


def without_ids(answer):
    """A prediction answer (a dict, or its JSON bytes) without its prediction ids, which
    every request gets anew: for comparing two answers."""
    if isinstance(answer, bytes):
        import re

        return re.sub(
            rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"<id>", answer
        )
    return {k: v for k, v in answer.items() if k not in ("prediction_id", "prediction_ids")}


def assert_problem(response, status: int, detail: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    if detail is not None:
        assert detail in body["detail"], body
    return body


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test starts with empty per-process caches (resolutions, tokens, pipelines, drift).

    In production they expire within a second; between tests an id reused by a reset
    database or a resolution cached by the previous test must not leak in.
    """
    from django.core.cache import cache

    from registry import serving, tokens

    serving.forget_resolutions()
    tokens.forget_tokens()
    serving.pipeline_cache().clear()
    cache.clear()  # drift reports (registry/monitoring/drift.py)


# Hostile-input fixtures (serving and system tests): a dataset, a ready model, and a token.
# The churn model comes from train_once, so later tests get the same version written back.


@dataclass(frozen=True)
class World:
    token: str
    dataset_id: int
    model: str = "churn"
    version: int = 1
    alias: str = "production"


def install_churn(owner, model: str = "churn") -> World:
    """churn.csv uploaded, `model` v1 (churn) ready with alias production, a bearer token."""
    from registry import services
    from registry.models import RegisteredModel
    from registry.tokens import token_create

    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    train_once(
        owner=owner, dataset=dataset, name=model, algorithm="logistic_regression", target="churned"
    )
    services.alias_move(
        model=RegisteredModel.objects.get(name=model),
        name="production",
        version_number=1,
        user=owner,
        via="api",
    )
    token = token_create(user=owner, name="hostile")[1]
    return World(token=token, dataset_id=dataset.pk, model=model)


@pytest.fixture
def world(db, owner) -> World:
    from registry import serving, tokens

    # This process's one-second caches may still name the last test's (deleted) rows.
    serving.forget_resolutions()
    tokens.forget_tokens()
    return install_churn(owner)


def registry_state() -> dict[str, list]:
    """What a write to the registry would change: its rows, statuses and alias targets."""
    from registry.models import Alias, Dataset, ModelVersion, RegisteredModel

    return {
        "datasets": list(Dataset.objects.order_by("pk").values_list("pk", "sha256")),
        "models": list(RegisteredModel.objects.order_by("pk").values_list("pk", "updated_at")),
        "versions": list(ModelVersion.objects.order_by("pk").values_list("pk", "status")),
        "aliases": list(Alias.objects.order_by("pk").values_list("pk", "version_id")),
    }
