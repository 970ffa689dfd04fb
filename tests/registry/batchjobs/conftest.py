"""A ready churn model and CSV files of its rows, for the batch job tests."""

import csv
import io

import pytest

from tests.conftest import demo_bytes


def churn_csv(n_rows: int, *, with_id: bool = True) -> bytes:
    """n_rows rows of the demo churn file (repeated), each with its number in an `id`
    column first, so that a result can be checked row by row."""
    header, *rows = list(csv.reader(io.StringIO(demo_bytes("churn.csv").decode())))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((["id"] if with_id else []) + header)
    for i in range(n_rows):
        writer.writerow(([str(i)] if with_id else []) + rows[i % len(rows)])
    return out.getvalue().encode()


def upload(data: bytes, name: str = "rows.csv") -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture
def small_chunks(settings):
    settings.MLSERVE_BATCH_CHUNK_ROWS = 100
    return 100
