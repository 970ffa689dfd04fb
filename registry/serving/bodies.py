"""Request bodies -> typed tables: the one place that reads what a caller sent to predict.

Every JSON format (`instances`, `inputs` by row or by column, `dataframe_split`,
`dataframe_records`) and CSV end in one row normaliser, so a row predicts the same whatever
format carried it. A row may carry keys the model does not take (MLflow clients send whole
rows, CSV files have other columns): they are ignored, unless the caller asks to be strict
(`strict=True`, the API's `?strict=true`), which refuses them by name. Bodies are bounded
before they are built: the row limit
(MLSERVE_MAX_PREDICT_ROWS), a count of JSON values before parsing, and a large body (a list
of rows, a dataframe_split's data, columnar inputs) parsed a slice of rows at a time.
MLflow's scoring protocol (the /invocations routes) may add a "params" object to a JSON
body: no model here takes inference parameters, so it is read, named back and ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
from django.conf import settings

from registry import bounds, csvio
from registry.errors import InvalidInput, MalformedBody, TooLarge, UnsupportedMediaType
from registry.serving.resolve import ServedVersion


class PredictionError(InvalidInput):
    """Rows that do not fit the model's input schema; `problems` lists row/column/detail."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.problems = problems


def check_width(n_columns: int) -> None:
    """TooLarge (413) for a row of more columns than a CSV header may have: keys the model
    does not take are ignored, but not without bound."""
    if n_columns > csvio.MAX_COLUMNS:
        raise TooLarge(f"A row has {n_columns} columns; the limit is {csvio.MAX_COLUMNS}.")


def check_rows(n_rows: int) -> None:
    """TooLarge (413) for more rows than MLSERVE_MAX_PREDICT_ROWS."""
    if n_rows > settings.MLSERVE_MAX_PREDICT_ROWS:
        raise TooLarge(
            f"{n_rows} rows is more than the limit of {settings.MLSERVE_MAX_PREDICT_ROWS} "
            "(MLSERVE_MAX_PREDICT_ROWS)."
        )


# JSON ----------------------------------------------------------------------------------


def _holds_nul(value: Any) -> bool:
    stack = [value]  # a loop, not recursion: orjson nests deeper than Python's stack allows
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if any("\x00" in key for key in item):
                return True
            stack.extend(item.values())
    return False


