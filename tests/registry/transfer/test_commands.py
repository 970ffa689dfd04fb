"""`manage.py export_version NAME V FILE` and `manage.py import_version FILE`."""

import pytest
from django.core.management import CommandError, call_command

from registry import transfer
from registry.models import ModelVersion, RegisteredModel
from tests.registry.transfer.zips import flip

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def exported(churn, tmp_path):
    path = tmp_path / "churn.mlserve.zip"
    out = run("export_version", "churn", "1", str(path))
    assert out.startswith(f"Exported churn v1 to {path} (")
    return path


def test_it_exports_a_file_that_imports(exported, churn):
    export = transfer.read_export(exported.read_bytes())
    assert export.artifact_sha256 == churn.artifact_sha256
    assert export.card["exported"]["by"] is None  # a command, not a user
    assert [p.name for p in exported.parent.iterdir()] == [exported.name]  # no temporary left


def test_it_exports_to_standard_output(churn, capsysbinary):
    call_command("export_version", "churn", "1", "-")
    data = capsysbinary.readouterr().out
    assert transfer.read_export(data).artifact_sha256 == churn.artifact_sha256


def test_it_refuses_to_export_what_cannot_be(churn, owner, tmp_path):
    from registry import services

    with pytest.raises(CommandError, match="There is no version 7 of a model named 'churn'"):
        run("export_version", "churn", "7", str(tmp_path / "x.zip"))
    services.version_create(
        model=churn.model,
        user=owner,
        dataset=churn.dataset,
        algorithm="gaussian_nb",
        target="churned",
    )
    with pytest.raises(CommandError, match="churn v2 is queued: only a ready version"):
        run("export_version", "churn", "2", str(tmp_path / "x.zip"))
    with pytest.raises(CommandError, match="Cannot write to"):
        run("export_version", "churn", "1", str(tmp_path / "missing-dir" / "x.zip"))
    assert list(tmp_path.iterdir()) == []


def test_it_imports_as_the_owner_given(exported, other):
    out = run("import_version", str(exported), "--name", "churn-copy", "--owner", "oscar")
    assert out.startswith("Imported churn-copy v1 (ready) from ")
    assert "signature unsigned" in out
    version = ModelVersion.objects.select_related("model").get(model__name="churn-copy")
    assert (version.model.owner, version.created_by) == (other, other)
    assert version.origin["model"] == "churn"


def test_it_imports_into_the_existing_model_as_its_owner(exported, churn, owner):
    out = run("import_version", str(exported))
    assert out.startswith("Imported churn v2 (ready)")
    assert churn.model.versions.get(version=2).created_by == owner


def test_it_needs_an_owner_for_a_new_model(exported):
    with pytest.raises(CommandError, match="There is no model named 'fresh' yet: give --owner"):
        run("import_version", str(exported), "--name", "fresh")
    with pytest.raises(CommandError, match="No active user named 'nobody'"):
        run("import_version", str(exported), "--name", "fresh", "--owner", "nobody")
    assert not RegisteredModel.objects.filter(name="fresh").exists()


def test_it_refuses_to_import_into_another_users_model(exported, churn, other):
    with pytest.raises(CommandError, match="belongs to another user"):
        run("import_version", str(exported), "--owner", "oscar")
    assert churn.model.versions.count() == 1


def test_it_refuses_a_bad_file_with_a_clear_error(exported, tmp_path, churn):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(flip(exported.read_bytes(), len(exported.read_bytes()) // 2))
    with pytest.raises(CommandError, match="This file cannot be imported: "):
        run("import_version", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_version", str(tmp_path / "missing.zip"))
    assert churn.model.versions.count() == 1
