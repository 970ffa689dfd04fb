"""Every kind of bad export file is refused with a clear error, before anything is written,
and nothing in a file is ever run."""

import io
import json
import struct
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from django.test import override_settings

from registry import services, transfer
from registry.models import ModelVersion, RegisteredModel
from registry.services import InvalidInput
from tests.conftest import demo_bytes
from tests.registry.transfer.zips import SIGNING_KEY, edit_json, fix_up, flip, pack, sha, unpack

pytestmark = pytest.mark.django_db

CARD, ARTIFACT, MANIFEST = transfer.CARD, transfer.ARTIFACT, transfer.MANIFEST


@pytest.fixture
def good(exports, owner):
    return exports["churn"]


@pytest.fixture
def members(good):
    return unpack(good)


def refused(data: bytes, detail: str) -> str:
    """The import is refused with `detail` in its message, and nothing is written."""
    before = (RegisteredModel.objects.count(), ModelVersion.objects.count())
    with pytest.raises(InvalidInput) as caught:
        services.version_import(user=_user(), data=data, name="imported")
    assert caught.value.status == 422
    assert caught.value.message.startswith("This file cannot be imported: ")
    assert detail in caught.value.message, caught.value.message
    assert caught.value.errors == {"file": caught.value.message}  # shown next to the field
    assert (RegisteredModel.objects.count(), ModelVersion.objects.count()) == before
    return caught.value.message


def _user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="olivia")


def test_it_accepts_the_untouched_file(good, members):
    version = services.version_import(user=_user(), data=good, name="imported")
    assert version.status == "ready"
    assert version.artifact_sha256 == sha(members[ARTIFACT])


@pytest.mark.parametrize("cut", [1, 4, 30, 100, 0.25, 0.5, 0.75, -1000, -100, -22, -1])
def test_it_refuses_a_truncated_file(good, cut):
    length = int(len(good) * cut) if isinstance(cut, float) else cut % len(good)
    refused(good[:length], "not a zip file, or truncated or damaged")


def test_it_refuses_bytes_appended_to_the_file(good):
    refused(good + b"\0" * 10, "not a zip file, or truncated or damaged")


def test_it_refuses_an_empty_file(owner):
    refused(b"", "the file is empty")


