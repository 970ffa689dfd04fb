"""MLSERVE_REQUIRE_SIGNED_IMPORTS: unsigned imports are trusted content, so an operator can
require every import to carry a signature this instance verifies."""

import pytest
from django.test import override_settings

from registry import services
from registry.services import InvalidInput
from tests.conftest import assert_problem
from tests.registry.transfer.test_settings import shell
from tests.registry.transfer.zips import SIGNING_KEY

pytestmark = pytest.mark.django_db


def refused(user, data: bytes, detail: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        services.version_import(user=user, data=data, name="imported")
    assert caught.value.status == 422
    assert detail in caught.value.message, caught.value.message
    print(caught.value.message)
    return caught.value.message


@override_settings(MLSERVE_REQUIRE_SIGNED_IMPORTS=True, MLSERVE_SIGNING_KEY=SIGNING_KEY)
def test_when_required_it_refuses_unsigned_and_imports_verified_files(exports, owner):
    refused(owner, exports["churn"], "it is not signed, and this instance accepts only signed")
    refused(owner, exports["signed_other_key"], "its signature is not valid")
    version = services.version_import(user=owner, data=exports["signed"], name="imported")
    assert version.origin["signature"] == "verified"


@override_settings(MLSERVE_REQUIRE_SIGNED_IMPORTS=True, MLSERVE_SIGNING_KEY="")
def test_when_required_without_a_key_it_imports_nothing(exports, owner):
    """(The settings refuse to start so configured; a test can still ask.)"""
    message = refused(owner, exports["churn"], "it is not signed, and this instance accepts only")
    assert "MLSERVE_REQUIRE_SIGNED_IMPORTS" in message
    refused(owner, exports["signed"], "no MLSERVE_SIGNING_KEY to check its signature")


@override_settings(MLSERVE_REQUIRE_SIGNED_IMPORTS=False, MLSERVE_SIGNING_KEY=SIGNING_KEY)
def test_when_not_required_a_key_still_signs_and_checks_signed_files(exports, owner):
    version = services.version_import(user=owner, data=exports["churn"], name="imported")
    assert version.origin["signature"] == "unsigned"
    refused(owner, exports["signed_other_key"], "its signature is not valid")
    again = services.version_import(user=owner, data=exports["signed"], name="imported")
    assert again.origin["signature"] == "verified"


@override_settings(MLSERVE_REQUIRE_SIGNED_IMPORTS=True, MLSERVE_SIGNING_KEY=SIGNING_KEY)
def test_the_api_and_the_page_say_why(exports, owner_api, logged_in):
    response = owner_api.post(
        "/models/churn/import", exports["churn"], content_type="application/zip"
    )
    assert_problem(response, 422, "accepts only signed exports")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("churn.mlserve.zip", exports["churn"], "application/zip")
    page = logged_in.post("/import/", {"file": upload, "name": "churn"})
    assert page.status_code == 422
    assert b"accepts only signed exports" in page.content


def test_the_setting_defaults_to_the_signing_key_and_needs_one(tmp_path):
    show = (
        "from django.conf import settings;"
        "print('REQUIRED', settings.MLSERVE_REQUIRE_SIGNED_IMPORTS)"
    )
    assert "REQUIRED False" in shell(tmp_path, code=show).stdout
    assert "REQUIRED True" in shell(tmp_path, code=show, MLSERVE_SIGNING_KEY=SIGNING_KEY).stdout
    explicit = shell(
        tmp_path, code=show, MLSERVE_SIGNING_KEY=SIGNING_KEY, MLSERVE_REQUIRE_SIGNED_IMPORTS="0"
    )
    assert "REQUIRED False" in explicit.stdout
    result = shell(tmp_path, code=show, MLSERVE_REQUIRE_SIGNED_IMPORTS="1")
    assert result.returncode != 0
    assert (
        "MLSERVE_REQUIRE_SIGNED_IMPORTS is on but MLSERVE_SIGNING_KEY is not set" in result.stderr
    )
