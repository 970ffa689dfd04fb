"""One row normaliser for every body format (issue 14).

The same rows, spelled with missing-value tokens ("NA", "null", "?", "nan", "") and with
blanks around categories and numbers, must predict exactly as the plain rows do, whether
they come as JSON instances (positional or named), inputs (rows or columns),
dataframe_records, dataframe_split or a CSV upload. A cell's meaning never depends on the
other rows of the request.
"""

import pytest

pytestmark = pytest.mark.django_db

NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
PATH = "/api/v1/models/churn/predict"

# The plain rows (None = missing) and the same rows as a user's file or client spells them.
PLAIN = [
    [3, 95.0, "month-to-month", "fiber", None],
    [60, None, "two-year", None, 0],
    [12, 50.5, None, "dsl", None],
    [None, 70.25, "one-year", "fiber", 2],
]
SPELLED = [
    [" 3 ", "95.0", " month-to-month ", "fiber ", "nan"],
    [60, "NA", "two-year", "null", 0],
    [12, " 50.5", "?", " dsl", "Null"],
    ["N/A", 70.25, "one-year", " fiber", " 2 "],
]
# What made them differ before: the spelled cells that are missing or padded.
assert SPELLED[0][4] == "nan"  # a number column where another row holds "Null"


def _post(client, world, body, content_type="application/json"):
    return client.post(
        PATH, body, content_type=content_type, headers={"Authorization": f"Bearer {world.token}"}
    )


def _csv(rows) -> bytes:
    lines = [",".join(NAMES)]
    lines += [",".join("" if cell is None else str(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _bodies(rows):
    named = [dict(zip(NAMES, row, strict=True)) for row in rows]
    return {
        "instances (lists)": {"instances": rows},
        "instances (objects)": {"instances": named},
        "inputs (lists)": {"inputs": rows},
        "inputs (columns)": {"inputs": {n: [row[j] for row in rows] for j, n in enumerate(NAMES)}},
        "dataframe_records": {"dataframe_records": named},
        "dataframe_split": {"dataframe_split": {"columns": NAMES, "data": rows}},
    }


def _answer(response, label):
    assert response.status_code == 200, (label, response.status_code, response.content[:400])
    data = response.json()
    return data["predictions"], data["probabilities"]


def test_it_predicts_the_same_rows_identically_in_every_format(world, client):
    expected = _answer(_post(client, world, {"instances": PLAIN}), "plain")
    answers = {"csv (plain)": _answer(_post(client, world, _csv(PLAIN), "text/csv"), "csv")}
    answers["csv (spelled)"] = _answer(_post(client, world, _csv(SPELLED), "text/csv"), "csv")
    for label, body in _bodies(SPELLED).items():
        response = _post(client, world, body)
        print(label, response.status_code, response.content[:160])
        if response.status_code != 200:
            answers[label] = (response.status_code, response.json().get("detail"))
        else:
            answers[label] = _answer(response, label)
    differing = {label: a for label, a in answers.items() if a != expected}
    print(f"{len(answers) - len(differing)} of {len(answers)} formats agree with the plain rows")
    assert not differing, differing


def test_it_treats_missing_tokens_as_missing_in_every_format(world, client):
    """ "NA", "null", "?" (any case, any blanks) mean what an empty cell or a JSON null means."""
    plain = [[3, 95.0, "month-to-month", None, None]]
    expected = _answer(_post(client, world, {"instances": plain}), "plain")
    for token in ("NA", "null", "?", "n/a", " NULL ", "nan", ""):
        spelled = [[3, 95.0, "month-to-month", token, token]]
        for label, body in _bodies(spelled).items():
            assert _answer(_post(client, world, body), f"{token!r} {label}") == expected, (
                token,
                label,
            )
        csv = _post(client, world, _csv(spelled), "text/csv")
        assert _answer(csv, f"{token!r} csv") == expected, token


def test_it_strips_blanks_around_categories_in_json_as_in_csv(world, client):
    plain = [[3, 95.0, "two-year", "dsl", 4]]
    padded = [[3, 95.0, " two-year ", " dsl ", 4]]
    expected = _answer(_post(client, world, {"instances": plain}), "plain")
    # The categories matter to this model: missing ones (the most frequent) predict otherwise.
    unknown = _answer(_post(client, world, {"instances": [[3, 95.0, None, None, 4]]}), "none")
    assert unknown[1] != expected[1]
    for label, body in _bodies(padded).items():
        assert _answer(_post(client, world, body), label) == expected, label
    assert _answer(_post(client, world, _csv(padded), "text/csv"), "csv") == expected


def test_a_nan_cell_means_the_same_whatever_the_other_rows(world, client):
    row = [3, "nan", "month-to-month", "fiber", 4]
    missing = [3, None, "month-to-month", "fiber", 4]
    expected = _answer(_post(client, world, {"instances": [missing]}), "missing")
    alone = _post(client, world, {"instances": [row]})
    # Beside a row that is not a plain number column ("NA" then takes the slow path).
    beside_na = _post(client, world, {"instances": [row, [60, "NA", "two-year", "dsl", 0]]})
    print("nan alone:", alone.status_code, "nan beside NA:", beside_na.status_code)
    assert _answer(alone, "alone") == expected
    predictions, probabilities = _answer(beside_na, "beside NA")
    assert (predictions[:1], probabilities[:1]) == expected
    # Beside a bad row, only the bad row is named.
    beside_bad = _post(client, world, {"instances": [row, [60, "lots", "two-year", "dsl", 0]]})
    assert beside_bad.status_code == 422, beside_bad.content
    assert beside_bad["Content-Type"] == "application/problem+json"
    named = [(e["row"], e["column"]) for e in beside_bad.json()["errors"]]
    print("nan beside a bad row, problems named:", named)
    assert named == [(1, "monthly_charges")]


def test_infinity_is_refused_in_every_format(world, client):
    spelled = [[3, "inf", "month-to-month", "fiber", 4]]
    for label, body in _bodies(spelled).items():
        response = _post(client, world, body)
        assert response.status_code == 422, (label, response.content)
        assert response["Content-Type"] == "application/problem+json"
    response = _post(client, world, _csv(spelled), "text/csv")
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
