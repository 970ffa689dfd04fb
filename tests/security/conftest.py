"""Shared by the security tests: a registry of two users' objects, a snapshot of everything
an outsider must not be able to change, and a small HTML form/link parser.

The browser fixtures (Debian's Chromium through pytest-playwright) are the e2e suite's own,
imported so that they apply here too.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.e2e.conftest import (  # noqa: F401  (fixtures, registered for this folder)
    browser_context_args,
    browser_type_launch_args,
)
from tests.registry.conftest import (  # noqa: F401  (owner_client, other_client: fixtures)
    make_version,
    other_client,
    owner_client,
)

TOKEN_NAME = "olivia-private-nightly-job"


@pytest.fixture
def registry(owner, other, make_dataset):
    """The owner's dataset; their model "churn" with v1 really trained (in this process, once
    per session: tests/conftest.py train_once) and aliased production, and v2 ready without
    training; their API token; and the other user's own dataset."""
    from registry.tokens import token_create
    from tests.conftest import train_once

    dataset = make_dataset("churn.csv")
    v1 = train_once(
        owner=owner,
        name="churn",
        description="mine",
        dataset=dataset,
        algorithm="logistic_regression",
        target="churned",
    )
    model = v1.model
    make_version(model, 2, dataset=dataset)  # v1, the first ready, is production already
    token, text = token_create(user=owner, name=TOKEN_NAME)
    theirs = make_dataset("churn.csv", user=other, dataset_name="oscars")
    return {
        "dataset": dataset,
        "model": model,
        "token": token,
        "token_text": text,
        "their_dataset": theirs,
    }


def snapshot() -> dict:
    """Every row an outsider could try to change, with the fields that matter."""
    from django.contrib.auth import get_user_model

    from registry.models import (
        AlertRule,
        Alias,
        ApiToken,
        BatchJob,
        Dataset,
        Leaderboard,
        ModelTag,
        ModelVersion,
        RegisteredModel,
        VersionTag,
        WebhookDelivery,
        WebhookEndpoint,
    )

    return {
        "users": sorted(
            get_user_model().objects.values_list(
                "pk", "username", "password", "is_staff", "is_superuser", "is_active"
            )
        ),
        "models": sorted(
            RegisteredModel.objects.values_list(
                "pk", "name", "owner_id", "description", "visibility", "team_id"
            )
        ),
        "versions": sorted(
            ModelVersion.objects.values_list(
                "pk",
                "model_id",
                "version",
                "status",
                "artifact_sha256",
                "created_by_id",
                "threshold",
                "description",
                "note",
            )
        ),
        "tags": sorted(
            [("model", *t) for t in ModelTag.objects.values_list("model_id", "key", "value")]
            + [
                ("version", *t)
                for t in VersionTag.objects.values_list("version__model_id", "key", "value")
            ]
        ),
        "aliases": sorted(Alias.objects.values_list("model_id", "name", "version_id")),
        "datasets": sorted(
            Dataset.objects.values_list("pk", "name", "owner_id", "sha256", "visibility", "team_id")
        ),
        "tokens": sorted(ApiToken.objects.values_list("pk", "user_id", "name", "revoked_at")),
        "leaderboards": sorted(
            Leaderboard.objects.values_list("pk", "owner_id", "status", "trials_done")
        ),
        "webhooks": sorted(
            WebhookEndpoint.objects.values_list(
                "pk", "owner_id", "model_id", "url", "secret_encrypted", "events", "active"
            )
        ),
        "deliveries": sorted(WebhookDelivery.objects.values_list("pk", "endpoint__owner_id")),
        "alert_rules": sorted(
            AlertRule.objects.values_list("pk", "model_id", "kind", "params", "active")
        ),
        "batch_jobs": sorted(
            BatchJob.objects.values_list("pk", "owner_id", "status", "rows_done", "error")
        ),
    }


def owned_by(state: dict, user_id: int) -> dict:
    """The part of a snapshot that belongs to one user (what others must leave alone)."""
    model_ids = {m[0] for m in state["models"] if m[2] == user_id}
    return {
        "models": [m for m in state["models"] if m[2] == user_id],
        "versions": [v for v in state["versions"] if v[1] in model_ids],
        "aliases": [a for a in state["aliases"] if a[0] in model_ids],
        "tags": [t for t in state["tags"] if t[1] in model_ids],
        "datasets": [d for d in state["datasets"] if d[2] == user_id],
        "tokens": [t for t in state["tokens"] if t[1] == user_id],
        "leaderboards": [b for b in state["leaderboards"] if b[1] == user_id],
        "webhooks": [w for w in state["webhooks"] if w[1] == user_id],
        "deliveries": [d for d in state["deliveries"] if d[1] == user_id],
        "alert_rules": [r for r in state["alert_rules"] if r[1] in model_ids],
        "batch_jobs": [j for j in state["batch_jobs"] if j[1] == user_id],
        "user": [u for u in state["users"] if u[0] == user_id],
    }


class PageParser(HTMLParser):
    """The links (and images) and forms of one HTML page (forms with their fields)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.base, a["href"]))
        elif tag == "img" and a.get("src") and not a["src"].startswith("data:"):
            self.links.append(urljoin(self.base, a["src"]))  # the plots are pages too
        elif tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": urljoin(self.base, a.get("action") or self.base),
                "enctype": a.get("enctype", ""),
                "fields": [],
            }
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button") and self._form is not None:
            if a.get("name"):
                self._form["fields"].append(
                    {"name": a["name"], "type": a.get("type", tag), "value": a.get("value", "")}
                )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def parse_page(url: str, html: str) -> PageParser:
    parser = PageParser(url)
    parser.feed(html)
    return parser


def local_path(url: str) -> str | None:
    """The path (with query) of a link to this site, or None for another site."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, start: list[str], *, limit: int = 400, skip: tuple[str, ...] = ()) -> dict:
    """Every page reachable by GET links from `start`, as {path: response}. Only this site,
    no static files, no file downloads; a page's query-string variants count once per path
    (pagination and filters would otherwise multiply the admin)."""
    seen: dict = {}
    queue = list(start)
    paths_done: set[str] = set()
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = url.split("?")[0]
        if url in seen or path in paths_done or path.startswith(("/static/", *skip)):
            continue
        paths_done.add(path)
        response = client.get(url)
        seen[url] = response
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = parse_page("http://testserver" + url, response.content.decode())
        for link in page.links:
            found = local_path(link)
            if found and found not in seen:
                queue.append(found)
    return seen


def api_operations(client) -> list[tuple[str, str]]:
    """(method, path template) of every operation in the API's OpenAPI document."""
    document = client.get("/api/v1/openapi.json").json()
    return sorted(
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "put", "post", "delete", "patch", "head")
    )


def fill_path(template: str, values: dict) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"no value for a parameter of {template}: add it to the test"
    return path
