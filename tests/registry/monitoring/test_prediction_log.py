"""The prediction log: what a request leaves, batching off the request path, sampling, row
caps, a full buffer, and predictions that keep working while the log's table is gone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection

from registry import serving
from registry.models import PredictionLog
from tests.conftest import assert_problem
from tests.registry.monitoring.conftest import CHURN_ROW, scrape, value

pytestmark = pytest.mark.django_db(transaction=True)

FLUSH_WAIT_S = 3.0  # the writer flushes every second


def wait_for_rows(n: int, timeout_s: float = FLUSH_WAIT_S) -> list[PredictionLog]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = list(PredictionLog.objects.order_by("id"))
        if len(rows) >= n:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"{len(rows)} log rows after {timeout_s} s, expected {n}")


def predict(api, rows, path="/models/churn/predict"):
    return api.post(path, {"instances": rows})


def test_requests_are_written_by_the_writer_thread_within_seconds(
    prediction_log, owner, owner_api, churn, client
):
    other_row = {**CHURN_ROW, "contract": "two-year", "monthly_charges": None}
    for _ in range(5):
        assert predict(owner_api, [CHURN_ROW, other_row]).status_code == 200
    assert_problem(predict(owner_api, [{"tenure_months": "many"}]), 422)
    client.force_login(owner)
    form = {f"f{i}": str(v) for i, v in enumerate(CHURN_ROW.values())}
    assert client.post("/models/churn/versions/1/predict/", form).status_code == 200

    started = time.monotonic()
    rows = wait_for_rows(7)  # no flush asked for: the thread writes them by itself
    print(f"\n7 requests in the log after {time.monotonic() - started:.2f} s")
    assert len(rows) == 7
    api_rows = [r for r in rows if r.source == "api" and r.status == 200]
    assert len(api_rows) == 5
    first = api_rows[0]
    assert first.version_id == churn.pk
    assert first.user_id == owner.pk
    assert first.n_rows == 2
    assert first.inputs == [
        {**CHURN_ROW, "tenure_months": 3.0, "support_calls": 4.0},
        {**other_row, "tenure_months": 3.0, "support_calls": 4.0},
    ]
    assert len(first.outputs["predictions"]) == 2
    assert first.outputs["predictions"][0] in churn.classes
    assert len(first.outputs["probabilities"]) == 2
    assert first.latency_ms > 0
    assert first.error == ""

    error = next(r for r in rows if r.status == 422)
    assert error.outputs is None
    assert "tenure_months" in error.error or "does not fit" in error.error
    page = next(r for r in rows if r.source == "page")
    assert page.status == 200
    assert page.n_rows == 1
    assert page.user_id == owner.pk
    assert page.inputs[0]["contract"] == "month-to-month"


def test_the_writer_writes_batches_not_rows(prediction_log, owner_api, churn, monkeypatch):
    batches = []
    write = prediction_log.write

    def spy(batch):
        batches.append(len(batch))
        write(batch)

    monkeypatch.setattr(prediction_log, "write", spy)
    for _ in range(30):
        assert predict(owner_api, [CHURN_ROW]).status_code == 200
    wait_for_rows(30)
    print(f"\n30 requests written in batches of {batches}")
    assert sum(batches) == 30
    assert len(batches) <= 3  # 30 requests take well under the 1 s between flushes

    # A backlog goes out in batches of BATCH_SIZE.
    served = serving.resolve("churn", version=1)
    table = serving.rows_to_table(served, [CHURN_ROW])
    result = serving.predict_table(served, table)
    writer = prediction_log.writer()
    batches.clear()
    with writer.flushing:  # hold the thread off while the backlog builds
        for _ in range(1200):
            prediction_log.record(
                served,
                user_id=None,
                source="api",
                status=200,
                latency_ms=1.0,
                n_rows=1,
                table=table,
                result=result,
            )
    wait_for_rows(1230)
    assert batches == [prediction_log.BATCH_SIZE, 1200 - prediction_log.BATCH_SIZE]


def test_text_needing_escapes_is_written_back_unchanged(prediction_log, owner, churn):
    # PostgreSQL gets the rows as COPY text, where a tab, a newline and a backslash are
    # syntax: a category or an error message holding them must come back as it was.
    tricky = 'tab\there\nnew line \\ back\\slash "quoted" \\N caf\u00e9 \u2028'
    table = {"contract": np.array([tricky], dtype=object), "tenure_months": np.array([1.5])}
    result = {"predictions": [tricky], "probabilities": np.array([[0.25, 0.75]])}
    served = serving.resolve("churn")
    prediction_log.record(
        served, user_id=None, source="api", status=200, latency_ms=1.5, n_rows=1,
        table=table, result=result,
    )  # fmt: skip
    prediction_log.record(
        served, user_id=owner.pk, source="api", status=422, latency_ms=0.25, n_rows=1,
        table=table, result=None, error=f"bad\t{tricky}",
    )  # fmt: skip
    prediction_log.writer().flush()
    ok, failed = PredictionLog.objects.order_by("id")
    assert ok.user_id is None
    assert ok.inputs == [{"contract": tricky, "tenure_months": 1.5}]
    assert ok.outputs == {"predictions": [tricky], "probabilities": [[0.25, 0.75]]}
    assert ok.error == ""
    assert (failed.user_id, failed.status, failed.outputs) == (owner.pk, 422, None)
    assert failed.error == f"bad\t{tricky}"
    assert failed.latency_ms == 0.25


def test_a_rate_of_zero_records_nothing(prediction_log, settings, owner_api, churn):
    settings.MLSERVE_PREDICTION_LOG_RATE = 0.0
    for _ in range(5):
        assert predict(owner_api, [CHURN_ROW]).status_code == 200
    assert prediction_log.writer().flush() == 0
    assert prediction_log.writer().thread is None  # never even started
    time.sleep(1.5)
    assert PredictionLog.objects.count() == 0


def test_a_rate_below_one_samples_requests(prediction_log, settings, churn):
    settings.MLSERVE_PREDICTION_LOG_RATE = 0.25
    served = serving.resolve("churn", version=1)
    for _ in range(4000):
        prediction_log.record(
            served,
            user_id=None,
            source="api",
            status=200,
            latency_ms=1.0,
            n_rows=0,
            table=None,
            result=None,
        )
    prediction_log.writer().flush()
    logged = PredictionLog.objects.count()
    print(f"\nrate 0.25: {logged} of 4000 requests logged")
    assert 800 <= logged <= 1200  # 1000 expected; the standard deviation is 27


def test_only_the_first_max_rows_of_a_request_are_kept(prediction_log, settings, owner_api, churn):
    settings.MLSERVE_PREDICTION_LOG_MAX_ROWS = 3
    rows = [{**CHURN_ROW, "tenure_months": i} for i in range(10)]
    assert predict(owner_api, rows).status_code == 200
    (row,) = wait_for_rows(1)
    assert row.n_rows == 10
    assert [r["tenure_months"] for r in row.inputs] == [0.0, 1.0, 2.0]
    assert len(row.outputs["predictions"]) == 3
    assert len(row.outputs["probabilities"]) == 3


def test_a_full_buffer_drops_new_requests_and_counts_them(
    prediction_log, settings, client, owner_api, churn
):
    settings.MLSERVE_PREDICTION_LOG_BUFFER = 5
    prediction_log.reset_writer()  # takes the new capacity
    writer = prediction_log.writer()
    before = scrape(client)
    with writer.flushing:  # the writer falls behind (a slow database)
        for _ in range(8):
            assert predict(owner_api, [CHURN_ROW]).status_code == 200
    after = scrape(client)
    dropped = value(after, "mlserve_prediction_log_dropped_total", reason="buffer_full") - value(
        before, "mlserve_prediction_log_dropped_total", reason="buffer_full"
    )
    assert dropped == 3
    assert len(wait_for_rows(5)) == 5


def test_a_waiting_entry_is_left_alone_by_the_garbage_collector(prediction_log, owner_api, churn):
    """An entry holds only numbers, strings and None: the collector stops tracking it at its
    first pass, so the thousand entries waiting for the writer are never promoted to its old
    generations, which would make it walk the worker's whole heap every few thousand
    requests (benchmarks/README.md)."""
    import gc
    import uuid

    writer = prediction_log.writer()
    with writer.flushing:  # the entry stays in the buffer
        answer = predict(owner_api, [CHURN_ROW])
        assert answer.status_code == 200
        entry = writer.entries[-1]
        gc.collect()
        assert not gc.is_tracked(entry)
    assert uuid.UUID(entry[-1]) == uuid.UUID(answer.json()["prediction_id"])
    row = wait_for_rows(1)[-1]
    assert str(row.request_id) == answer.json()["prediction_id"]


def test_predictions_succeed_while_the_log_table_is_unavailable(
    prediction_log, client, owner, owner_api, churn, caplog
):
    """The table renamed away under the running server: every prediction still succeeds,
    the writer logs and counts its failed batches, survives, and writes again once the
    table is back."""
    table = PredictionLog._meta.db_table
    quote = connection.ops.quote_name
    before = scrape(client)
    client.force_login(owner)
    form = {f"f{i}": str(v) for i, v in enumerate(CHURN_ROW.values())}
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_away')}")
    try:
        for i in range(6):
            assert predict(owner_api, [CHURN_ROW]).status_code == 200
            assert client.post("/models/churn/versions/1/predict/", form).status_code == 200
            if i == 2:
                time.sleep(1.2)  # let the writer try (and fail) between requests
        writer = prediction_log.writer()
        deadline = time.monotonic() + FLUSH_WAIT_S
        while writer.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.failures >= 2, "the writer never tried to write"
        assert writer.thread.is_alive()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {quote(table + '_away')} RENAME TO {quote(table)}")
    after = scrape(client)
    failed = value(after, "mlserve_prediction_log_dropped_total", reason="write_error") - value(
        before, "mlserve_prediction_log_dropped_total", reason="write_error"
    )
    assert 1 <= failed <= 12
    assert "could not be written and was dropped" in caplog.text
    print(f"\ntable away: 12 predictions answered 200, {failed} log rows dropped")
    # The same thread writes again once the table is back.
    thread = writer.thread
    assert predict(owner_api, [CHURN_ROW]).status_code == 200
    rows = wait_for_rows(1)
    assert writer.thread is thread
    assert thread.is_alive()
    assert rows[-1].status == 200


def logged_bytes(row_id: int) -> int:
    """What the database holds for one log row's inputs and outputs, in bytes."""
    size = "pg_column_size" if connection.vendor == "postgresql" else "length"
    table = connection.ops.quote_name(PredictionLog._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE({size}(inputs), 0) + COALESCE({size}(outputs), 0) "  # noqa: S608
            f"FROM {table} WHERE id = %s",
            [row_id],
        )
        return cursor.fetchone()[0]


