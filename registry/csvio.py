"""Strict CSV parsing into typed columns, with errors that name the line or column.

Uploads and CSV rows to predict are read by pyarrow's CSV reader (C++, several times faster
than the reference parser, and without a Python string per cell). Everything it would read
differently from our rules falls back, per file or per column, to the reference parser: a
ragged or whitespace-only line, a quote that is not a well-formed quoted field (pyarrow is
lenient there, the csv module's strict mode is not), a date, a boolean, an infinity, a
number with spaces, a cell to predict that is not a number. The reference parser is
str.split and numpy's variable-width string dtype for unquoted text, the strict csv module
for quoted fields. Either way the result is a `Table`: numeric columns as float64 (NaN =
missing), date columns as float64 seconds since the epoch (NaN = missing), categorical
columns as object arrays of str (None = missing), plus a schema describing every column
(with a `role` for columns rarely meant as features). Dates are typed after both parsers
have read the text, from the same distinct values, so the engines agree on them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import numpy as np
from django.conf import settings

from registry import bounds

MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "?")  # not "none": a real category name
MAX_CATEGORY_VALUES = 50  # distinct values kept in the schema for a categorical column
# Widest file accepted (upload or prediction). A 10,000-column file is small in bytes but
# costs a schema, histograms and a page row per column: refused at its header.
MAX_COLUMNS = 1000
HISTOGRAM_BINS = 20

# How an upload's bytes are read (Dataset.options): each is detected unless the user chose it.
DETECT = "detect"
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
DECIMALS = {"point": ".", "comma": ","}
ENCODINGS = {"utf-8": "utf-8", "cp1252": "cp1252", "latin-1": "latin-1"}
READ_KEYS = ("encoding", "delimiter", "decimal", "thousands")
# The name given to the blank first header cell that pandas' to_csv() writes for the index.
INDEX_NAME = "index"
EXCEL_MESSAGE = (
    "This is an Excel workbook, not a CSV file: export it as CSV "
    "(File > Save As > CSV UTF-8) and upload that."
)
_STRING = np.dtypes.StringDType()
# pyarrow's default allocator (jemalloc) reserves 1 GB of address space at its first
# allocation, which a training child's RLIMIT_AS would count: the system's malloc instead.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


class CSVError(ValueError):
    """The CSV cannot be accepted; the message says where and why."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
        too_large: bool = False,
    ):
        super().__init__(message)
        self.line = line
        self.column = column
        self.too_large = too_large  # over a size or row limit (HTTP 413), not malformed


@dataclass
class Table:
    columns: list[str]
    data: dict[str, np.ndarray]
    schema: list[dict[str, Any]] = field(default_factory=list)
    # The read options the file was read with, every one resolved (see parse_csv).
    options: dict[str, Any] = field(default_factory=dict)
    # The text as sent, one sequence per column, read when called (batch prediction echoes
    # it back): a body that is only predicted never turns its cells into Python strings.
    text_columns: Callable[[], list[Sequence[str]]] | None = None

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def column_schema(self, name: str) -> dict[str, Any]:
        return next(c for c in self.schema if c["name"] == name)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def max_upload_bytes() -> int:
    return settings.MLSERVE_MAX_UPLOAD_MB * 1024 * 1024


def _decode(data: bytes, encoding: str = "utf-8") -> str:
    return decode_as(data, encoding)[0]


