"""The model-agnostic explanation (a sampling Shapley estimate) is the same to the bit on
every server: two gunicorn servers on the test PostgreSQL database explain the same rows of
an SVM and of a naive Bayes model, and their answers are byte for byte equal.

PostgreSQL only: several machines sharing one SQLite file is not a supported setup.
"""

import json

import pytest

from tests.conftest import train_once
from tests.system.conftest import PREDICT_BODY, Api
from tests.system.test_cluster import POSTGRES

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not POSTGRES,
        reason="several servers share one PostgreSQL database (run with DATABASE_URL=postgres://...)",
    ),
]


@pytest.mark.parametrize("algorithm", ["svm", "gaussian_nb"])
def test_two_servers_explain_the_same_rows_identically(
    algorithm, owner, make_dataset, token, start_server
):
    name = f"churn-{algorithm.replace('_', '-')}"
    train_once(
        owner=owner,
        dataset=make_dataset("churn.csv"),
        name=name,
        algorithm=algorithm,
        target="churned",
    )
    a, b = start_server("a"), start_server("b", workers=1)
    path = f"/models/{name}/predict?explain=true"
    answers = [Api(server.url, token).post(path, PREDICT_BODY) for server in (a, b, a)]
    assert [reply.status for reply in answers] == [200, 200, 200], answers[0].body
    explained = [reply.json()["explanations"] for reply in answers]
    assert explained[0]["method"] == "sampling_shapley"
    assert explained[0]["output"] == "probability"
    assert len(explained[0]["rows"]) == len(json.loads(PREDICT_BODY)["instances"])
    # The same floats to the last bit, from two processes that loaded the version apart.
    assert explained[0] == explained[1] == explained[2]
    probabilities = answers[0].json()["probabilities"]
    positive = answers[0].json()["classes"].index(explained[0]["class"])
    for row, proba in zip(explained[0]["rows"], probabilities, strict=True):
        total = row["base_value"] + sum(row["contributions"].values())
        assert total == pytest.approx(proba[positive], abs=1e-9)
