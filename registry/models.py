"""Records of the registry: datasets, registered models, their versions, and aliases.

Dataset and artifact bytes live in the database (so every server sees them) but the
default managers defer them: listings and list pages never load them.
"""

from __future__ import annotations

import json
import re
from itertools import repeat
from typing import Any, TypeVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import timezone

NAME_RE = r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?\Z"
ALIAS_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,48}[a-z0-9])?\Z")
name_validator = RegexValidator(
    NAME_RE,
    "Use 1-100 lowercase letters, digits, '.', '_' or '-', starting and ending with a "
    "letter or digit.",
)


class DeferredBytesManager(models.Manager):
    """Leaves the named binary fields unloaded until they are asked for."""

    def __init__(self, *deferred: str) -> None:
        super().__init__()
        self.deferred = deferred

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer(*self.deferred)

    def deconstruct(self) -> tuple[bool, str | None, str | None, tuple, dict]:
        return (False, "registry.models.DeferredBytesManager", None, self.deferred, {})


M = TypeVar("M", bound=models.Model)


def create_with_bytes(model: type[M], field: str, data: bytes, **fields: Any) -> M:
    """`model.objects.create(**fields)` with `data` in its binary `field`. On PostgreSQL the
    bytes are a binary parameter bound by the server: Django binds parameters in the client
    there, writing bytes into the query as hex text (twice their size, copied again as the
    query is built), so a stored upload cost several times its size in the web worker
    (benchmarks/README.md). The row is inserted without them and given them in the same
    transaction, so no one sees it without."""
    if connection.vendor != "postgresql":
        return model.objects.create(**fields, **{field: data})
    import psycopg  # the PostgreSQL driver, installed with the app

    quote = connection.ops.quote_name
    with transaction.atomic():
        row = model.objects.create(**fields, **{field: b""})
        update = (
            f"UPDATE {quote(model._meta.db_table)} "  # noqa: S608 (names from the model)
            f"SET {quote(model._meta.get_field(field).column)} = %b "
            f"WHERE {quote(model._meta.pk.column)} = %s"
        )
        # psycopg's own server-binding cursor: Django's would bind in the client. Not
        # prepared, so a pooler in transaction mode sees nothing to keep.
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(update, [data, row.pk], prepare=False)
    setattr(row, field, data)
    return row


class Visibility(models.TextChoices):
    """Who may read a model or a dataset (registry/access.py): writes stay its owner's."""

    PRIVATE = "private", "private: its owner only"
    TEAM = "team", "team: its owner and the members of its team"
    PUBLIC = "public", "public: everyone signed in"


class Team(models.Model):
    """A group of users a model or dataset can be shared with (managed in the admin)."""

    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="registry_teams", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _visibility_field(default: str) -> models.CharField:
    return models.CharField(max_length=10, choices=Visibility.choices, default=default)


def _team_field() -> models.ForeignKey:
    # A deleted team leaves its records team-visible with no team: their owner's only.
    return models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class Dataset(models.Model):
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets"
    )
    # Datasets were always private to their owner: that stays the default.
    visibility = _visibility_field(Visibility.PRIVATE)
    team = _team_field()
    csv = models.BinaryField(editable=False)
    sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    size_bytes = models.BigIntegerField(editable=False)
    n_rows = models.PositiveIntegerField(editable=False)
    n_columns = models.PositiveIntegerField(editable=False)
    schema = models.JSONField(editable=False)  # [{"name", "type", "missing", ...}, ...]
    # How the bytes are read (encoding, delimiter, decimal mark, per-column type overrides):
    # what was detected at upload, or what the user chose; training reads the file the same way.
    options = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeferredBytesManager("csv")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="dataset_unique_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("dataset_detail", args=[self.pk])

    def column(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.schema if c["name"] == name), None)

    def csv_filename(self) -> str:
        """The name to download it under: safe in a header and on any file system."""
        stem = re.sub(r"[^A-Za-z0-9.-]+", "_", self.name).strip("._-")[:100] or "dataset"
        return stem if stem.lower().endswith(".csv") else f"{stem}.csv"

    def csv_content_type(self) -> str:
        return f"text/csv; charset={self.options.get('encoding') or 'utf-8'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "name": self.name,
            "owner": self.owner.get_username(),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "rows": self.n_rows,
            "columns": [
                {
                    "name": c["name"],
                    "type": c["type"],
                    "missing": c["missing"],
                    "format": c.get("format"),  # a date column's
                    "role": c.get("role"),
                    "role_reason": c.get("role_reason"),
                    "override": c.get("override"),  # the type the user chose
                }
                for c in self.schema
            ],
            "options": self.options,
            "visibility": self.visibility,
            "team": self.team.name if self.team_id else None,
            "created_at": self.created_at.isoformat(),
        }


