"""The access matrix (docs/access.md): five personas x every route that reads a model or a
dataset (pages, API, exports, admin lists and the admin's predict page) x a private, a team
and a public model and dataset, each cell's status asserted from the tables below.

owner      owns every object here, and is in the team "analysts"
member     a member of "analysts", the team of the team-visible objects
outsider   signed in, in no team
staff      is_staff with the admin's view permissions, in no team: an ordinary reader
superuser  reads everything

A cell a persona may not read is a 404 (never a 403: its existence does not leak); one they
may read but not change is a 403 on the owner's routes. The lists show exactly the objects
whose read cell is 200.
"""

import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from registry import services
from registry.models import Dataset, ModelVersion, Team
from registry.tokens import token_create
from tests.conftest import ApiClient, install_trained

pytestmark = pytest.mark.django_db

VISIBILITIES = ("private", "team", "public")
PERSONAS = ("owner", "member", "outsider", "staff", "superuser")

# Per persona, the status of each visibility's cell: (private, team, public).
READ = {
    "owner": (200, 200, 200),
    "member": (404, 200, 200),
    "outsider": (404, 404, 200),
    "staff": (404, 404, 200),
    "superuser": (200, 200, 200),
}
# The owner's routes (delete, visibility): a reader who may not change it gets 403.
CHANGE = {
    "owner": (200, 200, 200),
    "member": (404, 403, 403),
    "outsider": (404, 404, 403),
    "staff": (404, 404, 403),
    "superuser": (200, 200, 200),
}
# Exports (an export can hold training rows): the owner, staff and superusers, of what
# they may read (transfer.may_export).
EXPORT = {
    "owner": (200, 200, 200),
    "member": (404, 403, 403),
    "outsider": (404, 404, 403),
    "staff": (404, 404, 200),
    "superuser": (200, 200, 200),
}
# Training and leaderboards read only the caller's own datasets, whoever may read one (a
# superuser included): a shared dataset is looked at and downloaded, not trained on.
OWN_DATA = {
    "owner": (200, 200, 200),
    "member": (404, 404, 404),
    "outsider": (404, 404, 404),
    "staff": (404, 404, 404),
    "superuser": (404, 404, 404),
}
# The admin's pages: whoever is not staff is sent to its sign-in page.
ADMIN = {
    "owner": (302, 302, 302),
    "member": (302, 302, 302),
    "outsider": (302, 302, 302),
    "staff": (404, 404, 200),
    "superuser": (200, 200, 200),
}

ROW = {
    "tenure_months": 5,
    "monthly_charges": 70.5,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 1,
}
CSV = (",".join(ROW) + "\n" + ",".join(str(v) for v in ROW.values()) + "\n").encode()


def csv_file() -> io.BytesIO:
    upload = io.BytesIO(CSV)
    upload.name = "rows.csv"
    return upload


# (table, client kind, method, path, body): {m} a model's name, {pk} its version's id.
MODEL_ROUTES = [
    (READ, "page", "get", "/models/{m}/", None),
    (READ, "page", "get", "/models/{m}/compare/", None),
    (READ, "page", "get", "/models/{m}/versions/1/", None),
    (READ, "page", "get", "/models/{m}/versions/1/status/", None),
    (READ, "page", "get", "/models/{m}/versions/1/plots/confusion_matrix.svg", None),
    (READ, "page", "post", "/models/{m}/versions/1/predict/", "form-row"),
    (READ, "page", "post", "/models/{m}/versions/1/batch/", "csv-file"),
    (READ, "api", "get", "/models/{m}", None),
    (READ, "api", "get", "/models/{m}/versions/1", None),
    (READ, "api", "get", "/models/{m}/aliases/production", None),
    (READ, "api", "get", "/models/{m}/versions/1/drift", None),
    (READ, "api", "get", "/models/{m}/versions/1/live-metrics", None),
    (READ, "api", "post", "/models/{m}/predict", {"instances": [ROW]}),
    (READ, "api", "post", "/models/{m}/predict?alias=production&version=1", {"instances": [ROW]}),
    (READ, "api", "post", "/models/{m}/versions/1/predict", {"instances": [ROW]}),
    (EXPORT, "page", "get", "/models/{m}/versions/1/export/", None),
    (EXPORT, "api", "get", "/models/{m}/versions/1/export", None),
    (CHANGE, "page", "get", "/models/{m}/delete/", None),
    (CHANGE, "api", "put", "/models/{m}/visibility", "same-visibility"),
    (ADMIN, "page", "get", "/admin/registry/modelversion/{pk}/predict/", None),
]
# {d} a dataset's id.
DATASET_ROUTES = [
    (READ, "page", "get", "/datasets/{d}/", None),
    (READ, "page", "get", "/datasets/{d}/csv/", None),
    (READ, "api", "get", "/datasets/{d}", None),
    (READ, "api", "get", "/datasets/{d}/csv", None),
    (CHANGE, "page", "get", "/datasets/{d}/delete/", None),
    (OWN_DATA, "page", "get", "/train/?dataset={d}", None),
    (OWN_DATA, "page", "get", "/datasets/{d}/leaderboard/", None),
    (CHANGE, "api", "put", "/datasets/{d}/visibility", "same-visibility"),
]