def load_json(body: bytes) -> Any:
    """The one JSON reader of the API and of predict bodies: strict (orjson: no NaN, no
    Infinity, no number too large for a double), and no NUL character in any string or key
    (422): PostgreSQL can neither store nor compare text holding one. JSON can spell a NUL
    only as the escape \\u0000, so the walk over the parsed value runs only for the rare body
    whose bytes hold that escape."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("Not enough memory"):  # orjson's word for a failed allocation
            raise MemoryError(str(exc)) from None
        raise
    if b"\\u0000" in body and _holds_nul(data):
        raise InvalidInput(
            "The body holds a NUL character (\\u0000) in a string: it is not accepted in any "
            "value or name."
        )
    return data


# One normaliser for every body format: a JSON string is read as the same cell of a CSV
# would be (csvio.clean_text: blanks stripped, "", "NA", "n/a", "nan", "null", "?" in any
# case missing), so a row predicts the same whatever format carried it, and a cell's
# meaning never depends on the other rows (the numpy fast path reads "nan" as missing too).


def _number(value: Any) -> float | None:
    if value is None:
        return np.nan
    if isinstance(value, (int, float)):  # bools too: numpy reads true as 1.0
        value = float(value)
        return value if np.isfinite(value) else None
    if isinstance(value, str):
        text = csvio.clean_text(value)
        if text is None:
            return np.nan
        try:
            parsed = float(text)
        except ValueError:
            return None
        return None if np.isinf(parsed) else parsed  # a NaN spelling is missing, as in CSV
    return None


def _category(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return csvio.clean_text(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TypeError


def _float_key(value: int | float) -> float | None:
    """The float a JSON number denotes exactly, or None (an integer a double cannot hold)."""
    if isinstance(value, float):
        return value
    try:
        as_float = float(value)
    except OverflowError:
        return None
    return as_float if as_float == value else None


def spell_category(value: Any, spellings: dict[Any, str] | None) -> str | None:
    """A category cell as the model spells it: a JSON boolean or number becomes the trained
    category that denotes the same value (`true` -> "True", `1` -> "1.0"; `spellings` from
    csvio.category_spellings), so it means what the same cell of a CSV means; any other
    value, or one no trained category denotes, is read by _category."""
    if spellings and isinstance(value, (int, float)):
        if isinstance(value, bool):
            known = spellings.get((bool, value))
        else:
            known = spellings.get(_float_key(value))
        if known is not None:
            return known
    return _category(value)


_NUMERIC = ("number", "date")  # types served as float64 columns (a date as epoch seconds)


def _dates(values: Any, form: str, name: str, problems: list[dict[str, Any]]) -> np.ndarray:
    """Date texts (ISO, or the format the model was trained on) -> epoch seconds, NaN for a
    missing one; each value that is not a date is added to `problems`."""
    column = np.full(len(values), np.nan)
    seen: dict[str, float | None] = {}
    for i, value in enumerate(values):
        text = csvio.clean_text(value) if isinstance(value, str) else value
        if text is None:
            continue
        seconds = None
        if isinstance(text, str):
            if text not in seen:
                seen[text] = csvio.date_seconds(text, form)
            seconds = seen[text]
        if seconds is None:
            if len(problems) < 20:
                said = csvio.date_formats_said(form)
                problems.append(_problem(i, name, f"{value!r} is not a date ({said})"))
            continue
        column[i] = seconds
    return column


def _problem(row: int, column: str | None, detail: str) -> dict[str, Any]:
    return {"row": row, "column": column, "detail": detail}


def rows_to_table(
    served: ServedVersion, rows: list[Any], *, strict: bool = False
) -> dict[str, np.ndarray]:
    """Positional lists or named dicts -> typed columns; every problem is reported. Keys
    that are not features are ignored, or refused when `strict`."""
    if not isinstance(rows, list) or not rows:
        raise PredictionError("Send at least one row to predict.", [])
    check_rows(len(rows))
    if served.all_numeric and type(rows[0]) is list:
        try:  # the common case in one C call: positional rows of plain numbers
            values = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is not None and values.shape == (len(rows), len(served.feature_names)):
            if not np.isinf(values).any():
                return {name: values[:, j] for j, name in enumerate(served.feature_names)}
    grid = _grid(served, rows, strict=strict)
    if grid is None:
        raise_row_problems(served, rows, strict=strict)
    return convert_columns(
        served, {name: grid[:, j] for j, name in enumerate(served.feature_names)}
    )


def rows_to_table_in_slices(
    served: ServedVersion, slices: Iterable[list[Any]], n_rows: int, *, strict: bool = False
) -> dict[str, np.ndarray]:
    """rows_to_table over a request's rows a slice at a time, into columns allocated once:
    only one slice's Python objects (a list or dict per row) exist at any moment."""
    return _assembled(served, _row_parts(served, slices, strict), n_rows)


def _row_parts(
    served: ServedVersion, slices: Iterable[list[Any]], strict: bool
) -> Iterator[dict[str, np.ndarray]]:
    done, shape = 0, None
    for rows in slices:
        first = type(rows[0]) if rows and isinstance(rows[0], (dict, list)) else None
        shape = shape or first
        if first is not None and first is not shape:
            said = "an object of named values" if shape is dict else "a list of values"
            problems = [
                _problem(done, None, f"row 0 is {said}: every row must have the same shape")
            ]
            raise PredictionError(_summary(problems), problems)
        try:
            part = rows_to_table(served, rows, strict=strict)
        except PredictionError as exc:
            if not exc.problems or not done:
                raise
            problems = _shifted(exc.problems, done)
            raise PredictionError(_summary(problems), problems) from None
        yield part
        done += len(rows)


def _assembled(
    served: ServedVersion, parts: Iterable[dict[str, np.ndarray]], n_rows: int
) -> dict[str, np.ndarray]:
    """Typed columns of n_rows, allocated once and filled from parts of consecutive rows."""
    table = {
        f["name"]: np.empty(n_rows, dtype=np.float64 if f["type"] in _NUMERIC else object)
        for f in served.features
    }
    # One string object per distinct category value, not one per row: the table outlives
    # the parts, and most rows repeat a few values.
    distinct: dict[str, dict[Any, Any]] = {
        name: {} for name, c in table.items() if c.dtype == object
    }
    done = 0
    for part in parts:
        size = 0
        for name, column in part.items():
            size = len(column)
            if name in distinct:
                seen = distinct[name]
                column = [seen.setdefault(value, value) for value in column]
            table[name][done : done + size] = column
        done += size
    return table


