"""MLflow's model URIs (`models:/name`, `models:/name/3`, `models:/name@alias`): the one
parser (serving/resolve.py) every API field taking a model reference goes through."""

import pytest

from registry.errors import InvalidInput
from registry.serving.resolve import ModelRef, model_name, parse_model_uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models:/churn", ModelRef("churn")),
        ("models:/churn/3", ModelRef("churn", version=3)),
        ("models:/churn/2147483647", ModelRef("churn", version=2**31 - 1)),
        ("models:/churn@production", ModelRef("churn", alias="production")),
        ("models:/churn.v2_x-1@staging-2", ModelRef("churn.v2_x-1", alias="staging-2")),
    ],
)
def test_it_reads_each_form(text, expected):
    assert parse_model_uri(text, field="model") == expected
    assert str(expected) == text  # and writes it back


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("churn", "is not a model URI"),
        ("runs:/abc/model", "is not a model URI"),
        ("Models:/churn", "is not a model URI"),
        ("models:/", "does not name a model"),
        ("models://churn", "does not name a model"),
        ("models:/Churn", "does not name a model"),
        ("models:/churn!/1", "does not name a model"),
        ("models:/churn/0", "does not name a version"),
        ("models:/churn/2147483648", "does not name a version"),
        ("models:/churn/x", "does not name a version"),
        ("models:/churn/", "does not name a version"),
        ("models:/churn/3/4", "does not name a version"),
        ("models:/churn/\u0663", "does not name a version"),  # an Arabic-Indic digit
        ("models:/churn@", "does not name an alias"),
        ("models:/churn@Prod", "does not name an alias"),
        ("models:/churn@prod/3", "both an alias and a version"),
        ("models:/" + "a" * 300, "is not a model URI"),
        (3, "int is not a model URI"),
        (None, "NoneType is not a model URI"),
    ],
)
def test_it_refuses_anything_else_naming_the_field(text, detail):
    with pytest.raises(InvalidInput) as refused:
        parse_model_uri(text, field="versions.1")
    assert detail in refused.value.message
    assert list(refused.value.errors) == ["versions.1"]
    assert len(refused.value.message) < 400


def test_a_destination_takes_a_name_or_a_model_uri_only():
    assert model_name("churn", field="model") == "churn"
    assert model_name("models:/churn", field="model") == "churn"
    for text in ("models:/churn/3", "models:/churn@production"):
        with pytest.raises(InvalidInput) as refused:
            model_name(text, field="model")
        assert "names a version or an alias" in refused.value.message
        assert list(refused.value.errors) == ["model"]
