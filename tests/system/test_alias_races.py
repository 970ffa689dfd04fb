"""An alias move racing the delete of its version (or of its model): each side gets one
clear answer (200/204, or 409 problem+json), never a 500, and the database stays whole.

The concurrent test runs two requests at once from two threads, each with its own
database connection (PostgreSQL in CI: `DATABASE_URL=postgres://... pytest`). The
deterministic tests make the other request's write land exactly between a request's
check and its write, through a hook on the request's own connection.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from registry import services
from registry.models import Alias, ModelVersion, RegisteredModel
from registry.tokens import token_create
from tests.conftest import ApiClient, assert_problem
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 40


def _api(user) -> ApiClient:
    # An unhandled exception is answered as in production (handler500), not raised.
    return ApiClient(Client(raise_request_exception=False), token_create(user=user, name="t")[1])


def _at_once(*calls: Callable[[], object]) -> list:
    """Run the calls in threads released together; each thread closes its connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _assert_answer(response, ok: int, *refusals: int) -> None:
    """`ok`, or one of the refusals as problem+json (never a 500)."""
    if response.status_code != ok:
        assert response.status_code in refusals, response.content
        assert_problem(response, response.status_code)


def _assert_whole() -> None:
    """Every alias points at a version of its own model that exists."""
    for alias in Alias.objects.select_related("version"):
        assert alias.version.model_id == alias.model_id


@pytest.mark.parametrize("deleted", ["version", "model"])
def test_it_answers_a_move_racing_a_delete_with_409_not_500(owner, deleted):
    mover, deleter = _api(owner), _api(owner)
    outcomes: Counter = Counter()
    answers = []
    for n in range(ROUNDS):
        model = RegisteredModel.objects.create(name=f"race-{n}", owner=owner)
        make_version(model, 1)
        delete_path = f"/models/race-{n}" + ("/versions/1" if deleted == "version" else "")
        moved, removed = _at_once(
            lambda n=n: mover.put(f"/models/race-{n}/aliases/production", {"version": 1}),
            lambda path=delete_path: deleter.delete(path),
        )
        outcomes[moved.status_code, removed.status_code] += 1
        answers.append((n, moved, removed))
    print(f"\n{connection.vendor}, delete the {deleted} vs move its alias, (move, delete):")
    print(f"  {dict(sorted(outcomes.items()))} in {ROUNDS} rounds")
    for n, moved, removed in answers:
        _assert_answer(moved, 200, 404, 409)  # 404: deleted before the move began
        _assert_answer(removed, 204, 409)
        version = ModelVersion.objects.filter(model__name=f"race-{n}", version=1).first()
        alias = Alias.objects.filter(model__name=f"race-{n}").first()
        if removed.status_code == 204:
            assert version is None
            assert alias is None
        else:  # the alias won: it holds the version
            assert moved.status_code == 200
            assert alias.version == version
    _assert_whole()


class _After:
    """Runs `act` once, right after the first query of this connection that matches."""

    def __init__(self, matches: Callable[[str], bool], act: Callable[[], None]) -> None:
        self.matches, self.act, self.done = matches, act, False

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.done and self.matches(sql):
            self.done = True
            self.act()
        return result


def _elsewhere(write: Callable[[], None]) -> Callable[[], None]:
    """`write` as another request would do it: its own thread and connection, committed."""

    def act() -> None:
        thread = threading.Thread(target=lambda: (write(), connection.close()))
        thread.start()
        thread.join()

    return act


def test_a_version_deleted_between_the_check_and_the_move_gives_409(owner):
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    version = make_version(model, 1)
    reads_version = _After(
        lambda sql: sql.startswith("SELECT") and '"registry_modelversion"' in sql,
        _elsewhere(lambda: ModelVersion.objects.filter(pk=version.pk).delete()),
    )
    api = _api(owner)
    with connection.execute_wrapper(reads_version):
        response = api.put("/models/churn/aliases/production", {"version": 1})
    assert reads_version.done
    print(f"\nmove after its version was deleted: {response.status_code}")
    assert_problem(response, 409, "deleted")
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
    assert not Alias.objects.exists()


class _Before(_After):
    """Runs `act` once, right before the first query of this connection that matches."""

    def __call__(self, execute, sql, params, many, context):
        if not self.done and self.matches(sql):
            self.done = True
            self.act()
        return execute(sql, params, many, context)