class RegisteredModel(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    description = models.TextField(blank=True, max_length=5000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="models"
    )
    # Every signed-in user read every model before teams: that stays the default.
    visibility = _visibility_field(Visibility.PUBLIC)
    team = _team_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "registered model"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("model_detail", args=[self.name])


class VersionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The alias a call without a version is served by.
PRODUCTION = "production"

# A version is trained while active; it ends ready, failed or cancelled, and never changes again.
ACTIVE = (VersionStatus.QUEUED, VersionStatus.RUNNING)
FINISHED = (VersionStatus.READY, VersionStatus.FAILED, VersionStatus.CANCELLED)


class ImmutableVersionError(Exception):
    """A ready version never changes."""


class VersionQuerySet(models.QuerySet):
    """The status machine of a version: every move of `status` goes through one of these.

    Each is one conditional UPDATE on the rows of the queryset that are in the move's
    starting state, so two processes racing for the same version cannot both win; each
    returns how many rows moved. queued -> running (claim) -> ready (mark_ready), and
    running -> queued (requeue) for a retry; an active version can fail or be cancelled.
    """

    def claim(self, **fields: Any) -> int:
        """queued or running -> running, with a fresh heartbeat (a retry claims again)."""
        return self.filter(status__in=ACTIVE).update(
            status=VersionStatus.RUNNING, heartbeat_at=timezone.now(), **fields
        )

    def beat(self, **fields: Any) -> int:
        """A running version's sign of life (progress, loss curve...): nothing else moves."""
        return self.filter(status=VersionStatus.RUNNING).update(
            heartbeat_at=timezone.now(), **fields
        )

    def mark_ready(self, **fields: Any) -> int:
        """running -> ready with what the training made; a version cancelled, failed or
        deleted meanwhile stays as it is (0 is returned)."""
        now = timezone.now()
        return self.filter(status=VersionStatus.RUNNING).update(
            status=VersionStatus.READY, progress=100, finished_at=now, heartbeat_at=now, **fields
        )

    def mark_failed(self, message: str) -> int:
        """queued or running -> failed, with a message a person can act on."""
        return self.filter(status__in=ACTIVE).update(
            status=VersionStatus.FAILED, error=message[:5000], finished_at=timezone.now()
        )

    def requeue(self, message: str) -> int:
        """running -> queued, to be trained again from the start."""
        return self.filter(status=VersionStatus.RUNNING).update(
            status=VersionStatus.QUEUED, progress=0, heartbeat_at=timezone.now(), error=message
        )

    def cancel(self, message: str) -> int:
        """queued or running -> cancelled."""
        return self.filter(status__in=ACTIVE).update(
            status=VersionStatus.CANCELLED, error=message, finished_at=timezone.now()
        )


class ModelVersion(models.Model):
    Status = VersionStatus

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    # Kept when the dataset is deleted: what the version was trained on.
    dataset_name = models.CharField(max_length=200)
    dataset_sha256 = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    features = models.JSONField(default=list)  # input schema: [{"name", "type", "categories"}]
    classes = models.JSONField(null=True, blank=True)
    test_size = models.FloatField(default=0.2)
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    loss_curve = models.JSONField(default=list, blank=True)
    plots = models.JSONField(default=dict, blank=True)  # name -> SVG text
    artifact = models.BinaryField(null=True, editable=False)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    artifact_size = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    # Compact summary of the training data (quantile bins, category frequencies) for drift.
    profile = models.JSONField(default=dict, blank=True)
    # Where an imported version came from (exporting instance, original name/version, time).
    origin = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    # A setting, not part of the artifact (so a ready version may change it, through
    # services.set_threshold, which writes an AuditEntry): for a binary classifier, the
    # probability of classes[1] at or above which serving answers classes[1]. None: the
    # model's own decision rule.
    threshold = models.FloatField(null=True, blank=True)
    # What a person wrote about the version (services.version_edit, recorded): settings of
    # the record, not of the artifact, so a ready version may change them. db_default: a
    # server still running the previous release inserts versions without these columns.
    description = models.TextField(blank=True, default="", db_default="", max_length=5000)
    note = models.TextField(blank=True, default="", db_default="", max_length=10_000)
    # The leaderboard whose row this version was registered from, if any.
    leaderboard = models.ForeignKey(
        "Leaderboard",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions",
    )

    objects = DeferredBytesManager.from_queryset(VersionQuerySet)("artifact", "plots")

    class Meta:
        ordering = ["model", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="version_unique_per_model")
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="version_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_loaded_status", None) == VersionStatus.READY:
            raise ImmutableVersionError(f"{self} is ready and can no longer change.")
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def get_absolute_url(self) -> str:
        return reverse("version_detail", args=[self.model.name, self.version])

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> ModelVersion:
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    @property
    def is_ready(self) -> bool:
        return self.status == VersionStatus.READY

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_cancellable(self) -> bool:
        return self.status in ACTIVE

    @property
    def kind(self) -> str:
        from registry.algorithms import ALGORITHMS

        algorithm = ALGORITHMS.get(self.algorithm)
        return algorithm.kind if algorithm else "unknown"

    @property
    def headline(self) -> tuple[str, float] | None:
        """The one metric shown in listings for this kind of model."""
        from registry.algorithms import HEADLINE_METRIC

        name = HEADLINE_METRIC.get(self.kind)
        value = self.metrics.get(name) if name and isinstance(self.metrics, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        # A stored card may hold a 400-digit integer: shown only if a double holds it.
        return (name, float(value)) if abs(value) <= 1e300 else None

    def dataset_visible_to(self, user: Any) -> bool:
        """Whether `user` may see which dataset this version was trained on (its id, name and
        sha256): datasets are private, so only its owner (and a superuser, who reads every
        dataset). Once the dataset is deleted, whoever trained the version. A listing may
        annotate `dataset_owner_id` to spare the lookup."""
        if user is None or not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        if self.dataset_id is None:
            return self.created_by_id == user.pk
        if "dataset_owner_id" in self.__dict__:
            owner_id = self.__dict__["dataset_owner_id"]
        else:
            owner_id = (
                Dataset.objects.filter(pk=self.dataset_id)
                .values_list("owner_id", flat=True)
                .first()
            )
        return owner_id == user.pk

    def leaderboard_visible_to(self, user: Any) -> bool:
        """Boards are private like datasets: the one who registered from it (its owner) and a
        superuser see which board a version came from."""
        if self.__dict__.get("leaderboard_id") is None or user is None:
            return False
        return user.is_authenticated and (user.is_superuser or self.created_by_id == user.pk)

    def to_dict(self, *, detail: bool = True, viewer: Any = None) -> dict[str, Any]:
        """The version as the API shows it to `viewer` (the dataset only if theirs)."""
        data: dict[str, Any] = {
            "model": self.model.name,
            "version": self.version,
            "status": self.status,
            "progress": self.progress,
            "algorithm": self.algorithm,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "url": self.get_absolute_url(),
        }
        if detail:
            data.update(
                params=self.params,
                dataset={
                    "id": self.dataset_id,
                    "name": self.dataset_name,
                    "sha256": self.dataset_sha256,
                }
                if self.dataset_visible_to(viewer)
                else {"id": None, "name": None, "sha256": None},
                target=self.target or None,
                features=self.features,
                classes=self.classes,
                metrics=self.metrics,
                loss_curve=self.loss_curve,
                error=self.error or None,
                test_size=self.test_size,
                seed=self.seed,
                artifact_sha256=self.artifact_sha256 or None,
                artifact_size=self.artifact_size,
                created_by=self.created_by.get_username() if self.created_by else None,
                started_at=self.started_at.isoformat() if self.started_at else None,
                training_seconds=self.training_seconds,
                origin=self.origin,  # where an imported version came from; null if trained here
                # The board it was registered from: its id for whoever may read the board.
                leaderboard=self.leaderboard_id if self.leaderboard_visible_to(viewer) else None,
                # A binary classifier's decision threshold (null: the model's own rule).
                threshold=self.threshold,
                description=self.description,
                note=self.note,
                tags={t.key: t.value for t in self.tags.all()},
            )
        return data

    def take_production_if_first(self, *, via: str) -> bool:
        """Inside the transaction that made this version ready: if it is its model's first
        ready version, point `production` at it, recorded and sent ("alias.moved") like any
        move (by whoever created the version, through `via`: "system" for a training,
        "import"); True then. A later version never changes what calls without a version get;
        a model whose `production` was deleted stays without one until someone promotes a
        version."""
        # The model row lock orders two versions of one model finishing at the same time (a
        # no-key lock: inserting a version or an alias of the model does not wait for it).
        RegisteredModel.objects.select_for_update(no_key=True).filter(pk=self.model_id).first()
        others_ready = (
            ModelVersion.objects.filter(model_id=self.model_id, status=VersionStatus.READY)
            .exclude(pk=self.pk)
            .exists()
        )
        if others_ready or Alias.objects.filter(model_id=self.model_id, name=PRODUCTION).exists():
            return False
        Alias.objects.create(
            model_id=self.model_id,
            name=PRODUCTION,
            version_id=self.pk,
            updated_by_id=self.created_by_id,
        )
        AuditEntry.objects.create(
            actor_id=self.created_by_id,
            via=via,
            action="alias.move",
            model_id=self.model_id,
            version_id=self.pk,
            before={"alias": PRODUCTION, "version": None},
            after={"alias": PRODUCTION, "version": self.version},
        )
        return True


class Alias(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=50, validators=[name_validator])
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A rollout (services.alias_rollout): a canary takes canary_percent of the alias's
    # traffic (serving/resolve.py splits it); a shadow scores the logged requests off the
    # request path and never answers (monitoring/predlog.py).
    canary_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    canary_percent = models.FloatField(null=True, blank=True)
    shadow_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["model", "name"]
        verbose_name_plural = "aliases"
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="alias_unique_per_model")
        ]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.version_id and self.model_id and self.version.model_id != self.model_id:
            raise ValidationError({"version": "This version belongs to another model."})
        if self.version_id and self.version.status != VersionStatus.READY:
            raise ValidationError({"version": "Only a ready version can take an alias."})


