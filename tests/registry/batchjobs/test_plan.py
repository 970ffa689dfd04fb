"""Cutting a batch job's file into chunks: every row in exactly one chunk, whatever its line
ends, quoted line breaks and blank lines, and wherever the read blocks fall; bounded as read."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from registry.batchjobs import plan as planner
from registry.errors import InvalidInput, TooLarge
from tests.conftest import examples


def rows_of(data: bytes) -> list[list[str]]:
    """The rows the CSV reader keeps (blank lines are skipped)."""
    reader = csv.reader(io.StringIO(data.decode(), newline=""))
    return [row for row in reader if any(cell.strip() for cell in row)]


def cut(data: bytes, chunk_rows: int, max_rows: int = 10**9) -> planner.Plan:
    return planner.plan(io.BytesIO(data), chunk_rows=chunk_rows, max_rows=max_rows, limit_name="L")


ROW = st.one_of(
    st.builds(lambda i: f"{i},{i * 2},z", st.integers(0, 999)),
    st.just('7,"a\nb, ""quoted""",3'),
    st.just(""),
    st.just("   "),
)


@hsettings(max_examples=examples(200), deadline=None)
@given(
    rows=st.lists(ROW, min_size=1, max_size=40),
    end=st.sampled_from(["\n", "\r\n"]),
    last=st.sampled_from(["", "end", "end2"]),
    lead=st.booleans(),
    chunk_rows=st.integers(1, 7),
    block=st.integers(1, 40),
)
def test_every_row_lands_in_exactly_one_chunk(rows, end, last, lead, chunk_rows, block):
    text = ("\n\n" if lead else "") + end.join(["a,b,c", *rows])
    text += {"": "", "end": end, "end2": end + end}[last]
    data = text.encode()
    original = planner.BLOCK_BYTES
    planner.BLOCK_BYTES = block
    try:
        planned = cut(data, chunk_rows) if rows_of(data)[1:] else None
    finally:
        planner.BLOCK_BYTES = original
    if planned is None:
        return
    scored: list[list[str]] = []
    for piece in planned.pieces:
        part = rows_of(planned.header + data[piece.start_byte : piece.stop_byte])
        assert part[0] == ["a", "b", "c"]
        assert len(part) - 1 == piece.stop_row - piece.start_row <= chunk_rows
        scored += part[1:]
    assert scored == rows_of(data)[1:]
    assert planned.rows == len(scored)
    assert [p.start_row for p in planned.pieces] == [0, *[p.stop_row for p in planned.pieces][:-1]]


def test_a_lone_carriage_return_ends_a_row():
    planned = cut(b"a,b\r1,2\r3,4\r5,6", 2)
    assert planned.header == b"a,b\r"
    assert [(p.start_row, p.stop_row) for p in planned.pieces] == [(0, 2), (2, 3)]


def test_a_chunk_is_also_cut_by_its_size(monkeypatch):
    monkeypatch.setattr(planner, "CHUNK_BYTES", 10)
    planned = cut(b"h\n" + b"12345\n" * 6, 100)
    assert [(p.start_row, p.stop_row) for p in planned.pieces] == [(0, 2), (2, 4), (4, 6)]


def test_it_stops_reading_past_the_row_limit():
    class Endless:
        reads = 0

        def read(self, size):
            self.reads += 1
            return b"h\n" if self.reads == 1 else b"1\n" * (size // 2)

    stream = Endless()
    with pytest.raises(TooLarge, match="more than 1,000 rows"):
        planner.plan(stream, chunk_rows=10, max_rows=1000, limit_name="L")
    assert stream.reads == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"\n  \n", "empty"), (b"a,b\n\n", "no rows")],
)
def test_it_refuses_a_file_without_a_header_or_rows(data, message):
    with pytest.raises(InvalidInput, match=message):
        cut(data, 10)
