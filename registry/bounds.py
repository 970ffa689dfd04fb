"""Count a body's rows or values before parsing it, so that limits apply before the parse.

Parsing builds Python objects (orjson: a list and an object per value; str.split: a string
per line) worth 10 to 100 times the body's bytes: a 51 MB columnar body of zeros took a
worker to +4.7 GB before its row limit was checked. These counters read the bytes with numpy
in fixed-size chunks instead: a few MB of scratch memory whatever the body's size, and no
object per row. Each count is exact for a well-formed body (and a malformed one fails its
parse at its first bad byte, which these counts also reach correctly).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_CHUNK = 1 << 18  # bytes per step: scratch memory is some ten times this
_QUOTE, _BACKSLASH, _COMMA, _NEWLINE, _RETURN = ord('"'), ord("\\"), ord(","), 10, 13
_BRACKET, _BRACE = ord("["), ord("{")  # their closers are two code points further


def _chunks(data: bytes) -> list[np.ndarray]:
    buffer = np.frombuffer(data, dtype=np.uint8)
    return [buffer[start : start + _CHUNK] for start in range(0, buffer.size, _CHUNK)]


def _escaped(chunk: np.ndarray, carry: bool) -> tuple[np.ndarray | None, bool]:
    """JSON: the bytes escaped by a backslash (the one after an odd run of them), and whether
    the chunk ends with a backslash that escapes the next chunk's first byte."""
    backslash = chunk == _BACKSLASH
    if carry:
        backslash[0] = False  # escaped itself: an ordinary character
    where = np.flatnonzero(backslash)
    if not where.size and not carry:
        return None, False
    mask = np.zeros(chunk.size, dtype=bool)
    mask[0] = carry
    if not where.size:
        return mask, False
    breaks = np.flatnonzero(np.diff(where) != 1) + 1
    starts = where[np.r_[0, breaks]]
    lengths = np.diff(np.r_[0, breaks, where.size])
    after = (starts + lengths)[lengths % 2 == 1]
    carry_out = bool(after.size and after[-1] == chunk.size)
    mask[after[after < chunk.size]] = True
    return mask, carry_out


def _json_chunks(body: bytes) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The body's chunks, each as (its first byte's position, its bytes, 1 for each byte
    inside a JSON string and 0 outside): the quote parity, escaped quotes left out."""
    in_string, escape = 0, False
    for index, chunk in enumerate(_chunks(body)):
        quotes = chunk == _QUOTE
        escaped, escape = _escaped(chunk, escape)
        if escaped is not None:
            quotes &= ~escaped
        # A byte is inside a string when an odd number of quotes precede it (int8 wraps,
        # which keeps the parity).
        inside = (np.cumsum(quotes, dtype=np.int8) + in_string) & 1
        yield index * _CHUNK, chunk, inside
        in_string = int(inside[-1])


def json_values(body: bytes) -> int:
    """The commas outside strings of a JSON document, plus one: every value of a list or an
    object but its first follows a comma, so a body of R rows of W values counts about
    R x W. Brackets are not counted: nesting deeper than orjson's limit fails the parse at once."""
    count = 1
    for _start, chunk, inside in _json_chunks(body):
        count += int(np.count_nonzero((chunk == _COMMA) & (inside == 0)))
    return count


def csv_lines(data: bytes) -> int:
    """How many lines of a CSV hold something other than whitespace; a line ends at LF, CR
    or CR LF outside a quoted field (a quote doubles to escape itself: parity tells inside)."""
    count, in_quotes, content = 0, 0, 0  # content: visible bytes of the unfinished line
    for chunk in _chunks(data):
        inside = (np.cumsum(chunk == _QUOTE, dtype=np.int8) + in_quotes) & 1
        ends = np.flatnonzero(((chunk == _NEWLINE) | (chunk == _RETURN)) & (inside == 0))
        visible = np.cumsum(chunk > ord(" "), dtype=np.int32)
        at_ends = visible[ends]
        per_line = np.diff(at_ends, prepend=-content) if ends.size else at_ends
        count += int(np.count_nonzero(per_line))
        content = int(visible[-1] - (at_ends[-1] if ends.size else -content))
        in_quotes = int(inside[-1])
    return count + (content > 0)