def test_it_refuses_a_flipped_byte_in_the_card(members):
    card = members[CARD]
    for position in (0, len(card) // 2, len(card) - 1):
        changed = {**members, CARD: flip(card, position)}
        refused(pack(changed), "model-card.json does not match its sha256 in the manifest")


def test_it_refuses_a_flipped_byte_in_the_artifact(members):
    artifact = members[ARTIFACT]
    for position in (0, len(artifact) // 2, len(artifact) - 1):
        changed = {**members, ARTIFACT: flip(artifact, position)}
        refused(pack(changed), "artifact.npz does not match its sha256 in the manifest")


def test_it_refuses_a_flipped_byte_in_the_manifest(members):
    manifest = members[MANIFEST]
    position = manifest.index(b'"sha256": "') + 12
    refused(pack({**members, MANIFEST: flip(manifest, position)}), "is not valid JSON")
    hexdigit = manifest[position : position + 1]
    other = b"0" if hexdigit != b"0" else b"1"
    edited = manifest[:position] + other + manifest[position + 1 :]
    refused(pack({**members, MANIFEST: edited}), "does not match its sha256 in the manifest")


def _stored_artifact(data: bytes) -> range:
    """Where the artifact's bytes lie in the container (stored: a flip there changes them)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(ARTIFACT)
    assert info.compress_type == zipfile.ZIP_STORED
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 :][:4])
    start = info.header_offset + 30 + name_len + extra_len
    return range(start, start + info.compress_size)


def test_it_refuses_every_flipped_byte_of_the_container_that_changes_its_content(good, members):
    """Every byte of the file flipped in turn: each flip is refused, or (a zip field no reader
    uses, such as a local header's timestamp) yields exactly the original members."""
    artifact_bytes = _stored_artifact(good)
    refusals = 0
    accepted = []
    for position in range(len(good)):
        try:
            export = transfer.read_export(flip(good, position))
        except InvalidInput:
            refusals += 1
            continue
        accepted.append(position)
        assert position not in artifact_bytes, f"a flip in the artifact at {position} passed"
        assert export.card_sha256 == sha(members[CARD])
        assert export.artifact == members[ARTIFACT]
    assert refusals > len(artifact_bytes)
    print(
        f"container flips: {refusals} of {len(good)} refused; the {len(accepted)} others hit "
        "zip fields no reader uses and imported the identical content",
        file=sys.stderr,
    )


@pytest.mark.parametrize("which", [MANIFEST, CARD])
def test_it_refuses_another_format_version(members, which):
    changed = edit_json(members, which, lambda d: d.update(format_version=2))
    refused(pack(fix_up(changed)), "format version 2 is not supported: this instance reads")


def test_it_refuses_another_format_name(members):
    changed = edit_json(members, MANIFEST, lambda d: d.update(format="something-else"))
    refused(pack(changed), "not an ML Serving export")


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (pack({"hello.txt": b"hi"}), "not an ML Serving model export (no manifest.json"),
        (pack({}), "it holds nothing"),
        (demo_bytes("churn.csv"), "not a zip file"),
        (b"PK\x03\x04" + b"\0" * 200, "not a zip file"),
    ],
)
def test_it_refuses_a_foreign_file(owner, data, detail):
    refused(data, detail)


def test_it_refuses_a_bare_numpyml_artifact(members):
    refused(members[ARTIFACT], "not an ML Serving model export (no manifest.json")


@pytest.mark.parametrize(
    "name",
    ["../model-card.json", "/etc/passwd", "a/../../model-card.json", "..\\x", "sub/artifact.npz"],
)
def test_it_refuses_a_member_with_a_path(members, name):
    refused(pack({**members, name: b"x"}), "it holds a member with a path")
    renamed = {MANIFEST: members[MANIFEST], CARD: members[CARD], name: members[ARTIFACT]}
    refused(pack(renamed), "it holds a member with a path")


def test_it_refuses_extra_missing_and_repeated_members(members):
    refused(pack({**members, "README.txt": b"hello"}), "(a member is missing, repeated or extra)")
    missing = {k: v for k, v in members.items() if k != ARTIFACT}
    refused(pack(missing), "an export holds exactly manifest.json, model-card.json, artifact.npz")
    with pytest.warns(UserWarning, match="Duplicate name"):
        repeated = pack([*members.items(), (CARD, members[CARD])])
    refused(repeated, "(a member is missing, repeated or extra)")


def _bomb_member(archive: zipfile.ZipFile, name: str, size: int, prefix: bytes = b"") -> None:
    """`size` bytes of zeros, written in chunks: deflate packs them about 1000 to 1."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as out:
        out.write(prefix)
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            out.write(chunk)


def _peak_mb(data: bytes, detail: str) -> float:
    tracemalloc.start()
    try:
        refused(data, detail)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_it_refuses_a_zip_bomb_before_unpacking_it(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, members[MANIFEST])
        archive.writestr(CARD, members[CARD])
        _bomb_member(archive, ARTIFACT, 300 << 20)
    bomb = buffer.getvalue()
    assert len(bomb) < 1 << 20  # 300 MB of zeros in under 1 MB
    peak = _peak_mb(bomb, "artifact.npz would unpack to 314572800 bytes from")
    assert peak < 20, f"{peak:.1f} MB allocated: the bomb was unpacked"
    print(
        f"zip bomb: a 300 MB member in a {len(bomb)} byte file refused, peak {peak:.1f} MB",
        file=sys.stderr,
    )


def test_it_refuses_a_member_declaring_more_than_the_limit(members):
    data = pack(members)
    entry = data.rindex(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4 :][:0])  # noqa: F841
    # The central directory entry of the card: its uncompressed size is at offset 24.
    start = data.index(b"PK\x01\x02")
    while data[start + 46 : start + 46 + len(CARD)] != CARD.encode():
        start = data.index(b"PK\x01\x02", start + 4)
    patched = data[: start + 24] + struct.pack("<I", 0x7FFF_FFF0) + data[start + 28 :]
    refused(patched, "model-card.json would unpack to 2147483632 bytes, more than the")


def test_it_refuses_a_bomb_inside_the_artifact(members):
    """A valid outer file whose numpyml artifact holds a 300 MB array packed small."""
    buffer = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, dtype=np.uint8))
    header["shape"] = (300 << 20,)
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as inner:
        with zipfile.ZipFile(io.BytesIO(members[ARTIFACT])) as original:
            for info in original.infolist():
                inner.writestr(info.filename, original.read(info))
        _bomb_member(inner, "a0.npy", 300 << 20, prefix=npy.getvalue())
    changed = fix_up({**members, ARTIFACT: buffer.getvalue()}, card_too=True)
    peak = _peak_mb(pack(changed), "would decompress beyond")
    assert peak < 40, f"{peak:.1f} MB allocated: the inner bomb was unpacked"


def test_it_refuses_an_artifact_changed_behind_a_fixed_up_manifest(members):
    changed = {**members, ARTIFACT: flip(members[ARTIFACT], len(members[ARTIFACT]) // 2)}
    refused(pack(fix_up(changed)), "artifact.npz does not match the sha256 in the model card")
    refused(pack(fix_up(changed, card_too=True)), "artifact.npz is not a valid numpyml model")


@pytest.fixture
def other_artifacts(exports):
    """Valid artifacts of other models: another algorithm, other hyperparameters, other
    features, other data."""
    return exports["other_artifacts"]


SWAPS = {
    "algorithm": "it holds a DecisionTreeClassifier, the card says logistic_regression",
    "params": "its hyperparameter C differs from the card's",
    "features": "its input columns differ from the card's input schema",
    "data": "it holds a LinearRegression, the card says logistic_regression",
}


def test_it_refuses_a_valid_artifact_of_another_model(members, other_artifacts):
    for swap, detail in SWAPS.items():
        changed = {**members, ARTIFACT: other_artifacts[swap]}
        refused(pack(changed), "artifact.npz does not match its sha256 in the manifest")
        refused(pack(fix_up(changed, card_too=True)), f"its card describes: {detail}")


def test_it_never_runs_code_from_the_artifact(members, tmp_path):
    """A pickle that writes a file when unpickled, in place of an array: refused, no file."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    npy = io.BytesIO()
    np.save(npy, np.array([Payload()], dtype=object), allow_pickle=True)
    np.load(io.BytesIO(npy.getvalue()), allow_pickle=True)  # the payload is live:
    assert marker.exists()
    marker.unlink()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        with zipfile.ZipFile(io.BytesIO(members[ARTIFACT])) as original:
            names = original.namelist()
            for name in names:
                inner.writestr(name, npy.getvalue() if name == "a0.npy" else original.read(name))
    assert "a0.npy" in names
    changed = fix_up({**members, ARTIFACT: buffer.getvalue()}, card_too=True)
    refused(pack(changed), "artifact.npz is not a valid numpyml model")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda c: c.update(algorithm="os.system"), "its algorithm 'os.system' is not one"),
        (lambda c: c.update(algorithm=["x"]), "its algorithm \"['x']\" is not one"),
        (
            lambda c: c.update(kind="regressor"),
            "the model card's kind is not valid: must be 'classifier'",
        ),
        (
            lambda c: c.update(features=[]),
            "the model card's features is not valid: List should have at least 1 item",
        ),
        (
            lambda c: c["features"][0].update(min="<b>"),
            "the model card's features.0.min is not valid: must be a finite number",
        ),
        (lambda c: c.update(classes=None), "the model card's classes is not valid: must be a list"),
        (lambda c: c["dataset"].update(sha256="x"), "the model card's dataset.sha256 is not valid"),
        (
            lambda c: c.update(params=[]),
            "the model card's params is not valid: Input should be a valid dictionary",
        ),
        (lambda c: c["training"].update(seed=-1), "the model card's training.seed is not valid"),
        (
            lambda c: c["training"].update(test_size=5),
            "the model card's training.test_size is not valid",
        ),
        (
            lambda c: c["plots"].update(evil='<svg onload="alert(1)"></svg>'),
            "its plot 'evil' is not a plain SVG image",
        ),
        (
            lambda c: c["plots"].update(evil="<svg><script>alert(1)</script></svg>"),
            "its plot 'evil' is not a plain SVG image",
        ),
        (
            lambda c: c["plots"].update({"../x": "<svg/>"}),
            "the model card's plots.../x.[key] is not valid: does not have the expected form",
        ),
    ],
)
def test_it_refuses_a_card_that_does_not_fit(members, change, detail):
    refused(pack(fix_up(edit_json(members, CARD, change))), detail)