def test_it_bounds_the_bytes_logged_for_a_request_with_a_huge_string(
    prediction_log, settings, owner_api, churn
):
    settings.MLSERVE_PREDICTION_LOG_MAX_BYTES = 16_384
    huge = "x" * 4_000_000  # a 4 MB category value: stored whole before the bound
    assert predict(owner_api, [{**CHURN_ROW, "contract": huge}, CHURN_ROW]).status_code == 200
    (row,) = wait_for_rows(1)
    stored = logged_bytes(row.pk)
    print(f"\na 4 MB category value: {stored} bytes logged (bound 16384)")
    assert stored <= settings.MLSERVE_PREDICTION_LOG_MAX_BYTES
    assert row.n_rows == 2
    clipped = row.inputs[0]["contract"]
    limit = prediction_log.STRING_MAX
    assert clipped == "x" * limit + f"…[truncated {len(huge) - limit} chars]"
    assert row.inputs[1] == {**CHURN_ROW, "tenure_months": 3.0, "support_calls": 4.0}
    assert len(row.outputs["predictions"]) == 2


def test_it_keeps_only_the_rows_of_a_request_that_fit_the_byte_bound(
    prediction_log, settings, client, owner_api, churn
):
    settings.MLSERVE_PREDICTION_LOG_MAX_BYTES = 16_384
    before = scrape(client)
    # 100 rows of about 300 bytes each (long enough to stay whole, 30 KB in all).
    rows = [{**CHURN_ROW, "contract": f"{i:03d}" + "c" * 250} for i in range(100)]
    assert predict(owner_api, rows).status_code == 200
    (row,) = wait_for_rows(1)
    stored = logged_bytes(row.pk)
    kept = len(row.inputs)
    print(f"\n100 rows of 300 bytes: {kept} kept, {stored} bytes logged (bound 16384)")
    assert stored <= settings.MLSERVE_PREDICTION_LOG_MAX_BYTES
    assert row.n_rows == 100
    assert 20 <= kept < 100
    assert [r["contract"] for r in row.inputs] == [r["contract"] for r in rows[:kept]]
    assert len(row.outputs["predictions"]) == len(row.outputs["probabilities"]) == kept
    skipped = value(scrape(client), "mlserve_prediction_log_rows_skipped_total") - value(
        before, "mlserve_prediction_log_rows_skipped_total"
    )
    assert skipped == 100 - kept


