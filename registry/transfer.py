"""Moving a model version between instances: one export file, verified in full on import.

An export is a zip with exactly these three members, in this order:

- `manifest.json`: `{"format": "mlserving-model-export", "format_version": 1, "files":
  {"model-card.json": {"sha256", "size"}, "artifact.npz": {"sha256", "size"}},
  "signature": null | {"algorithm": "hmac-sha256", "value": "<hex>"}}`.
- `model-card.json`: the version in words (format name and version; original model name
  and version; algorithm, kind, hyperparameters, target, input schema, classes, metrics,
  training data profile, loss curve, plots; dataset name and sha256; the artifact's sha256
  and size; the exporting instance, user and time; where it came from, if it was imported;
  `annotations`: the model's tags, the version's description, note and tags).
- `artifact.npz`: the numpyml artifact, byte for byte as stored (numpyml.save's pickle-free
  format, which carries its own checksum).

The card's sha256 is in the manifest (a file cannot hold its own digest); the artifact's is
in both. When MLSERVE_SIGNING_KEY is set where the file is made, the manifest carries an
HMAC-SHA256, under that key, of `SIGNED_PREFIX + card sha256 + "\\n" + artifact sha256 +
"\\n"`. An instance with a key refuses a signed file whose signature is not valid, and with
MLSERVE_REQUIRE_SIGNED_IMPORTS (on by default when a key is set) any file without a valid
one: an unsigned import is trusted content.

`read_export` trusts nothing in the file: it checks member names, count, compression and
declared sizes before reading a byte (no zip bomb, no path, no extra or missing member),
then every digest, the format versions and the signature, then loads the artifact with
numpyml.load only (never pickle, never code named by the file) and checks that it is the
model the card describes. Nothing is ever extracted to disk.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

import numpyml
from numpyml.compose import ColumnTransformer
from registry import cards, jsonsafe, selectors
from registry import pipeline as shape
from registry.algorithms import ALGORITHMS, CLASSIFIER
from registry.errors import Conflict, Forbidden, InvalidInput, TooLarge
from registry.models import ModelVersion
from registry.training import plots

FORMAT = "mlserving-model-export"
CARD_FORMAT = "mlserving-model-card"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CARD = "model-card.json"
ARTIFACT = "artifact.npz"
MEMBERS = (MANIFEST, CARD, ARTIFACT)
SIGNED_PREFIX = f"{FORMAT}/{FORMAT_VERSION}\n"

# What a member may unpack to, checked from the zip's directory before anything is read.
MAX_MANIFEST_BYTES = 64 * 1024
MAX_CARD_BYTES = 64 * 1024 * 1024
MAX_ARTIFACT_BYTES = 1024**3
MAX_EXPORT_BYTES = MAX_CARD_BYTES + MAX_ARTIFACT_BYTES + 1024 * 1024
# Deflate reaches about 1000:1 on repetitive data; our JSON members compress far less and
# the artifact is stored (it is compressed already). Above this ratio a member is a bomb.
MAX_RATIO = 100
RATIO_SLACK_BYTES = 1024 * 1024
# numpyml.load unpacks the artifact's own arrays: bounded the same way.
ARTIFACT_SLACK_BYTES = 64 * 1024 * 1024

FEATURE_KEYS = ("name", "type", "categories", "format")
SUMMARY_KEYS = ("min", "max", "mean")  # of numeric features, from the training data
SIGNATURE_VERIFIED = "verified"
SIGNATURE_NONE = "unsigned"
SIGNATURE_UNCHECKED = "signed, not checked: MLSERVE_SIGNING_KEY is not set on this instance"


def _refuse(detail: str) -> InvalidInput:
    message = f"This file cannot be imported: {detail}"
    return InvalidInput(message, {"file": message})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _signing_key() -> bytes | None:
    key = getattr(settings, "MLSERVE_SIGNING_KEY", "")
    return key.encode() if key else None


def signature(key: bytes, card_sha256: str, artifact_sha256: str) -> str:
    message = f"{SIGNED_PREFIX}{card_sha256}\n{artifact_sha256}\n".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def export_filename(version: ModelVersion) -> str:
    return f"{version.model.name}-v{version.version}.mlserve.zip"


# Export --------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def model_card(
    version: ModelVersion,
    *,
    plots: dict[str, str],
    artifact: bytes,
    exported_by: AbstractBaseUser | None,
    exported_at: datetime,
) -> dict[str, Any]:
    model = version.model
    return jsonsafe.finite(
        {
            "format": CARD_FORMAT,
            "format_version": FORMAT_VERSION,
            "model": {
                "name": model.name,
                "version": version.version,
                "description": model.description,
            },
            "algorithm": version.algorithm,
            "kind": version.kind,
            "params": version.params,
            "target": version.target,
            "features": version.features,
            "classes": version.classes,
            "metrics": version.metrics,
            "profile": version.profile or {},
            "loss_curve": version.loss_curve,
            "plots": plots or {},
            "training": {
                "test_size": version.test_size,
                "seed": version.seed,
                "seconds": version.training_seconds,
                "created_at": _iso(version.created_at),
                "finished_at": _iso(version.finished_at),
                "created_by": version.created_by.get_username() if version.created_by else None,
            },
            "dataset": {"name": version.dataset_name, "sha256": version.dataset_sha256},
            "artifact": {
                "file": ARTIFACT,
                "format": "numpyml",
                "sha256": _sha256(artifact),
                "size": len(artifact),
            },
            "exported": {
                "instance": settings.MLSERVE_INSTANCE_NAME,
                "at": exported_at.isoformat(),
                "by": exported_by.get_username() if exported_by else None,
            },
            "origin": version.origin,  # set when this version was itself imported
            "annotations": {
                "model_tags": dict(model.tags.order_by("key").values_list("key", "value")),
                "version_description": version.description,
                "version_note": version.note,
                "version_tags": dict(version.tags.order_by("key").values_list("key", "value")),
            },
        }
    )


def may_export(version: ModelVersion, user: AbstractBaseUser) -> bool:
    """Only who may change the model, or staff: an artifact can hold training rows (k-NN
    keeps every one, an SVM its support vectors), so an export can be a copy of a private
    dataset."""
    return selectors.can_change(user, version.model) or user.is_staff


def version_export(version: ModelVersion, *, user: AbstractBaseUser | None = None) -> bytes:
    """The export file of a ready version (see the module docstring for its layout).

    `user` is who asks (None: the operator, from a management command); see may_export."""
    if user is not None and not may_export(version, user):
        raise Forbidden(
            f"{version} belongs to another user: only its owner or staff may export it "
            "(an export can hold the rows it was trained on)."
        )
    if version.status != ModelVersion.Status.READY:
        raise Conflict(f"{version} is {version.status}: only a ready version can be exported.")
    stored = ModelVersion.objects.filter(pk=version.pk).values("artifact", "plots").first()
    artifact = bytes(stored["artifact"] or b"") if stored else b""
    if not artifact or _sha256(artifact) != version.artifact_sha256:
        raise Conflict(
            f"The stored artifact of {version} does not match its sha256: "
            "refusing to export a damaged version."
        )
    exported_at = timezone.now()
    card = model_card(
        version,
        plots=stored["plots"],
        artifact=artifact,
        exported_by=user,
        exported_at=exported_at,
    )
    card_bytes = json.dumps(card, indent=1, ensure_ascii=False, allow_nan=False).encode()
    card_sha, artifact_sha = _sha256(card_bytes), _sha256(artifact)
    key = _signing_key()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": {
            CARD: {"sha256": card_sha, "size": len(card_bytes)},
            ARTIFACT: {"sha256": artifact_sha, "size": len(artifact)},
        },
        "signature": (
            {"algorithm": "hmac-sha256", "value": signature(key, card_sha, artifact_sha)}
            if key
            else None
        ),
    }
    manifest_bytes = json.dumps(manifest, indent=1).encode()
    stamp = exported_at.astimezone(UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, method in (
            (MANIFEST, manifest_bytes, zipfile.ZIP_DEFLATED),
            (CARD, card_bytes, zipfile.ZIP_DEFLATED),
            (ARTIFACT, artifact, zipfile.ZIP_STORED),  # compressed already
        ):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


# Import: read and verify ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """An export that passed every check: its card, artifact, digests and signature state."""

    card: dict[str, Any]
    artifact: bytes
    card_sha256: str
    artifact_sha256: str
    signature: str  # SIGNATURE_VERIFIED, SIGNATURE_NONE or SIGNATURE_UNCHECKED


def _equal(given: str, expected: str) -> bool:
    """Constant-time comparison; bytes, since compare_digest refuses non-ASCII strings."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _has_nul(value: Any) -> bool:
    """PostgreSQL stores no NUL character in text or JSON: refused before it gets there."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _json(data: bytes, what: str) -> Any:
    try:
        document = json.loads(
            data.decode("utf-8"), parse_constant=_no_constants, parse_float=_finite
        )
        nul = _has_nul(document)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _refuse(f"{what} is not valid JSON ({str(exc)[:120]}).") from None
    if nul:
        raise _refuse(f"{what} holds a NUL character.")
    return document


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The three members, each checked from the directory alone (nothing read yet)."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    shown = ", ".join(repr(n[:60]) for n in names[:8]) + (" ..." if len(names) > 8 else "")
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or "/" in name or "\\" in name:
            raise _refuse(f"it holds a member with a path ({name[:80]!r}); refused.")
    if MANIFEST not in names:
        raise _refuse(
            f"it is not an ML Serving model export (no {MANIFEST}; it holds {shown or 'nothing'})."
        )
    if sorted(names) != sorted(MEMBERS):
        raise _refuse(
            f"an export holds exactly {', '.join(MEMBERS)}; this one holds {shown} "
            "(a member is missing, repeated or extra)."
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise _refuse(f"{info.filename} is encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(f"{info.filename} uses an unsupported compression.")
        limit = {MANIFEST: MAX_MANIFEST_BYTES, CARD: MAX_CARD_BYTES}.get(
            info.filename, MAX_ARTIFACT_BYTES
        )
        if info.file_size > limit:
            raise _refuse(
                f"{info.filename} would unpack to {info.file_size} bytes, more than the "
                f"{limit} allowed (a zip bomb?)."
            )
        if info.file_size > MAX_RATIO * info.compress_size + RATIO_SLACK_BYTES:
            raise _refuse(
                f"{info.filename} would unpack to {info.file_size} bytes from "
                f"{info.compress_size}: a zip bomb."
            )
    return {info.filename: info for info in infos}


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as member:
            # zipfile stops at the declared size and checks the CRC at the end.
            data = member.read(info.file_size + 1)
    except Exception as exc:  # bad CRC, bad header, unsupported feature, broken deflate...
        raise _refuse(f"{info.filename} is damaged ({str(exc)[:120]}).") from None
    if len(data) != info.file_size:
        raise _refuse(f"{info.filename} is damaged (its size is not the declared one).")
    return data


def _check_format(document: Any, name: str, what: str) -> None:
    if not isinstance(document, dict) or document.get("format") != name:
        raise _refuse(f"{what} is not an ML Serving {what} (format {name!r} expected).")
    found = document.get("format_version")
    if found != FORMAT_VERSION:
        raise _refuse(
            f"{what} format version {found!r} is not supported: this instance reads "
            f"version {FORMAT_VERSION}."
        )


def _check_digest(expected: Any, data: bytes, what: str) -> str:
    actual = _sha256(data)
    if not isinstance(expected, dict) or not isinstance(expected.get("sha256"), str):
        raise _refuse(f"the manifest lists no sha256 for {what}.")
    if not _equal(expected["sha256"], actual) or expected.get("size") != len(data):
        raise _refuse(f"{what} does not match its sha256 in the manifest: altered or damaged.")
    return actual


def _signatures_required() -> bool:
    return bool(getattr(settings, "MLSERVE_REQUIRE_SIGNED_IMPORTS", _signing_key() is not None))


def _check_signature(manifest: dict[str, Any], card_sha: str, artifact_sha: str) -> str:
    """Unsigned files are trusted content: imported unless MLSERVE_REQUIRE_SIGNED_IMPORTS.
    A signed file is verified whenever this instance has a key, and refused if invalid."""
    signed = manifest.get("signature")
    key = _signing_key()
    if signed is not None and (
        not isinstance(signed, dict)
        or signed.get("algorithm") != "hmac-sha256"
        or not isinstance(signed.get("value"), str)
    ):
        raise _refuse("its signature entry is malformed (expected hmac-sha256).")
    required = _signatures_required()
    if signed is None:
        if required:
            raise _refuse(
                "it is not signed, and this instance accepts only signed exports "
                "(MLSERVE_REQUIRE_SIGNED_IMPORTS is on): export it again from an instance "
                "that shares this one's MLSERVE_SIGNING_KEY."
            )
        return SIGNATURE_NONE
    if key is None:
        if required:
            raise _refuse(
                "this instance accepts only verified exports (MLSERVE_REQUIRE_SIGNED_IMPORTS) "
                "but has no MLSERVE_SIGNING_KEY to check its signature with."
            )
        return SIGNATURE_UNCHECKED
    if not _equal(signed["value"], signature(key, card_sha, artifact_sha)):
        raise _refuse(
            "its signature is not valid for this instance's MLSERVE_SIGNING_KEY: the file "
            "was altered, or signed with another key."
        )
    return SIGNATURE_VERIFIED


def read_export(data: bytes) -> ExportFile:
    """Verify an export file completely; InvalidInput (422) says what is wrong otherwise."""
    if not data:
        raise _refuse("the file is empty.")
    if len(data) > MAX_EXPORT_BYTES:
        raise _refuse(f"it is {len(data)} bytes, more than the {MAX_EXPORT_BYTES} allowed.")
    not_zip = _refuse(
        "it is not an ML Serving model export (not a zip file, or truncated or damaged)."
    )
    # An export ends with the zip's end record and no comment. Requiring it there also keeps
    # a truncated file from being read as the zip inside it (the stored artifact is one).
    if len(data) < 22 or data[-22:-18] != b"PK\x05\x06" or data[-2:] != b"\0\0":
        raise not_zip
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # a hostile directory makes zipfile raise many kinds: all refused
        raise not_zip from None
    with archive:
        members = _members(archive)
        manifest = _json(_read(archive, members[MANIFEST]), MANIFEST)
        _check_format(manifest, FORMAT, "export")
        files = manifest.get("files")
        if not isinstance(files, dict) or set(files) != {CARD, ARTIFACT}:
            raise _refuse(f"the manifest must list exactly {CARD} and {ARTIFACT}.")
        card_bytes = _read(archive, members[CARD])
        artifact = _read(archive, members[ARTIFACT])
    card_sha = _check_digest(files[CARD], card_bytes, CARD)
    artifact_sha = _check_digest(files[ARTIFACT], artifact, ARTIFACT)
    signed = _check_signature(manifest, card_sha, artifact_sha)
    card = _json(card_bytes, CARD)
    _check_format(card, CARD_FORMAT, "model card")
    _check_card(card)
    listed = card["artifact"]
    if listed.get("sha256") != artifact_sha or listed.get("size") != len(artifact):
        raise _refuse(f"{ARTIFACT} does not match the sha256 in the model card.")
    _check_artifact(card, artifact)
    return ExportFile(
        card=card,
        artifact=artifact,
        card_sha256=card_sha,
        artifact_sha256=artifact_sha,
        signature=signed,
    )


def _check_card(card: dict[str, Any]) -> None:
    """Every field of the card against the strict schema of registry/cards.py."""
    algorithm = (
        ALGORITHMS.get(card["algorithm"]) if isinstance(card.get("algorithm"), str) else None
    )
    if algorithm is None:
        raise _refuse(
            f"its algorithm {str(card.get('algorithm'))[:60]!r} is not one this instance knows."
        )
    try:
        cards.check_card(card, algorithm)
    except cards.CardError as exc:
        raise _refuse(f"the model card's {exc.field} is not valid: {exc.detail}.") from None
    for name, svg in card["plots"].items():
        try:
            plots.check_svg(svg)
        except ValueError as exc:
            raise _refuse(f"its plot {name!r} is not a plain SVG image: {exc}.") from None


def _check_artifact(card: dict[str, Any], artifact: bytes) -> None:
    """Load the artifact (numpyml only: no pickle, no code named by the file) and check it is
    the model the card describes, so a valid artifact of another model is refused. A model
    bigger than the servers' model memory is refused too: it could not be served."""
    from registry.serving import loaded_bytes, model_budget_bytes, too_large_message

    budget = model_budget_bytes()
    try:
        pipeline = numpyml.load(
            artifact, max_bytes=min(budget, ARTIFACT_SLACK_BYTES + MAX_RATIO * len(artifact))
        )
        size = loaded_bytes(pipeline)
    except numpyml.ModelSizeError as exc:
        if exc.size <= budget:  # the ratio bound: a bomb
            raise _refuse(f"{ARTIFACT} is not a valid numpyml model ({exc}).") from None
        size = exc.size
    except Exception as exc:  # whatever a hostile file makes the loader raise: refused
        raise _refuse(f"{ARTIFACT} is not a valid numpyml model ({str(exc)[:200]}).") from None
    if size > budget:
        message = f"{too_large_message('The imported model', size)}: it could not be served."
        raise TooLarge(message, {"file": message})
    algorithm = ALGORITHMS[card["algorithm"]]
    try:
        mismatch = _mismatch(pipeline, card, algorithm)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        mismatch = f"its structure is not a registry pipeline's ({str(exc)[:120]})"
    if mismatch:
        raise _refuse(f"{ARTIFACT} is not the model its card describes: {mismatch}.")