def _is_workbook(data: bytes) -> bool:
    """An .xlsx file (a zip holding xl/ parts) or an .xls file (an OLE compound document)."""
    xlsx = data.startswith(b"PK\x03\x04") and b"xl/" in data
    return xlsx or data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def decode_as(data: bytes, encoding: str) -> tuple[str, str]:
    """The text and the encoding it was read with. DETECT tries strict UTF-8 (a byte-order
    mark allowed), then strict cp1252: a Latin-1 or Windows export is seldom valid UTF-8,
    and UTF-8 text is seldom valid cp1252 too, so the first that reads every byte wins."""
    if not data or not data.strip():
        raise CSVError("The file is empty: expected a header line naming the columns, then rows.")
    if len(data) > max_upload_bytes():
        raise CSVError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{settings.MLSERVE_MAX_UPLOAD_MB} MB (MLSERVE_MAX_UPLOAD_MB).",
            too_large=True,
        )
    if _is_workbook(data):
        raise CSVError(EXCEL_MESSAGE)
    if encoding not in (DETECT, *ENCODINGS.values()):
        raise CSVError(f"Unknown encoding {encoding!r}: choose one of {', '.join(ENCODINGS)}.")
    used = "utf-8" if encoding == DETECT else encoding
    try:
        text = data.decode("utf-8-sig" if used == "utf-8" else used)
    except UnicodeDecodeError as exc:
        text = None
        if encoding == DETECT:
            try:
                text, used = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                pass
        if text is None:
            line = data[: exc.start].count(b"\n") + 1
            name = "UTF-8" if used == "utf-8" else used
            raise CSVError(
                f"Line {line} is not valid {name} (byte {exc.start}): save the file as UTF-8 text.",
                line=line,
            ) from None
    if not text.strip():  # only a byte-order mark and blanks
        raise CSVError("The file is empty: expected a header line naming the columns, then rows.")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise CSVError(
            f"Line {line} contains a NUL byte: this looks like a binary file.", line=line
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, used


def _check_header(names: list[str]) -> list[str]:
    if len(names) > MAX_COLUMNS:
        raise CSVError(
            f"The header has {len(names)} columns; the limit is {MAX_COLUMNS}.",
            line=1,
            too_large=True,
        )
    names = [n.strip() for n in names]
    if len(names) > 1 and not names[0] and INDEX_NAME not in names:
        names[0] = INDEX_NAME  # pandas' to_csv() leaves the index column's name blank
    for position, name in enumerate(names, start=1):
        if not name:
            raise CSVError(
                f"Column {position} of the header has a blank name: every column needs one.",
                line=1,
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise CSVError(
                f"Column name {name!r} appears twice in the header (columns {seen[name]} and "
                f"{position}): column names must be unique.",
                line=1,
                column=name,
            )
        seen[name] = position
    if all(_is_number(n) for n in names):
        raise CSVError(
            "The first line holds only numbers: it must be a header naming the columns.", line=1
        )
    return names


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_row_count(n_rows: int, max_rows: int, limit_name: str, min_rows: int = 2) -> None:
    if n_rows < min_rows:
        raise CSVError(
            f"The file has {n_rows} data row(s) after the header; at least {min_rows} "
            f"{'is' if min_rows == 1 else 'are'} needed."
        )
    if n_rows > max_rows:
        raise CSVError(
            f"The file has {n_rows} data rows; the limit is {max_rows} ({limit_name}).",
            too_large=True,
        )


def _ragged(line_no: int, got: int, expected: int) -> CSVError:
    return CSVError(
        f"Line {line_no} has {got} field(s), but the header has {expected}: "
        "every row needs one value per column.",
        line=line_no,
    )


def _split(
    text: str, max_rows: int, limit_name: str, *, min_rows: int = 2, delimiter: str = ","
) -> tuple[list[str], np.ndarray, list[int]]:
    """The reference reader (the csv module, strict): header, a (rows, columns) string array
    and each row's line number. pyarrow reads what it reads alike (_arrow_read); this one
    reads the rest and words the errors."""
    # The csv module's own cap (128 KiB per field) is not a rule of ours: the upload limit
    # bounds a field, as it does on the other paths.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text), strict=True, delimiter=delimiter)
    # Blank lines before the header are skipped; so is a line of blank cells in a quoted
    # file, while an unquoted one has a header with blank names (as pyarrow reads it).
    quoted = '"' in text
    try:
        header_row = next(reader)
        while not any(cell.strip() for cell in header_row) and (quoted or len(header_row) < 2):
            header_row = next(reader)
    except StopIteration:
        raise CSVError("The file has no header line.") from None
    except csv.Error as exc:
        raise CSVError(f"Line {reader.line_num}: {exc}.", line=reader.line_num) from None
    header = _check_header(header_row)
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise _ragged(reader.line_num, len(row), len(header))
            rows.append(row)
            line_numbers.append(reader.line_num)
            if len(rows) > max_rows:
                break
    except csv.Error as exc:
        raise CSVError(f"Line {reader.line_num}: {exc}.", line=reader.line_num) from None
    _check_row_count(len(rows), max_rows, limit_name, min_rows)
    cells = np.array(rows, dtype=_STRING)
    return header, cells, line_numbers


def check_lines(data: bytes, max_rows: int, limit_name: str) -> None:
    """Refuse a file with more data rows than max_rows from a count of its lines, before it
    is decoded or split: a line costs a Python string (~50 bytes) once split."""
    if len(data) // 2 + 1 <= max_rows:
        return  # a row takes at least two bytes (a character and a newline): it fits
    n_rows = bounds.csv_lines(data) - 1
    if n_rows > max_rows:
        _check_row_count(n_rows, max_rows, limit_name)


def split_cells(
    data: bytes,
    *,
    max_rows: int | None = None,
    limit_name: str = "MLSERVE_MAX_ROWS",
    min_rows: int = 2,
    options: Mapping[str, Any] | None = None,
) -> tuple[list[str], np.ndarray, list[int]]:
    """Decode and split a CSV into its header, a (rows, columns) string array and line numbers.

    A dataset needs 2 rows (`min_rows`); rows to predict need one. `options` are a stored
    dataset's (its encoding and delimiter); without, UTF-8 and commas.
    """
    limit = max_rows if max_rows is not None else settings.MLSERVE_MAX_ROWS
    check_lines(data, limit, limit_name)
    options = options or {}
    text = _decode(data, options.get("encoding") or "utf-8")
    delimiter = options.get("delimiter") or ","
    return _split(text, limit, limit_name, min_rows=min_rows, delimiter=delimiter)


_MISSING = frozenset(MISSING_TOKENS)


def _is_missing_text(text: str) -> bool:
    return text.strip().lower() in _MISSING


def clean_text(text: str) -> str | None:
    """A text cell as every body format reads it: blanks stripped, a missing token None.

    The one rule for CSV cells and JSON strings alike (registry/serving/ uses it too).
    """
    value = text.strip()
    return None if value.lower() in _MISSING else value


def category_spellings(categories: Iterable[str]) -> dict[Any, str]:
    """A category column's trained spellings of the values a JSON client sends as booleans or
    numbers, keyed by `(bool, flag)` and by float: a CSV says `True` or `1.0` where JSON says
    `true` or `1`, and a model knows only the CSV's spelling. A true/false word (any case)
    spells a boolean before a 1/0 does; the first trained spelling of a value wins."""
    spellings: dict[Any, str] = {}
    for text in categories:
        if not isinstance(text, str):  # an imported card's schema: only text is a spelling
            continue
        word = text.lower()
        if word in ("true", "false"):
            spellings.setdefault((bool, word == "true"), text)
        elif _is_number(text) and "_" not in text:  # float() takes "1_0"; a CSV means text
            number = float(text)
            if np.isfinite(number):
                spellings.setdefault(number, text)
    for flag in (True, False):
        if (bool, flag) not in spellings and float(flag) in spellings:
            spellings[(bool, flag)] = spellings[float(flag)]
    return spellings


def fold_category(text: str) -> str:
    """A category as a person would read it: case and spaces ignored ("Month-To-Month " and
    "month-to-month" fold alike), to tell a near spelling of a known category from a new one."""
    return "".join(text.split()).casefold()


def _codes(cells: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Distinct texts (in first-seen order) and each cell's index into them.

    A dict instead of np.unique: sorting numpy's StringDType crashes numpy 2.4 on some
    inputs (a segmentation fault), and hashing is as fast here.
    """
    index: dict[str, int] = {}
    texts = cells.tolist()
    inverse = np.fromiter(
        (index.setdefault(text, len(index)) for text in texts), dtype=np.intp, count=len(texts)
    )
    return list(index), inverse


def missing_mask(cells: np.ndarray) -> np.ndarray:
    """True where a cell is a missing-value token; each distinct text is looked at once."""
    uniques, inverse = _codes(cells)
    return np.array([_is_missing_text(u) for u in uniques], dtype=bool)[inverse]


def _looks_numeric(cells: np.ndarray, sample: int = 200) -> bool:
    """A cheap early no for category columns: the first cells that are not missing parse."""
    seen = 0
    for cell in cells[: sample * 5].tolist():
        if _is_missing_text(cell):
            continue
        try:
            float(cell)
        except ValueError:
            return False
        seen += 1
        if seen >= sample:
            break
    return True


def to_number(cells: np.ndarray) -> np.ndarray | None:
    """float64 with NaN for missing cells, or None when a cell is not a number."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        if not _looks_numeric(cells):
            return None
        try:  # the usual missing value is an empty cell: a cheap comparison
            values = np.where(cells == "", "nan", cells).astype(np.float64)
        except ValueError:
            try:
                values = np.where(missing_mask(cells), "nan", cells).astype(np.float64)
            except ValueError:
                return None
    if np.isinf(values).any():
        return None
    return values


def _categories(cells: np.ndarray) -> tuple[np.ndarray, list[tuple[str, int]], int]:
    """Object column (None = missing), value counts, missing count: one pass over uniques."""
    return _categories_from_codes(*_codes(cells))


def _categories_from_codes(
    uniques: list[str | None], inverse: np.ndarray
) -> tuple[np.ndarray, list[tuple[str, int]], int]:
    counts = np.bincount(inverse, minlength=len(uniques))
    cleaned: list[str | None] = []
    totals: dict[str, int] = {}
    missing = 0
    for text, count in zip(uniques, counts.tolist(), strict=True):
        value = None if text is None else clean_text(text)
        cleaned.append(value)
        if value is None:
            missing += count
        else:
            totals[value] = totals.get(value, 0) + count
    lookup = np.empty(len(cleaned), dtype=object)
    lookup[:] = cleaned
    return lookup[inverse], sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])), missing