@pytest.mark.parametrize(
    ("insert", "detail"),
    [
        (b'"bad": NaN, ', "model-card.json is not valid JSON (NaN is not JSON)"),
        (b'"bad": -Infinity, ', "model-card.json is not valid JSON (-Infinity is not JSON)"),
        (b'"bad": 1e400, ', "model-card.json is not valid JSON (1e400 is too large a number)"),
        (b'"bad\\u0000": 1, ', "model-card.json holds a NUL character"),
        (b'"bad": "a\\u0000b", ', "model-card.json holds a NUL character"),
    ],
)
def test_it_refuses_json_a_database_cannot_hold(members, insert, detail):
    card = members[CARD].replace(b'"metrics": {', b'"metrics": {' + insert, 1)
    assert card != members[CARD]
    refused(pack(fix_up({**members, CARD: card})), detail)


def test_it_refuses_a_model_name_that_is_not_valid(members):
    with pytest.raises(InvalidInput, match="is not a valid model name"):
        services.version_import(user=_user(), data=pack(members), name="Not A Name!")
    assert not RegisteredModel.objects.filter(name="Not A Name!").exists()


# Signatures ---------------------------------------------------------------------------


def test_it_signs_exports_when_a_key_is_set(exports, members):
    manifest = json.loads(unpack(exports["signed"])[MANIFEST])
    assert manifest["signature"]["algorithm"] == "hmac-sha256"
    card_sha = manifest["files"][CARD]["sha256"]
    artifact_sha = manifest["files"][ARTIFACT]["sha256"]
    expected = transfer.signature(SIGNING_KEY.encode(), card_sha, artifact_sha)
    assert manifest["signature"]["value"] == expected
    assert json.loads(members[MANIFEST])["signature"] is None  # no key: unsigned


