"""A leaderboard in a real browser: from the dataset page, a small board (2 folds, the
defaults of a few classifiers) runs on a real task worker while the page follows it by
itself; then the winner is registered and trained, and its version links back."""

import re

import pytest
from playwright.sync_api import Page, expect

from registry import services
from registry.models import Leaderboard, ModelVersion
from tests.conftest import demo_bytes
from tests.e2e.test_browser_flow import PASSWORD, TRAINING_TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ALGORITHMS = ("logistic_regression", "gaussian_nb", "decision_tree_classifier", "knn_classifier")


def test_a_person_runs_a_board_and_registers_the_winner(
    page: Page, live_server, django_user_model, task_worker, screenshot
):
    owner = django_user_model.objects.create_user("olivia", "olivia@example.com", PASSWORD)
    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    base = live_server.url
    page.goto(base + dataset.get_absolute_url())
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("churn")

    # The dataset page's form: target, 2 folds, the defaults only, a few algorithms.
    form = page.locator("[data-leaderboard-form]")
    form.get_by_label("Target").select_option("churned")
    form.get_by_label("Folds").fill("2")
    form.get_by_label("Random configurations per algorithm").fill("0")
    for algorithm in ALGORITHMS:
        form.locator(f"input[name=board-algorithms][value={algorithm}]").check()
    form.get_by_role("button", name="Start a leaderboard").click()
    expect(page).to_have_url(re.compile(r"/leaderboards/\d+/$"))
    board = Leaderboard.objects.get()
    expect(page.locator("[data-board-trials]")).to_have_text("0 of 4 trials done")
    page.evaluate("window.__sameDocument = true")  # to prove the page follows without reload

    task_worker()
    expect(page.locator("[data-board-status]")).to_have_text("done", timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("[data-board-trials]")).to_have_text("4 of 4 trials done")
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("tr[data-algorithm]")).to_have_count(len(ALGORITHMS))
    expect(page.locator("tr.best [data-rank]")).to_have_text("1")
    expect(page.locator("[data-board-chart] rect.bar")).to_have_count(len(ALGORITHMS))
    board.refresh_from_db()
    assert board.status == "done"
    screenshot("22-leaderboard")

    # Every trial's fold scores, in a details element.
    first = page.locator("details[data-trial]").first
    first.locator("summary").click()
    expect(first.get_by_role("columnheader", name="Fold 2")).to_be_visible()

    # Sort by another metric: a link, answered by the server.
    page.get_by_role("link", name="Log loss").click()
    expect(page).to_have_url(re.compile(r"\?sort=log_loss$"))
    expect(page.get_by_role("columnheader", name="Log loss ↓")).to_be_visible()

    # Register the winner: its version trains on every row and links back to the board.
    best = page.locator("tr.best")
    winner = best.get_attribute("data-algorithm")
    best.get_by_label(re.compile("Model name for")).fill("churn-best")
    best.get_by_role("button", name="Register").click()
    expect(page).to_have_url(base + "/models/churn-best/versions/1/")
    expect(page.get_by_role("img", name="Confusion matrix")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )
    version = ModelVersion.objects.get(model__name="churn-best")
    assert (version.status, version.algorithm, version.leaderboard_id) == (
        "ready",
        winner,
        board.pk,
    )
    page.locator("[data-leaderboard-link] a").click()
    expect(page).to_have_url(base + board.get_absolute_url())
    expect(page.get_by_role("link", name="churn-best v1")).to_be_visible()