def test_it_stores_the_other_rows_of_a_batch_holding_a_nul(prediction_log, owner, other, churn):
    # PostgreSQL's jsonb and text refuse a NUL: one such request used to cost its whole
    # batch, other users' rows included. A NUL is logged as U+FFFD.
    served = serving.resolve("churn")

    def table(contract: str, tenure: float) -> dict[str, np.ndarray]:
        return {"contract": np.array([contract], dtype=object), "tenure_months": np.array([tenure])}

    good, bad = table("month-to-month", 1.0), table("a\x00b", 2.0)
    writer = prediction_log.writer()
    with writer.flushing:  # one batch
        for i in range(21):
            prediction_log.record(
                served, user_id=owner.pk if i == 10 else other.pk, source="api",
                status=200 if i != 10 else 422, latency_ms=1.0, n_rows=1,
                table=bad if i == 10 else good, result=None,
                error="unknown value 'a\x00b'" if i == 10 else "",
            )  # fmt: skip
    writer.flush()
    rows = list(PredictionLog.objects.order_by("id"))
    assert len(rows) == 21
    assert [r.user_id for r in rows].count(other.pk) == 20
    nul = rows[10]
    assert nul.inputs == [{"contract": "a\ufffdb", "tenure_months": 2.0}]
    assert nul.error == "unknown value 'a\ufffdb'"


