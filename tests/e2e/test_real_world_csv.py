"""A European export in a real browser: a semicolon-separated file with decimal commas and a
date column is uploaded, the page says how it was read and which types it found, a
regression trains on it (the date expanded into numbers), becomes production as the model's
first version, and a one-row file written the same way is predicted."""

import csv
import datetime
import io
import random
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from registry.models import Alias, Dataset, ModelVersion

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "pw-elise-123"
TRAINING_TIMEOUT_MS = 90_000


def european_sales(rows: int = 120, seed: int = 7) -> str:
    """Ice cream sales as a French spreadsheet exports them: `;` between fields, `,` before
    decimals, ISO dates. Sales rise with temperature, fall with price, and are higher in Nice."""
    rng = random.Random(seed)
    lines = ["day;city;temp_c;price_eur;sales"]
    for i in range(rows):
        day = datetime.date(2024, 1, 1) + datetime.timedelta(days=3 * i)
        city = ("Lyon", "Nice", "Lille")[i % 3]
        temp = round(5 + 20 * rng.random(), 1)
        price = round(2 + rng.random(), 2)
        sales = 10 + 3 * temp + (5 if city == "Nice" else 0) - 4 * price + rng.gauss(0, 1)
        cells = [day.isoformat(), city, f"{temp:.1f}", f"{price:.2f}", f"{sales:.2f}"]
        lines.append(
            ";".join(cell.replace(".", ",") if i else cell for i, cell in enumerate(cells))
        )
    return "\n".join(lines) + "\n"


def test_a_semicolon_file_with_decimal_commas_and_dates_trains_and_predicts(
    page: Page, live_server, django_user_model, task_worker, screenshot, tmp_path
):
    django_user_model.objects.create_user("elise", "elise@example.com", PASSWORD)
    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill("elise")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, elise")

    # Upload: nothing to choose, the file's dialect is detected.
    upload = tmp_path / "ventes.csv"
    upload.write_text(european_sales())
    page.goto(base + "/datasets/upload/")
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+/$"))
    expect(page.get_by_text("Read as: semicolon-separated, decimal comma")).to_be_visible()
    types = {
        row.locator("th").inner_text().split("\n")[0]: row.locator(
            ".badge[class*=type-]"
        ).inner_text()
        for row in page.locator("table tbody tr")
        .filter(has=page.locator(".badge[class*=type-]"))
        .all()
    }
    assert types == {
        "day": "date",
        "city": "category",
        "temp_c": "number",
        "price_eur": "number",
        "sales": "number",
    }
    screenshot("20-dataset-european")
    dataset = Dataset.objects.get()
    assert (dataset.n_rows, dataset.n_columns) == (120, 5)
    assert dataset.options["delimiter"] == ";"
    assert dataset.options["decimal"] == ","

    # Train a linear regression on every column but the target, the date among them.
    page.get_by_role("link", name="Train a model on it").click()
    page.get_by_label("Model name").fill("ice-cream")
    page.locator("input[name=algorithm][value=linear_regression]").check()
    page.locator("#id_target").select_option("sales")
    for feature in ("day", "city", "temp_c", "price_eur"):
        expect(page.locator(f"input[name=features][value={feature}]")).to_be_checked()
    page.get_by_role("button", name="Start training").click()
    expect(page).to_have_url(base + "/models/ice-cream/versions/1/")
    task_worker()
    expect(page.get_by_role("img", name="Predicted vs actual")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )
    version = ModelVersion.objects.get(model__name="ice-cream", version=1)
    assert version.status == "ready"
    assert [f["type"] for f in version.features] == ["date", "category", "number", "number"]
    assert version.metrics["r2"] > 0.9  # the commas were read as decimals, not as text
    assert Alias.objects.get(model__name="ice-cream", name="production").version == version

    # Predict one row, written as the training file was.
    row = tmp_path / "demain.csv"
    row.write_text("day;city;temp_c;price_eur\n2024-07-14;Nice;28,5;2,40\n")
    page.locator("#batch input[type=file]").set_input_files(row)
    with page.expect_download() as info:
        page.get_by_role("button", name="Predict and download").click()
    scored = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(scored) == 1
    expected = 10 + 3 * 28.5 + 5 - 4 * 2.40
    assert abs(float(scored[0]["prediction"]) - expected) < 5
    screenshot("21-version-european")
