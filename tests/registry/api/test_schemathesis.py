"""schemathesis against /api/v1/openapi.json: every operation, then linked call sequences.

In process (the WSGI app, no server), with a valid bearer token, on a database holding a
dataset and a model trained by the real worker. Every operation gets MAX_EXAMPLES fuzzed
cases plus schemathesis' coverage cases (boundaries, wrong types, missing fields, other
methods; `make test` only, not the edit loop's `make test-fast`), derandomized so CI runs
the same cases; then STATEFUL_SCENARIOS scenarios follow the document's links. Checks: all
of them, as `schemathesis run --checks all` with the project's schemathesis.toml: no 5xx,
documented status codes, content types, headers and response schemas, schema-valid
requests accepted and schema-invalid ones refused, auth enforced, other methods refused;
along links, created resources readable and deleted ones gone. HOSTILE_MAX_EXAMPLES=300
runs a deeper search locally.

A hook aims positive cases (never negative ones) at the real model and dataset and offers
realistic bodies (a valid CSV, a valid training request, rows that fit the model, a real
export file) next to the random ones, so operations get past their 404s and 422s.
Versions created during a run stay queued (no worker runs: a training costs seconds), so
predicting with them answers the documented 409; the trained model serves the 200s.
"""

import contextlib
import copy
import os
import zlib
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition

from mlsite.wsgi import application
from registry import csvio, serving, tokens
from registry.models import Dataset
from tests.conftest import demo_bytes, examples, full_search
from tests.helpers import ROOT
from tests.registry.boards import finish, make_board

pytestmark = pytest.mark.django_db(transaction=True)

STATEFUL_SCENARIOS = examples(40)
MAX_EXAMPLES = examples(int(os.environ.get("HOSTILE_MAX_EXAMPLES", "30")))
ROW = [3, 95.0, "month-to-month", "fiber", 4]
NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]

# The project's schemathesis.toml: the same settings as `schemathesis run --checks all`.
CONFIG = schemathesis.config.SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
schema.config.checks.update(included_check_names=["all"])  # --checks all
# The coverage phase's cases (about 50 per operation: every boundary, wrong type, missing
# field and other method) are five sixths of the calls: the gate runs them, the edit loop
# (`make test-fast`) keeps the fuzzed cases only.
schema.config.phases.coverage.enabled = full_search()
# Export files (POST .../import) are bytes: send them as bytes, like octet-stream.
schemathesis.serializer.alias(
    ["application/zip", "application/x-zip-compressed"], "application/octet-stream"
)
schemathesis.serializer.alias(["application/csv"], "text/plain")  # a CSV upload is text

CURRENT: dict = {}  # the running test's world: schemathesis hooks are module-wide
STATUSES: dict[str, Counter] = defaultdict(Counter)
LINKS_FOLLOWED: Counter = Counter()


@schema.hook
def flatmap_case(context, case):
    # Random names almost never exist: half the time, aim at the real model and dataset and
    # offer realistic bodies, so operations get past their 404s. Only for positive cases: a
    # negative case must reach the server as invalid as schemathesis made it.
    if case.meta is None or case.meta.generation.mode.is_negative:
        return st.just(case)
    real = {k: CURRENT[k] for k in case.path_parameters or {} if k in CURRENT}
    aimed = {"path_parameters": {**case.path_parameters, **real}}
    if case.operation.path.endswith(("/predict", "/invocations")):
        aimed["query"] = {}  # ?version= or ?alias= would hide the served version behind a 404
    variants = [case, _variant(case, **aimed)]
    for body in _realistic_bodies(case.operation, case.body):
        variants.append(_variant(case, **aimed, body=body))
    return st.sampled_from(variants)


def _variant(case, **containers):
    """`case` with other (valid) containers, still the positive case it was generated as."""
    variant = case.derive(keep_auth=True)
    object.__setattr__(variant, "_meta", copy.deepcopy(case.meta))  # its own, not shared
    for name, value in containers.items():
        setattr(variant, name, value)
    # schemathesis would re-judge the edited parts, and it judges any body holding bytes
    # (a CSV file, an export) invalid: these values are the case as generated instead.
    variant._record_starting_state()
    return variant


@schema.hook
def after_call(context, case, response):
    STATUSES[case.operation.label][response.status_code] += 1