# Tags: key/value labels on models and versions (services.model_edit / version_edit). A key
# holds no ':' (a search asks for tag=key:value, split at the first ':').
TAG_KEY_RE = r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,63}\Z"
TAG_VALUE_MAX = 256
MAX_TAGS = 50  # per model or version
MAX_DESCRIPTION = 5000  # characters of a model's or version's description
MAX_NOTE = 10_000  # of a version's note
tag_key_validator = RegexValidator(
    TAG_KEY_RE,
    "Use 1-64 letters, digits, '_', '.', '-' or '/', not starting with '.', '-' or '/'.",
)


class Tag(models.Model):
    key = models.CharField(max_length=64, validators=[tag_key_validator])
    value = models.CharField(max_length=TAG_VALUE_MAX, blank=True)

    class Meta:
        abstract = True
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ModelTag(Tag):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="tags")

    class Meta(Tag.Meta):
        verbose_name = "model tag"
        constraints = [
            models.UniqueConstraint(fields=["model", "key"], name="model_tag_unique_key")
        ]


class VersionTag(Tag):
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="tags")

    class Meta(Tag.Meta):
        verbose_name = "version tag"
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="version_tag_unique_key")
        ]


TOKEN_SCOPES = ("predict", "read", "write", "admin")


def all_token_scopes() -> list[str]:
    return list(TOKEN_SCOPES)


