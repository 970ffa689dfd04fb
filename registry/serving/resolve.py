"""Which ready version a model name serves right now (name + version or alias -> version).

Resolution is cached per process for RESOLVE_TTL_S, so a moved alias is served everywhere
within about a second without a database round trip per request. An alias's resolution
carries its rollout (canary and shadow, read in the same query); `route` picks the version
that answers each request. It carries its model's visibility too: `resolve(..., user=)`
answers a model the user may not read (registry/access.py) as one that does not exist,
before any other check, and a visibility change is served like an alias move.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, replace
from typing import Any

from registry import access, csvio
from registry.algorithms import ALGORITHMS
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import ALIAS_RE, NAME_RE, PRODUCTION, Alias, ModelVersion, RegisteredModel
from registry.ttl import MISSING, TTLCache

RESOLVE_TTL_S = 1.0
DEFAULT_ALIAS = PRODUCTION


@dataclass(frozen=True)
class ServedVersion:
    """What serving needs to know about a ready version (no bytes)."""

    id: int
    model: str
    owner_id: int
    version: int
    algorithm: str
    kind: str
    features: tuple[dict[str, Any], ...]
    classes: tuple[Any, ...] | None
    artifact_sha256: str
    feature_names: tuple[str, ...]
    feature_set: frozenset[str]
    all_numeric: bool
    # Per category feature, read once here: the trained spelling of a JSON boolean or number.
    category_spellings: dict[str, dict[Any, str]]
    # Per category feature with a known list: its trained categories, and each one by its
    # folded spelling (case and spaces ignored), to say when a value is unseen (bodies.py).
    known_categories: dict[str, frozenset[str]]
    category_folds: dict[str, dict[str, str]]
    # A binary classifier's decision threshold (services.set_threshold): a setting read with
    # the version, so a change reaches every server within RESOLVE_TTL_S like an alias move.
    threshold: float | None = None
    # Who may predict with it (access.can_read): its model's visibility and team.
    visibility: str = "public"
    team_id: int | None = None
    # A rollout, on an alias's resolution only: "champion" (the alias's own version, or a
    # pinned one) or "canary"; the canary that takes canary_percent of the alias's traffic
    # (`route`), and the shadow that scores its logged requests (monitoring/predlog.py).
    role: str = "champion"
    canary: ServedVersion | None = None
    canary_percent: float = 0.0
    shadow: ServedVersion | None = None


_resolved = TTLCache(RESOLVE_TTL_S)


def _served(version: ModelVersion, model: RegisteredModel) -> ServedVersion:
    return ServedVersion(
        id=version.pk,
        model=model.name,
        owner_id=model.owner_id,
        version=version.version,
        algorithm=version.algorithm,
        kind=ALGORITHMS[version.algorithm].kind if version.algorithm in ALGORITHMS else "unknown",
        features=tuple(version.features),
        classes=tuple(version.classes) if version.classes is not None else None,
        artifact_sha256=version.artifact_sha256,
        feature_names=tuple(f["name"] for f in version.features),
        feature_set=frozenset(f["name"] for f in version.features),
        all_numeric=all(f["type"] == "number" for f in version.features),
        category_spellings={
            f["name"]: csvio.category_spellings(f.get("categories") or [])
            for f in version.features
            if f["type"] != "number"
        },
        known_categories={
            name: frozenset(categories) for name, categories in _categories(version).items()
        },
        category_folds={
            name: {csvio.fold_category(c): c for c in reversed(categories)}
            for name, categories in _categories(version).items()
        },
        threshold=version.threshold,
        visibility=model.visibility,
        team_id=model.team_id,
    )


def _categories(version: ModelVersion) -> dict[str, list[str]]:
    """Each category feature's trained categories (text only: an imported card may hold
    others), for the features that list them."""
    return {
        f["name"]: [c for c in f["categories"] if isinstance(c, str)]
        for f in version.features
        if f["type"] != "number" and f.get("categories")
    }


def _lookup(name: str, version: int | None, alias: str | None) -> ServedVersion:
    model = RegisteredModel.objects.filter(name=name).first()
    if model is None:
        raise NotFound(f"There is no model named {name!r}.")
    fields = (
        "pk",
        "version",
        "algorithm",
        "features",
        "classes",
        "artifact_sha256",
        "status",
        "threshold",
    )
    if version is not None:
        found = model.versions.filter(version=version).only(*fields).first()
        if found is None:
            raise NotFound(f"{name} has no version {version}.")
    elif alias is not None:
        link = Alias.objects.filter(model=model, name=alias).select_related(*_ROLLOUT).first()
        if link is None:
            raise NotFound(f"{name} has no alias {alias!r}.")
        found = link.version
    else:
        # Only `production`: a newer ready version never takes unpinned traffic by itself.
        link = (
            Alias.objects.filter(model=model, name=DEFAULT_ALIAS).select_related(*_ROLLOUT).first()
        )
        if link is None:
            if model.versions.filter(status=ModelVersion.Status.READY).exists():
                raise Conflict(
                    f"{name} has no {DEFAULT_ALIAS} alias, so a call without a version has "
                    f"nothing to serve: promote a version to {DEFAULT_ALIAS}, or ask for one "
                    "with ?version= or ?alias=."
                )
            raise Conflict(f"{name} has no ready version yet: wait for its training to finish.")
        found = link.version
    if found.status != ModelVersion.Status.READY:
        raise Conflict(f"{name} version {found.version} is {found.status}, not ready.")
    served = _served(found, model)
    if version is None and (link.canary_version_id or link.shadow_version_id):
        served = _with_rollout(served, link, model)
    return served


# The alias's versions, read in the alias's one query (a rollout costs no query more).
_ROLLOUT = ("version", "canary_version", "shadow_version")


def _with_rollout(served: ServedVersion, link: Alias, model: RegisteredModel) -> ServedVersion:
    """The alias's resolution with its canary and shadow (only ready ones: a version that
    is not ready serves nothing)."""
    ready = ModelVersion.Status.READY
    canary, shadow = link.canary_version, link.shadow_version
    return replace(
        served,
        canary=(
            replace(_served(canary, model), role="canary")
            if canary is not None and canary.status == ready and link.canary_percent
            else None
        ),
        canary_percent=float(link.canary_percent or 0.0),
        shadow=(
            replace(_served(shadow, model), role="shadow")
            if shadow is not None and shadow.status == ready
            else None
        ),
    )


# The split: a key's bucket out of SPLIT_BUCKETS (hundredths of a percent).
SPLIT_BUCKETS = 10_000


def key_bucket(key: str) -> int:
    """A stable bucket for a caller's key: the same key lands in the same bucket on every
    server and after every restart (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SPLIT_BUCKETS


def route(served: ServedVersion, key: str | None = None) -> ServedVersion:
    """The version that answers one request to an alias's resolution: its canary for
    canary_percent of the traffic, by the caller's key when there is one (the same key, the
    same version while the split stays), at random otherwise; else the alias's own."""
    canary = served.canary
    if canary is None:
        return served
    bucket = key_bucket(key) if key is not None else random.randrange(SPLIT_BUCKETS)
    if bucket < served.canary_percent * (SPLIT_BUCKETS / 100):
        return replace(canary, shadow=served.shadow)
    return served


def resolve(
    name: str, *, version: int | None = None, alias: str | None = None, user: Any = None
) -> ServedVersion:
    """The ready version that `name` (optionally at a version or alias) serves right now.
    Given the `user` asking (every route gives it), a model they may not read is not found,
    whatever else is true of it; without, the caller is the system (an evaluation run)."""
    key = (name, version, alias)
    hit = _resolved.get(key)
    if hit is MISSING:
        try:
            hit = _lookup(name, version, alias)
        except (NotFound, Conflict):
            if user is not None and not _readable_name(user, name):
                raise NotFound(f"There is no model named {name!r}.") from None
            raise
        _resolved.set(key, hit)
    if user is not None:
        check_access(user, hit)
    return hit


def check_access(user: Any, served: ServedVersion) -> None:
    """NotFound unless `user` may read the served version's model (access.can_read)."""
    if not access.can_read(user, served):
        raise NotFound(f"There is no model named {served.model!r}.")


def _readable_name(user: Any, name: str) -> bool:
    return access.visible_models(user).filter(name=name).exists()


def forget_resolutions() -> None:
    """Drop this process's resolution cache (tests, and after local alias changes)."""
    _resolved.clear()


# Model URIs (MLflow's) -------------------------------------------------------------------

MODEL_URI_PREFIX = "models:/"
MODEL_URI_MAX_CHARS = 200
MAX_VERSION = 2**31 - 1  # PositiveIntegerField (PostgreSQL integer)
_NAME = re.compile(NAME_RE)
_URI_FORMS = "models:/<name>, models:/<name>/<version> or models:/<name>@<alias>"


@dataclass(frozen=True)
class ModelRef:
    """A model, and at most one of a version number or an alias of it."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        at = f"/{self.version}" if self.version is not None else ""
        return f"{MODEL_URI_PREFIX}{self.name}{at}{f'@{self.alias}' if self.alias else ''}"


def _refused(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, {field: message})


def parse_model_uri(text: Any, *, field: str) -> ModelRef:
    """MLflow's model URI, `models:/churn`, `models:/churn/3` or `models:/churn@production`,
    as a ModelRef; anything else is refused (422) naming `field`."""
    shown = repr(text[:MODEL_URI_MAX_CHARS]) if isinstance(text, str) else type(text).__name__
    if (
        not isinstance(text, str)
        or len(text) > MODEL_URI_MAX_CHARS
        or not text.startswith(MODEL_URI_PREFIX)
    ):
        raise _refused(field, f"{shown} is not a model URI: use {_URI_FORMS}.")
    rest = text.removeprefix(MODEL_URI_PREFIX)
    name, slash, number = rest.partition("/")
    name, at, alias = name.partition("@")
    if not _NAME.match(name):
        raise _refused(
            field,
            f"{shown} does not name a model: after models:/ comes a model name (lowercase "
            f"letters, digits, '.', '_' or '-'); use {_URI_FORMS}.",
        )
    if at and slash:
        raise _refused(field, f"{shown} gives both an alias and a version: give one.")
    if at:
        if not ALIAS_RE.match(alias):
            raise _refused(
                field,
                f"{shown} does not name an alias (lowercase letters, digits, '.', '_' or '-').",
            )
        return ModelRef(name, alias=alias)
    if slash:
        if not number.isascii() or not number.isdigit() or not 1 <= int(number) <= MAX_VERSION:
            raise _refused(
                field, f"{shown} does not name a version: after the name comes 1, 2, 3..."
            )
        return ModelRef(name, version=int(number))
    return ModelRef(name)


def model_name(text: Any, *, field: str) -> str:
    """The model a destination names (a leaderboard's registration, a webhook's model):
    its name, or `models:/<name>`; a version or alias there is refused (422, `field`)."""
    if isinstance(text, str) and not text.startswith(MODEL_URI_PREFIX):
        if not _NAME.match(text):
            raise _refused(
                field,
                f"{text[:MODEL_URI_MAX_CHARS]!r} is not a model name (lowercase letters, "
                "digits, '.', '_' or '-') or models:/<name>.",
            )
        return text
    ref = parse_model_uri(text, field=field)
    if ref.version is not None or ref.alias is not None:
        raise _refused(
            field,
            f"{text!r} names a version or an alias: this takes a model (models:/{ref.name}).",
        )
    return ref.name
