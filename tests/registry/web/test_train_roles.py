"""The train form leaves columns marked as an ID, constant, mostly missing, free text or
ignored unticked as features, and says why."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from registry import services

pytestmark = pytest.mark.django_db

ROWS = "".join(f"{i},city {i},same,{'ab'[i % 2]},{i % 5},{i % 3}\n" for i in range(30))
CSV = ("index,city,flag,shop,size,y\n" + ROWS).encode()


def ticked(html: str) -> dict[str, bool]:
    boxes = re.findall(r'<input type="checkbox" name="features" value="([^"]+)"([^>]*)>', html)
    return {value: "checked" in rest for value, rest in boxes}


def test_it_unticks_columns_with_a_role_and_shows_the_reason(owner_client, make_dataset, owner):
    dataset = make_dataset(data=CSV, dataset_name="cities")
    services.dataset_set_types(dataset=dataset, user=owner, types={"size": "ignore"})
    html = owner_client.get(reverse("train"), {"dataset": dataset.pk}).content.decode()
    boxes = ticked(html)
    assert boxes == {
        "index": False,
        "city": False,
        "flag": False,
        "shop": True,
        "size": False,
        "y": True,  # no target is preselected, so every plain column starts ticked
    }
    assert escape(dataset.column("city")["role_reason"]) in html
    assert "Every row has the same value." in html
    assert "Set to ignore on the dataset page." in html
