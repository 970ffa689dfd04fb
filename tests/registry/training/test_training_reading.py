"""Training reads a dataset's bytes with the options stored at upload: the same table the
upload page showed, even where detection alone would read the file another way."""

import numpy as np
import pytest

from registry import services, training
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_training_reads_the_file_with_the_delimiter_chosen_at_upload(owner):
    # Commas and semicolons both split every line in two: detection alone keeps commas.
    rows = [f"{i};{2 * i + 1},{i % 10}" for i in range(40)]
    data = ("x;y,z\n" + "\n".join(rows) + "\n").encode("cp1252")
    dataset = services.dataset_create(
        owner=owner, data=data, name="chosen", options={"delimiter": "semicolon"}
    )
    assert [c["name"] for c in dataset.schema] == ["x", "y,z"]
    assert dataset.options["decimal"] == ","
    version = services.model_create_with_version(
        owner=owner,
        name="line",
        dataset=dataset,
        algorithm="linear_regression",
        target="y,z",
    )
    X, y, _, _ = training.data.load_training_data(version)
    np.testing.assert_array_equal(X["x"][:3], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(y[:3], [1.0, 3.1, 5.2])
    assert training.train(version.pk) == ModelVersion.Status.READY
    version.refresh_from_db()
    assert [f["name"] for f in version.features] == ["x"]