@pytest.mark.parametrize(
    "bad_row",
    [
        # A negative status breaks a CHECK constraint, on SQLite and PostgreSQL alike.
        pytest.param({"status": -1}, id="check-constraint"),
        # A NUL that got past record() (PostgreSQL's jsonb and text refuse it).
        pytest.param(
            {"inputs": '[{"contract": "a\\u0000b"}]', "error": "a\x00b"},
            id="nul",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite stores a NUL"),
            ],
        ),
    ],
)
def test_it_writes_a_refused_batch_again_so_a_bad_row_loses_only_itself(
    prediction_log, client, other, churn, bad_row
):
    # Two rows the database refuses among good ones of another user.
    writer = prediction_log.writer()
    before = scrape(client)
    now = time.time()
    good = (
        now,
        churn.pk,
        other.pk,
        "api",
        200,
        1.0,
        1,
        '[{"contract": "x"}]',
        None,
        "",
        "champion",
        None,
    )
    fields = {"status": 200, "inputs": None, "error": "", **bad_row}
    bad = (now, churn.pk, None, "api", fields["status"], 1.0, 1, fields["inputs"], None,
           fields["error"], "champion", None)  # fmt: skip
    with writer.flushing:
        for i in range(40):
            writer.add(bad if i in (7, 30) else good)
    assert writer.flush() == 38
    assert PredictionLog.objects.filter(user_id=other.pk).count() == 38
    assert PredictionLog.objects.count() == 38
    after = scrape(client)
    for name, expected in [
        ("mlserve_prediction_log_dropped_total", 2),
        ("mlserve_prediction_log_written_total", 38),
    ]:
        labels = {"reason": "write_error"} if "dropped" in name else {}
        assert value(after, name, **labels) - value(before, name, **labels) == expected
    assert writer.failures == 2