@pytest.fixture
def world(django_user_model, owner, other, admin_user, make_dataset, trained_churn):
    """A model and a dataset of the owner's per visibility; the personas and their clients."""
    member = django_user_model.objects.create_user("mia", "mia@example.com", "pw-mia-123")
    staff = django_user_model.objects.create_user("sam", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="registry",
            codename__in=["view_registeredmodel", "view_modelversion", "view_dataset"],
        )
    )
    team = Team.objects.create(name="analysts")
    team.members.add(owner, member)
    users = {
        "owner": owner,
        "member": member,
        "outsider": other,
        "staff": staff,
        "superuser": admin_user,
    }
    models, datasets = {}, {}
    for visibility in VISIBILITIES:
        dataset = make_dataset("churn.csv", dataset_name=f"data-{visibility}")
        version = install_trained(
            trained_churn, owner=owner, dataset=dataset, name=f"model-{visibility}"
        )
        for obj in (version.model, dataset):
            services.set_visibility(
                obj,
                user=owner,
                visibility=visibility,
                team="analysts" if visibility == "team" else None,
                via="api",
            )
        models[visibility], datasets[visibility] = version, dataset
    clients = {}
    for name, user in users.items():
        page = Client()
        page.force_login(user)
        clients[name] = {
            "page": page,
            "api": ApiClient(Client(), token_create(user=user, name="matrix")[1]),
        }
    return {"users": users, "models": models, "datasets": datasets, "clients": clients}


def _call(client, kind: str, method: str, path: str, body, visibility: str):
    if body == "same-visibility":  # the owner's write that changes nothing
        body = {"visibility": visibility, "team": "analysts" if visibility == "team" else None}
    if kind == "api":
        return getattr(client, method)(path, body) if body is not None else client.get(path)
    if body == "form-row":
        body = {f"f{i}": value for i, value in enumerate(ROW.values())}
    elif body == "csv-file":
        body = {"file": csv_file()}
    return getattr(client, method)(path, body) if body is not None else client.get(path)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_route_answers_each_persona_as_the_table_says(world, persona):
    failures, count = [], 0
    for visibility_index, visibility in enumerate(VISIBILITIES):
        version, dataset = world["models"][visibility], world["datasets"][visibility]
        values = {"m": version.model.name, "pk": version.pk, "d": dataset.pk}
        for routes in (MODEL_ROUTES, DATASET_ROUTES):
            for table, kind, method, template, body in routes:
                path = template.format(**values)
                client = world["clients"][persona][kind]
                response = _call(client, kind, method, path, body, visibility)
                count += 1
                expected = table[persona][visibility_index]
                if response.status_code != expected:
                    failures.append(
                        (visibility, kind, method, path, response.status_code, expected)
                    )
                if response.status_code == 404 and kind == "api":
                    # Not found says nothing of what exists: the same words as a name never used.
                    assert "analysts" not in response.content.decode()
    assert failures == [], failures
    print(f"\n{count} cells as {persona}, every one as the table says")


def _readable(persona: str, prefix: str) -> set[str]:
    return {f"{prefix}-{v}" for i, v in enumerate(VISIBILITIES) if READ[persona][i] == 200}


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_list_shows_exactly_what_the_persona_may_read(world, persona):
    page, api = world["clients"][persona]["page"], world["clients"][persona]["api"]
    models, datasets = _readable(persona, "model"), _readable(persona, "data")
    every_model = {f"model-{v}" for v in VISIBILITIES}
    every_dataset = {f"data-{v}" for v in VISIBILITIES}

    def shown(html: str, names: set[str]) -> set[str]:
        return {n for n in names if f">{n}<" in html}

    assert shown(page.get("/models/").content.decode(), every_model) == models
    assert shown(page.get("/models/?q=model").content.decode(), every_model) == models
    assert {m["name"] for m in api.get("/models").json()["items"]} == models
    assert shown(page.get("/datasets/").content.decode(), every_dataset) == datasets
    assert {d["name"] for d in api.get("/datasets").json()["items"]} == datasets
    # A shared dataset's page lists the models trained on it that the viewer may read.
    if READ[persona][1] == 200:
        detail = page.get(f"/datasets/{world['datasets']['team'].pk}/").content.decode()
        assert ("model-team v1" in detail) == ("model-team" in models)
    admin_lists = {
        "/admin/registry/registeredmodel/": (every_model, models),
        "/admin/registry/modelversion/": (every_model, models),
        "/admin/registry/dataset/": (every_dataset, datasets),
    }
    for path, (names, expected) in admin_lists.items():
        response = page.get(path)
        if ADMIN[persona][2] == 302:
            assert response.status_code == 302, path  # not staff: the admin's sign-in
            continue
        assert response.status_code == 200, path
        assert shown(response.content.decode(), names) == expected, path


def test_the_admin_change_pages_of_what_staff_may_not_read_are_not_there(world):
    """Django's admin answers an object outside its list with a redirect and "does not
    exist", as for an id never used."""
    staff = world["clients"]["staff"]["page"]
    for visibility in VISIBILITIES:
        model = world["models"][visibility].model
        dataset = world["datasets"][visibility]
        for path in (
            f"/admin/registry/registeredmodel/{model.pk}/change/",
            f"/admin/registry/dataset/{dataset.pk}/change/",
            f"/admin/registry/modelversion/{world['models'][visibility].pk}/change/",
        ):
            response = staff.get(path)
            assert response.status_code == (200 if visibility == "public" else 302), path
    assert Dataset.objects.count() == 3
    assert ModelVersion.objects.count() == 3