def containers(
    body: bytes, depth: int, most: int
) -> tuple[list[int], list[int], np.ndarray] | None:
    """The lists and objects that open at `depth` (the top-level value is at depth 1): their
    opening and closing positions, and the positions of the commas directly inside them;
    None when there are more than `most` of them or the body's brackets do not balance."""
    # Positions as int32 where they fit: a body of columns holds a comma every few bytes.
    position = np.int32 if len(body) < 2**31 else np.int64
    level = 0
    openers: list[int] = []
    closers: list[int] = []
    commas: list[np.ndarray] = []
    for start, chunk, inside in _json_chunks(body):
        outside = inside == 0
        opens = ((chunk == _BRACKET) | (chunk == _BRACE)) & outside
        closes = ((chunk == _BRACKET + 2) | (chunk == _BRACE + 2)) & outside
        after = np.cumsum(opens.astype(np.int32) - closes, dtype=np.int32) + level
        openers += (np.flatnonzero(opens & (after == depth)) + start).tolist()
        closers += (np.flatnonzero(closes & (after == depth - 1)) + start).tolist()
        if len(openers) > most:
            return None
        found = np.flatnonzero((chunk == _COMMA) & outside & (after == depth))
        commas.append(found.astype(position) + start)
        level = int(after[-1])
    if level != 0 or len(openers) != len(closers):
        return None
    return openers, closers, np.concatenate(commas) if commas else np.empty(0, dtype=position)


def row_list(body: bytes) -> tuple[int, np.ndarray, int] | None:
    """Where the rows of a `{"<key>": [row, row, ...]}` body are: the list's opening and
    closing brackets and the commas between its rows (a row is any JSON value), found
    without parsing; None for a body of any other shape. Lets a large list of rows be
    parsed a slice at a time (registry/serving/bodies.py)."""
    found = containers(body, 2, most=1)
    if found is None or len(found[0]) != 1 or body[found[0][0]] != _BRACKET:
        return None
    (opener,), (closer,), commas = found
    return opener, commas, closer


# Around a bare NaN value (as Python's json.dumps writes it): what may come before it
# (`[`, `,`, `:` or a blank) and after it (`,`, `]`, `}` or a blank).
_BEFORE_VALUE = np.frombuffer(b"[,: \t\n\r", dtype=np.uint8)
_AFTER_VALUE = np.frombuffer(b",]} \t\n\r", dtype=np.uint8)
_N, _A = ord("N"), ord("a")


def outside_strings(body: bytes, positions: np.ndarray) -> np.ndarray:
    """For each of the (ascending) byte positions, whether it stands outside every JSON
    string of the body."""
    result = np.zeros(positions.size, dtype=bool)
    for start, chunk, inside in _json_chunks(body):
        here = slice(*np.searchsorted(positions, [start, start + chunk.size]))
        result[here] = inside[positions[here] - start] == 0
    return result


def nan_as_null(body: bytes) -> bytes:
    """The body with each bare NaN token outside a string written as null: what an MLflow
    client means by it (Python's json.dumps writes a pandas missing value so, and MLflow's
    scoring server reads it as missing). Strings, and every other byte, are unchanged."""
    if b"NaN" not in body:
        return body
    data = np.frombuffer(body, dtype=np.uint8)
    # Where an N starts "NaN" as a value of its own, found a chunk at a time (numpy, no
    # object per match), then kept only outside strings.
    starts = np.concatenate(
        [np.flatnonzero(chunk == _N) + i * _CHUNK for i, chunk in enumerate(_chunks(body))]
    )
    starts = starts[(starts >= 1) & (starts + 3 < data.size)]
    starts = starts[
        (data[starts + 1] == _A)
        & (data[starts + 2] == _N)
        & np.isin(data[starts - 1], _BEFORE_VALUE)
        & np.isin(data[starts + 3], _AFTER_VALUE)
    ]
    starts = starts[outside_strings(body, starts)]
    if not starts.size:
        return body
    # One byte more for each (null is four letters): made room for after each NaN, then the
    # four letters written where the NaN now starts.
    written = np.insert(data, starts + 3, 0)
    moved = starts + np.arange(starts.size)
    written[moved[:, None] + np.arange(4)] = np.frombuffer(b"null", dtype=np.uint8)
    return written.tobytes()
