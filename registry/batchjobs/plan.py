"""A batch job's file cut into chunks before anything is stored: its header line, and the
byte range of every run of `chunk_rows` rows (a chunk is one predict request's worth),
counted against MLSERVE_MAX_BATCH_ROWS as the file is read.

The file is read in fixed-size blocks with numpy (as registry/bounds.py counts lines), so a
file of millions of rows costs a few MB of scratch memory and no Python object per row. A
row ends at LF, CR LF or a lone CR outside a quoted field (a quote doubles to escape
itself: parity tells inside); a line of blanks is no row, as the CSV reader skips it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from registry.errors import InvalidInput, TooLarge

BLOCK_BYTES = 1 << 20
# A chunk is also cut at this many bytes (at a row's end): rows of a thousand columns are
# scored a few hundred at a time, not ten thousand.
CHUNK_BYTES = 16 << 20
_QUOTE, _LF, _CR, _SPACE = ord('"'), 10, 13, 32


@dataclass(frozen=True)
class Piece:
    start_row: int
    stop_row: int
    start_byte: int
    stop_byte: int


@dataclass
class Plan:
    header: bytes
    rows: int = 0
    pieces: list[Piece] = field(default_factory=list)


class _Cutter:
    """Turns row ends (stream offsets just past each row) into the header and the chunks."""

    def __init__(self, chunk_rows: int, max_rows: int, limit_name: str) -> None:
        self.chunk_rows, self.max_rows, self.limit_name = max(1, chunk_rows), max_rows, limit_name
        self.header: bytes | None = None
        self.header_parts: list[bytes] = []
        self.rows = 0
        self.pieces: list[Piece] = []
        self.chunk_start = 0
        self.in_chunk = 0

    def feed(self, row_ends: np.ndarray, data: bytes, pos: int) -> None:
        if self.header is None:
            if not row_ends.size:
                self.header_parts.append(data)
                if sum(map(len, self.header_parts)) > CHUNK_BYTES:
                    raise InvalidInput("The file's first line (its header) is longer than 16 MB.")
                return
            end = int(row_ends[0])
            self.header = b"".join([*self.header_parts, data[: end - pos]])
            self.header_parts.clear()
            self.chunk_start, row_ends = end, row_ends[1:]
        while row_ends.size:
            take = self.chunk_rows - self.in_chunk
            over = int(np.searchsorted(row_ends, self.chunk_start + CHUNK_BYTES, side="left"))
            if over < row_ends.size:
                take = min(take, over + 1)
            if take > row_ends.size:
                self._count(row_ends.size)
                return
            self._count(take)
            stop = int(row_ends[take - 1])
            self._cut(stop)
            row_ends = row_ends[take:]

    def _count(self, n: int) -> None:
        self.in_chunk += n
        self.rows += n
        if self.rows > self.max_rows:
            raise TooLarge(
                f"The file has more than {self.max_rows:,} rows, the most a batch job scores "
                f"({self.limit_name}): split it into several jobs."
            )

    def _cut(self, stop: int) -> None:
        self.pieces.append(Piece(self.rows - self.in_chunk, self.rows, self.chunk_start, stop))
        self.chunk_start, self.in_chunk = stop, 0


def plan(stream: BinaryIO, *, chunk_rows: int, max_rows: int, limit_name: str) -> Plan:
    """The header and the chunks of the CSV read from `stream` (from its current position,
    which is byte 0 of the offsets). InvalidInput for a file without a header or a row,
    TooLarge (413) past `max_rows` rows, read no further."""
    cutter = _Cutter(chunk_rows, max_rows, limit_name)
    in_quotes, line_visible = 0, False  # line_visible: the unfinished row shows something
    pos = 0  # stream offset of data[0]
    carry = b""  # a CR at a block's end: a row's end whether or not a LF follows

    def scan(data: bytes) -> None:
        nonlocal in_quotes, line_visible
        arr = np.frombuffer(data, dtype=np.uint8)
        inside = (np.cumsum(arr == _QUOTE, dtype=np.int8) + in_quotes) & 1
        lf, cr = arr == _LF, arr == _CR
        row_end = lf.copy()
        row_end[:-1] |= cr[:-1] & ~lf[1:]  # a lone CR (one before a LF: the LF ends it)
        row_end[-1] |= cr[-1]
        ends = np.flatnonzero(row_end & (inside == 0))
        visible = np.cumsum(arr > _SPACE, dtype=np.int64)
        if ends.size:
            at_ends = visible[ends]
            has_row = np.diff(at_ends, prepend=0) > 0
            has_row[0] |= line_visible
            line_visible = bool(visible[-1] - at_ends[-1])
            cutter.feed(ends[has_row] + pos + 1, data, pos)
        else:
            line_visible = line_visible or bool(visible[-1])
            cutter.feed(ends, data, pos)
        in_quotes = int(inside[-1])

    while block := stream.read(BLOCK_BYTES):
        data, carry = carry + block, b""
        if data.endswith(b"\r"):
            data, carry = data[:-1], b"\r"
        if data:
            scan(data)
            pos += len(data)
    if carry:
        scan(carry)
        pos += len(carry)
    if line_visible:  # a last row without a line end
        cutter.feed(np.array([pos]), b"", pos)
    if cutter.in_chunk:
        cutter._cut(pos)
    if cutter.header is None:
        raise InvalidInput("The file is empty: send a header line naming the columns, then rows.")
    if not cutter.rows:
        raise InvalidInput("The file has a header line but no rows to score.")
    return Plan(header=cutter.header, rows=cutter.rows, pieces=cutter.pieces)