def _shifted(problems: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    return [{**p, "row": p["row"] + rows} for p in problems]


def columns_to_table(
    served: ServedVersion, columns: dict[str, list[Any]], *, strict: bool = False
) -> dict[str, np.ndarray]:
    """Columnar values ({feature: [values...]}, all of one length) -> typed columns, without
    a Python object per row. Columns that lack a feature (or, when `strict`, are not exactly
    the features): their first row's problems are reported (by name); others are ignored."""
    if not _fits(columns.keys(), served, strict):
        raise_row_problems(served, [{k: v[0] for k, v in columns.items()}], strict=strict)
    return convert_columns(
        served, {name: _object_column(columns[name]) for name in served.feature_names}
    )


def _fits(keys: Any, served: ServedVersion, strict: bool) -> bool:
    """Whether a row's keys (a dict's keys view) hold every feature, and only them if strict."""
    return keys == served.feature_set if strict else keys >= served.feature_set


def columns_to_table_in_slices(
    served: ServedVersion,
    slices: Iterable[dict[str, list[Any]]],
    n_rows: int,
    *,
    strict: bool = False,
) -> dict[str, np.ndarray]:
    """columns_to_table over a request's columns a slice of rows at a time (each slice holds
    the same rows of every feature), into columns allocated once. Every slice is converted,
    so that the problems are the ones the whole columns give: the first 20 by feature, then
    by row."""
    return _assembled(served, _column_parts(served, slices, strict), n_rows)


def _column_parts(
    served: ServedVersion, slices: Iterable[dict[str, list[Any]]], strict: bool
) -> Iterator[dict[str, np.ndarray]]:
    order = {name: j for j, name in enumerate(served.feature_names)}
    problems: list[dict[str, Any]] = []
    done = 0
    for columns in slices:
        try:
            part = columns_to_table(served, columns, strict=strict)
        except PredictionError as exc:
            # A slice's problems are its first 20 by feature then row, so the first 20 of
            # the whole columns are among those kept here.
            problems = sorted(
                problems + _shifted(exc.problems, done),
                key=lambda p: (order.get(p["column"], len(order)), p["row"]),
            )[:20]
        else:
            if not problems:
                yield part
        done += len(next(iter(columns.values())))
    if problems:
        raise PredictionError(_summary(problems), problems)


def _object_column(values: list[Any]) -> np.ndarray:
    # An object array, not np.asarray: one long string would make a fixed-width string
    # array as wide as it for every row.
    column = np.empty(len(values), dtype=object)
    try:
        column[:] = values
    except ValueError:  # values that are lists: one by one
        for i, value in enumerate(values):
            column[i] = value
    return column


def _grid(served: ServedVersion, rows: list[Any], *, strict: bool) -> np.ndarray | None:
    """Rows as an (n, n_features) object array in feature order, or None if any row is off."""
    names = served.feature_names
    width = len(names)
    if type(rows[0]) is dict:
        keys = served.feature_set  # compared inline, not through _fits: once per row
        if strict:
            fit = all(type(r) is dict and r.keys() == keys for r in rows)
        else:
            most = csvio.MAX_COLUMNS
            fit = all(type(r) is dict and r.keys() >= keys and len(r) <= most for r in rows)
        if not fit:
            return None
        getter = itemgetter(*names)
        rows = [getter(r) for r in rows] if width > 1 else [[getter(r)] for r in rows]
    elif not all(type(r) is list and len(r) == width for r in rows):
        return None
    grid = np.empty((len(rows), width), dtype=object)
    try:
        grid[:] = rows
    except ValueError:  # a value that is itself a list: report it cell by cell
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                grid[i, j] = value
    return grid


def raise_row_problems(served: ServedVersion, rows: list[Any], *, strict: bool = False) -> None:
    """Name every row that is not a list of the right length or an object with the features
    (and, when `strict`, only them)."""
    names = list(served.feature_names)
    problems: list[dict[str, Any]] = []
    # One request, one row shape: the first row's (objects by name or lists by position).
    shape = type(rows[0]) if isinstance(rows[0], (dict, list)) else None
    for i, row in enumerate(rows):
        if shape is not None and isinstance(row, (dict, list)) and type(row) is not shape:
            first = "an object of named values" if shape is dict else "a list of values"
            problems.append(
                _problem(i, None, f"row 0 is {first}: every row must have the same shape")
            )
        elif isinstance(row, dict):
            check_width(len(row))
            unknown = [k for k in row if k not in served.feature_set] if strict else []
            missing = [n for n in names if n not in row]
            problems += [
                _problem(i, str(k), f"unknown column (strict); expected {names}")
                for k in unknown[:5]
            ]
            problems += [_problem(i, k, "missing column") for k in missing[:5]]
        elif isinstance(row, list):
            if len(row) != len(names):
                problems.append(
                    _problem(
                        i, None, f"has {len(row)} values; the model expects {len(names)}: {names}"
                    )
                )
        else:
            problems.append(_problem(i, None, "a row must be a list of values or an object"))
        if len(problems) >= 20:
            break
    if not problems:  # _grid refused the rows for a reason not named above
        problems.append(_problem(0, None, "the rows do not fit the model's input schema"))
    raise PredictionError(_summary(problems), problems)


def _numbers(values: np.ndarray | list[Any]) -> np.ndarray | None:
    """The common case in one numpy call: every value a finite number, None or a numeric string."""
    try:
        column = np.asarray(values).astype(np.float64)
    except (TypeError, ValueError):
        return None
    return None if np.isinf(column).any() else column


def convert_columns(
    served: ServedVersion, raw: dict[str, list[Any] | np.ndarray]
) -> dict[str, np.ndarray]:
    """Raw column values -> float64 (numbers, NaN = missing) or object str (categories)."""
    table: dict[str, np.ndarray] = {}
    problems: list[dict[str, Any]] = []
    for feature in served.features:
        name = feature["name"]
        values = raw[name]
        if feature["type"] == "number":
            if isinstance(values, np.ndarray) and values.dtype == np.float64:
                table[name] = values
                continue
            column = _numbers(values)
            if column is None:
                converted = [_number(v) for v in values]
                for i, v in enumerate(converted):
                    if v is None and len(problems) < 20:
                        problems.append(_problem(i, name, f"{values[i]!r} is not a finite number"))
                column = np.array([np.nan if v is None else v for v in converted], dtype=np.float64)
            table[name] = column
        elif feature["type"] == "date":
            if isinstance(values, np.ndarray) and values.dtype == np.float64:
                table[name] = values  # already read as dates (a CSV body)
                continue
            form = feature.get("format") or csvio.ISO_DATE
            table[name] = _dates(values, form, name, problems)
        else:
            column = np.empty(len(values), dtype=object)
            spellings = served.category_spellings.get(name)
            for i, v in enumerate(values):
                try:
                    column[i] = spell_category(v, spellings)
                except TypeError:
                    if len(problems) < 20:
                        problems.append(_problem(i, name, f"{v!r} is not a category value"))
            table[name] = column
    if problems:
        raise PredictionError(_summary(problems), problems)
    return table


def category_warnings(served: ServedVersion, table: dict[str, np.ndarray]) -> list[Any]:
    """Per row, its category values the model did not see in training: unseen, or a near
    spelling (case or spaces) of a known one. Read from the typed table, whose values are
    already the trained spellings where one denotes them (spell_category); a column whose
    values are all known costs one set of its values."""
    n_rows = len(next(iter(table.values()))) if table else 0
    found: dict[int, list[dict[str, Any]]] = {}
    for name, known in served.known_categories.items():
        column = table.get(name)
        if column is None:
            continue
        values = column.tolist()
        unseen = set(values) - known
        unseen.discard(None)  # missing: imputed, as in training
        if not unseen:
            continue
        folds = served.category_folds[name]
        said = {value: _warning(name, value, folds) for value in unseen if isinstance(value, str)}
        for i, value in enumerate(values):
            if value in said:
                found.setdefault(i, []).append(said[value])
    # A shared empty tuple per row without a warning (orjson writes it as []): no list per row.
    return [found.get(i, ()) for i in range(n_rows)] if found else [()] * n_rows


def _warning(column: str, value: str, folds: dict[str, str]) -> dict[str, Any]:
    known = folds.get(csvio.fold_category(value))
    if known is None:
        return {
            "column": column,
            "value": value,
            "kind": "unseen_category",
            "detail": f"{column}: {value!r} was not seen in training: the model reads it as "
            "none of the known categories.",
        }
    return {
        "column": column,
        "value": value,
        "kind": "category_spelling",
        "known": known,
        "detail": f"{column}: {value!r} is not a known category, but {known!r} is: it "
        f"differs only in case or spaces. Send {known!r}.",
    }


def _summary(problems: list[dict[str, Any]]) -> str:
    first = problems[0]
    where = f"row {first['row']}" + (f", column {first['column']!r}" if first["column"] else "")
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"The input does not fit the model: {where}: {first['detail']}{more}."


# Request bodies ------------------------------------------------------------------------

_PREDICT_FORMATS = ("instances", "inputs", "dataframe_split", "dataframe_records")


_ROW_LISTS = ("instances", "inputs", "dataframe_records")
_SLICED_BODY_BYTES = 1 << 18  # smaller bodies are parsed whole
_SLICE_ROWS = 4096


def _unique_keys(pairs: list[tuple[str, Any]]) -> None:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("a key twice")


def _head(text: bytes) -> Any:
    """A body with its large lists taken out, parsed; None when it does not parse or holds a
    key twice (orjson keeps the last one, which may be a list taken out): parsed whole."""
    try:
        head = load_json(text)
        json.loads(text, object_pairs_hook=_unique_keys)
    except (orjson.JSONDecodeError, ValueError, InvalidInput):
        return None
    return head


@dataclass(frozen=True, eq=False)  # compared by identity: it holds an array
class _List:
    """A JSON list in a body, found without parsing it: its brackets, the commas between its
    values (a view of the body's commas, not a copy) and its depth (the body's value is 1)."""

    body: bytes
    opener: int
    closer: int
    commas: np.ndarray
    depth: int

    @classmethod
    def at(cls, body: bytes, opener: int, closer: int, commas: np.ndarray, depth: int) -> _List:
        inside = slice(*np.searchsorted(commas, [opener, closer]))
        return cls(body, opener, closer, commas[inside], depth)

    def __len__(self) -> int:
        if self.commas.size:
            return self.commas.size + 1
        return 1 if self.body[self.opener + 1 : self.closer].strip() else 0

    def values(self, start: int, stop: int) -> list[Any]:
        """Values start..stop, parsed inside as many brackets as the list is deep in the
        body, so that a value nested too deep fails as in the whole parse."""
        begin = self.opener if start == 0 else self.commas[start - 1]
        end = self.closer if stop > self.commas.size else self.commas[stop - 1]
        inside = memoryview(self.body)[begin + 1 : end]
        values = load_json(b"".join((b"[" * self.depth, inside, b"]" * self.depth)))
        for _ in range(self.depth - 1):
            values = values[0]
        return values


def _fits_head(head: Any, key: str, params: list[str] | None) -> bool:
    """Whether a body with its large list(s) taken out (`head`) holds `key` alone, or also
    MLflow's "params" (an object or null) when the caller takes them (`params` not None)."""
    if not isinstance(head, dict) or key not in head:
        return False
    others = head.keys() - {key}
    if not others:
        return True
    return (
        params is not None
        and others == {"params"}
        and (head["params"] is None or isinstance(head["params"], dict))
    )


def _row_list_layout(
    body: bytes, opener: int, commas: np.ndarray, closer: int, params: list[str] | None
) -> tuple[_List, dict[str, Any]] | None:
    """The rows of a `{"instances" | "inputs" | "dataframe_records": [row, ...]}` body (and
    its head: the body with the rows taken out)."""
    head = _head(body[:opener] + b"null" + body[closer + 1 :])
    keys = [key for key in _ROW_LISTS if isinstance(head, dict) and key in head]
    if len(keys) != 1 or head[keys[0]] is not None or not _fits_head(head, keys[0], params):
        return None
    return _List.at(body, opener, closer, commas, 2), head


def _list_beside_params(body: bytes) -> tuple[int, np.ndarray, int] | None:
    """bounds.row_list for a body whose rows have MLflow's "params" beside them: the one
    list among (at most) two values."""
    found = bounds.containers(body, 2, most=2)
    if found is None:
        return None
    openers, closers, commas = found
    lists = [i for i, opener in enumerate(openers) if body[opener : opener + 1] == b"["]
    if len(lists) != 1:
        return None
    return openers[lists[0]], commas, closers[lists[0]]


def _split_layout(
    body: bytes,
    openers: list[int],
    closers: list[int],
    commas: np.ndarray,
    params: list[str] | None,
) -> tuple[_List, list[Any], dict[str, Any]] | None:
    """A dataframe_split's data (its largest list), its columns, and the body's head."""
    k = max(range(len(openers)), key=lambda i: closers[i] - openers[i])
    opener, closer = openers[k], closers[k]
    if body[opener : opener + 1] != b"[":
        return None
    head = _head(body[:opener] + b"null" + body[closer + 1 :])
    fits = _fits_head(head, "dataframe_split", params)
    split = head.get("dataframe_split") if fits else None
    if (
        not isinstance(split, dict)
        or "data" not in split
        or [key for key, value in split.items() if value is None] != ["data"]  # the list taken out
        or not isinstance(split.get("columns"), list)
    ):
        return None
    return _List.at(body, opener, closer, commas, 3), split["columns"], head


def _columnar_layout(
    body: bytes,
    openers: list[int],
    closers: list[int],
    commas: np.ndarray,
    params: list[str] | None,
) -> tuple[dict[str, _List], dict[str, Any]] | None:
    """Columnar inputs (`{"inputs": {"<feature>": [value, ...], ...}}`): their lists by name
    (and the body's head)."""
    if any(body[opener : opener + 1] != b"[" for opener in openers):
        return None
    between = zip(closers, openers[1:], strict=False)
    outside = [body[: openers[0]], *(body[c + 1 : o] for c, o in between), body[closers[-1] + 1 :]]
    head = _head(b"null".join(outside))
    inputs = head.get("inputs") if _fits_head(head, "inputs", params) else None
    if (
        not isinstance(inputs, dict)
        or len(inputs) != len(openers)
        or any(value is not None for value in inputs.values())  # a list taken out each
    ):
        return None
    lists = {
        name: _List.at(body, opener, closer, commas, 3)
        for name, opener, closer in zip(inputs, openers, closers, strict=True)
    }
    return lists, head


def _table_in_slices(
    served: ServedVersion, body: bytes, strict: bool, params: list[str] | None = None
) -> dict[str, np.ndarray] | None:
    """A large body of rows (a list of rows, a dataframe_split or columnar inputs) as typed
    columns, parsed _SLICE_ROWS rows at a time: a whole parse makes ~10x the body in Python
    objects. None for any other shape, or a body that fails to parse (then parsed whole, so
    that the error is the one a whole parse gives). MLflow's "params" beside the rows (when
    `params` takes them) are named in `params` once the rows are read."""
    table, head = _sliced(served, body, strict, params)
    if table is not None and params is not None:
        _mlflow_params(head, params)
    return table


def _sliced(
    served: ServedVersion, body: bytes, strict: bool, params: list[str] | None
) -> tuple[dict[str, np.ndarray] | None, dict[str, Any]]:
    found = bounds.row_list(body)
    if found is None and params is not None:
        found = _list_beside_params(body)
    if found is not None:
        rows = _row_list_layout(body, *found, params)
        if rows is None:
            return None, {}
        return _rows_in_slices(served, rows[0], strict=strict), rows[1]
    # dataframe_split (columns, data and an index) or columnar inputs (one list a feature)
    found = bounds.containers(body, 3, most=max(4, len(served.features)))
    if not found or not found[0]:
        return None, {}
    columnar = _columnar_layout(body, *found, params)
    if columnar is not None:
        if b"\\u0000" in body:
            return None, {}  # a NUL is refused once the whole body parses: parsed whole
        return _columns_in_slices(served, columnar[0], strict), columnar[1]
    split = _split_layout(body, *found, params)
    if split is None:
        return None, {}
    return _rows_in_slices(served, split[0], split[1], strict=strict), split[2]


def _rows_in_slices(
    served: ServedVersion, data: _List, columns: list[Any] | None = None, *, strict: bool
) -> dict[str, np.ndarray] | None:
    """A list of rows, or a dataframe_split's data (given its columns)."""
    n_rows = len(data)
    if not n_rows:
        return None  # an empty list: the whole parse says so
    check_rows(n_rows)

    def slices() -> Iterator[list[Any]]:
        for i in range(0, n_rows, _SLICE_ROWS):
            rows = data.values(i, min(i + _SLICE_ROWS, n_rows))
            if columns is not None:
                rows = _split_rows(served, columns, rows, offset=i, strict=strict)
            yield rows

    try:
        return rows_to_table_in_slices(served, slices(), n_rows, strict=strict)
    except orjson.JSONDecodeError:
        return None


def _columns_in_slices(
    served: ServedVersion, layout: dict[str, _List], strict: bool
) -> dict[str, np.ndarray] | None:
    """Columnar inputs that hold the features (only them if `strict`), all of one length, a
    slice of rows of every feature at a time; any other (their problems, their refusal) is
    parsed whole."""
    lengths = set(map(len, layout.values()))
    if not _fits(layout.keys(), served, strict) or len(lengths) != 1 or 0 in lengths:
        return None
    layout = {name: layout[name] for name in served.feature_names}
    n_rows = lengths.pop()
    check_rows(n_rows)

    def slices() -> Iterator[dict[str, list[Any]]]:
        for i in range(0, n_rows, _SLICE_ROWS):
            stop = min(i + _SLICE_ROWS, n_rows)
            yield {name: column.values(i, stop) for name, column in layout.items()}

    try:
        return columns_to_table_in_slices(served, slices(), n_rows, strict=strict)
    except orjson.JSONDecodeError:
        return None


def _split_rows(
    served: ServedVersion,
    columns: list[Any],
    data: list[Any],
    *,
    offset: int = 0,
    strict: bool = False,
) -> list[Any]:
    """dataframe_split rows as rows_to_table takes them: positional, in feature order (other
    columns left out unless `strict`); or, when the columns do not fit, the first row by
    name, so that the problems name them."""
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise PredictionError(
                "Every row of dataframe_split.data needs one value per column.",
                [{"row": offset + i, "column": None, "detail": f"expected {len(columns)} values"}],
            )
    names = list(map(str, columns))
    if names == list(served.feature_names):
        return data  # already positional, in feature order
    check_width(len(names))
    counts = Counter(names)
    twice = [name for name in served.feature_names if counts[name] > 1]
    if twice:  # by name, the rows would keep one of its values and lose the other
        problems = [
            _problem(offset, name, "named twice in dataframe_split.columns") for name in twice
        ]
        raise PredictionError(_summary(problems), problems)
    if _fits(counts.keys(), served, strict):  # reordered, or with other columns: by name
        order = [names.index(name) for name in served.feature_names]
        return [[row[j] for j in order] for row in data]
    return [dict(zip(names, row, strict=True)) for row in data[:1]]


# Most names of ignored MLflow `params` an answer lists.
MAX_PARAMS_NAMED = 20


def _mlflow_params(body: dict[str, Any], params: list[str] | None) -> bool:
    """Whether the body carries MLflow's "params" object and it is taken: no model here takes
    inference parameters, so they are ignored and their names added to `params` (None: the
    caller does not speak MLflow's protocol, and "params" is an unknown key)."""
    if params is None or "params" not in body:
        return False
    value = body["params"]
    if value is not None and not isinstance(value, dict):
        raise MalformedBody("params must be a JSON object of parameter names and values.")
    params.extend(str(name)[:50] for name in list(value or ())[:MAX_PARAMS_NAMED])
    if value and len(value) > MAX_PARAMS_NAMED:
        params.append(f"and {len(value) - MAX_PARAMS_NAMED} more")
    return True


def _rows_from_json(
    served: ServedVersion, body: Any, *, strict: bool, params: list[str] | None = None
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MalformedBody(f"The body must be a JSON object with one of {list(_PREDICT_FORMATS)}.")
    keys = [k for k in _PREDICT_FORMATS if k in body]
    # Besides the rows, a "key" field may name the caller for a canary split (predict.py),
    # and an MLflow client's body may carry "params".
    besides = ("key" in body) + _mlflow_params(body, params)
    if len(keys) != 1 or len(body) != 1 + besides:
        raise MalformedBody(
            f"The body must have exactly one of {list(_PREDICT_FORMATS)}; got {sorted(body)[:5]}."
        )
    payload = body[keys[0]]
    if keys[0] == "dataframe_split":
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("columns"), list)
            or not (isinstance(payload.get("data"), list))
        ):
            raise MalformedBody(
                "dataframe_split needs 'columns' (a list) and 'data' (a list of rows)."
            )
        check_rows(len(payload["data"]))
        rows = _split_rows(served, payload["columns"], payload["data"], strict=strict)
        return rows_to_table(served, rows, strict=strict)
    if keys[0] == "inputs" and isinstance(payload, dict):
        # Columnar inputs: {"feature": [values...], ...}, converted column by column.
        check_width(len(payload))
        if not strict and payload.keys() - served.feature_set:
            payload = {k: v for k, v in payload.items() if k in served.feature_set}
            if not payload:
                raise_row_problems(served, [{}])
        lengths = {len(v) if isinstance(v, list) else -1 for v in payload.values()}
        if len(lengths) != 1 or -1 in lengths:
            raise InvalidInput("Columnar inputs need a list of equal length for every column.")
        n = lengths.pop()
        check_rows(n)
        if not n:
            raise PredictionError("Send at least one row to predict.", [])
        return columns_to_table(served, payload, strict=strict)
    if not isinstance(payload, list):
        raise MalformedBody(f"{keys[0]} must be a list of rows.")
    return rows_to_table(served, payload, strict=strict)