def _mismatch(pipeline: Any, card: dict[str, Any], algorithm: Any) -> str | None:
    if not shape.is_registry_pipeline(pipeline):
        return "it is not a registry pipeline (prep, model)"
    prep, model = shape.preprocessing_of(pipeline), shape.estimator_of(pipeline)
    if type(model) is not algorithm.estimator:
        return f"it holds a {type(model).__name__}, the card says {algorithm.id}"
    own = model.get_params(deep=False)
    for key, value in card["params"].items():
        if key not in own or not _same(own[key], value):
            return f"its hyperparameter {key} differs from the card's"
    if not isinstance(prep, ColumnTransformer) or not hasattr(prep, "transformers_"):
        return "its preprocessing step is not a fitted column transformer"
    columns, categories = shape.features_of(pipeline), shape.categories_of(pipeline)
    features = card["features"]
    numeric = [f["name"] for f in features if f["type"] == "number"]
    categorical = [f["name"] for f in features if f["type"] == "category"]
    dates = [f["name"] for f in features if f["type"] == "date"]
    if (
        columns.get(shape.NUMERIC, []) != numeric
        or columns.get(shape.CATEGORICAL, []) != categorical
        or columns.get(shape.DATE, []) != dates
    ):
        return "its input columns differ from the card's input schema"
    for feature in features:
        if feature["type"] == "category" and feature["categories"] != categories[feature["name"]]:
            return f"the categories of {feature['name']!r} differ from the card's"
    if algorithm.kind == CLASSIFIER:
        classes = [jsonsafe.label(c) for c in getattr(model, "classes_", [])]
        if classes != card["classes"]:
            return "its classes differ from the card's"
    return None


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 and 1.0 alike, but True is not 1."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def input_schema(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's input schema with only the keys the registry knows (all checked)."""
    return [{k: f[k] for k in (*FEATURE_KEYS, *SUMMARY_KEYS) if k in f} for f in card["features"]]


def origin(export: ExportFile, *, imported_by: AbstractBaseUser) -> dict[str, Any]:
    """What an imported version records about where it came from."""
    card = export.card
    return {
        "instance": card["exported"]["instance"],
        "exported_at": card["exported"]["at"],
        "exported_by": card["exported"].get("by"),
        "model": card["model"]["name"],
        "version": card["model"]["version"],
        "card_sha256": export.card_sha256,
        "artifact_sha256": export.artifact_sha256,
        "format_version": FORMAT_VERSION,
        "signature": export.signature,
        "imported_at": timezone.now().isoformat(),
        "imported_by": imported_by.get_username(),
        "previous": card.get("origin"),
    }