@override_settings(MLSERVE_SIGNING_KEY=SIGNING_KEY, MLSERVE_REQUIRE_SIGNED_IMPORTS=True)
def test_it_requires_a_valid_signature_when_a_key_is_set(exports, good, other_artifacts):
    refused(good, "it is not signed, and this instance accepts only signed exports")
    refused(exports["signed_other_key"], "its signature is not valid for this instance's")
    signed = unpack(exports["signed"])
    # Everything re-digested by someone without the key: the signature no longer fits.
    swapped = fix_up({**signed, ARTIFACT: other_artifacts["params"]}, card_too=True)
    refused(pack(swapped), "its signature is not valid for this instance's")
    card = edit_json(signed, CARD, lambda c: c["metrics"].update(accuracy=1.0))
    refused(pack(fix_up(card)), "its signature is not valid for this instance's")
    malformed = edit_json(signed, MANIFEST, lambda m: m.update(signature={"value": 1}))
    refused(pack(malformed), "its signature entry is malformed")
    version = services.version_import(user=_user(), data=pack(signed), name="imported")
    assert version.origin["signature"] == "verified"


def test_it_imports_a_signed_file_without_a_key_and_says_it_was_not_checked(exports, owner):
    version = services.version_import(user=_user(), data=exports["signed"], name="imported")
    assert version.origin["signature"] == (
        "signed, not checked: MLSERVE_SIGNING_KEY is not set on this instance"
    )
