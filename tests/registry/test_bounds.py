"""registry/bounds.py: counts of values and lines equal to the parsers', in any chunking."""

import csv
import io
import itertools
import json
import random

import pytest

from registry import bounds

ALPHABET = ["a", ",", "[", "{", '"', "\\", "é", "\n", "\r"]


def _commas(value) -> int:
    if isinstance(value, (list, dict)):
        items = value if isinstance(value, list) else list(value.values())
        return max(len(items) - 1, 0) + sum(map(_commas, items))
    return 0


def _random_json(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth < 4 and roll < 0.3:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 4 and roll < 0.5:
        return {
            "".join(rng.choices(ALPHABET, k=3)): _random_json(rng, depth + 1)
            for _ in range(rng.randint(0, 3))
        }
    if roll < 0.8:
        return "".join(rng.choices(ALPHABET, k=rng.randint(0, 6)))
    return rng.random()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 18])
def test_it_counts_json_values_across_chunks(monkeypatch, chunk):
    monkeypatch.setattr(bounds, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(500):
        value = _random_json(rng)
        body = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        assert bounds.json_values(body) == _commas(value) + 1, body


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 18])
def test_it_counts_csv_lines_as_the_csv_module_reads_them(monkeypatch, chunk):
    monkeypatch.setattr(bounds, "_CHUNK", chunk)
    rng = random.Random(chunk)
    pieces = ["", "  ", "a,b", '"x\ny",1', '"q""\n",2', " \t", "c", '"a\r\nb"']
    for _ in range(500):
        lines = [rng.choice(pieces) for _ in range(rng.randint(0, 6))]
        data = rng.choice(["\n", "\r\n", "\r"]).join(lines) + rng.choice(["", "\n"])
        text = data.replace("\r\n", "\n").replace("\r", "\n")
        rows = [r for r in csv.reader(io.StringIO(text)) if r and (len(r) > 1 or r[0].strip())]
        assert bounds.csv_lines(data.encode()) == len(rows), data


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 18])
def test_it_finds_the_rows_of_a_row_list_across_chunks(monkeypatch, chunk):
    monkeypatch.setattr(bounds, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(300):
        rows = [_random_json(rng) for _ in range(rng.randint(1, 6))]
        body = json.dumps({"instances": rows}, ensure_ascii=rng.random() < 0.5).encode()
        opener, commas, closer = bounds.row_list(body)
        edges = [opener, *commas.tolist(), closer]
        pieces = [json.loads(body[a + 1 : b]) for a, b in itertools.pairwise(edges)]
        assert pieces == rows, body
    assert bounds.row_list(b'{"a": {"b": [1, 2]}}') is None  # an object at the rows' depth
    assert bounds.row_list(b'{"a": [1], "b": [2]}') is None  # two lists
    assert bounds.row_list(b"[1, 2]") is None


def _with_nans(rng: random.Random, value):
    """The value with some numbers made NaN, and strings that spell it ("NaN", "[NaN,")."""
    if isinstance(value, list):
        return [_with_nans(rng, v) for v in value]
    if isinstance(value, dict):
        return {k: _with_nans(rng, v) for k, v in value.items()}
    if isinstance(value, float) and rng.random() < 0.5:
        return float("nan")
    if isinstance(value, str) and rng.random() < 0.3:
        return rng.choice(["NaN", " NaN,", '[NaN]\\"', "\\NaN}"]) + value
    return value


def _nan_as_none(value):
    if isinstance(value, list):
        return [_nan_as_none(v) for v in value]
    if isinstance(value, dict):
        return {k: _nan_as_none(v) for k, v in value.items()}
    return None if isinstance(value, float) and value != value else value


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 18])
def test_it_writes_each_bare_nan_as_null_and_leaves_strings_alone(monkeypatch, chunk):
    """What json.loads reads, with NaN as None: NaN tokens outside strings become null,
    the same letters inside a string (escaped quotes included) stay."""
    monkeypatch.setattr(bounds, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(300):
        value = _with_nans(rng, {"dataframe_split": {"data": [_random_json(rng)]}})
        body = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        written = bounds.nan_as_null(body)
        assert json.loads(written, parse_constant=lambda c: 1 / 0) == _nan_as_none(value), body
    assert bounds.nan_as_null(b'{"a": [NaN,NaN ,\nNaN]}') == b'{"a": [null,null ,\nnull]}'
    assert bounds.nan_as_null(b'{"a": [NaNa, -NaN, Infinity]}') == b'{"a": [NaNa, -NaN, Infinity]}'
