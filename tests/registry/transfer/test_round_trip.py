"""Export here, import into a second, freshly migrated database with `manage.py import_version`
in another process, predict there: bit for bit what the original predicts here.

The second database is a temporary SQLite file on the SQLite run, and a second PostgreSQL
database (created and dropped by the test) on the PostgreSQL run.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import PYTHON, ROOT, stop_group
from tests.registry.transfer.zips import CHURN_ROWS, HOUSES_ROWS, SHOPPERS_ROWS, encode_result

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.system,
    pytest.mark.system_parallel,
]

HOUSE_FEATURES = ["size_m2", "bedrooms", "age_years", "area"]
# name, algorithm, csv, target, training options, rows to predict
MODELS = [
    ("churn", "logistic_regression", "churn.csv", "churned", {"params": {"C": 0.5}}, CHURN_ROWS),
    ("churn-tree", "decision_tree_classifier", "churn.csv", "churned", {}, CHURN_ROWS),
    ("houses", "linear_regression", "houses.csv", "price", {}, HOUSES_ROWS),
    ("segments", "kmeans", "shoppers.csv", None, {"params": {"n_clusters": 3}}, SHOPPERS_ROWS),
    ("houses-pca", "pca", "houses.csv", None, {"features": HOUSE_FEATURES}, HOUSES_ROWS),
]
PREDICT = """
import json, os
from registry import serving
from registry.models import ModelVersion
from tests.registry.transfer.zips import encode_result

out = {}
for item in json.load(open(os.environ["TRANSFER_SPEC"])):
    v = ModelVersion.objects.select_related("model__owner", "created_by").get(
        model__name=item["name"], version=item["version"]
    )
    served = serving.resolve(item["name"], version=item["version"])
    out[item["name"] + "/" + str(item["version"])] = {
        "result": encode_result(serving.predict_rows(served, item["rows"])),
        "status": v.status,
        "origin": v.origin,
        "dataset_id": v.dataset_id,
        "dataset": [v.dataset_name, v.dataset_sha256],
        "artifact_sha256": v.artifact_sha256,
        "owner": v.model.owner.username,
        "created_by": v.created_by.username,
        "features": v.features,
        "classes": v.classes,
        "params": v.params,
        "metrics": v.metrics,
    }
print("RESULT " + json.dumps(out))
"""


def manage(database_url: str, *args: str, timeout: float = 240, **env: str) -> str:
    """Run manage.py against the second database; its process group is always ended."""
    environ = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **env}
    environ.pop("MLSERVE_SIGNING_KEY", None)
    proc = subprocess.Popen(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        stop_group(proc)
    assert proc.returncode == 0, f"manage.py {args[0]} failed:\n{out}\n{err}"
    return out


@pytest.fixture
def second_database(tmp_path):
    """DATABASE_URL of an empty database on the same server as the test database."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'second-instance.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"{db['NAME']}_second"[:63]
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    try:
        yield f"postgres://{auth}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(drop)


def test_it_predicts_bit_for_bit_like_the_original_in_another_database(
    train_version, second_database, tmp_path, owner
):
    from django.conf import settings

    from registry import serving, transfer

    originals, spec = {}, []
    for name, algorithm, csv, target, options, rows in MODELS:
        version = train_version(name, algorithm, csv, target, **options)
        path = tmp_path / transfer.export_filename(version)
        path.write_bytes(transfer.version_export(version, user=owner))
        served = serving.resolve(name, version=1)
        originals[name] = (version, encode_result(serving.predict_rows(served, rows)), path)
        spec.append({"name": name, "version": 1, "rows": rows})
        predictions = originals[name][1]["predictions"]
        # A comparison that means something: the batch gets more than one answer.
        assert len(set(predictions["hex"] if isinstance(predictions, dict) else predictions)) > 1

    manage(second_database, "migrate", "--noinput", timeout=300)
    manage(
        second_database,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "get_user_model().objects.create_user('ivan', 'ivan@example.com')",
    )
    for name, (_, _, path) in originals.items():
        out = manage(second_database, "import_version", str(path), "--owner", "ivan")
        assert f"Imported {name} v1 (ready)" in out
    # Again, without --owner: the next number of the existing model, as its owner.
    again = manage(second_database, "import_version", str(originals["churn"][2]))
    assert "Imported churn v2 (ready)" in again
    spec.append({"name": "churn", "version": 2, "rows": CHURN_ROWS})

    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    out = manage(second_database, "shell", "-c", PREDICT, TRANSFER_SPEC=str(spec_path))
    there = json.loads(out.split("RESULT ", 1)[1])

    for item in spec:
        name, number = item["name"], item["version"]
        version, here, _ = originals[name]
        imported = there[f"{name}/{number}"]
        assert imported["result"] == here, f"{name} v{number} predicts differently"
        assert imported["status"] == "ready"
        assert imported["artifact_sha256"] == version.artifact_sha256
        assert imported["dataset_id"] is None
        assert imported["dataset"] == [version.dataset_name, version.dataset_sha256]
        assert (imported["features"], imported["classes"]) == (version.features, version.classes)
        assert (imported["params"], imported["metrics"]) == (version.params, version.metrics)
        assert (imported["owner"], imported["created_by"]) == ("ivan", "ivan")
        origin = imported["origin"]
        assert (origin["model"], origin["version"]) == (name, 1)
        assert origin["instance"] == settings.MLSERVE_INSTANCE_NAME
        assert origin["exported_by"] == owner.username
        assert origin["signature"] == "unsigned"
        assert origin["artifact_sha256"] == version.artifact_sha256
    print(
        f"round trip: {len(spec)} imported versions predict bit for bit like the originals "
        f"({sum(len(i['rows']) for i in spec)} rows) in a second database",
        file=sys.stderr,
    )