def _realistic_bodies(operation, body) -> list:
    path, method = operation.path, operation.method.upper()
    if method == "POST" and path.endswith("/predict"):
        return [
            {"instances": [ROW]},
            {"dataframe_split": {"columns": NAMES, "data": [ROW, ROW]}},
            {"inputs": [dict(zip(NAMES, ROW, strict=True))]},
        ]
    if method == "POST" and path.endswith("/invocations"):  # MLflow's client's bodies
        return [
            {"dataframe_split": {"index": [0, 1], "columns": NAMES, "data": [ROW, ROW]}},
            {"dataframe_records": [dict(zip(NAMES, ROW, strict=True))], "params": {"k": 1}},
        ]
    if method == "POST" and path in ("/api/v1/models", "/api/v1/models/{name}/versions"):
        training = {
            "dataset": CURRENT["dataset_id"],
            "algorithm": "logistic_regression",
            "target": "churned",
        }
        if path.endswith("/versions"):
            return [training]
        name = f"fuzz-{zlib.crc32(repr(body).encode())}"  # a new model, the same every run
        return [{**training, "name": name}]
    if method == "POST" and path == "/api/v1/leaderboards":
        small = {"folds": 2, "search": {"n_iter": 0}, "algorithms": ["gaussian_nb"]}
        return [{"dataset": CURRENT["dataset_id"], "target": "churned", **small}]
    if method == "POST" and path.endswith("/register"):
        return [{"model": f"fuzz-{zlib.crc32(repr(body).encode())}"}, {"model": CURRENT["name"]}]
    if method == "POST" and path.endswith("/batch-jobs"):
        if isinstance(body, dict) and "file" in body:
            return [{"file": demo_bytes("churn.csv")}]
        return [{"dataset": CURRENT["dataset_id"]}]
    if method == "POST" and path == "/api/v1/datasets":
        if isinstance(body, dict):
            return [{**body, "file": demo_bytes("churn.csv")}]
        if isinstance(body, str):
            return [demo_bytes("churn.csv").decode()]
    if method == "PATCH" and path.startswith("/api/v1/models/"):
        return [{"description": "Scored nightly", "tags": {"team": "fuzz", "gone": None}}]
    if method == "PUT" and path.endswith("/threshold"):
        return [{"threshold": 0.4}, {"threshold": None}]
    if method == "PUT" and path.endswith("/visibility"):
        return [{"visibility": "private"}, {"visibility": "public"}]
    if method == "PUT" and isinstance(body, dict):
        return [{"version": CURRENT["version"]}]
    if method == "POST" and path == "/api/v1/webhooks":
        # A public address literal: no name to resolve, and no worker runs to send anything.
        return [{"url": "https://1.1.1.1/hooks/mlserve"}]
    if method == "POST" and path.endswith("/alert_rules"):
        return [{"kind": "error_rate", "params": {"percent": 5}}, {"kind": "drift"}]
    if path.endswith("/import"):  # a real export file of the served version
        return [{"file": CURRENT["export"]} if isinstance(body, dict) else CURRENT["export"]]
    return []


@pytest.fixture
def api_world(world, client):
    export = client.get(
        f"/api/v1/models/{world.model}/versions/{world.version}/export",
        headers={"Authorization": f"Bearer {world.token}"},
    )
    assert export.status_code == 200, export.content[:300]
    # A leaderboard on the dataset with its trials scored (no worker runs here).
    board = finish(
        make_board(
            Dataset.objects.get(pk=world.dataset_id).owner, Dataset.objects.get(pk=world.dataset_id)
        )
    )
    CURRENT.update(
        board_id=board.pk,
        export=export.content,
        name=world.model,
        version=world.version,
        alias=world.alias,
        dataset_id=world.dataset_id,
    )
    yield world
    CURRENT.clear()


@pytest.fixture(scope="module", autouse=True)
def _print_statuses():
    yield
    print("\nschemathesis: responses per operation (status: count)")
    for label, counts in sorted(STATUSES.items()):
        print(f"  {label}: {dict(sorted(counts.items()))}")
    calls = sum(sum(c.values()) for c in STATUSES.values())
    print(f"schemathesis, every check: {calls} calls to {len(STATUSES)} operations")
    print("schemathesis stateful: calls made through a link (status: count)")
    for (label, status), count in sorted(LINKS_FOLLOWED.items()):
        print(f"  {label} {status}: {count}")


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_it_answers_every_operation_as_documented(case, api_world):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_world.token}"})


def test_it_follows_the_links_between_operations(api_world):
    """Scenarios chain calls along the document's links (explicit and inferred): upload ->
    get / train, train -> get version / predict, list -> get / delete..."""
    auth = {"Authorization": f"Bearer {api_world.token}"}

    class Workflow(schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the same database: one that ran before must not turn
            # the next one's 202 into a 409 (hypothesis sees the same steps take other links
            # and stops with FlakyStrategyDefinition).
            self.scenario = transaction.atomic()
            self.scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)
            serving.forget_resolutions()
            tokens.forget_tokens()

        def get_call_kwargs(self, case):
            return {"headers": auth}  # sent as given, so ignored_auth knows it is valid

        def step(self, input):
            output = super().step(input)
            if input.transition is not None and input.is_applied:  # values from a link
                LINKS_FOLLOWED[input.case.operation.label, output.response.status_code] += 1
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, headers=auth, transport_kwargs=kwargs)

    scenarios = settings(
        Workflow.TestCase.settings,
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=6,
        derandomize=True,
        deadline=None,
        # No shrinking: a failing scenario is reported as found, and nothing outside the
        # database (the per-process caches' one second) can make a replay take other links.
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    # Every module the views import lazily, imported now (see the FlakyStrategyDefinition
    # note below): pyarrow's CSV reader and the paths of csvio that call into it.
    for text in ("a,b\n1,x\n2,y\n", 'a,b\n"1",2024-01-01\n2,true\n', "a,b\n1\n"):
        with contextlib.suppress(csvio.CSVError):
            csvio.parse_csv(text.encode())
    # The WSGI handler closes the connection around each request when it is not in
    # autocommit (Django's test client disconnects this too): the scenario's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        run_sessions(Workflow, scenarios)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert sum(LINKS_FOLLOWED.values()) > 0, "no scenario followed a link"


def run_sessions(Workflow, scenarios) -> None:
    for session in range(3):
        try:
            Workflow.run(settings=scenarios)
            break
        except FlakyStrategyDefinition:
            # Hypothesis reloads its pool of constants when a module is first imported
            # mid-run (a lazy import in a view): a replayed scenario then draws differently.
            # schemathesis' own runner starts a fresh session then; so do we.
            if session == 2:
                raise