def to_category(cells: np.ndarray) -> np.ndarray:
    return _categories(cells)[0]


def _number_schema(values: np.ndarray) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    info: dict[str, Any] = {"type": "number", "missing": int(values.size - present.size)}
    if present.size:
        ordered = np.sort(present)
        try:
            counts, edges = np.histogram(present, bins=HISTOGRAM_BINS)
        except ValueError:  # a range too narrow for 20 distinct edges at this magnitude (9e15)
            counts, edges = np.array([present.size]), ordered[[0, -1]]
        info.update(
            min=float(ordered[0]),
            max=float(ordered[-1]),
            mean=float(present.mean()),
            std=float(present.std()),
            distinct=int(np.count_nonzero(np.diff(ordered)) + 1),
            histogram={"counts": counts.tolist(), "edges": edges.tolist()},
        )
        if info["distinct"] <= HISTOGRAM_BINS:
            # A few distinct numbers may be class labels: their counts let a training
            # request be checked for a class too small to learn from (services).
            values_, tally = np.unique(ordered, return_counts=True)
            order = np.argsort(-tally, kind="stable")
            info["top"] = [[float(values_[i]), int(tally[i])] for i in order]
    return info


def _category_schema(counts: list[tuple[str, int]], missing: int) -> dict[str, Any]:
    kept = counts[:MAX_CATEGORY_VALUES]
    return {
        "type": "category",
        "missing": missing,
        "distinct": len(counts),
        "values": sorted(value for value, _ in kept),
        "top": [[value, count] for value, count in kept[:HISTOGRAM_BINS]],
        "truncated": len(counts) > MAX_CATEGORY_VALUES,
    }


# Dates ------------------------------------------------------------------------------
# A date column's values are float64 seconds since 1970-01-01 UTC (NaN = missing); its
# schema names the format the file spells them in. ISO dates and timestamps are always
# read; day/month orders only when the column (or the user) settles which comes first.
ISO_DATE, ISO_TIMESTAMP = "%Y-%m-%d", "ISO 8601"
MONTH_FIRST, DAY_FIRST, DOTTED = "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y"
DATE_FORMATS = (ISO_DATE, ISO_TIMESTAMP, MONTH_FIRST, DAY_FIRST, DOTTED)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?"
)
_ORDERED = re.compile(r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})")
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def _day_seconds(year: int, month: int, day: int) -> float | None:
    try:
        return (date(year, month, day).toordinal() - _EPOCH_DAY) * 86400.0
    except ValueError:
        return None


def _iso_seconds(text: str) -> float | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = _day_seconds(int(year), int(month), int(day))
    if seconds is None or hour is None:
        return seconds
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return None
    seconds += int(hour) * 3600 + int(minute) * 60 + int(second or 0)
    if fraction:
        seconds += float("0." + fraction)
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    return seconds


def _ordered_seconds(text: str, form: str) -> float | None:
    match = _ORDERED.fullmatch(text)
    if match is None or match.group(2) != form[2]:
        return None
    first, _, second, year = match.groups()
    month, day = (first, second) if form == MONTH_FIRST else (second, first)
    return _day_seconds(int(year), int(month), int(day))


def date_seconds(text: str, form: str) -> float | None:
    """Seconds since the epoch of one date cell in the column's format (ISO is always read:
    an API client sends ISO whatever the file said), or None when it is not such a date."""
    seconds = _iso_seconds(text)
    if seconds is None and form in (MONTH_FIRST, DAY_FIRST, DOTTED):
        seconds = _ordered_seconds(text, form)
    return seconds


def date_format(texts: Sequence[str], *, chosen: bool = False) -> str | None:
    """The one date format every text (cleaned, none missing) is in, or None.

    A day/month order is taken when some value settles it (a first number over 12 is a day);
    a dotted date is day first. When nothing settles a slashed column, `chosen` (the user
    said it is a date) reads it month first, as spreadsheets exported in the US do.
    """
    if not texts or not texts[0][:1].isdigit():
        return None
    if all(_iso_seconds(t) is not None for t in texts):
        return ISO_TIMESTAMP if any(len(t) > 10 for t in texts) else ISO_DATE
    matches = [_ORDERED.fullmatch(t) for t in texts]
    if any(m is None for m in matches) or len({m.group(2) for m in matches}) != 1:
        return None
    if matches[0].group(2) == ".":
        form = DOTTED
    else:
        day_first = any(int(m.group(1)) > 12 for m in matches)
        month_first = any(int(m.group(3)) > 12 for m in matches)
        if day_first == month_first and (day_first or not chosen):
            return None
        form = DAY_FIRST if day_first else MONTH_FIRST
    if any(_ordered_seconds(t, form) is None for t in texts):
        return None
    return form