def _check_values(body: bytes, served: ServedVersion) -> None:
    """413 for a JSON body holding more values than MLSERVE_MAX_PREDICT_ROWS rows of the
    model's features can, counted before parsing: orjson makes an object per value."""
    max_rows, width = settings.MLSERVE_MAX_PREDICT_ROWS, len(served.features)
    # A row of W values has W commas in every format (W - 1 inside it, one after it); the
    # slack (a few MB once parsed) leaves bodies with unknown columns to be named (422).
    limit = max_rows * width + 100_000
    if len(body) <= limit:
        return  # a value takes at least one byte: it fits
    values = bounds.json_values(body)
    if values > limit:
        raise TooLarge(
            f"The body holds about {values:,} values: more than {max_rows:,} rows of this model's "
            f"{width} features (MLSERVE_MAX_PREDICT_ROWS). Split it into smaller requests.",
        )


def csv_table(served: ServedVersion, data: bytes) -> csvio.Table:
    """A CSV body read against the version's input schema (its columns by name)."""
    try:
        return csvio.parse_with_schema(
            data, list(served.features), max_rows=settings.MLSERVE_MAX_PREDICT_ROWS
        )
    except csvio.CSVError as exc:
        if exc.too_large:
            raise TooLarge(str(exc)) from None
        raise PredictionError(
            str(exc), [{"row": None, "column": exc.column, "detail": str(exc)}]
        ) from None


