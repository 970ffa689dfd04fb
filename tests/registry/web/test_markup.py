"""Every page is ready for a strict Content-Security-Policy (issue 9): no inline script, no
inline event handler, no style attribute; and each links the app's own stylesheet only."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(owner_client, make_model, make_dataset):
    dataset = make_dataset("churn.csv")
    model = make_model("churn", versions=2)
    make_version(model, 3, status="running", progress=20)
    make_version(model, 4, status="failed", error="No.")
    make_version(model, 5, status="cancelled", error="Cancelled by olivia.")
    return [
        reverse("dashboard"),
        reverse("dataset_list"),
        reverse("dataset_upload"),
        reverse("dataset_detail", args=[dataset.pk]),
        reverse("dataset_delete", args=[dataset.pk]),
        reverse("train"),
        reverse("model_list"),
        reverse("model_detail", args=["churn"]),
        reverse("model_delete", args=["churn"]),
        reverse("version_compare", args=["churn"]),
        reverse("alias_move", args=["churn"]) + "?alias=production&version=2",
        *(reverse("version_detail", args=["churn", n]) for n in (1, 3, 4, 5)),
        reverse("version_delete", args=["churn", 1]),
        reverse("version_cancel", args=["churn", 3]),
        reverse("token_list"),
        "/no/such/page/",
    ]


def check(html: str, url: str) -> None:
    # Scripts come from files; a JSON data block (json_script) is not run, so the CSP
    # lets it be.
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert [s for s in scripts if 'type="application/json"' not in s] == [], url
    assert re.findall(r"\son[a-z]+\s*=", html) == [], url
    assert "style=" not in html, url
    assert "javascript:" not in html, url
    assert re.findall(r'(?:src|href)="(?:https?:)?//', html) == [], url  # nothing from a CDN
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html, url


def test_it_renders_every_page_without_inline_script_or_style(owner_client, pages, owner):
    for url in pages:
        response = owner_client.get(url)
        assert response.status_code in (200, 404), url
        check(response.content.decode(), url)
    assert owner.models.count() == 1


def test_it_renders_the_sign_in_page_the_same_way(db):
    response = Client().get(reverse("login"))
    check(response.content.decode(), "login")