@pytest.mark.parametrize("canary", [False, True])
def test_a_model_deleted_right_after_the_move_committed_is_no_500(owner, canary):
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    make_version(model, 1)
    make_version(model, 2)
    # The answer reads the moved alias back after the move's transaction committed: the
    # model's delete lands just before that read.
    reads_back = _Before(
        lambda sql: (
            not connection.in_atomic_block
            and sql.startswith("SELECT")
            and '"registry_alias"' in sql
            and "JOIN" in sql
        ),
        _elsewhere(lambda: services.model_delete(model=model, user=owner)),
    )
    body = {"version": 1, "canary": {"version": 2, "percent": 10}} if canary else {"version": 1}
    with connection.execute_wrapper(reads_back):
        response = _api(owner).put("/models/churn/aliases/production", body)
    assert reads_back.done
    print(f"\nmodel deleted after the move committed: {response.status_code}")
    assert_problem(response, 409, "deleted")
    assert not RegisteredModel.objects.exists()


def test_an_alias_set_between_the_check_and_the_delete_gives_409(owner):
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    version = make_version(model, 1)
    # The alias appears on the delete's own connection (a second connection would wait
    # for the row lock the delete now holds: that is the fix).
    checks_aliases = _After(
        lambda sql: sql.startswith("SELECT") and '"registry_alias"' in sql,
        lambda: Alias.objects.create(model=model, name="production", version=version),
    )
    api = _api(owner)
    with connection.execute_wrapper(checks_aliases):
        response = api.delete("/models/churn/versions/1")
    assert checks_aliases.done
    print(f"\ndelete after an alias was set on its version: {response.status_code}")
    assert_problem(response, 409, "alias")
    assert ModelVersion.objects.filter(pk=version.pk).exists()
    _assert_whole()


def test_the_pages_explain_a_lost_race_instead_of_a_500(owner):
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    version = make_version(model, 1)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    reads_version = _After(
        lambda sql: sql.startswith("SELECT") and '"registry_modelversion"' in sql,
        _elsewhere(lambda: ModelVersion.objects.filter(pk=version.pk).delete()),
    )
    with connection.execute_wrapper(reads_version):
        response = client.post(
            "/models/churn/aliases/", {"alias": "production", "version": 1, "action": "move"}
        )
    print(f"\npage: move after its version was deleted: {response.status_code}")
    assert response.status_code in (200, 409)
    assert "was deleted" in response.content.decode()
    assert not Alias.objects.exists()


def test_an_unforeseen_integrity_error_is_a_409_on_the_api_and_the_pages(owner, monkeypatch):
    from django.db import IntegrityError

    def lost_race(**kwargs):
        raise IntegrityError('insert or update violates foreign key constraint "secret_fk"')

    monkeypatch.setattr(services, "alias_delete", lost_race)
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    model.aliases.create(name="production", version=make_version(model, 1))
    body = assert_problem(_api(owner).delete("/models/churn/aliases/production"), 409)
    assert "secret_fk" not in body["detail"]
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    page = client.post(
        "/models/churn/aliases/", {"alias": "production", "version": 1, "action": "remove"}
    )
    print(f"\nan IntegrityError: API {body['status']}, page {page.status_code}")
    assert page.status_code == 409
    assert "at the same time" in page.content.decode()
    assert "secret_fk" not in page.content.decode()


def test_concurrent_moves_and_rollbacks_leave_a_history_without_gaps(owner):
    """Each recorded change starts where the one before it ended, and the last one ends
    where the alias points: the alias row is locked while its change is recorded."""
    from registry.models import AuditEntry

    apis = [_api(owner) for _ in range(4)]
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    for number in (1, 2, 3):
        make_version(model, number)
    path = "/models/churn/aliases/production"
    for n in range(ROUNDS // 2):
        answers = _at_once(
            lambda n=n: apis[0].put(path, {"version": 1 + n % 3}),
            lambda n=n: apis[1].put(path, {"version": 1 + (n + 1) % 3}),
            lambda: apis[2].post(path + "/rollback"),
            lambda n=n: apis[3].put(path, {"version": 1 + (n + 2) % 3}),
        )
        for response in answers[:2] + answers[3:]:
            _assert_answer(response, 200, 409)
        _assert_answer(answers[2], 200, 404, 409)
    entries = list(AuditEntry.objects.order_by("created_at", "id"))
    assert len(entries) >= ROUNDS // 2
    for earlier, later in itertools.pairwise(entries):
        assert later.before["version"] == earlier.after["version"], (earlier.pk, later.pk)
    assert entries[-1].after["version"] == model.aliases.get().version.version
