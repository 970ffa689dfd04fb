"""Every name pattern ends at the very end of the text (\\Z): Python's `$` also matches just
before a final newline, which let an alias named "production\\n" in through the API."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from registry import cards, services
from registry.models import Alias, RegisteredModel, name_validator
from registry.web import views
from tests.conftest import assert_problem
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def churn_model(owner):
    model = RegisteredModel.objects.create(name="churn", owner=owner)
    make_version(model, 1)
    return model


def test_the_api_refuses_an_alias_ending_in_a_newline(owner_api, churn_model):
    response = owner_api.put("/models/churn/aliases/production%0A", {"version": 1})
    print(f"\nPUT .../aliases/production%0A: {response.status_code}")
    assert_problem(response, 422, "not a valid alias name")
    assert not Alias.objects.exists()


def test_the_pages_refuse_an_alias_ending_in_a_newline(client, owner, churn_model):
    client.force_login(owner)
    response = client.post(
        reverse("alias_move", args=["churn"]),
        {"alias": "production\n", "version": 1, "action": "move"},
    )
    assert response.status_code == 400
    assert not Alias.objects.exists()


def test_the_admin_never_stores_a_name_ending_in_a_newline(admin_user, churn_model):
    client = Client()
    client.force_login(admin_user)
    version = churn_model.versions.get()
    client.post(
        reverse("admin:registry_alias_add"),
        {"model": churn_model.pk, "name": "production\n", "version": version.pk},
    )
    client.post(
        reverse("admin:registry_registeredmodel_add"),
        {
            "name": "other\n",
            "owner": admin_user.pk,
            "description": "",
            **{f"{p}-{k}": v for p in ("aliases", "versions", "tags") for k, v in _empty_inline()},
        },
    )
    names = [*Alias.objects.values_list("name", flat=True)]
    names += RegisteredModel.objects.values_list("name", flat=True)
    assert not [n for n in names if "\n" in n], names


def _empty_inline():
    return [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0")]


def test_a_model_name_ending_in_a_newline_is_refused(owner):
    with pytest.raises(ValidationError):
        name_validator("churn\n")
    with pytest.raises(ValidationError):
        RegisteredModel(name="churn\n", owner=owner).full_clean()


@pytest.mark.parametrize(
    ("pattern", "good"),
    [
        (services.ALIAS_RE, "production"),
        (views.PLOT_NAME_RE, "loss_curve"),
    ],
)
def test_every_pattern_refuses_a_trailing_newline(pattern, good):
    assert pattern.match(good)
    assert not pattern.match(good + "\n")


def test_the_card_schema_refuses_a_trailing_newline():
    """Imported cards are checked by pydantic (Rust regex: `\\z` is the very end)."""
    for annotation, good in ((cards.Sha256, "0" * 64), (cards.PlotName, "confusion_matrix")):
        adapter = TypeAdapter(annotation)
        assert adapter.validate_python(good) == good
        with pytest.raises(PydanticValidationError):
            adapter.validate_python(good + "\n")


def test_no_pattern_in_the_code_ends_with_a_dollar():
    """A scan of the code (migrations keep history): a pattern that ends in `$"` is a bug."""
    anchored = re.compile(r"""r?["']\^[^"'\n]*\$["']""")
    found = [
        f"{path.relative_to(ROOT)}: {match.group()}"
        for package in ("registry", "mlsite", "numpyml")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        for match in anchored.finditer(path.read_text())
    ]
    print(f"\npatterns ending in $: {found}")
    assert not found


def test_the_api_refuses_a_model_name_ending_in_a_newline(owner_api, make_dataset):
    dataset = make_dataset("churn.csv")
    body = {"dataset": dataset.pk, "algorithm": "logistic_regression", "target": "churned"}
    response = owner_api.post("/models", {**body, "name": "churn\n"})
    print(f"\nPOST /models name 'churn\\n': {response.status_code}")
    assert_problem(response, 422, "name")
    assert not RegisteredModel.objects.exists()