def _refuse_other_columns(served: ServedVersion, header: list[str]) -> None:
    names = list(served.feature_names)
    problems = [
        _problem(0, name, f"unknown column (strict); expected {names}")
        for name in header
        if name not in served.feature_set
    ][:20]
    if problems:
        raise PredictionError(_summary(problems), problems)


@dataclass
class CsvUpload:
    """A CSV file predicted whole whose cells the caller echoes back (batch prediction):
    `read` holds the parsed file once it is read."""

    data: bytes
    read: csvio.Table | None = None


def upload_table(served: ServedVersion, upload: CsvUpload) -> dict[str, np.ndarray]:
    upload.read = csv_table(served, upload.data)
    return convert_columns(served, upload.read.data)


def request_table(
    served: ServedVersion,
    body: bytes,
    content_type: str = "application/json",
    *,
    strict: bool = False,
    params: list[str] | None = None,
) -> dict[str, np.ndarray]:
    """A request body's rows as typed columns, in any of the accepted formats; keys and
    columns that are not features are ignored, or refused when `strict`. `params`, a list,
    takes the names of the MLflow "params" a JSON body carries (ignored: see _mlflow_params)
    and reads a bare NaN token as a missing value, as MLflow's server does; None refuses a
    "params" key as any other, and NaN as JSON does."""
    if content_type == "text/csv":
        read = csv_table(served, body)
        if strict:
            _refuse_other_columns(served, read.columns)
        table = convert_columns(served, read.data)
    elif content_type in ("application/json", ""):
        if params is not None:
            # MLflow's protocol (`params` taken): its Python client writes a missing value as
            # the bare token NaN (json.dumps), which MLflow's server reads as missing. Read
            # so here only; the native routes keep strict JSON (a NaN there is 400).
            body = bounds.nan_as_null(body)
        _check_values(body, served)
        table = None
        if len(body) > _SLICED_BODY_BYTES:
            table = _table_in_slices(served, body, strict, params)
        if table is None:
            try:
                parsed = load_json(body)
            except orjson.JSONDecodeError as exc:
                raise MalformedBody(f"The body is not valid JSON: {str(exc)[:200]}") from None
            table = _rows_from_json(served, parsed, strict=strict, params=params)
    else:
        raise UnsupportedMediaType("Send JSON (application/json) or CSV (text/csv).")
    check_rows(len(next(iter(table.values()))) if table else 0)
    return table
