"""A model with a date feature exports and imports like any other."""

import numpy as np
import pytest

from registry import services, serving, transfer
from tests.registry.serving.test_dates import sales  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ROWS = [{"day": "31/12/2024", "store": "a"}, {"day": None, "store": "b"}]


def test_it_exports_and_imports_a_model_with_a_date_feature(owner, sales):  # noqa: F811
    data = transfer.version_export(sales, user=owner)
    copy = services.version_import(user=owner, data=data, name="sales-copy")
    assert copy.status == "ready"
    day = next(f for f in copy.features if f["name"] == "day")
    assert (day["type"], day["format"]) == ("date", "%d/%m/%Y")
    before = serving.predict_rows(serving.resolve("sales", version=1), ROWS)
    after = serving.predict_rows(serving.resolve("sales-copy", version=1), ROWS)
    np.testing.assert_array_equal(after["predictions"], before["predictions"])