def _stored(column: str) -> list[str]:
    """The text the database holds in a log column, as written (no field decoding)."""
    table = connection.ops.quote_name(PredictionLog._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_it_stores_a_requests_rows_by_column_and_reads_them_back_as_rows(
    prediction_log, owner_api, churn
):
    # Each feature's name once per request, not once per row: a 100-row request's inputs
    # were 4x the text (and PostgreSQL parsed them into jsonb) before.
    rows = [{**CHURN_ROW, "tenure_months": float(i)} for i in range(3)]
    assert predict(owner_api, rows).status_code == 200
    prediction_log.writer().flush()
    [logged] = PredictionLog.objects.all()
    assert [r["tenure_months"] for r in logged.inputs] == [0.0, 1.0, 2.0]
    assert set(logged.inputs[0]) == set(CHURN_ROW)
    [inputs] = _stored("inputs")
    assert isinstance(inputs, str)  # text, not a jsonb value psycopg would have decoded
    stored = json.loads(inputs)
    assert stored["tenure_months"] == [0.0, 1.0, 2.0]
    assert stored["contract"] == [CHURN_ROW["contract"]] * 3
    assert len(inputs) < len(json.dumps(logged.inputs)) * 0.7


def test_rows_logged_one_per_row_before_stay_readable(prediction_log, churn):
    # Rows written before the log stored by column ([{name: value}, ...]) read as they were,
    # and rows with different names are stored as they are.
    now = datetime.now(tz=UTC)
    old = PredictionLog.objects.create(
        version=churn, created_at=now, source="api", status=200, latency_ms=1.0, n_rows=2,
        inputs=[{"contract": "x"}, {"tenure_months": 2.0}], outputs={"predictions": ["a", "b"]},
    )  # fmt: skip
    table = connection.ops.quote_name(PredictionLog._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET inputs = %s WHERE id = %s",  # noqa: S608
            ['[{"contract": "y", "tenure_months": 1.5}]', old.pk],
        )
    old.refresh_from_db()
    assert old.inputs == [{"contract": "y", "tenure_months": 1.5}]
    assert old.outputs == {"predictions": ["a", "b"]}
    mixed = PredictionLog.objects.create(
        version=churn, created_at=now, source="api", status=200, latency_ms=1.0, n_rows=2,
        inputs=[{"contract": "x"}, {"tenure_months": 2.0}],
    )  # fmt: skip
    mixed.refresh_from_db()
    assert mixed.inputs == [{"contract": "x"}, {"tenure_months": 2.0}]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's column storage")
def test_postgresql_keeps_the_log_as_text_compressed_with_lz4(prediction_log):
    # jsonb parsing and pglz compressing a 100-row request's inputs and outputs cost the
    # database more CPU than the rest of its write (benchmarks/README.md).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attcompression "
            "FROM pg_attribute a WHERE a.attrelid = %s::regclass "
            "AND a.attname IN ('inputs', 'outputs') ORDER BY a.attname",
            [PredictionLog._meta.db_table],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        has_lz4 = cursor.fetchone()[0]
    expected = "l" if has_lz4 else ""
    assert columns == [("inputs", "text", expected), ("outputs", "text", expected)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b" * 256], False),
        (["a", "b" * 257], True),
        (["a", "b\x00"], True),
        (["a", 1, "b" * 300], True),
        ([1, 2.5, None], False),
        (["x" * 300, 1], True),
        ([["c"] * 300, "a"], False),
        ([True, "a\x00"], True),
        ([], False),
        (np.array(["a", "b" * 300], dtype=object), True),
        (np.array(["a", "b"], dtype=object), False),
        (np.array([1.0, 2.0]), False),
    ],
)
def test_the_clip_check_finds_every_long_string_and_nul(prediction_log, values, expected):
    # Lists of strings only are measured in C; any other list value by value.
    assert prediction_log._needs_clip(values) is expected