def to_dates(values: Sequence[Any], form: str) -> tuple[np.ndarray, int | None]:
    """Texts (None or a missing token = missing) -> epoch seconds, and the index of the first
    value that is not a date in `form` (None when all are)."""
    seconds = np.full(len(values), np.nan)
    for index, value in enumerate(values):
        text = None if value is None else clean_text(value) if isinstance(value, str) else value
        if text is None:
            continue
        number = date_seconds(text, form) if isinstance(text, str) else None
        if number is None:
            return seconds, index
        seconds[index] = number
    return seconds, None


def format_date(seconds: float) -> str:
    """An epoch second as ISO text: a date, or a timestamp when it has a time of day."""
    moment = datetime.fromtimestamp(seconds, UTC)
    if seconds % 86400 == 0:
        return moment.date().isoformat()
    return moment.replace(tzinfo=None).isoformat()


def _date_column(
    cleaned: list[str | None], inverse: np.ndarray, *, chosen: bool = False
) -> tuple[np.ndarray, dict[str, Any]] | None:
    """A text column (distinct cleaned texts, each cell's index) read as dates, or None."""
    present = [t for t in cleaned if t is not None]
    form = date_format(present, chosen=chosen)
    if form is None:
        return None
    by_text = np.array([np.nan if t is None else date_seconds(t, form) for t in cleaned])
    values = by_text[inverse] if len(by_text) else np.full(inverse.size, np.nan)
    kept = values[~np.isnan(values)]
    info: dict[str, Any] = {
        "type": "date",
        "format": form,
        "missing": int(values.size - kept.size),
        "distinct": len(present),
    }
    if kept.size:
        info.update(min=format_date(float(kept.min())), max=format_date(float(kept.max())))
    return values, info


# Column roles -------------------------------------------------------------------------
# Columns that are rarely meant as features; the train form leaves them unticked.
ROLES = ("id", "constant", "mostly_missing", "text")
_ID_NAME = re.compile(r"(?:^|[^a-z])(?:id|index|key|uuid|row)(?:$|[^a-z])|^unnamed", re.I)
_MIN_ROWS_FOR_ID = 10


def _role(name: str, info: dict[str, Any], n_rows: int, texts: list[str]) -> tuple[str, str]:
    """The column's role and the reason in a sentence, or ("", "")."""
    missing = info["missing"]
    present = n_rows - missing
    distinct = info.get("distinct", 0)
    if n_rows and missing * 2 > n_rows:
        return "mostly_missing", f"{missing} of {n_rows} rows have no value."
    if distinct <= 1:
        return "constant", "Every row has the same value." if distinct else "No row has a value."
    if info["type"] == "date" or present < _MIN_ROWS_FOR_ID or distinct * 20 < present * 19:
        return "", ""
    said = f"{distinct} distinct values in {present} rows"
    if info["type"] == "category":
        lengths = [len(t) for t in texts]
        if sum(lengths) >= 20 * len(lengths) and sum(" " in t for t in texts) * 2 > len(texts):
            return "text", f"Free text: {said}, {sum(lengths) // len(lengths)} characters long."
        return "id", f"Looks like an identifier: {said}."
    whole = info["min"] == np.floor(info["min"]) and info["max"] == np.floor(info["max"])
    counting = whole and info["max"] - info["min"] == present - 1  # a row number
    if whole and (counting or _ID_NAME.search(name)):
        return "id", f"Looks like an identifier: {said}, whole numbers."
    return "", ""


def parse_csv(
    data: bytes,
    *,
    max_rows: int | None = None,
    engine: str = "arrow",
    options: Mapping[str, Any] | None = None,
) -> Table:
    """Parse uploaded bytes into a typed Table, inferring each column's type.

    `options` are a dataset's read options (`Dataset.options`): what was detected at upload
    or chosen by the user; reading the same bytes with the same options gives the same table.
    Without options (an upload) everything is detected; in a mapping, a key set to DETECT
    is detected and an absent key is the default (UTF-8, commas, a decimal point, no
    thousands separators), as for a dataset stored before detection existed. The options
    used, each resolved, are `Table.options`; a column read in an unusual way gets a "note"
    in its schema.
    `options["types"]` maps a column to the type the user chose for it (number, category,
    date, or ignore: read as inferred, left out of features); a column that cannot be read
    as its chosen type is a CSVError naming it.

    `engine="python"` skips pyarrow: the reference the fast path is tested against.
    """
    limit = max_rows if max_rows is not None else settings.MLSERVE_MAX_ROWS
    check_lines(data, limit, "MLSERVE_MAX_ROWS")
    text, reading = _reading(data, options)
    chosen: Mapping[str, str] = (options or {}).get("types") or {}
    as_text = [name for name, kind in chosen.items() if kind in ("category", "date")]
    columns = None
    if engine == "arrow":
        utf8 = data if reading.encoding == "utf-8" else text.encode()
        columns = _read_arrow(utf8, text, limit, reading, as_text)
    if columns is None:
        header, cells, _ = _split(text, limit, "MLSERVE_MAX_ROWS", delimiter=reading.delimiter)
        columns = [(name, cells[:, index]) for index, name in enumerate(header)]
    table = Table(columns=[name for name, _ in columns], data={})
    thousands: list[str] = []
    for name, column in columns:
        kind = chosen.get(name)
        values, info, texts = _typed_column(name, column, kind, reading)
        table.data[name] = values
        if "note" in info:
            thousands.append(name)
        role, reason = _role(name, info, len(values), texts)
        if role:
            info.update(role=role, role_reason=reason)
        if kind:
            info["override"] = kind
        table.schema.append({"name": name, **info})
    if table.columns[0] == INDEX_NAME and _first_header_cell_blank(text, reading.delimiter):
        table.schema[0]["note"] = (
            f"named {INDEX_NAME!r}: the header's first cell was blank, as pandas writes the "
            "row index"
        )
    table.options = {
        "encoding": reading.encoding,
        "delimiter": reading.delimiter,
        "decimal": reading.decimal,
        "thousands": thousands,
    }
    return table