class ApiToken(models.Model):
    """A user's API token: only a lookup prefix and a hash are kept; the token is shown once.

    What it may do: its `scopes` (registry/api/auth.py says which operation needs which),
    on the models named in `model_names` only (empty: every model its owner may use), until
    `expires_at` (none: until revoked)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_from = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Tokens made before scopes existed keep every scope, so none of them stops working.
    scopes = models.JSONField(default=all_token_scopes, editable=False)
    model_names = models.JSONField(default=list, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def owner_id(self) -> int:
        """Its user, as the ownership rule reads it (selectors.can_change)."""
        return self.user_id

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class JSONTextField(models.JSONField):
    """JSON kept as the text it was written as, in a `text` column on every database
    (SQLite's JSONField is one already). The prediction log's writer sends JSON it
    serialised itself: PostgreSQL parsing that into jsonb and compressing it with pglz
    cost more server CPU than all the rest of a 100-row request's log row
    (benchmarks/README.md). The app reads these columns in Python only; SQL that needs
    jsonb operators casts (`inputs::jsonb`)."""

    def get_internal_type(self) -> str:
        # A text column, and the type change a migration makes in either direction says
        # how to convert (USING inputs::jsonb back to a JSONField).
        return "TextField"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        return json.dumps(value, cls=self.encoder)


def rows_by_column(rows: Any) -> Any:
    """Rows [{name: value}, ...] that all have the same names, as {name: [value, ...]}
    (what the log stores: each name once, not once per row); anything else as it is."""
    if not rows or not isinstance(rows, list) or not isinstance(rows[0], dict):
        return rows
    names = list(rows[0])
    if any(not isinstance(row, dict) or list(row) != names for row in rows):
        return rows
    return {name: [row[name] for row in rows] for name in names}


def rows_of(stored: Any) -> Any:
    """The rows of a value `rows_by_column` stored (rows logged before it as they are)."""
    if not isinstance(stored, dict):
        return stored
    names = list(stored)
    return list(map(dict, map(zip, repeat(names), zip(*stored.values(), strict=True))))


class LoggedRowsField(JSONTextField):
    """A list of rows, read and written as [{name: value}, ...] and stored by column."""

    def get_prep_value(self, value: Any) -> Any:
        return rows_by_column(super().get_prep_value(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return rows_of(super().from_db_value(value, expression, connection))


class PredictionLog(models.Model):
    """One sampled prediction request (registry/monitoring/predlog.py writes these in batches).

    The serving path never reads this table. Pages and the drift report read one version's
    recent rows through the (version, created_at) index; pruning goes by id. There
    is no foreign-key constraint in the database: a batch written just after its version was
    deleted must not fail (such rows are pruned like any other); deleting a version through
    the ORM still deletes its rows.
    """

    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # the (version, created_at) index serves every lookup by version
        related_name="prediction_logs",
    )
    created_at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True, blank=True)  # who asked (a user's id)
    source = models.CharField(max_length=8)  # api, page, batch (CSV page), admin
    status = models.PositiveSmallIntegerField()  # the HTTP status the request got
    latency_ms = models.FloatField()
    n_rows = models.PositiveIntegerField()  # rows in the request (inputs keeps the first N)
    # The rows as the model saw them ([{feature: value}], stored {feature: [value, ...]}),
    # null when they could not be read.
    inputs = LoggedRowsField(null=True, blank=True)
    # {"predictions": [...], "probabilities": [[...]]} for those rows; null for an error.
    outputs = JSONTextField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # Which part of a rollout wrote the row: the alias's own version or a pinned one
    # (champion), its canary, or its shadow (scored off the request path, never answered).
    role = models.CharField(max_length=8, default="champion", db_default="champion")
    # The request's "prediction_id" (row i of it is "<uuid>:<i>"): ground-truth feedback
    # finds its prediction by it. Null for rows logged before ids existed.
    request_id = models.UUIDField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # One index besides the primary key: every read is one version's recent rows.
        # (Pruning walks the primary key: rows are written in time order. A created_at index
        # would cost every insert and lure PostgreSQL's planner away from this one.)
        indexes = [models.Index(fields=["version", "created_at"], name="predlog_version_time")]

    def __str__(self) -> str:
        return f"{self.version_id} {self.created_at:%Y-%m-%d %H:%M:%S} {self.status}"


class LeaderboardStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class TrialStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the algorithm could not run on this data: `reason` says why
    SKIPPED = "skipped"  # not started before the time budget ran out
    CANCELLED = "cancelled"


BOARD_ACTIVE = (LeaderboardStatus.QUEUED, LeaderboardStatus.RUNNING)
TRIAL_ACTIVE = (TrialStatus.QUEUED, TrialStatus.RUNNING)


class Leaderboard(models.Model):
    """Every applicable algorithm on one dataset and target, cross-validated with a random
    search over its hyperparameters: one Trial per configuration, each a task on the queue
    (registry/leaderboard/)."""

    Status = LeaderboardStatus

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leaderboards"
    )
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="leaderboards"
    )
    # Kept when the dataset is deleted: what the board was run on.
    dataset_name = models.CharField(max_length=200)
    dataset_sha256 = models.CharField(max_length=64)
    target = models.CharField(max_length=200)
    features = models.JSONField(default=list)  # like ModelVersion.features
    task = models.CharField(max_length=20)  # an algorithms kind: classifier or regressor
    folds = models.PositiveSmallIntegerField(default=5)
    metric = models.CharField(max_length=50)  # the one the rank goes by
    algorithms = models.JSONField(default=list)  # the ids planned
    n_iter = models.PositiveSmallIntegerField(default=4)  # random configurations per algorithm
    time_budget_s = models.FloatField(null=True, blank=True)
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10,
        choices=LeaderboardStatus.choices,
        default=LeaderboardStatus.QUEUED,
        db_index=True,
    )
    error = models.TextField(blank=True)
    trials_total = models.PositiveIntegerField(default=0)
    trials_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"leaderboard {self.pk} ({self.dataset_name}: {self.target})"

    def get_absolute_url(self) -> str:
        return reverse("leaderboard_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status not in BOARD_ACTIVE

    @property
    def is_cancellable(self) -> bool:
        return self.status in BOARD_ACTIVE


class Trial(models.Model):
    """One configuration of one algorithm on a leaderboard, scored on every fold."""

    Status = TrialStatus

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="trials")
    number = models.PositiveIntegerField()  # its place in the plan
    algorithm = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    is_default = models.BooleanField(default=False)  # the algorithms table's defaults
    status = models.CharField(
        max_length=10, choices=TrialStatus.choices, default=TrialStatus.QUEUED, db_index=True
    )
    reason = models.TextField(blank=True)  # why it failed or was skipped, in plain words
    scores = models.JSONField(default=dict, blank=True)  # metric -> [value per fold]
    fit_seconds = models.JSONField(default=list, blank=True)  # per fold
    predict_seconds = models.JSONField(default=list, blank=True)  # per fold
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "number"], name="trial_unique_number_per_board"
            )
        ]

    def __str__(self) -> str:
        return f"trial {self.number} of {self.leaderboard_id} ({self.algorithm})"


class AuditEntry(models.Model):
    """One change of a setting that decides what is served (a version's threshold, an
    alias move): who, when, through which door, from what to what. Append-only: an entry
    is never edited or deleted except with its model."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=10)  # page, api, admin, import, system
    action = models.CharField(max_length=50)  # e.g. "threshold.set"
    # A model's entry, or a dataset's (its visibility: "visibility.set").
    model = models.ForeignKey(
        RegisteredModel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_entries",
    )
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} on {self.model_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableVersionError("An audit entry cannot change once written.")
        super().save(*args, **kwargs)


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Evaluation(models.Model):
    """Versions of one model scored on the same labelled rows (a dataset), side by side
    (registry/evaluation/)."""

    Status = EvaluationStatus

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="evaluations")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations"
    )
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )
    # Kept when the dataset is deleted.
    dataset_name = models.CharField(max_length=200)
    dataset_sha256 = models.CharField(max_length=64)
    target = models.CharField(max_length=200)
    versions = models.JSONField(default=list)  # the version numbers chosen
    status = models.CharField(
        max_length=10,
        choices=EvaluationStatus.choices,
        default=EvaluationStatus.QUEUED,
        db_index=True,
    )
    progress = models.PositiveSmallIntegerField(default=0)
    # str(version number) -> {"metrics", "n_rows", "n_scored", "n_unscorable", "unscorable",
    # "wrong_rows"}: see registry/evaluation/.
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"evaluation {self.pk} of {self.model_id} on {self.dataset_name}"

    def get_absolute_url(self) -> str:
        return reverse("evaluation_detail", args=[self.model.name, self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (EvaluationStatus.DONE, EvaluationStatus.FAILED)


# Alerts and webhooks (registry/alerts/) ---------------------------------------------------


class WebhookEndpoint(models.Model):
    """Where a user's registry events and alerts are POSTed, signed with the endpoint's
    secret (Standard Webhooks). The secret is kept encrypted (registry/alerts/secrets.py):
    signing needs it back, so it cannot be a hash; it is shown once, at creation."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    # null: every model of the owner's.
    model = models.ForeignKey(
        RegisteredModel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(max_length=2000)
    secret_encrypted = models.TextField(editable=False)
    events = models.JSONField(default=list)  # event names; empty: every event
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} -> {self.url}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "model": self.model.name if self.model_id else None,
            "url": self.url,
            "events": list(self.events or []),
            "description": self.description,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
        }


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint, with its attempts' outcome."""

    Status = DeliveryStatus

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The webhook-id header: the same on every attempt, so a receiver can drop a repeat.
    message_id = models.CharField(max_length=40, unique=True)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the worker's alert step queued it again after its task was lost (it does once;
    # lost a second time, it is failed): webhooks.recover_lost_deliveries.
    requeued_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "created_at"], name="delivery_endpoint_time")]

    def __str__(self) -> str:
        return f"{self.event} -> endpoint {self.endpoint_id} ({self.status})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "message_id": self.message_id,
            "event": self.event,
            "payload": self.payload,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "response_status": self.response_status,
            "response_excerpt": self.response_excerpt,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class AlertRule(models.Model):
    """A condition on a model checked by the task worker (registry/alerts/rules.py); when it
    starts to hold, "alert.fired" is sent once, until it stops holding."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=30)  # registry.alerts.rules.KINDS
    params = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    state = models.CharField(max_length=10, default="ok")  # ok | firing
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "id"]

    def __str__(self) -> str:
        return f"{self.kind} rule {self.pk} on {self.model_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "model": self.model.name,
            "kind": self.kind,
            "params": self.params,
            "active": self.active,
            "state": self.state,
            "last_value": self.last_value,
            "last_evaluated_at": (
                self.last_evaluated_at.isoformat() if self.last_evaluated_at else None
            ),
            "last_fired_at": self.last_fired_at.isoformat() if self.last_fired_at else None,
            "created_at": self.created_at.isoformat(),
        }


class Feedback(models.Model):
    """The true answer for one logged prediction row (registry/monitoring/live.py).

    The prediction (what the version answered for the row, and when) is copied from the
    prediction log when the label arrives: the live metric then reads this table alone,
    through the (version, predicted_at) index, and survives the log being pruned.
    """

    request_id = models.UUIDField()
    row = models.PositiveIntegerField()
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="feedback")
    label = models.JSONField()  # a class label or a number, as the caller sent it
    predicted = models.JSONField(null=True)  # the version's answer for the row
    predicted_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-predicted_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [
            # One label per row and version: a shadow version's log row has the same request id.
            models.UniqueConstraint(
                fields=["request_id", "row", "version"], name="feedback_unique_row"
            )
        ]
        indexes = [models.Index(fields=["version", "predicted_at"], name="feedback_version_time")]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.row} = {self.label!r}"


# Background batch scoring (registry/batchjobs/) ---------------------------------------------


class BatchJobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


BATCH_ACTIVE = (BatchJobStatus.QUEUED, BatchJobStatus.RUNNING)


class BatchJob(models.Model):
    """A CSV scored in the background by one model version, a chunk at a time
    (registry/batchjobs/). The version is resolved when the job is made: an alias moved
    later does not change what a job scores with."""

    Status = BatchJobStatus
    CSV, PARQUET = "csv", "parquet"
    FORMATS = (CSV, PARQUET)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_jobs"
    )
    # Kept when the version (or its model) is deleted: the job then fails, a finished job's
    # result stays downloadable.
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_jobs"
    )
    model_name = models.CharField(max_length=100)
    version_number = models.PositiveIntegerField()
    alias = models.CharField(max_length=100, blank=True)  # the alias asked for, if any
    # Where the rows came from: an upload (its file name) or a dataset (a copy was taken).
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_jobs"
    )
    input_name = models.CharField(max_length=200)
    input_bytes = models.BigIntegerField(default=0)
    header = models.BinaryField(editable=False)  # the file's header line, before every chunk
    output_format = models.CharField(max_length=10, default=CSV)
    status = models.CharField(
        max_length=10,
        choices=BatchJobStatus.choices,
        default=BatchJobStatus.QUEUED,
        db_index=True,
    )
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # The result's column names (the file's, then the prediction columns), set by the
    # first chunk scored.
    columns = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    # Claims since the last chunk was scored: a job whose worker dies twice in a row
    # without finishing a chunk is failed, not retried again.
    attempts = models.PositiveSmallIntegerField(default=0)
    claims = models.PositiveIntegerField(default=0)  # every claim by a worker, in order
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = DeferredBytesManager("header")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="batchjob_status_heartbeat")
        ]

    def __str__(self) -> str:
        return f"batch job {self.pk} of {self.model_name} v{self.version_number}"

    @property
    def is_active(self) -> bool:
        return self.status in BATCH_ACTIVE

    @property
    def progress(self) -> int:
        """Percent of the rows scored (100 only once done)."""
        if self.status == BatchJobStatus.DONE:
            return 100
        return min(99, 100 * self.rows_done // max(self.rows_total, 1))

    def result_filename(self) -> str:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", self.input_name).strip(".-")[:80] or "rows"
        stem = re.sub(r"\.(csv|tsv|txt)$", "", stem, flags=re.I)
        return f"{stem}-{self.model_name}-v{self.version_number}-predictions.{self.output_format}"

    def to_dict(self) -> dict[str, Any]:
        done = self.status == BatchJobStatus.DONE
        return {
            "id": self.pk,
            "model": self.model_name,
            "version": self.version_number,
            "alias": self.alias or None,
            "input": {
                "name": self.input_name,
                "dataset": self.dataset_id,
                "bytes": self.input_bytes,
            },
            "format": self.output_format,
            "status": self.status,
            "rows_total": self.rows_total,
            "rows_done": self.rows_done,
            "chunks_total": self.chunks_total,
            "chunks_done": self.chunks_done,
            "progress": self.progress,
            "error": self.error or None,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result_url": f"/api/v1/batch-jobs/{self.pk}/result" if done else None,
        }


class BatchChunk(models.Model):
    """Rows [start_row, stop_row) of a batch job: their input lines until scored, then the
    result (CSV lines, or an Arrow IPC stream for Parquet), written with `done` in one
    transaction, so a chunk is scored once whatever happens to the workers."""

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    start_row = models.PositiveBigIntegerField()
    stop_row = models.PositiveBigIntegerField()
    input = models.BinaryField(editable=False)  # emptied once scored
    result = models.BinaryField(null=True, editable=False)
    done = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(default=0)  # rows scored (blank lines are skipped)
    # Which claim of the job scored it (BatchJob.claims counts them), and when.
    scored_by_claim = models.PositiveIntegerField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    objects = DeferredBytesManager("input", "result")

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="batchchunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of batch job {self.job_id}"
