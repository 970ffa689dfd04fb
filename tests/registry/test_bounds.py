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