# Read options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    encoding: str
    delimiter: str
    decimal: str
    thousands: frozenset[str] | None  # the columns read with separators; None: detect


def _reading(data: bytes, options: Mapping[str, Any] | None) -> tuple[str, _Reading]:
    """The decoded text and the options to read it with, each detected or as given."""
    chosen: Mapping[str, Any] = dict.fromkeys(READ_KEYS, DETECT) if options is None else options
    text, encoding = decode_as(data, chosen.get("encoding") or "utf-8")
    delimiter = chosen.get("delimiter") or ","
    if delimiter == DETECT:
        delimiter = detect_delimiter(text)
    elif delimiter not in DELIMITERS.values():
        raise CSVError(f"Unknown delimiter {delimiter!r}: choose one of {', '.join(DELIMITERS)}.")
    decimal = chosen.get("decimal") or "."
    if decimal == DETECT:
        decimal = _detect_decimal(text, delimiter)
    elif decimal not in DECIMALS.values():
        raise CSVError(f"Unknown decimal mark {decimal!r}: choose one of {', '.join(DECIMALS)}.")
    thousands = chosen.get("thousands") or ()
    detect_thousands = thousands == DETECT
    return text, _Reading(
        encoding, delimiter, decimal, None if detect_thousands else frozenset(thousands)
    )


# Enough lines to judge a file's delimiter by, and few enough to split four times.
_SAMPLE_CHARACTERS = 64 * 1024


def detect_delimiter(text: str) -> str:
    """The one candidate that splits the header and the first rows into the same number of
    fields, more than one; a comma when none or several do (then the strict parser words
    what is wrong, as before), unless commas leave the header whole and one other candidate
    splits it: the strict parser then names the ragged line in the file's own terms."""
    sample = text[:_SAMPLE_CHARACTERS]
    cut = len(sample) < len(text)
    if cut and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    widths = {d: _row_widths(sample, d, cut=cut) for d in DELIMITERS.values()}
    even = [d for d, w in widths.items() if len(w) >= 2 and len(set(w)) == 1 and w[0] > 1]
    if len(even) == 1:
        return even[0]
    if not even and widths[","][:1] == [1]:
        splitting = [d for d, w in widths.items() if w and w[0] > 1]
        if len(splitting) == 1:
            return splitting[0]
    return ","


def _row_widths(sample: str, delimiter: str, *, cut: bool) -> list[int]:
    """The number of fields of each non-blank row of the sample (none if it cannot be read)."""
    try:
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        rows = [len(row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error:
        return []
    if cut and len(rows) > 2:
        rows.pop()  # a quoted field may go on past the sample's last line
    return rows


_EXPONENT = r"(?:[eE][+-]?\d+)?"
# 39,1, 0,125 or 4.253.195,5; not 1,234 (a thousands group, as likely as a decimal)
_DECIMAL_COMMA = re.compile(
    rf"[+-]?(?:\d{{1,3}}(?:\.\d{{3}})+,\d+|(?![1-9]\d{{0,2}}(?:,\d{{3}})+\b)\d*,\d+){_EXPONENT}"
)
# 39.1 but not 1.500 (a thousands group in a decimal-comma file); 1,234,567 or 1,234.5
_DECIMAL_POINT = re.compile(
    rf"[+-]?(?:(?!\d{{1,3}}(?:\.\d{{3}})+(?![\d.,eE]))(?:\d+\.\d*|\.\d+){_EXPONENT}"
    r"|\d+(?:,\d+){2,}|\d{1,3}(?:,\d{3})+\.\d*)"
)


# Enough of a file to judge its decimal mark by (thousands of lines), split cell by cell.
_DECIMAL_SAMPLE_CHARACTERS = 256 * 1024


def _detect_decimal(text: str, delimiter: str) -> str:
    """A decimal comma when the delimiter is not a comma, some cell is a number written with
    one (39,1) and no cell is a number written with a decimal point (39.1), in the file's
    first lines: a file that mixes both is read as written with points, its comma
    numbers then as text (every value of a column must fit, all through the file)."""
    sample = text[:_DECIMAL_SAMPLE_CHARACTERS]
    if delimiter == "," or "," not in sample:
        return "."
    cells = {cell.strip(' "') for cell in re.split(f"[{re.escape(delimiter)}\n]", sample)}
    if not any(_DECIMAL_COMMA.fullmatch(cell) for cell in cells if "," in cell):
        return "."
    maybe_points = (cell for cell in cells if "." in cell or "," in cell)
    return "." if any(_DECIMAL_POINT.fullmatch(cell) for cell in maybe_points) else ","


# Every value of a column must fit, for it to be read as numbers.
_COMMA_NUMBER = re.compile(rf"[+-]?(?:\d+(?:,\d*)?|,\d+){_EXPONENT}")
_GROUPED = {  # decimal mark -> a number with thousands separators (or under a thousand)
    ".": re.compile(r"[+-]?\d{1,3}(?:,\d{3})*(?:\.\d+)?"),
    ",": re.compile(r"[+-]?\d{1,3}(?:\.\d{3})*(?:,\d+)?"),
}


def _column_numbers(
    column: Any, name: str, reading: _Reading
) -> tuple[np.ndarray | None, str | None, tuple[list[str | None], np.ndarray] | None]:
    """A column as float64 (NaN = missing), with a value written with thousands separators
    if that is how it was read; or None and the column's (distinct texts, codes) for a
    category. The same rules for pyarrow's columns and the reference parser's."""
    if isinstance(column, np.ndarray):
        if column.dtype == np.float64:
            return column, None, None
        if reading.decimal == ".":
            values = to_number(column)
            if values is not None:
                return values, None, None
    codes = column if isinstance(column, tuple) else _codes(column)
    numbers, grouped = _text_numbers(
        codes[0], reading.decimal, reading.thousands is None or name in reading.thousands
    )
    if numbers is None:
        return None, None, codes
    return numbers[codes[1]], grouped, None


def _text_numbers(
    texts: list[str | None], decimal: str, thousands: bool
) -> tuple[np.ndarray | None, str | None]:
    """Each distinct text's number (NaN for a missing one) when all of them fit one way of
    writing numbers: with a decimal comma, or with thousands separators (then one text
    written with them is returned too). None when they do not."""

    def present() -> Iterator[str]:  # cleaned lazily: a text column fails at its first word
        return (value for text in texts if text is not None and (value := clean_text(text)))

    convert = None
    grouped = None
    if decimal == "," and all(_COMMA_NUMBER.fullmatch(text) for text in present()):
        convert = lambda text: text.replace(",", ".")  # noqa: E731
    elif thousands and all(_GROUPED[decimal].fullmatch(text) for text in present()):
        separator = "," if decimal == "." else "."
        grouped = next((text for text in present() if separator in text), None)
        if grouped is None:
            return None, None  # no separators (or no values): the plain rules decided
        convert = lambda text: text.replace(separator, "").replace(",", ".")  # noqa: E731
    if convert is None:
        return None, None
    cleaned = (None if text is None else clean_text(text) for text in texts)
    numbers = np.array(
        [np.nan if text is None else float(convert(text)) for text in cleaned], dtype=np.float64
    )
    if np.isinf(numbers).any():
        return None, None
    return numbers, grouped


def _first_header_cell_blank(text: str, delimiter: str) -> bool:
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return not row[0].strip()
    except csv.Error:
        pass
    return False


def _typed_column(
    name: str, column: Any, kind: str | None, reading: _Reading
) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """One column's values, schema and distinct texts (for a text column), as inferred or
    as the user chose (`kind`). A number column read with thousands separators has a "note"."""
    if kind not in ("category", "date"):
        values, grouped, codes = _column_numbers(column, name, reading)
        if values is not None:
            info = _number_schema(values)
            if grouped is not None:
                info["note"] = f"read {name!r} as numbers (thousands separators, as in {grouped!r})"
            return values, info, []
        column = codes
    elif isinstance(column, np.ndarray) and column.dtype == np.float64:  # read by pyarrow
        column = ([None], np.zeros(column.size, dtype=np.intp))  # only nulls: no text
    texts, inverse = column if isinstance(column, tuple) else _codes(column)
    cleaned = [None if t is None else clean_text(t) for t in texts]
    if kind == "number":
        bad = next(
            (
                t
                for t in cleaned
                if t is not None and _text_numbers([t], reading.decimal, True)[0] is None
            ),
            None,
        )
        said = f"{bad!r} is not a number" if bad else "its values mix ways of writing numbers"
        raise CSVError(f"Column {name!r} cannot be read as numbers: {said}.", column=name)
    if kind != "category":
        dates = _date_column(cleaned, inverse, chosen=kind == "date")
        if dates is not None:
            return (*dates, [])
        if kind == "date":
            present = [t for t in cleaned if t is not None]
            bad = next((t for t in present if date_format([t], chosen=True) is None), None)
            said = f"{bad!r} is not a date" if bad else "its values mix date formats"
            raise CSVError(
                f"Column {name!r} cannot be read as dates: {said} (one format is needed: "
                "2024-01-31, 2024-01-31T12:00:00Z, 01/31/2024, 31/01/2024 or 31.01.2024).",
                column=name,
            )
    values, counts, missing = _categories_from_codes(cleaned, inverse)
    return values, _category_schema(counts, missing), [value for value, _ in counts]


# pyarrow turns these spellings into nulls itself, so a number column with the usual
# missing markers stays a float column; any other spelling falls back to our rules.
_ARROW_NULLS = sorted({v for t in MISSING_TOKENS for v in (t, t.upper(), t.capitalize())})


def _quotes_are_strict(data: bytes, delimiter: str = ",") -> bool:
    """Every quote opens a field, doubles another inside one, or closes one before a delimiter.

    Vectorised over runs of consecutive quotes: inside a quoted field iff an odd number of
    quotes came before (a quote in the middle of an unquoted field, which would break that
    count, is refused here and left to the csv module). Files that pass are read the same
    way by pyarrow and by the csv module in strict mode.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(buffer == ord('"'))
    if quotes.size % 2:
        return False  # an unterminated quoted field
    if not quotes.size:
        return True
    breaks = np.flatnonzero(np.diff(quotes) != 1) + 1
    starts = quotes[np.r_[0, breaks]]
    lengths = np.diff(np.r_[0, breaks, quotes.size])
    inside_before = (np.cumsum(lengths) - lengths) % 2 == 1
    edges = np.zeros(256, dtype=bool)
    edges[[ord(delimiter), ord("\n"), ord("\r")]] = True
    padded = np.r_[ord("\n"), buffer, ord("\n")]  # the file's start and end count as edges
    opens_at_field_start = edges[padded[starts]]  # padded[i] is buffer[i - 1]
    ends_at_field_end = edges[padded[starts + lengths + 1]]
    ends_outside = (inside_before.astype(np.intp) + lengths) % 2 == 0
    return bool(
        (inside_before | opens_at_field_start).all() and (~ends_outside | ends_at_field_end).all()
    )


def import_reader() -> None:
    """Import pyarrow now: the training worker does, once, before it forks its children."""
    import pyarrow.csv  # noqa: F401


@dataclass(frozen=True)
class _ArrowSource:
    """What pyarrow read (no byte-order mark; CR LF as LF when quoted) and how: enough to
    read some columns again without keeping the first read's table."""

    data: bytes
    parse: Any  # pyarrow.csv.ParseOptions
    read: Any  # pyarrow.csv.ReadOptions

    def reread(self, convert: Any) -> Any:
        import pyarrow as pa
        from pyarrow import csv as arrow_csv

        return arrow_csv.read_csv(
            pa.py_buffer(self.data),
            read_options=self.read,
            parse_options=self.parse,
            convert_options=convert,
        )

    def texts(self, names: list[str]) -> list[Sequence[str]]:
        """Every cell as sent (a missing-value token stays its text), column by column."""
        import pyarrow as pa
        from pyarrow import csv as arrow_csv

        raw = arrow_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        )
        return [column.to_pylist() for column in self.reread(raw).columns]


@dataclass
class _ArrowRead:
    table: Any  # pyarrow.Table; its column_names are the raw header
    header: list[str]  # the checked header (names stripped)
    source: _ArrowSource


def _arrow_read(
    data: bytes,
    text: str,
    max_rows: int,
    *,
    limit_name: str = "MLSERVE_MAX_ROWS",
    min_rows: int = 2,
    strings: Collection[str] = (),
    delimiter: str = ",",
) -> _ArrowRead | None:
    """The file read by pyarrow (types inferred, `strings` read as text), or None when it
    needs the reference parser. Header and row-count errors are the reference's own."""
    import pyarrow as pa  # imported on first upload: heavy, and never needed to serve
    from pyarrow import csv as arrow_csv

    quoted = '"' in text
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if quoted:
        if not _quotes_are_strict(data, delimiter):
            return None
        if b"\r" in data:  # the reference reads a quoted CR LF as one newline
            data = text.encode()
    parse = arrow_csv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted)
    # One thread: pyarrow's pool would add about 1 GB of address space (thread stacks and
    # malloc arenas), which a training child's RLIMIT_AS counts, for half a second saved.
    read = arrow_csv.ReadOptions(use_threads=False)
    convert = arrow_csv.ConvertOptions(
        null_values=_ARROW_NULLS,
        strings_can_be_null=True,
        column_types=dict.fromkeys(strings, pa.string()),
    )
    try:
        arrow = arrow_csv.read_csv(
            pa.py_buffer(data), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowException:
        return None  # ragged or blank-looking lines: the reference parser names the line
    if arrow.num_columns == 1:
        return None  # pyarrow reads a whitespace-only line as a value; we skip it as blank
    # With two or more columns pyarrow fails on any line the reference would skip, so the
    # header and the row count it found are the reference's too; the csv module's path also
    # skips a header line of blank cells, so a quoted file's header errors are its to word.
    try:
        header = _check_header(arrow.column_names)
    except CSVError:
        if quoted:
            return None
        raise
    _check_row_count(arrow.num_rows, max_rows, limit_name, min_rows)
    return _ArrowRead(arrow, header, _ArrowSource(data, parse, read))


def _arrow_columns(
    read: _ArrowRead, numbers: Collection[str] | None = None, decimal: str = "."
) -> list[tuple[str, Any]] | None:
    """Each column as float64 (a clean number column), as (distinct texts, codes) for a text
    column, or as a string array for our own rules to decide.

    With `numbers` (rows to predict, typed by the model), every other column is text
    whatever it looks like; without, a text column that looks numeric is a string array.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as arrow_csv

    arrow = read.table
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_null, pa.types.is_string)
    data = read.source.data
    hexadecimal = b"0x" in data or b"0X" in data  # pyarrow reads "0x1F" as 31, we as text
    as_text = [  # dates, booleans, infinities: re-read as text, our rules decide what they are
        raw
        for raw, name, column in zip(arrow.column_names, read.header, arrow.columns, strict=True)
        if not any(check(column.type) for check in numeric)
        or (pa.types.is_floating(column.type) and pc.any(pc.is_inf(column)).as_py())
        # With a decimal comma, a number written with a point is not one (our rules decide)
        or (decimal == "," and pa.types.is_floating(column.type))
        or (hexadecimal and pa.types.is_integer(column.type))
        or (numbers is not None and name not in numbers and not pa.types.is_string(column.type))
    ]
    if as_text:
        texts = arrow_csv.ConvertOptions(
            null_values=_ARROW_NULLS,
            strings_can_be_null=True,
            include_columns=as_text,
            column_types=dict.fromkeys(as_text, pa.string()),
        )
        try:
            text_columns = read.source.reread(texts)
        except pa.ArrowException:
            return None
        for raw in as_text:
            index = arrow.column_names.index(raw)
            arrow = arrow.set_column(index, raw, text_columns.column(raw))
    columns: list[tuple[str, Any]] = []
    for name, column in zip(read.header, arrow.columns, strict=True):
        if pa.types.is_null(column.type):
            columns.append((name, np.full(arrow.num_rows, np.nan)))
            continue
        if not pa.types.is_string(column.type):
            columns.append((name, column.to_numpy().astype(np.float64)))  # nulls become NaN
            continue
        column = column.combine_chunks()
        maybe_number = numbers is None or name in numbers
        if maybe_number and _looks_numeric(
            np.array(column.slice(0, 1000).fill_null("").to_pylist(), _STRING)
        ):
            columns.append((name, np.array(column.fill_null("").to_pylist(), dtype=_STRING)))
            continue
        encoded = pc.dictionary_encode(column)
        texts: list[str | None] = [*encoded.dictionary.to_pylist(), None]
        codes = encoded.indices.fill_null(len(texts) - 1).to_numpy().astype(np.intp)
        columns.append((name, (texts, codes)))
    return columns


def _read_arrow(
    data: bytes,
    text: str,
    max_rows: int,
    reading: _Reading | None = None,
    strings: Collection[str] = (),
) -> list[tuple[str, Any]] | None:
    """An upload's columns read by pyarrow (see _arrow_columns; `strings` read as text), or
    None when the file needs the reference parser. `data` is UTF-8 (the text's encoding
    when it is not)."""
    delimiter, decimal = (",", ".") if reading is None else (reading.delimiter, reading.decimal)
    read = _arrow_read(data, text, max_rows, strings=strings, delimiter=delimiter)
    return None if read is None else _arrow_columns(read, decimal=decimal)


_PREDICT_LIMIT = "MLSERVE_MAX_PREDICT_ROWS"


def parse_with_schema(
    data: bytes, features: list[dict[str, Any]], *, max_rows: int, engine: str = "arrow"
) -> Table:
    """Parse a CSV of rows to predict: every feature column must be present, typed as trained.

    Extra columns are kept (as text) so they can be echoed back next to the predictions.
    pyarrow reads it when it can; anything it would read differently from our rules (a
    ragged line, a cell that is not a number, a missing column...) goes through the
    reference parser, which words the error. `engine="python"` skips pyarrow.

    The encoding, delimiter and decimal mark are detected as for an upload (rows to predict
    are often written the way the training file was), and a number column may be written
    with a decimal comma or thousands separators.
    """
    kinds = {f["name"]: f["type"] for f in features}
    forms = {f["name"]: f.get("format") or ISO_DATE for f in features if f["type"] == "date"}
    check_lines(data, max_rows, _PREDICT_LIMIT)
    text, reading = _reading(data, None)
    if engine == "arrow" and reading.decimal == ".":
        utf8 = data if reading.encoding == "utf-8" else text.encode()
        table = _arrow_rows_to_predict(utf8, text, kinds, forms, max_rows, reading.delimiter)
        if table is not None:
            return table
    header, cells, line_numbers = _split(
        text, max_rows, _PREDICT_LIMIT, min_rows=1, delimiter=reading.delimiter
    )
    del text  # the cells hold what is needed
    missing = [f["name"] for f in features if f["name"] not in header]
    if missing:
        raise CSVError(
            f"The file lacks the model's column(s) {missing}; expected all of "
            f"{[f['name'] for f in features]}.",
            column=missing[0],
        )
    table = Table(
        columns=header,
        data={},
        text_columns=lambda: [cells[:, index] for index in range(len(header))],
    )
    for index, name in enumerate(header):
        column = cells[:, index]
        if kinds.get(name) == "number":
            values = to_number(column) if reading.decimal == "." else None
            if values is None:  # a decimal comma, thousands separators, or not a number
                values = _column_numbers(column, name, reading)[0]
            if values is None:
                bad = _first_non_number(column, reading.decimal)
                raise CSVError(
                    f"Line {line_numbers[bad]}, column {name!r}: {str(column[bad])!r} is not a "
                    "number.",
                    line=line_numbers[bad],
                    column=name,
                )
            table.data[name] = values
        elif name in forms:
            values, bad = to_dates(column.tolist(), forms[name])
            if bad is not None:
                raise CSVError(
                    f"Line {line_numbers[bad]}, column {name!r}: {str(column[bad])!r} is not a "
                    f"date ({date_formats_said(forms[name])}).",
                    line=line_numbers[bad],
                    column=name,
                )
            table.data[name] = values
        else:
            table.data[name] = to_category(column)
    return table


def date_formats_said(form: str) -> str:
    """The date spellings a feature trained on `form` accepts, in words (for an error)."""
    return "ISO 8601" if form in (ISO_DATE, ISO_TIMESTAMP) else f"{form} or ISO 8601"


def _arrow_rows_to_predict(
    data: bytes,
    text: str,
    kinds: dict[str, str],
    forms: dict[str, str],
    max_rows: int,
    delimiter: str = ",",
) -> Table | None:
    """The rows to predict read by pyarrow (`data` in UTF-8), or None for the reference path
    to read them."""
    numbers = {name for name, kind in kinds.items() if kind == "number"}
    categories = [name for name in kinds if name not in numbers]
    read = _arrow_read(
        data,
        text,
        max_rows,
        limit_name=_PREDICT_LIMIT,
        min_rows=1,
        strings=categories,
        delimiter=delimiter,
    )
    if read is None or not set(kinds) <= set(read.header):
        return None
    columns = _arrow_columns(read, numbers)
    table = None if columns is None else _typed_from_arrow(columns, kinds, forms)
    if table is not None:
        # Not read.table: the first read is not kept alive while predicting.
        table.text_columns = partial(read.source.texts, read.table.column_names)
    return table


def _typed_from_arrow(
    columns: list[tuple[str, Any]], kinds: dict[str, str], forms: dict[str, str]
) -> Table | None:
    """The rows to predict from pyarrow's columns, or None when a number or date column holds
    a cell that is not one (the reference path names it)."""
    table = Table(columns=[name for name, _ in columns], data={})
    for name, column in columns:
        if kinds.get(name) == "number":
            if isinstance(column, tuple):
                return None
            values = column if column.dtype == np.float64 else to_number(column)
            if values is None:
                return None
            table.data[name] = values
        elif name in forms:
            texts, codes = column
            by_text, bad = to_dates(texts, forms[name])
            if bad is not None:
                return None
            table.data[name] = by_text[codes]
        else:
            table.data[name] = _categories_from_codes(*column)[0]
    return table


def _first_non_number(cells: np.ndarray, decimal: str = ".") -> int:
    missing = missing_mask(cells)
    for index, cell in enumerate(cells.tolist()):
        if missing[index]:
            continue
        text = cell.strip()
        if _GROUPED[decimal].fullmatch(text) or (decimal == "," and _COMMA_NUMBER.fullmatch(text)):
            continue  # a number as this file writes them
        if decimal == ",":
            return index
        try:
            value = float(cell)
        except ValueError:
            return index
        if value in (float("inf"), float("-inf")):
            return index
    return 0


def write_csv(columns: list[str], data: dict[str, np.ndarray | list[Any]]) -> bytes:
    """Serialise columns back to CSV (used for batch prediction downloads).

    Every text cell (and header) goes through neutralise(): a download is opened in a
    spreadsheet, and its cells hold what users sent and other users' class labels."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # Python 3.11's writer quotes only the terminator's characters: a row with a bare
    # carriage return in a cell is quoted in full, or it would split the line in readers.
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    n_rows = len(data[columns[0]]) if columns else 0
    series = [data[c] for c in columns]
    rows = (["" if _is_missing(s[i]) else _cell(s[i]) for s in series] for i in range(n_rows))
    for row in itertools.chain([[neutralise(c) for c in columns]], rows):
        (quoted if any("\r" in cell for cell in row) else writer).writerow(row)
    return buffer.getvalue().encode()


# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell as OWASP recommends for CSV downloads: one that a spreadsheet would read
    as a formula gets a leading single quote. A number (-1.5, +3, 1e-5) is left alone."""
    if not text.startswith(FORMULA_STARTS):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value)) if not float(value).is_integer() else str(int(value))
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return str(value)
    return neutralise(str(value))
