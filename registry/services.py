"""Write paths of the registry: every multi-step change goes through one of these functions.

Views, the API, the admin and the management commands call them; they validate, write in
one transaction, and raise RegistryError subclasses with a message a person can act on.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError, Q, Sum
from django.utils import timezone

from numpyml.preprocessing import DATE_PARTS
from registry import access, alerts, csvio, evaluation, selectors, serving
from registry.alerts import rules, webhooks
from registry.alerts import secrets as secrets_
from registry.algorithms import ALGORITHMS, CLASSIFIER, REGRESSOR, ParamsError, clean_params
from registry.errors import (  # noqa: F401  (services.X stays a way to name them)
    Conflict,
    Forbidden,
    InvalidInput,
    ModelTooLarge,
    NotFound,
    QuotaExceeded,
    RegistryError,
    TooLarge,
)
from registry.models import (
    ACTIVE,
    ALIAS_RE,
    BATCH_ACTIVE,
    BOARD_ACTIVE,
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_TAGS,
    TAG_KEY_RE,
    TAG_VALUE_MAX,
    TRIAL_ACTIVE,
    AlertRule,
    Alias,
    AuditEntry,
    BatchChunk,
    BatchJob,
    BatchJobStatus,
    Dataset,
    Evaluation,
    EvaluationStatus,
    Feedback,
    Leaderboard,
    ModelTag,
    ModelVersion,
    RegisteredModel,
    Team,
    Trial,
    VersionTag,
    Visibility,
    WebhookDelivery,
    WebhookEndpoint,
    create_with_bytes,
    name_validator,
    tag_key_validator,
)
from registry.monitoring import feedback
from registry.pipeline import estimator_of
from registry.serving import model_budget_bytes, too_large_message

MAX_CLASSES = 1000
# A numeric target with more distinct values than this is a quantity, not a set of classes
# (the train form's default algorithm draws the same line).
MAX_NUMERIC_CLASSES = 20
# Each class needs a row to learn from and one in the holdout to be measured on.
MIN_CLASS_ROWS = 2


def served_names_changed() -> None:
    """What a name serves changes with this transaction, so this process resolves names
    afresh (the others within serving.RESOLVE_TTL_S): at once, for the rest of this
    transaction, and once it commits, for a resolution another thread cached meanwhile
    from the rows as they were."""
    serving.forget_resolutions()
    transaction.on_commit(serving.forget_resolutions)


def quote_short(value: Any, limit: int = 60) -> str:
    """repr of a value from a request, cut to `limit` characters: messages never echo a body."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _some(values: list[Any], shown: int = 3) -> str:
    """The first few values, quoted short, and how many more there are."""
    text = ", ".join(quote_short(v) for v in values[:shown])
    return text if len(values) <= shown else f"{text} and {len(values) - shown} more"


def ensure_owner(obj: Any, user: AbstractBaseUser) -> None:
    """Forbidden unless `user` may change `obj` (selectors.can_change)."""
    if not selectors.can_change(user, obj):
        raise Forbidden(f"{obj} belongs to another user: you can read it but not change it.")


# Quotas: what one user may store (MLSERVE_USER_MAX_DATASET_MB, MLSERVE_USER_MAX_MODELS;
# 0 is no limit). Superusers are exempt: they run the instance. The user's row is locked
# (PostgreSQL; SQLite's writes are serialised anyway) so two uploads at once cannot both
# take the last room.


def _lock_user(user: AbstractBaseUser) -> None:
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _check_dataset_quota(owner: AbstractBaseUser, size: int) -> None:
    quota_mb = settings.MLSERVE_USER_MAX_DATASET_MB
    if not quota_mb or owner.is_superuser:
        return
    _lock_user(owner)
    used = Dataset.objects.filter(owner=owner).aggregate(total=Sum("size_bytes"))["total"] or 0
    if used + size > quota_mb * 1024 * 1024:
        message = (
            f"Your datasets would take {(used + size) / 1024 / 1024:.1f} MB, over your quota "
            f"of {quota_mb} MB (MLSERVE_USER_MAX_DATASET_MB): delete datasets you no longer "
            "need first."
        )
        raise TooLarge(message, {"file": message})


def _check_model_quota(owner: AbstractBaseUser) -> None:
    quota = settings.MLSERVE_USER_MAX_MODELS
    if not quota or owner.is_superuser:
        return
    _lock_user(owner)
    if RegisteredModel.objects.filter(owner=owner).count() >= quota:
        message = (
            f"You own {quota} models, the most one user may (MLSERVE_USER_MAX_MODELS): "
            "delete a model you no longer need, or train a new version of one you have."
        )
        raise QuotaExceeded(message, {"name": message})


def _check_training_cap(user: AbstractBaseUser) -> None:
    """At most MLSERVE_USER_MAX_TRAININGS queued or running trainings per user, so that one
    user cannot fill the queue; the worker also takes turns between users
    (db_worker.TrainingWorker.claim_next)."""
    cap = settings.MLSERVE_USER_MAX_TRAININGS
    if not cap or user.is_superuser:
        return
    _lock_user(user)
    active = ModelVersion.objects.filter(created_by=user, status__in=ACTIVE).count()
    if active >= cap:
        raise QuotaExceeded(
            f"You have {active} trainings queued or running, the most one user may "
            "(MLSERVE_USER_MAX_TRAININGS): wait for one to finish, or cancel one."
        )


# Datasets ------------------------------------------------------------------------------


def training_datasets(user: AbstractBaseUser) -> Any:
    """The datasets `user` may train on: their own only, a superuser included (datasets are
    private; a superuser may read one but not build models from someone else's data). The
    pages and the API both choose a training dataset through this."""
    return Dataset.objects.filter(owner_id=user.pk)


def training_dataset(user: AbstractBaseUser, dataset_id: int) -> Dataset:
    dataset = training_datasets(user).select_related("owner").filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound(f"You have no dataset {dataset_id}.")
    return dataset


def _dataset_name(owner: AbstractBaseUser, name: str | None, filename: str | None) -> str:
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("The dataset name is blank.", {"name": "Give the dataset a name."})
        if len(name) > 200:
            raise InvalidInput(
                "The dataset name is too long.", {"name": "Use at most 200 characters."}
            )
        if "\x00" in name:  # PostgreSQL text cannot hold (or even compare) a NUL
            raise InvalidInput(
                "The dataset name contains a NUL character.", {"name": "Remove the NUL."}
            )
        if Dataset.objects.filter(owner=owner, name=name).exists():
            raise Conflict(
                f"You already have a dataset named {name!r}.",
                {"name": "Choose another name or delete the existing dataset."},
            )
        return name
    base = PurePath((filename or "").replace("\x00", "")).stem.strip()[:180] or "dataset"
    candidate, n = base, 2
    while Dataset.objects.filter(owner=owner, name=candidate).exists():
        candidate, n = f"{base} ({n})", n + 1
    return candidate


def _read_choices(choices: Mapping[str, str | None] | None) -> dict[str, Any]:
    """The user's read options, as the page and the API name them ("semicolon", or the
    character itself; "detect" or nothing to detect), as csvio.parse_csv takes them."""
    options: dict[str, Any] = dict.fromkeys(csvio.READ_KEYS, csvio.DETECT)
    errors: dict[str, str] = {}
    for key, names in (
        ("delimiter", csvio.DELIMITERS),
        ("decimal", csvio.DECIMALS),
        ("encoding", csvio.ENCODINGS),
    ):
        value = (choices or {}).get(key)
        if value in (None, "", csvio.DETECT):
            continue
        if value in names:
            options[key] = names[value]
        elif value in names.values():
            options[key] = value
        else:
            errors[key] = f"Choose one of: {csvio.DETECT}, {', '.join(names)}."
    if errors:
        raise InvalidInput(f"Unknown read option(s): {', '.join(errors)}.", errors)
    return options


def dataset_create(
    *,
    owner: AbstractBaseUser,
    data: bytes,
    name: str | None = None,
    filename: str | None = None,
    options: Mapping[str, str | None] | None = None,
) -> Dataset:
    """Parse the CSV strictly and store it with its schema; nothing is saved if it fails.

    `options` are the user's choices of delimiter, decimal mark and encoding (each detected
    when not given); the options the file was read with are stored, and training reads the
    bytes with them again."""
    read_options = _read_choices(options)
    try:
        table = csvio.parse_csv(data, options=read_options)
    except csvio.CSVError as exc:
        # Over a size, row or column limit is "too large" (413), not malformed (422).
        refusal = TooLarge if exc.too_large else InvalidInput
        raise refusal(str(exc), {"file": str(exc)}) from None
    with transaction.atomic():
        _check_dataset_quota(owner, len(data))
        dataset_name = _dataset_name(owner, name, filename)
        try:
            return create_with_bytes(
                Dataset,
                "csv",
                data,
                name=dataset_name,
                owner=owner,
                sha256=csvio.sha256_hex(data),
                size_bytes=len(data),
                n_rows=table.n_rows,
                n_columns=len(table.columns),
                schema=table.schema,
                options=table.options,
            )
        except IntegrityError:
            raise Conflict(f"You already have a dataset named {dataset_name!r}.") from None


COLUMN_TYPES = ("number", "category", "date", "ignore")


def dataset_set_types(
    *, dataset: Dataset, user: AbstractBaseUser, types: dict[str, str | None]
) -> Dataset:
    """Set (or, with None, clear) per-column type choices, stored in options["types"], and
    read the file again into a new schema; refused, with nothing saved, when a column cannot
    be read as its chosen type. Versions already trained keep the types they were trained on."""
    ensure_owner(dataset, user)
    unknown = [name for name in types if dataset.column(name) is None]
    if unknown:
        message = f"Not columns of {dataset.name}: {_some(unknown)}."
        raise InvalidInput(message, {"types": message})
    wrong = [name for name, kind in types.items() if kind is not None and kind not in COLUMN_TYPES]
    if wrong:
        message = f"A column's type is one of {', '.join(COLUMN_TYPES)}: not {types[wrong[0]]!r}."
        raise InvalidInput(message, {"types": message})
    with transaction.atomic():
        # Locked and read again: another change to the options (read options, types) is kept.
        locked = Dataset.objects.select_for_update().defer(None).get(pk=dataset.pk)
        chosen = {**locked.options.get("types", {}), **types}
        chosen = {name: kind for name, kind in chosen.items() if kind is not None}
        options = {k: v for k, v in locked.options.items() if k != "types"}
        if chosen:
            options["types"] = chosen
        try:
            table = csvio.parse_csv(bytes(locked.csv), max_rows=10**9, options=options)
        except csvio.CSVError as exc:
            raise InvalidInput(str(exc), {"types": str(exc)}) from None
        locked.options, locked.schema = options, table.schema
        locked.save(update_fields=["options", "schema"])
    return locked


def dataset_delete(*, dataset: Dataset, user: AbstractBaseUser) -> None:
    ensure_owner(dataset, user)
    dataset.delete()  # versions keep its name and sha256


# Models and versions -------------------------------------------------------------------


def model_create(*, owner: AbstractBaseUser, name: str, description: str = "") -> RegisteredModel:
    name = (name or "").strip()
    try:
        name_validator(name)
    except Exception:
        raise InvalidInput(
            f"{name!r} is not a valid model name.", {"name": str(name_validator.message)}
        ) from None
    description = description or ""
    if len(description) > 5000 or "\x00" in description:  # NUL: PostgreSQL cannot store it
        raise InvalidInput(
            "The description is too long or holds a NUL character.",
            {"description": "Use at most 5000 characters of text."},
        )
    if RegisteredModel.objects.filter(name=name).exists():
        raise Conflict(f"A model named {name!r} already exists.", {"name": "This name is taken."})
    try:
        with transaction.atomic():
            _check_model_quota(owner)
            return RegisteredModel.objects.create(name=name, owner=owner, description=description)
    except IntegrityError:
        raise Conflict(
            f"A model named {name!r} already exists.", {"name": "This name is taken."}
        ) from None


def training_spec_clean(
    *,
    dataset: Dataset,
    algorithm: str,
    target: str | None,
    features: list[str] | None,
    params: dict[str, Any] | None,
    test_size: float | None,
) -> dict[str, Any]:
    """Check a training request against the algorithms table and the dataset's schema."""
    errors: dict[str, str] = {}
    spec = ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if spec is None:
        raise InvalidInput(
            f"Unknown algorithm {quote_short(algorithm)}.",
            {"algorithm": f"Choose one of: {', '.join(ALGORITHMS)}."},
        )
    cleaned_params: dict[str, Any] = {}
    try:
        cleaned_params = clean_params(spec, params)
    except ParamsError as exc:
        errors.update({f"params.{k}" if k else "params": v for k, v in exc.errors.items()})

    # Sets, and messages that name a few items: the lists come from the request body.
    columns = [c["name"] for c in dataset.schema]
    column_set = set(columns)
    target = (target or "").strip() or None
    if spec.supervised:
        if target is None:
            errors["target"] = f"{spec.label} needs a target column to learn to predict."
        elif target not in column_set:
            errors["target"] = f"{quote_short(target)} is not a column of {dataset.name}."
        else:
            problem = _target_problem(spec.kind, target, dataset.column(target), dataset.n_rows)
            if problem:
                errors["target"] = problem
    elif target is not None:
        errors["target"] = f"{spec.label} is unsupervised and takes no target column."

    ignored = {c["name"] for c in dataset.schema if c.get("override") == "ignore"}
    if features is None or len(features) == 0:
        features = [c for c in columns if c != target and c not in ignored]
    elif len(features) > len(columns):
        errors["features"] = (
            f"{len(features)} features listed; {dataset.name} has {len(columns)} columns."
        )
    else:
        unknown = [f for f in features if not isinstance(f, str) or f not in column_set]
        if unknown:
            errors["features"] = f"Not columns of {dataset.name}: {_some(unknown)}."
        elif target in features:
            errors["features"] = f"The target {quote_short(target)} cannot also be a feature."
        elif ignored.intersection(features):
            left_out = [f for f in features if f in ignored]
            errors["features"] = (
                f"{_some(left_out)} set to be ignored on the dataset: choose another type "
                "for it there, or leave it out."
            )
        else:
            seen: set[str] = set()
            twice = next((f for f in features if f in seen or seen.add(f)), None)
            if twice is not None:
                errors["features"] = f"{quote_short(twice)} is listed twice."
    if not features:
        errors["features"] = "Pick at least one feature column."
    elif "features" not in errors:
        wide = _too_many_categories(dataset, features)
        if wide:
            errors["features"] = wide

    test_size = 0.2 if test_size is None else test_size
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        errors["test_size"] = "Must be a number between 0.05 and 0.5."
    elif not 0.05 <= test_size <= 0.5:
        errors["test_size"] = "Must be between 0.05 and 0.5 (the share of rows held out)."
    elif dataset.n_rows * test_size < 1 or dataset.n_rows * (1 - test_size) < 2:
        errors["test_size"] = (
            f"{dataset.name} has too few rows ({dataset.n_rows}) to hold out a test part."
        )

    if spec.keeps_every_row and not errors.keys() & {"features", "test_size"}:
        size = _rows_kept_bytes(dataset, features, test_size)
        if size > model_budget_bytes():
            errors["algorithm"] = (
                f"{too_large_message(f'A {spec.label} on {dataset.name}', size, 'would take')}: "
                "it keeps every training row. Use fewer rows or features, or another algorithm."
            )

    if errors:
        raise InvalidInput(
            "The training request is not valid: "
            + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            errors,
        )
    return {
        "algorithm": algorithm,
        "target": target or "",
        "features": list(features),
        "params": cleaned_params,
        "test_size": float(test_size),
    }


def _label(value: Any) -> str:
    """A class label as the user wrote it: 9, not 9.0; strings quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else f"{value:g}"


def _target_problem(kind: str, target: str, column: dict[str, Any], n_rows: int) -> str:
    """A sentence saying why `column` cannot be the target of a `kind` model, or "".

    Judged from the dataset's schema (per-column counts), so the request is refused before
    anything is queued rather than failing in the worker with numpyml's words.
    """
    present = n_rows - column["missing"]
    distinct = column.get("distinct", 0)
    numeric = column["type"] == "number"
    if present <= 1:
        return f"{target!r} is missing in almost every row."
    if kind == REGRESSOR and not numeric:
        return (
            f"{target!r} holds categories; a regressor needs a numeric target "
            "(use a classifier instead)."
        )
    if distinct == 1:
        value = column["min"] if numeric else column["top"][0][0]
        return (
            f"{target!r} has the same value ({_label(value)}) in every row: there is nothing "
            "to predict; pick another target."
        )
    if kind != CLASSIFIER:
        return ""
    if numeric and distinct > MAX_NUMERIC_CLASSES:
        return (
            f"{target!r} has {distinct} distinct numbers: use a regressor, or bin it into a "
            f"few categories (a classifier takes at most {MAX_NUMERIC_CLASSES} distinct "
            "numbers as its classes)."
        )
    if not numeric and (distinct == present or (present >= 20 and distinct >= 0.9 * present)):
        return (
            f"{target!r} has a different value in every row, like an ID: a classifier "
            "learns classes that repeat; pick another target."
        )
    if distinct > MAX_CLASSES:
        return (
            f"{target!r} has {distinct} distinct values: too many classes "
            f"(at most {MAX_CLASSES}); for a continuous target use a regressor."
        )
    counts = column.get("top") or []
    if len(counts) == distinct:  # every class counted (a few classes): the rarest is known
        label, count = min(counts, key=lambda kv: kv[1])
        if count < MIN_CLASS_ROWS:
            rows = "row" if count == 1 else "rows"
            return (
                f"The class {_label(label)} of {target!r} has only {count} {rows}: a "
                f"classifier needs at least {MIN_CLASS_ROWS} rows of each class, to learn "
                "it from one and test it on another; drop its rows, or merge it with "
                "another class."
            )
    return ""


def _rows_kept_bytes(dataset: Dataset, features: list[str], test_size: float) -> int:
    """Bytes a k-NN keeps: a float per training row and one-hot column, plus three per row
    (its squared norm and a constant for euclidean distances, and its target)."""
    schema = {c["name"]: c for c in dataset.schema}
    widths = {"number": 1, "date": len(DATE_PARTS)}
    width = sum(widths.get(schema[f]["type"]) or schema[f]["distinct"] for f in features)
    rows = dataset.n_rows - int(dataset.n_rows * test_size)
    return rows * (width + 3) * 8


def _too_many_categories(dataset: Dataset, features: list[str]) -> str:
    """A sentence about the category features too wide to one-hot encode, or ""."""
    limit = settings.MLSERVE_MAX_CATEGORIES
    schema = {c["name"]: c for c in dataset.schema}
    wide = [
        f
        for f in features
        if schema[f]["type"] == "category" and schema[f].get("distinct", 0) > limit
    ]
    if not wide:
        return ""
    if len(wide) == 1:
        what = f"{quote_short(wide[0])} has {schema[wide[0]]['distinct']} distinct values"
    else:
        what = f"{_some(wide)} have too many distinct values"
    return (
        f"{what} (at most {limit} per category column): drop "
        f"{'it' if len(wide) == 1 else 'them'} from the features (an id or free text "
        "does not generalise)."
    )


def _next_version_number(model: RegisteredModel) -> int:
    """The next version number of `model`, inside the caller's transaction.

    Locks the model row so two writers (trainings, imports) started at once get distinct
    numbers (on SQLite the IMMEDIATE transaction serialises writers instead).
    """
    RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()
    return (model.versions.aggregate(last=Max("version"))["last"] or 0) + 1


def _new_model_name(model: RegisteredModel, target: str) -> str:
    """A name to suggest for a model that answers another question than `model`."""
    slug = re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")
    return f"{model.name}-{slug}"[:100].rstrip("-._") if slug else ""


def _schema_change(model: RegisteredModel, spec: dict[str, Any], features: list[dict]) -> str:
    """How a training request would change what `model` answers compared with its production
    version (target, task, input columns), as a sentence; "" when it would not."""
    production = selectors.production_version(model)
    if production is None:
        return ""
    kind = ALGORITHMS[spec["algorithm"]].kind
    changes = []
    if production.target != spec["target"]:
        changes.append(
            f"target {quote_short(spec['target'] or None)} instead of "
            f"{quote_short(production.target or None)}"
        )
    if production.kind != kind:
        changes.append(f"a {kind} instead of a {production.kind}")
    diff = selectors.input_schema_diff(production.features, features)
    if diff["added"]:
        changes.append(f"new input columns {_some(diff['added'])}")
    if diff["removed"]:
        changes.append(f"without the input columns {_some(diff['removed'])}")
    if diff["retyped"]:
        changes.append(
            "retyped columns " + _some([f"{n} ({a} -> {b})" for n, a, b in diff["retyped"]])
        )
    if not changes:
        return ""
    suggestion = _new_model_name(model, spec["target"]) if spec["target"] else ""
    new_name = f" (e.g. {suggestion!r})" if suggestion and suggestion != model.name else ""
    return (
        f"This version differs from {model.name}'s production (v{production.version}): "
        f"{'; '.join(changes)}. Callers of {model.name} expect production's inputs and answers: "
        f"train it as a new model{new_name}, or confirm the schema change."
    )


def _feature_schema(dataset: Dataset, names: list[str]) -> list[dict[str, Any]]:
    """The input columns as a version (or a leaderboard) records them."""
    schema = {c["name"]: c for c in dataset.schema}
    return [
        {"name": f, "type": schema[f]["type"]}
        | ({"format": schema[f]["format"]} if schema[f]["type"] == "date" else {})
        for f in names
    ]


def version_create(
    *,
    model: RegisteredModel,
    user: AbstractBaseUser,
    dataset: Dataset,
    algorithm: str,
    target: str | None = None,
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    test_size: float | None = None,
    allow_schema_change: bool = False,
) -> ModelVersion:
    """Validate, create the next version as queued, and enqueue its training. A version that
    would answer another question than production's (another target, task or input
    columns) is refused unless `allow_schema_change`."""
    from registry.tasks import enqueue_training

    ensure_owner(model, user)
    if not access.owns(user, dataset):  # the callers chose it through training_datasets()
        raise NotFound(f"You have no dataset {dataset.pk}.")
    spec = training_spec_clean(
        dataset=dataset,
        algorithm=algorithm,
        target=target,
        features=features,
        params=params,
        test_size=test_size,
    )
    features = _feature_schema(dataset, spec["features"])
    if not allow_schema_change:
        changed = _schema_change(model, spec, features)
        if changed:
            raise InvalidInput(changed, {"allow_schema_change": changed})
    with transaction.atomic():
        _check_training_cap(user)
        version = ModelVersion.objects.create(
            model=model,
            version=_next_version_number(model),
            dataset=dataset,
            dataset_name=dataset.name,
            dataset_sha256=dataset.sha256,
            created_by=user,
            features=features,
            algorithm=spec["algorithm"],
            target=spec["target"],
            params=spec["params"],
            test_size=spec["test_size"],
        )
        RegisteredModel.objects.filter(pk=model.pk).update(updated_at=timezone.now())
        transaction.on_commit(lambda: enqueue_training(version.pk))
    return version


def model_create_with_version(
    *, owner: AbstractBaseUser, name: str, description: str = "", **training: Any
) -> ModelVersion:
    """A new model and its first version, atomically: a bad training request creates neither."""
    with transaction.atomic():
        model = model_create(owner=owner, name=name, description=description)
        return version_create(model=model, user=owner, **training)


def leaderboard_register(
    *,
    board: Leaderboard,
    user: AbstractBaseUser,
    model_name: str,
    algorithm: str | None = None,
) -> ModelVersion:
    """Queue the training of the board's best configuration (or `algorithm`'s best) on every
    row of its dataset, as the next version of `model_name` (a new model, yours, if there is
    none by that name), linked back to the board. The training path holds out rows as ever
    for the version page's metrics and plots, then refits on every row (training/run.py)."""
    ensure_owner(board, user)
    rows = selectors.leaderboard_rows(board)
    if algorithm is None:
        row = next((r for r in rows if r.get("rank") == 1), None)
        if row is None:
            raise Conflict(f"No trial of {board} has finished yet: nothing to register.")
    else:
        row = next((r for r in rows if r["algorithm"] == algorithm), None)
        if row is None:
            message = f"{quote_short(algorithm)} is not an algorithm of {board}."
            raise NotFound(message, {"algorithm": message})
        if row.get("trial") is None:
            raise Conflict(
                f"No trial of {ALGORITHMS[algorithm].label} on {board} has finished: "
                f"{row.get('reason') or 'nothing to register'}"
            )
    if board.dataset_id is None:
        raise Conflict(f"The dataset of {board} was deleted: there are no rows to train on.")
    dataset = Dataset.objects.select_related("owner").get(pk=board.dataset_id)
    training = {
        "dataset": dataset,
        "algorithm": row["algorithm"],
        "target": board.target,
        "features": [f["name"] for f in board.features],
        "params": row.get("params") or {},
    }
    model = RegisteredModel.objects.filter(name=(model_name or "").strip()).first()
    with transaction.atomic():
        if model is None:
            version = model_create_with_version(owner=user, name=model_name, **training)
        else:
            version = version_create(model=model, user=user, **training)
        ModelVersion.objects.filter(pk=version.pk).update(leaderboard=board)
    version.leaderboard = board
    return version


def _model_for_import(
    *, user: AbstractBaseUser, name: str, description: str
) -> tuple[RegisteredModel, bool]:
    """The model to import into, and whether the import creates it: the user's own, or a
    new one they will own."""
    model = RegisteredModel.objects.select_related("owner").filter(name=name).first()
    if model is None:
        try:
            return model_create(owner=user, name=name, description=description), True
        except Conflict:  # created meanwhile by someone else: import into it if it is ours
            model = RegisteredModel.objects.select_related("owner").filter(name=name).first()
            if model is None:
                raise
    ensure_owner(model, user)
    return model, False


def version_import(
    *, user: AbstractBaseUser, data: Any, name: str | None = None, field: str = "name"
) -> ModelVersion:
    """Import an export file (bytes, or a transfer.ExportFile already read) as the next
    version of model `name` (default: the name in the file), ready at once. `name` may be
    MLflow's `models:/<name>`; a URI naming a version or an alias is refused (422 naming
    `field`): an import always makes the model's next version.

    Everything in the file is verified before anything is written (registry/transfer.py);
    the model is created, owned by `user`, if it does not exist (with the card's description
    and model tags), and only its owner may import into it. The version takes the card's
    description, note and tags.
    """
    from registry import transfer

    name = (name or "").strip()
    if name.startswith(serving.MODEL_URI_PREFIX):  # checked before the file is read
        name = serving.model_name(name, field=field)
    export = data if isinstance(data, transfer.ExportFile) else transfer.read_export(data)
    card = export.card
    name = name or card["model"]["name"]
    now = timezone.now()
    with transaction.atomic():
        model, created = _model_for_import(
            user=user, name=name, description=card["model"].get("description", "")[:5000]
        )
        about = card.get("annotations") or {}
        version = ModelVersion.objects.create(
            model=model,
            version=_next_version_number(model),
            status=ModelVersion.Status.READY,
            progress=100,
            algorithm=card["algorithm"],
            params=card["params"],
            dataset=None,  # the data stayed where the model was trained
            dataset_name=card["dataset"]["name"][:200],
            dataset_sha256=card["dataset"]["sha256"],
            target=card["target"][:200],
            features=transfer.input_schema(card),
            classes=card["classes"],
            test_size=card["training"]["test_size"],
            seed=card["training"]["seed"],
            metrics=card["metrics"],
            loss_curve=card["loss_curve"],
            plots=card["plots"],
            profile=card["profile"],
            artifact=export.artifact,
            artifact_sha256=export.artifact_sha256,
            artifact_size=len(export.artifact),
            origin=transfer.origin(export, imported_by=user),
            created_by=user,
            finished_at=now,
            training_seconds=card["training"]["seconds"],
            description=about.get("version_description", ""),
            note=about.get("version_note", ""),
        )
        # Checked with the API's bounds (cards.Annotations). The model's own tags, like its
        # description, come from the card only when the import creates the model: an
        # existing model's are its owner's.
        VersionTag.objects.bulk_create(
            VersionTag(version=version, key=k, value=v)
            for k, v in about.get("version_tags", {}).items()
        )
        if created:
            ModelTag.objects.bulk_create(
                ModelTag(model=model, key=k, value=v)
                for k, v in about.get("model_tags", {}).items()
            )
        RegisteredModel.objects.filter(pk=model.pk).update(updated_at=now)
        if alerts.first_production(version, via="import"):
            served_names_changed()
    return version


def version_cancel(
    *, version: ModelVersion, user: AbstractBaseUser, check_owner: bool = True
) -> ModelVersion:
    """Stop a queued or running training: the version ends `cancelled`. A queued task then
    never starts (tasks.train_version claims only queued or running versions), and the
    worker running it kills its training child within a second (tasks.run_isolated polls
    the row). The row is locked so a training that finishes meanwhile is either saved
    first (then 409) or finds the version cancelled and saves nothing. `check_owner=False`
    is for the admin, whose permissions were checked already."""
    if check_owner:
        ensure_owner(version.model, user)
    with transaction.atomic():
        status = (
            ModelVersion.objects.select_for_update()
            .filter(pk=version.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status is None:
            raise NotFound(f"{version} no longer exists.")
        if status not in ACTIVE:
            raise Conflict(
                f"{version} is {status}: only a queued or running training can be cancelled."
            )
        ModelVersion.objects.filter(pk=version.pk).cancel(f"Cancelled by {user.get_username()}.")
    version.refresh_from_db()
    return version


def version_delete(
    *, version: ModelVersion, user: AbstractBaseUser, check_owner: bool = True
) -> None:
    """Delete a version no alias points at. The version's row is locked while its aliases
    are checked and it is deleted, so an alias move (which locks the same row) happens
    wholly before or wholly after: never an alias left on a deleted version.
    `check_owner=False` is for the admin, whose permissions were checked already."""
    if check_owner:
        ensure_owner(version.model, user)
    try:
        with transaction.atomic():
            locked = ModelVersion.objects.select_for_update().filter(pk=version.pk)
            if not list(locked.values_list("pk", flat=True)):
                return  # deleted meanwhile: what was asked is done
            aliases = list(version.aliases.values_list("name", flat=True))
            if aliases:
                raise Conflict(
                    f"{version} is the target of alias(es) {', '.join(aliases)}: "
                    "move or delete them first."
                )
            rollouts = list(
                Alias.objects.filter(
                    Q(canary_version=version) | Q(shadow_version=version)
                ).values_list("name", flat=True)
            )
            if rollouts:
                raise Conflict(
                    f"{version} is the canary or shadow of alias(es) {', '.join(rollouts)}: "
                    "end that rollout first."
                )
            version.delete()
            served_names_changed()
    except (IntegrityError, ProtectedError):
        raise Conflict(
            f"An alias was set on {version} while it was being deleted: move or delete the "
            "alias first."
        ) from None


def model_delete(
    *, model: RegisteredModel, user: AbstractBaseUser, check_owner: bool = True
) -> None:
    if check_owner:
        ensure_owner(model, user)
    try:
        with transaction.atomic():
            # Lock the versions first: an alias move in progress (it holds one of these rows)
            # finishes before the aliases are deleted, and a later one finds no version.
            list(ModelVersion.objects.select_for_update().filter(model=model).values_list("pk"))
            Alias.objects.filter(model=model).delete()
            model.delete()
            served_names_changed()
    except (IntegrityError, ProtectedError):
        raise Conflict(f"{model.name} changed while it was being deleted: try again.") from None


# Descriptions, notes and tags ------------------------------------------------------------

TAG_KEY = re.compile(TAG_KEY_RE)
# What may not be in a tag value: control characters (a value is one line: the pages edit
# tags as "key=value" lines), NUL among them (PostgreSQL cannot store it).
_TAG_VALUE_BAD = re.compile(r"[\x00-\x1f\x7f]")
UNCHANGED: Any = object()  # an edit that leaves a field as it is


def _edited_text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        message = f"The {field} must be text of at most {limit} characters, without NUL."
        raise InvalidInput(message, {field: message})
    return value


def _tags_patch(tags: Any) -> dict[str, str | None]:
    """A tags edit as a JSON merge patch (RFC 7396): key -> value sets it, key -> None removes
    it, a key not named stays. Refused whole (422) at the first bad key or value."""
    if not isinstance(tags, Mapping):
        raise InvalidInput("The tags must be an object of key -> value.", {"tags": "Not a map."})
    if len(tags) > 2 * MAX_TAGS:  # bounded before any key is looked at
        message = f"A tags edit names at most {2 * MAX_TAGS} keys."
        raise InvalidInput(message, {"tags": message})
    patch: dict[str, str | None] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not TAG_KEY.match(key):
            message = f"Tag key {quote_short(key)} is not valid: {tag_key_validator.message}"
            raise InvalidInput(message, {f"tags.{str(key)[:64]}": message})
        bad_value = not isinstance(value, str) or len(value) > TAG_VALUE_MAX
        if value is not None and (bad_value or _TAG_VALUE_BAD.search(value)):
            message = (
                f"The value of tag {key!r} must be one line of text of at most {TAG_VALUE_MAX} "
                "characters (null removes the tag)."
            )
            raise InvalidInput(message, {f"tags.{key}": message})
        patch[key] = value
    return patch


def _apply_tags(rows: Any, make: Any, patch: dict[str, str | None], owner: str) -> tuple:
    """Write a tags merge patch on one object's tag rows (`rows`, a queryset; `make(key,
    value)` a new unsaved row), inside the transaction that locked the object: (before,
    after) as maps, or None when nothing changes."""
    before = dict(rows.values_list("key", "value"))
    after = {**before, **patch}
    after = {k: v for k, v in sorted(after.items()) if v is not None}
    if after == before:
        return None
    if len(after) > MAX_TAGS:
        message = f"{owner} would have {len(after)} tags: at most {MAX_TAGS} are kept."
        raise InvalidInput(message, {"tags": message})
    rows.filter(key__in=[k for k in before if k not in after]).delete()
    for key, value in after.items():
        if key in before and before[key] != value:
            rows.filter(key=key).update(value=value)
    rows.model.objects.bulk_create([make(k, v) for k, v in after.items() if k not in before])
    return before, after


def _record_edit(
    *, action: str, model_id: int, version_id: int | None, user: Any, via: str, changes: dict
) -> None:
    """One audit entry for an edit, with each changed field before and after."""
    AuditEntry.objects.create(
        actor=user,
        via=via,
        action=action,
        model_id=model_id,
        version_id=version_id,
        before={field: old for field, (old, _) in changes.items()},
        after={field: new for field, (_, new) in changes.items()},
    )


def model_edit(
    *,
    model: RegisteredModel,
    user: AbstractBaseUser,
    via: str,
    description: Any = UNCHANGED,
    tags: Any = None,
    check_owner: bool = True,
) -> RegisteredModel:
    """Change a model's description and tags (`tags`: a merge patch, see _tags_patch), in
    one transaction with an audit entry ("model.edit") naming what changed from what to
    what; an edit that changes nothing writes nothing. The model's updated_at moves."""
    _check_via(via)
    if check_owner:
        ensure_owner(model, user)
    if description is not UNCHANGED:
        description = _edited_text(description, "description", MAX_DESCRIPTION)
    patch = _tags_patch(tags) if tags is not None else None
    with transaction.atomic():
        # Locked: two edits at once are applied and audited one after the other.
        current = (
            RegisteredModel.objects.select_for_update()
            .filter(pk=model.pk)
            .values_list("description", flat=True)
            .first()
        )
        if current is None:
            raise NotFound(f"{model.name} no longer exists.")
        changes: dict[str, tuple[Any, Any]] = {}
        if description is not UNCHANGED and description != current:
            changes["description"] = (current, description)
        if patch is not None:
            tagged = _apply_tags(
                ModelTag.objects.filter(model_id=model.pk),
                lambda k, v: ModelTag(model_id=model.pk, key=k, value=v),
                patch,
                model.name,
            )
            if tagged is not None:
                changes["tags"] = tagged
        if changes:
            fields = {"description": description} if "description" in changes else {}
            RegisteredModel.objects.filter(pk=model.pk).update(updated_at=timezone.now(), **fields)
            _record_edit(
                action="model.edit",
                model_id=model.pk,
                version_id=None,
                user=user,
                via=via,
                changes=changes,
            )
    return selectors.model(user, model.name)


def version_edit(
    *,
    version: ModelVersion,
    user: AbstractBaseUser,
    via: str,
    description: Any = UNCHANGED,
    note: Any = UNCHANGED,
    tags: Any = None,
    check_owner: bool = True,
) -> ModelVersion:
    """Change a version's description, note and tags, like model_edit ("version.edit").
    What a person writes about a version, not its artifact: a ready version may change them."""
    _check_via(via)
    if check_owner:
        ensure_owner(version.model, user)
    texts = {"description": (description, MAX_DESCRIPTION), "note": (note, MAX_NOTE)}
    wanted = {
        field: _edited_text(value, field, limit)
        for field, (value, limit) in texts.items()
        if value is not UNCHANGED
    }
    patch = _tags_patch(tags) if tags is not None else None
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(pk=version.pk)
            .values("description", "note")
            .first()
        )
        if current is None:
            raise NotFound(f"{version} no longer exists.")
        changes: dict[str, tuple[Any, Any]] = {
            field: (current[field], value)
            for field, value in wanted.items()
            if value != current[field]
        }
        if changes:
            # .update(): a ready version refuses .save(); these are not its artifact.
            ModelVersion.objects.filter(pk=version.pk).update(
                **{field: new for field, (_, new) in changes.items()}
            )
        if patch is not None:
            tagged = _apply_tags(
                VersionTag.objects.filter(version_id=version.pk),
                lambda k, v: VersionTag(version_id=version.pk, key=k, value=v),
                patch,
                str(version),
            )
            if tagged is not None:
                changes["tags"] = tagged
        if changes:
            _record_edit(
                action="version.edit",
                model_id=version.model_id,
                version_id=version.pk,
                user=user,
                via=via,
                changes=changes,
            )
    return ModelVersion.objects.select_related("model", "created_by").get(pk=version.pk)


# Aliases -------------------------------------------------------------------------------


# Through which door a change came, as the audit log records it.
VIAS = ("page", "api", "admin", "import", "system")


def _check_via(via: str) -> None:
    if via not in VIAS:  # a caller's mistake, not a user's
        raise ValueError(f"via must be one of {', '.join(VIAS)}, not {via!r}")


def _point_alias(
    *,
    model: RegisteredModel,
    name: str,
    version: ModelVersion,
    user: AbstractBaseUser,
    via: str,
    action: str,
    expected: int | None = None,
) -> Alias:
    """Inside the transaction that locked `version`'s row: point the alias at it and record
    the change (a move to where it points already changes nothing and records nothing).
    With `expected`, refuse (409) unless the alias points at that version now: a rollback
    decided on what it read before taking the locks."""
    # The alias row is locked after the version's (version_delete locks only the version's,
    # alias_delete only the alias's: no two wait on each other in a cycle); the number of the
    # version it points at now is read apart, so that row is not locked too.
    current_id = (
        Alias.objects.select_for_update()
        .filter(model=model, name=name)
        .values_list("version_id", flat=True)
        .first()
    )
    before = (
        ModelVersion.objects.filter(pk=current_id).values_list("version", flat=True).first()
        if current_id is not None
        else None
    )
    if expected is not None and before != expected:
        raise Conflict(
            f"The {name} alias of {model.name} was moved meanwhile "
            f"(it points at {f'v{before}' if before else 'no version'} now): try again."
        )
    alias, _ = Alias.objects.update_or_create(
        model=model, name=name, defaults={"version": version, "updated_by": user}
    )
    _rollout_follows_move(alias, version, user=user, via=via)
    if before != version.version:
        AuditEntry.objects.create(
            actor=user,
            via=via,
            action=action,
            model=model,
            version=version,
            before={"alias": name, "version": before},
            after={"alias": name, "version": version.version},
        )
        alerts.alias_changed(
            ALIAS_EVENTS[action],
            model,
            alias=name,
            version=version.version,
            previous=before,
            user=user,
            via=via,
        )
    served_names_changed()
    return alias


# The webhook event (registry/alerts/) of each recorded alias change.
ALIAS_EVENTS = {"alias.move": "alias.moved", "alias.rollback": "alias.rollback"}


def alias_move(
    *,
    model: RegisteredModel,
    name: str,
    version_number: int,
    user: AbstractBaseUser,
    via: str,
    check_owner: bool = True,
    expected: int | None = None,
) -> Alias:
    """Point alias `name` of `model` at one of its ready versions, in one atomic update,
    recorded in the audit log (who, through which door `via`, from which version).
    `check_owner=False` is for the admin, whose permissions were checked already; with
    `expected`, 409 unless the alias points at that version when the move takes its lock."""
    _check_via(via)
    if check_owner:
        ensure_owner(model, user)
    if not ALIAS_RE.match(name or ""):
        raise InvalidInput(
            f"{name!r} is not a valid alias name.",
            {"alias": "Use 1-50 lowercase letters, digits, '.', '_' or '-'."},
        )
    version = model.versions.filter(version=version_number).first()
    if version is None:
        raise NotFound(
            f"{model.name} has no version {version_number}.", {"version": "No such version."}
        )
    try:
        with transaction.atomic():
            # The check and the change under a lock on the version's row, which a delete of
            # the version (or of its model) takes too: one of the two waits for the other.
            version = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
            if version is None:
                raise Conflict(
                    f"{model.name} v{version_number} was deleted while the alias was being moved.",
                    {"version": "This version was deleted."},
                )
            if version.status != ModelVersion.Status.READY:
                raise Conflict(
                    f"{version} is {version.status}; only a ready version can take an alias.",
                    {"version": "This version is not ready."},
                )
            alias = _point_alias(
                model=model, name=name, version=version, user=user, via=via, action="alias.move",
                expected=expected,
            )  # fmt: skip
    except IntegrityError:  # the model was deleted meanwhile
        raise Conflict(
            f"{model.name} was deleted while the alias was being moved.",
            {"version": "This version was deleted."},
        ) from None
    return alias


def alias_delete(
    *,
    model: RegisteredModel,
    name: str,
    user: AbstractBaseUser,
    via: str,
    check_owner: bool = True,
) -> None:
    """Remove an alias, recorded in the audit log like a move to no version."""
    _check_via(via)
    if check_owner:
        ensure_owner(model, user)
    with transaction.atomic():
        # Only the alias row is locked (its version read apart), as _point_alias does.
        found = (
            Alias.objects.select_for_update()
            .filter(model=model, name=name)
            .values_list("pk", "version_id")
            .first()
        )
        if found is None:
            raise NotFound(f"{model.name} has no alias {name!r}.")
        number = ModelVersion.objects.filter(pk=found[1]).values_list("version", flat=True).first()
        Alias.objects.filter(pk=found[0]).delete()
        AuditEntry.objects.create(
            actor=user,
            via=via,
            action="alias.delete",
            model=model,
            version_id=found[1],
            before={"alias": name, "version": number},
            after={"alias": name, "version": None},
        )
        alerts.alias_changed(
            "alias.deleted", model, alias=name, version=None, previous=number, user=user, via=via
        )
        served_names_changed()


# Rollouts: an alias's canary and shadow ---------------------------------------------------


def _rollout_follows_move(
    alias: Alias, version: ModelVersion, *, user: AbstractBaseUser, via: str
) -> None:
    """An alias moved to its own canary or shadow version: that part of the rollout ends
    (a version cannot split traffic with itself), recorded like an end."""
    if alias.canary_version_id == version.pk:
        _set_canary(alias, None, None, user=user, via=via, action="alias.canary.end")
    if alias.shadow_version_id == version.pk:
        _set_shadow(alias, None, user=user, via=via)


def _set_canary(
    alias: Alias,
    canary: ModelVersion | None,
    percent: float | None,
    *,
    user: AbstractBaseUser,
    via: str,
    action: str = "alias.canary",
) -> None:
    """Inside the transaction that locked the alias: set (or with None end) its canary,
    recorded when it changes."""
    before = _canary_state(alias)
    Alias.objects.filter(pk=alias.pk).update(
        canary_version=canary, canary_percent=percent if canary is not None else None
    )
    alias.canary_version = canary
    alias.canary_percent = percent if canary is not None else None
    after = _canary_state(alias)
    if before != after:
        AuditEntry.objects.create(
            actor=user,
            via=via,
            action=action,
            model_id=alias.model_id,
            version=canary,
            before={"alias": alias.name, "canary": before},
            after={"alias": alias.name, "canary": after},
        )
        if after is None:
            event, extra = "alias.canary.ended", {}
        else:
            event, extra = "alias.canary.started", {"percent": after["percent"]}
        alerts.alias_changed(
            event,
            alias.model,
            alias=alias.name,
            version=after["version"] if after else None,
            previous=before["version"] if before else None,
            user=user,
            via=via,
            **extra,
        )


def _canary_state(alias: Alias) -> dict[str, Any] | None:
    if alias.canary_version_id is None:
        return None
    number = (
        ModelVersion.objects.filter(pk=alias.canary_version_id)
        .values_list("version", flat=True)
        .first()
    )
    return {"version": number, "percent": alias.canary_percent}


def _set_shadow(
    alias: Alias, shadow: ModelVersion | None, *, user: AbstractBaseUser, via: str
) -> None:
    """Inside the transaction that locked the alias: set (or with None end) its shadow,
    recorded as "alias.shadow" when it changes."""
    before_id = alias.shadow_version_id
    if before_id == (shadow.pk if shadow is not None else None):
        return
    before = ModelVersion.objects.filter(pk=before_id).values_list("version", flat=True).first()
    Alias.objects.filter(pk=alias.pk).update(shadow_version=shadow)
    alias.shadow_version = shadow
    AuditEntry.objects.create(
        actor=user,
        via=via,
        action="alias.shadow",
        model_id=alias.model_id,
        version=shadow,
        before={"alias": alias.name, "shadow": before},
        after={"alias": alias.name, "shadow": shadow.version if shadow is not None else None},
    )
    alerts.alias_changed(
        "alias.shadow.changed",
        alias.model,
        alias=alias.name,
        version=shadow.version if shadow is not None else None,
        previous=before,
        user=user,
        via=via,
    )


def _canary_percent(percent: Any) -> float:
    """A share of traffic strictly between 0 and 100 percent."""
    number = isinstance(percent, (int, float)) and not isinstance(percent, bool)
    if not number or not math.isfinite(percent) or not 0 < percent < 100:
        message = (
            "The canary's percent must be a number between 0 and 100 (exclusive): the share of "
            f"the alias's requests it answers; got {quote_short(percent)}."
        )
        raise InvalidInput(message, {"canary.percent": message})
    return float(percent)


def _rollout_version(model: RegisteredModel, number: int, role: str) -> ModelVersion:
    """A ready version of `model` for a canary or a shadow, locked like an alias's target."""
    found = ModelVersion.objects.select_for_update().filter(model=model, version=number).first()
    if found is None:
        raise NotFound(
            f"{model.name} has no version {number} to be the {role}.",
            {f"{role}.version": "No such version."},
        )
    if found.status != ModelVersion.Status.READY:
        raise Conflict(
            f"{found} is {found.status}; only a ready version can be a {role}.",
            {f"{role}.version": "This version is not ready."},
        )
    return found


def alias_rollout(
    *,
    model: RegisteredModel,
    name: str,
    version_number: int,
    canary: tuple[int, Any] | None,
    shadow: int | None,
    user: AbstractBaseUser,
    via: str,
    expected: int | None = None,
) -> Alias:
    """Point alias `name` at a ready version with its rollout, in one transaction: a canary
    (version, percent) answering that share of the alias's requests, a shadow version
    scoring them off the request path; None ends either. Each change is recorded
    ("alias.move", "alias.canary", "alias.shadow"). The canary and the shadow must be other
    ready versions of the model than the alias's own, and not the same one. With
    `expected` (the version a page showed the alias at), 409 if it was moved since: a
    rollout set on a stale page would otherwise undo that move."""
    _check_via(via)
    ensure_owner(model, user)
    percent = _canary_percent(canary[1]) if canary is not None else None
    numbers = [version_number, canary[0] if canary else None, shadow]
    if canary is not None and canary[0] == version_number:
        raise InvalidInput(
            f"v{version_number} cannot be the canary of an alias that points at it already.",
            {"canary.version": "Choose another version than the alias's own."},
        )
    if shadow is not None and shadow in numbers[:2]:
        raise InvalidInput(
            f"v{shadow} cannot be the shadow: it answers this alias's requests already.",
            {"shadow.version": "Choose a version that neither the alias nor its canary has."},
        )
    rolling = Alias.objects.filter(model=model, name=name).filter(
        Q(canary_version__isnull=False) | Q(shadow_version__isnull=False)
    )
    if canary is None and shadow is None and not rolling.exists():
        # A plain move, as alias_move alone makes it: its check of the version and the
        # locked move are two steps, so a version deleted between them is a 409, not a
        # move held up behind a transaction of its own.
        moved = alias_move(
            model=model, name=name, version_number=version_number, user=user, via=via,
            check_owner=False, expected=expected,
        )  # fmt: skip
        return _alias_read_back(model, moved)
    with transaction.atomic():
        alias = alias_move(
            model=model,
            name=name,
            version_number=version_number,
            user=user,
            via=via,
            check_owner=False,
            expected=expected,
        )
        alias = Alias.objects.select_for_update().get(pk=alias.pk)
        canary_version = _rollout_version(model, canary[0], "canary") if canary else None
        shadow_version = _rollout_version(model, shadow, "shadow") if shadow else None
        _set_canary(alias, canary_version, percent, user=user, via=via)
        _set_shadow(alias, shadow_version, user=user, via=via)
        served_names_changed()
    return _alias_read_back(model, alias)


_ROLLOUT_FIELDS = ("version", "canary_version", "shadow_version")


def _alias_read_back(model: RegisteredModel, alias: Alias) -> Alias:
    """The alias as the move committed it, with its rollout's versions: read after the
    commit, so a delete of the model that came just after is a 409, not a 500."""
    found = Alias.objects.select_related(*_ROLLOUT_FIELDS).filter(pk=alias.pk).first()
    if found is None:
        raise Conflict(
            f"{model.name} was deleted while the alias was being moved.",
            {"version": "This version was deleted."},
        )
    return found


def _locked_alias(model: RegisteredModel, name: str) -> Alias:
    alias = Alias.objects.select_for_update().filter(model=model, name=name).first()
    if alias is None:
        raise NotFound(f"{model.name} has no alias {name!r}.")
    return alias


def alias_canary_promote(
    *, model: RegisteredModel, name: str, user: AbstractBaseUser, via: str
) -> tuple[Alias, int]:
    """The canary becomes the alias's version and the split ends, in one step (recorded as
    "alias.canary.promote"). 409 if the alias has no canary. Returns the alias and the
    version it pointed at before."""
    _check_via(via)
    ensure_owner(model, user)
    with transaction.atomic():
        alias = _locked_alias(model, name)
        if alias.canary_version_id is None:
            raise Conflict(f"{model.name}@{name} has no canary to promote.")
        canary = ModelVersion.objects.select_for_update().get(pk=alias.canary_version_id)
        previous = ModelVersion.objects.values_list("version", flat=True).get(pk=alias.version_id)
        percent = alias.canary_percent
        Alias.objects.filter(pk=alias.pk).update(
            version=canary, canary_version=None, canary_percent=None, updated_by=user
        )
        AuditEntry.objects.create(
            actor=user,
            via=via,
            action="alias.canary.promote",
            model=model,
            version=canary,
            before={
                "alias": name,
                "version": previous,
                "canary": {"version": canary.version, "percent": percent},
            },
            after={"alias": name, "version": canary.version, "canary": None},
        )
        # One event for the one step: the alias moved onto its canary and the split ended.
        alerts.alias_changed(
            "alias.canary.promoted",
            model,
            alias=name,
            version=canary.version,
            previous=previous,
            user=user,
            via=via,
        )
        served_names_changed()
    return _alias_read_back(model, alias), previous


def alias_canary_end(
    *, model: RegisteredModel, name: str, user: AbstractBaseUser, via: str
) -> Alias:
    """End the alias's canary (all its traffic back to its own version), recorded as
    "alias.canary.end". 409 if it has none."""
    _check_via(via)
    ensure_owner(model, user)
    with transaction.atomic():
        alias = _locked_alias(model, name)
        if alias.canary_version_id is None:
            raise Conflict(f"{model.name}@{name} has no canary to end.")
        _set_canary(alias, None, None, user=user, via=via, action="alias.canary.end")
        served_names_changed()
    return _alias_read_back(model, alias)


# Decision thresholds ----------------------------------------------------------------------


def _threshold_value(threshold: Any) -> float | None:
    """None (the model's own rule), or a number strictly between 0 and 1."""
    if threshold is None:
        return None
    number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not number or not math.isfinite(threshold) or not 0 < threshold < 1:
        message = (
            f"The threshold must be a number between 0 and 1 (exclusive), or null for the "
            f"model's own rule; got {quote_short(threshold)}."
        )
        raise InvalidInput(message, {"threshold": message})
    return float(threshold)


def _check_thresholdable(version: ModelVersion) -> None:
    """A decision threshold is for a ready classifier of two classes with probabilities."""
    if version.status != ModelVersion.Status.READY:
        raise Conflict(
            f"{version} is {version.status}: a threshold can be set once it is ready.",
            {"threshold": "This version is not ready."},
        )
    classes = version.classes if isinstance(version.classes, list) else []
    if version.kind != CLASSIFIER or len(classes) != 2:
        what = f"{len(classes)} classes" if version.kind == CLASSIFIER else f"a {version.kind}"
        message = (
            f"{version} is {what}: a decision threshold is for a classifier of two classes "
            "(the probability of the second at or above which it is answered)."
        )
        raise InvalidInput(message, {"threshold": message})
    served = serving.resolve(version.model.name, version=version.version)
    try:
        model = estimator_of(serving.pipeline_cache().get(served))
    except serving.ArtifactError as exc:
        raise Conflict(f"{version} cannot be loaded: {exc}") from None
    if not hasattr(model, "predict_proba"):
        message = (
            f"{version} gives no class probabilities, so there is nothing to set a threshold "
            "on: train a new version to get them."
        )
        raise InvalidInput(message, {"threshold": message})


def set_threshold(
    version: ModelVersion, threshold: Any, *, actor: AbstractBaseUser, via: str
) -> ModelVersion:
    """Set (None: clear) the decision threshold of a ready binary classifier with
    probabilities: serving answers classes[1] when its probability is >= threshold. A setting
    of the version, not a new artifact: written with an audit entry (who, through which door,
    from what to what) in one transaction, and served everywhere within RESOLVE_TTL_S."""
    ensure_owner(version.model, actor)
    value = _threshold_value(threshold)
    _check_thresholdable(version)
    with transaction.atomic():
        # Locked, so two changes at once are audited in the order they were written.
        before = (
            ModelVersion.objects.select_for_update()
            .filter(pk=version.pk)
            .values_list("threshold", flat=True)
        )
        if not before:
            raise NotFound(f"{version} no longer exists.")
        # .update(): a ready version refuses .save(), and the threshold is not its artifact.
        ModelVersion.objects.filter(pk=version.pk).update(threshold=value)
        AuditEntry.objects.create(
            actor=actor,
            via=via,
            action="threshold.set",
            model_id=version.model_id,
            version_id=version.pk,
            before={"threshold": before[0]},
            after={"threshold": value},
        )
        served_names_changed()
    return ModelVersion.objects.select_related("model", "created_by").get(pk=version.pk)


def alias_rollback(
    *,
    model: RegisteredModel,
    name: str,
    user: AbstractBaseUser,
    via: str,
    check_owner: bool = True,
) -> tuple[Alias, int]:
    """Move alias `name` back to the version it pointed at before its last change (going
    further back past versions since deleted or no longer ready), recorded as
    "alias.rollback". Rolling back twice returns to where it started, like any undo of the
    last change. 404 if the alias is not set, 409 if its history holds no version to go
    back to. Returns the alias and the version number it pointed at before."""
    _check_via(via)
    if check_owner:
        ensure_owner(model, user)
    current, target = selectors.alias_rollback_target(model, name)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(pk=target.pk).first()
        if version is None or version.status != ModelVersion.Status.READY:
            raise Conflict(
                f"{target} was deleted or changed while the alias was being rolled back: try again."
            )
        alias = _point_alias(
            model=model,
            name=name,
            version=version,
            user=user,
            via=via,
            action="alias.rollback",
            expected=current,
        )
    return alias, current


# Leaderboards ----------------------------------------------------------------------------

# Bounds of a board request: each trial costs `folds` fits.
MAX_FOLDS = 10
MAX_N_ITER = 50
MAX_BOARD_TRIALS = 400
MAX_TIME_BUDGET_S = 7 * 24 * 3600.0
MAX_SEED = 2**31 - 1


def _infer_task(dataset: Dataset, target: str | None) -> str:
    """A classifier for categories and for numbers with few distinct values (the train form
    draws the same line), else a regressor."""
    column = dataset.column(target) if isinstance(target, str) else None
    if column and column["type"] == "number" and column.get("distinct", 0) > MAX_NUMERIC_CLASSES:
        return REGRESSOR
    return CLASSIFIER


def _whole(value: Any, name: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        errors[name] = f"Must be a whole number from {low} to {high}."
        return None
    if not low <= value <= high:
        errors[name] = f"Must be from {low} to {high}."
        return None
    return int(value)


def leaderboard_create(
    *,
    user: AbstractBaseUser,
    dataset: Dataset,
    target: str | None,
    features: list[str] | None = None,
    task: str | None = None,
    folds: int | None = 5,
    metric: str | None = None,
    algorithms: list[str] | None = None,
    n_iter: int | None = None,
    time_budget_s: float | None = None,
    seed: int | None = None,
) -> Leaderboard:
    """Validate a leaderboard request (like a training's, for every algorithm planned), plan
    its trials (leaderboard.search) and enqueue each on the task queue. An algorithm the
    request rules out for this data (a k-NN too big to serve) keeps its row: its trials are
    created failed with the reason."""
    import secrets

    from registry.leaderboard import METRICS, TASKS, default_metric, search
    from registry.tasks import enqueue_trial

    if not access.owns(user, dataset):  # the callers chose it through training_datasets()
        raise NotFound(f"You have no dataset {dataset.pk}.")
    errors: dict[str, str] = {}
    if task is None:
        task = _infer_task(dataset, target)
    elif task not in TASKS:
        raise InvalidInput(
            f"Unknown task {quote_short(task)}.",
            {"task": f"Choose one of: {', '.join(TASKS)} (a leaderboard is supervised)."},
        )
    kind_ids = [a.id for a in ALGORITHMS.values() if a.kind == task]
    if algorithms is None or len(algorithms) == 0:
        algorithms = kind_ids
    elif not isinstance(algorithms, list) or len(algorithms) > len(ALGORITHMS):
        errors["algorithms"] = f"A list of at most {len(ALGORITHMS)} algorithm ids."
    else:
        wrong = [a for a in algorithms if a not in kind_ids]
        if wrong:
            errors["algorithms"] = (
                f"Not {task} algorithms: {_some(wrong)}; choose among {', '.join(kind_ids)}."
            )
        elif len(set(algorithms)) != len(algorithms):
            errors["algorithms"] = "An algorithm is listed twice."
    metric = default_metric(task) if metric is None else metric
    if metric not in METRICS[task]:
        errors["metric"] = f"Choose one of: {', '.join(METRICS[task])}."
    folds = _whole(5 if folds is None else folds, "folds", 2, MAX_FOLDS, errors)
    n_iter = _whole(4 if n_iter is None else n_iter, "search.n_iter", 0, MAX_N_ITER, errors)
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)  # recorded: the board can be run again alike
    seed = _whole(seed, "seed", 0, MAX_SEED, errors)
    if time_budget_s is not None:
        if isinstance(time_budget_s, bool) or not isinstance(time_budget_s, (int, float)):
            errors["time_budget_s"] = "Must be a number of seconds."
        elif not 0 < time_budget_s <= MAX_TIME_BUDGET_S:
            errors["time_budget_s"] = f"Must be above 0 and at most {MAX_TIME_BUDGET_S:g}."
    if "algorithms" not in errors and n_iter is not None:
        total = len(algorithms) * (n_iter + 1)
        if total > MAX_BOARD_TRIALS:
            errors["search.n_iter"] = (
                f"{total} trials planned, over the {MAX_BOARD_TRIALS} one board may run: "
                "lower n_iter or choose fewer algorithms."
            )
    if errors:
        raise InvalidInput(_board_message(errors), errors)

    # Each algorithm is checked as a training on one fold's training part would be.
    ruled_out: dict[str, str] = {}
    spec: dict[str, Any] | None = None
    for algorithm in algorithms:
        try:
            spec = training_spec_clean(
                dataset=dataset,
                algorithm=algorithm,
                target=target,
                features=features,
                params=None,
                test_size=1 / folds,
            )
        except InvalidInput as exc:
            fields = dict(exc.errors)
            if "test_size" in fields:  # a fold's held-out part is the test part here
                del fields["test_size"]
                fields["folds"] = (
                    f"{dataset.name} has too few rows ({dataset.n_rows}) for {folds} folds."
                )
            if set(fields) != {"algorithm"}:
                raise InvalidInput(_board_message(fields), fields) from None
            ruled_out[algorithm] = fields["algorithm"]
    if spec is None:  # no algorithm can run on this data: nothing to compare
        fields = {"algorithms": " ".join(dict.fromkeys(ruled_out.values()))}
        raise InvalidInput(_board_message(fields), fields)
    trials = search.plan(algorithms, n_iter, seed)
    with transaction.atomic():
        _check_board_cap(user)
        board = Leaderboard.objects.create(
            owner=user,
            dataset=dataset,
            dataset_name=dataset.name,
            dataset_sha256=dataset.sha256,
            target=spec["target"],
            features=_feature_schema(dataset, spec["features"]),
            task=task,
            folds=folds,
            metric=metric,
            algorithms=list(algorithms),
            n_iter=n_iter,
            time_budget_s=None if time_budget_s is None else float(time_budget_s),
            seed=seed,
            trials_total=len(trials),
        )
        now = timezone.now()
        created = Trial.objects.bulk_create(
            Trial(
                leaderboard=board,
                number=number,
                algorithm=planned["algorithm"],
                params=planned["params"],
                is_default=planned["is_default"],
                **(
                    {
                        "status": Trial.Status.FAILED,
                        "reason": ruled_out[planned["algorithm"]],
                        "finished_at": now,
                    }
                    if planned["algorithm"] in ruled_out
                    else {}
                ),
            )
            for number, planned in enumerate(trials)
        )
        queued = [t.number for t in created if t.status == Trial.Status.QUEUED]
        ids = list(
            Trial.objects.filter(leaderboard=board, number__in=queued).values_list("pk", "number")
        )
        if ruled_out:
            from registry.leaderboard.run import update_board

            update_board(board.pk)
            board.refresh_from_db()
        transaction.on_commit(lambda: [enqueue_trial(pk, number) for pk, number in ids])
    return board


def _board_message(errors: dict[str, str]) -> str:
    return "The leaderboard request is not valid: " + "; ".join(
        f"{k}: {v}" for k, v in errors.items()
    )


def _check_board_cap(user: AbstractBaseUser) -> None:
    """At most MLSERVE_USER_MAX_TRAININGS queued or running leaderboards per user (the
    worker also takes turns between users, trials and trainings alike)."""
    cap = settings.MLSERVE_USER_MAX_TRAININGS
    if not cap or user.is_superuser:
        return
    _lock_user(user)
    active = Leaderboard.objects.filter(owner=user, status__in=BOARD_ACTIVE).count()
    if active >= cap:
        raise QuotaExceeded(
            f"You have {active} leaderboards queued or running, the most one user may "
            "(MLSERVE_USER_MAX_TRAININGS): wait for one to finish, or cancel one."
        )


def leaderboard_cancel(*, board: Leaderboard, user: AbstractBaseUser) -> Leaderboard:
    """Stop a queued or running leaderboard: its queued trials never start and the workers
    running its trials kill them within a second (tasks.run_isolated polls the trial's row);
    finished trials are kept."""
    ensure_owner(board, user)
    with transaction.atomic():
        status = (
            Leaderboard.objects.select_for_update()
            .filter(pk=board.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status is None:
            raise NotFound(f"{board} no longer exists.")
        if status not in BOARD_ACTIVE:
            raise Conflict(
                f"The leaderboard is {status}: only a queued or running one can be cancelled."
            )
        message = f"Cancelled by {user.get_username()}."
        now = timezone.now()
        Trial.objects.filter(leaderboard=board, status__in=TRIAL_ACTIVE).update(
            status=Trial.Status.CANCELLED, reason=message, finished_at=now
        )
        Leaderboard.objects.filter(pk=board.pk).update(
            status=Leaderboard.Status.CANCELLED,
            error=message,
            finished_at=now,
            trials_done=Trial.objects.filter(leaderboard=board)
            .exclude(status__in=TRIAL_ACTIVE)
            .count(),
        )
    board.refresh_from_db()
    return board


# Evaluations ---------------------------------------------------------------------------


def _check_evaluation_cap(user: AbstractBaseUser) -> None:
    """At most MLSERVE_USER_MAX_TRAININGS queued or running evaluations per user, like
    trainings and leaderboards: one user cannot fill the queue."""
    cap = settings.MLSERVE_USER_MAX_TRAININGS
    if not cap or user.is_superuser:
        return
    _lock_user(user)
    active = Evaluation.objects.filter(
        owner=user, status__in=(EvaluationStatus.QUEUED, EvaluationStatus.RUNNING)
    ).count()
    if active >= cap:
        raise QuotaExceeded(
            f"You have {active} evaluations queued or running, the most one user may "
            "(MLSERVE_USER_MAX_TRAININGS): wait for one to finish."
        )


def evaluation_create(
    *,
    user: AbstractBaseUser,
    model: RegisteredModel,
    dataset: Dataset,
    versions: list[int] | None = None,
    target: str | None = None,
) -> Evaluation:
    """Queue an evaluation of `model`'s versions (default: production and the newest ready)
    on `dataset`, which the caller chose among the datasets they may read
    (selectors.dataset). Only the model's owner (or a superuser) evaluates it: the results
    name their data."""
    from registry.tasks import enqueue_evaluation

    ensure_owner(model, user)
    planned = evaluation.plan(model=model, dataset=dataset, versions=versions, target=target)
    with transaction.atomic():
        _check_evaluation_cap(user)
        created = Evaluation.objects.create(
            model=model,
            owner=user,
            dataset=dataset,
            dataset_name=dataset.name,
            dataset_sha256=dataset.sha256,
            target=planned.target,
            versions=planned.versions,
        )
        transaction.on_commit(lambda: enqueue_evaluation(created.pk))
    return created


def evaluation_create_from_file(
    *,
    user: AbstractBaseUser,
    model: RegisteredModel,
    data: bytes,
    filename: str | None = None,
    versions: list[int] | None = None,
    target: str | None = None,
) -> Evaluation:
    """evaluation_create on an uploaded CSV, which becomes one of the caller's datasets
    (dataset_create); refused whole, the dataset included, when the evaluation is."""
    ensure_owner(model, user)
    with transaction.atomic():
        dataset = dataset_create(owner=user, data=data, filename=filename)
        return evaluation_create(
            user=user, model=model, dataset=dataset, versions=versions, target=target
        )


# Background batch scoring (registry/batchjobs/) ---------------------------------------------


def _check_batch_cap(user: AbstractBaseUser, *, lock: bool) -> None:
    """At most MLSERVE_USER_MAX_BATCH_JOBS queued or running batch jobs per user."""
    cap = settings.MLSERVE_USER_MAX_BATCH_JOBS
    if not cap or user.is_superuser:
        return
    if lock:
        _lock_user(user)
    active = BatchJob.objects.filter(owner_id=user.pk, status__in=BATCH_ACTIVE).count()
    if active >= cap:
        raise QuotaExceeded(
            f"You have {active} batch jobs queued or running, the most one user may "
            "(MLSERVE_USER_MAX_BATCH_JOBS): wait for one to finish, or cancel one."
        )


def _batch_served(
    name: str, version: int | None, alias: str | None, user: AbstractBaseUser
) -> serving.ServedVersion:
    """The version a job scores with, resolved now (an alias moved later does not change
    it), of a model `user` may read; both a version and an alias: 409 unless the alias is
    at that version."""
    served = serving.resolve(
        name, version=version if alias is None else None, alias=alias, user=user
    )
    if version is not None and alias is not None and served.version != version:
        raise Conflict(
            f"{name}@{alias} is v{served.version}, not v{version}: give a version or an alias "
            "alone."
        )
    return served


def batch_job_create(
    *,
    user: AbstractBaseUser,
    name: str,
    version: int | None = None,
    alias: str | None = None,
    upload: Any = None,
    filename: str | None = None,
    dataset: Dataset | None = None,
    output_format: str = BatchJob.CSV,
) -> BatchJob:
    """Queue a background batch job: `name` at `version` or `alias` (default: production)
    scores `upload` (a file object: an uploaded file) or `dataset` (one the caller may read,
    selectors.dataset). Bounded before any work: the file's size
    (MLSERVE_MAX_BATCH_UPLOAD_MB), its rows (MLSERVE_MAX_BATCH_ROWS, counted as it is cut
    into chunks), and the user's jobs in flight (MLSERVE_USER_MAX_BATCH_JOBS). Its first
    chunk is read now, so a file without the model's columns is refused at once."""
    from registry.batchjobs import chunk_rows
    from registry.batchjobs.plan import plan
    from registry.tasks import enqueue_batch_job

    if output_format not in BatchJob.FORMATS:
        message = f"The format is one of {', '.join(BatchJob.FORMATS)}."
        raise InvalidInput(message, {"format": message})
    if (upload is None) == (dataset is None):
        raise InvalidInput("Send a CSV file or a dataset id to score (one of them).")
    served = _batch_served(name, version, alias, user)
    _check_batch_cap(user, lock=False)
    max_rows = settings.MLSERVE_MAX_BATCH_ROWS
    if upload is not None:
        limit_mb = settings.MLSERVE_MAX_BATCH_UPLOAD_MB
        size = getattr(upload, "size", None)
        if size is not None and size > limit_mb * 1024 * 1024:
            raise TooLarge(
                f"The file is {size / 1024 / 1024:.1f} MB; a batch job takes at most "
                f"{limit_mb} MB (MLSERVE_MAX_BATCH_UPLOAD_MB)."
            )
        stream, input_name = upload, filename or getattr(upload, "name", None) or "rows.csv"
    else:
        if dataset.n_rows > max_rows:
            raise TooLarge(
                f"{dataset.name} has {dataset.n_rows:,} rows, more than a batch job scores "
                f"({max_rows:,}, MLSERVE_MAX_BATCH_ROWS)."
            )
        data = Dataset.objects.filter(pk=dataset.pk).values_list("csv", flat=True).first()
        stream, input_name = io.BytesIO(bytes(data or b"")), dataset.name
    stream.seek(0)
    planned = plan(
        stream,
        chunk_rows=chunk_rows(served),
        max_rows=max_rows,
        limit_name="MLSERVE_MAX_BATCH_ROWS",
    )

    def piece_bytes(piece: Any) -> bytes:
        stream.seek(piece.start_byte)
        return stream.read(piece.stop_byte - piece.start_byte)

    serving.bodies.csv_table(served, planned.header + piece_bytes(planned.pieces[0]))
    with transaction.atomic():
        _check_batch_cap(user, lock=True)
        job = BatchJob.objects.create(
            owner=user,
            version_id=served.id,
            model_name=served.model,
            version_number=served.version,
            alias=alias or ("" if version is not None else serving.DEFAULT_ALIAS),
            dataset=dataset,
            input_name=PurePath(input_name).name[:200] or "rows.csv",
            input_bytes=planned.pieces[-1].stop_byte,
            header=planned.header,
            output_format=output_format,
            rows_total=planned.rows,
            chunks_total=len(planned.pieces),
        )
        for index, piece in enumerate(planned.pieces):  # one chunk in memory at a time
            BatchChunk.objects.create(
                job=job,
                index=index,
                start_row=piece.start_row,
                stop_row=piece.stop_row,
                input=piece_bytes(piece),
            )
        transaction.on_commit(lambda: enqueue_batch_job(job.pk))
    return job


def batch_job_cancel(*, job: BatchJob, user: AbstractBaseUser) -> BatchJob:
    """Stop a queued or running batch job: its worker stops between chunks (and kills the
    chunk in flight within a second, tasks.run_isolated); chunks done are kept."""
    cancelled = BatchJob.objects.filter(pk=job.pk, status__in=BATCH_ACTIVE).update(
        status=BatchJobStatus.CANCELLED,
        error=f"Cancelled by {user.get_username()}.",
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    if not cancelled:
        raise Conflict(
            f"Batch job {job.pk} is {job.status}: only a queued or running job can be cancelled."
        )
    return job


# Alerts and webhooks (registry/alerts/) --------------------------------------------------

# Most webhook endpoints one user may have, and alert rules one model.
MAX_WEBHOOKS_PER_USER = 20
MAX_RULES_PER_MODEL = 20


def webhook_create(
    *,
    owner: AbstractBaseUser,
    url: str,
    events: list[str] | None = None,
    model: RegisteredModel | None = None,
    description: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A webhook endpoint of `owner` (for one of their models, or all of them when `model`
    is None) and its "whsec_..." secret, returned this once: the database keeps it
    encrypted. The URL is checked for server-side request forgery (registry/alerts/)."""
    if model is not None:
        ensure_owner(model, owner)
    url = (url or "").strip()
    if not url or len(url) > 2000:
        raise InvalidInput(
            "Give the endpoint's URL (2000 characters at most).", {"url": "Required."}
        )
    events = list(dict.fromkeys(events or []))
    unknown = [e for e in events if e not in alerts.EVENTS]
    if unknown:
        raise InvalidInput(
            f"{quote_short(unknown[0])} is not an event: use {', '.join(alerts.EVENTS)}.",
            {"events": f"Events are {', '.join(alerts.EVENTS)}."},
        )
    try:
        webhooks.check_url(url)
    except webhooks.UnsafeURL as exc:
        raise InvalidInput(str(exc), {"url": str(exc)}) from None
    except OSError:
        raise InvalidInput(
            f"The host of {quote_short(url)} cannot be resolved.", {"url": "Unknown host."}
        ) from None
    secret = secrets_.new_secret()
    with transaction.atomic():
        _lock_user(owner)
        if WebhookEndpoint.objects.filter(owner=owner).count() >= MAX_WEBHOOKS_PER_USER:
            raise QuotaExceeded(
                f"You have {MAX_WEBHOOKS_PER_USER} webhook endpoints, the most one user may "
                "have: delete one first."
            )
        endpoint = WebhookEndpoint.objects.create(
            owner=owner,
            model=model,
            url=url,
            secret_encrypted=secrets_.encrypt(secret),
            events=events,
            description=(description or "")[:200],
        )
    return endpoint, secret


def webhook_delete(
    *, endpoint: WebhookEndpoint, user: AbstractBaseUser, check_owner: bool = True
) -> None:
    """Delete an endpoint and its delivery log. `check_owner=False` is for the admin, whose
    permissions (and scoping to the user's own rows) were checked already."""
    if check_owner and not access.owns(user, endpoint):
        raise NotFound("No such webhook endpoint.")
    endpoint.delete()


def webhook_send_test(
    *, endpoint: WebhookEndpoint, user: AbstractBaseUser, check_owner: bool = True
) -> WebhookDelivery:
    """Queue a "test" event to the endpoint (after commit); the delivery log shows how it went.
    `check_owner=False` is for the admin, as for webhook_delete."""
    if check_owner and not access.owns(user, endpoint):
        raise NotFound("No such webhook endpoint.")
    with transaction.atomic():
        return alerts.send_test(endpoint)


def alert_rule_create(
    *, model: RegisteredModel, user: AbstractBaseUser, kind: str, params: Any = None
) -> AlertRule:
    """A rule on `model` that the task worker checks periodically (registry/alerts/rules.py)."""
    ensure_owner(model, user)
    try:
        cleaned = rules.clean_params(kind, {} if params is None else params)
    except rules.RuleError as exc:
        raise InvalidInput(str(exc), exc.fields) from None
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()
        if model.alert_rules.count() >= MAX_RULES_PER_MODEL:
            raise QuotaExceeded(
                f"{model.name} has {MAX_RULES_PER_MODEL} alert rules, the most a model may "
                "have: delete one first."
            )
        return AlertRule.objects.create(model=model, kind=kind, params=cleaned)


def alert_rule_delete(*, rule: AlertRule, user: AbstractBaseUser, check_owner: bool = True) -> None:
    """Delete a rule. `check_owner=False` is for the admin, as for webhook_delete."""
    if check_owner:
        ensure_owner(rule.model, user)
    rule.delete()


# Ground-truth feedback (registry/monitoring/feedback.py) -------------------------------------


@transaction.atomic
def feedback_record(
    *, user: AbstractBaseUser, model: RegisteredModel, items: list[tuple[Any, Any]]
) -> feedback.Plan:
    """Store true answers [(prediction id, label)] for logged predictions of `model`: new
    labels created, changed ones updated, the same label again left as it is. Only the
    caller's own predictions, unless they own the model. Returns the plan (counts, the
    first problems); Forbidden when every label named someone else's prediction."""
    feedback.check_count(len(items))
    planned = feedback.plan(
        user=user, model=model, items=items, owner=selectors.can_change(user, model)
    )
    counts = planned.counts
    if counts["refused"] and not (counts["accepted"] + counts["updated"] + counts["unchanged"]):
        raise FeedbackRefused(planned)
    # A label for the same row sent at the same moment by another request: the first wins.
    Feedback.objects.bulk_create(planned.create, batch_size=1000, ignore_conflicts=True)
    if planned.update:
        now = timezone.now()
        for row in planned.update.values():
            row.updated_at = now
        # Only the label changes: a concurrent label for another row is not overwritten.
        Feedback.objects.bulk_update(
            list(planned.update.values()), ["label", "updated_at"], batch_size=1000
        )
    return planned


class FeedbackRefused(Forbidden):
    """Every label of a batch named another user's prediction (403, with the counts)."""

    def __init__(self, planned: feedback.Plan) -> None:
        super().__init__(
            "These predictions were made by another user: only they, or the model's owner, "
            f"may send their true answers. {planned.summary()}"
        )
        self.extra = {"counts": planned.counts, "problems": planned.problems}


# Visibility ------------------------------------------------------------------------------


def _visibility_team(user: AbstractBaseUser, visibility: str, team: str | None) -> Team | None:
    """The team a `visibility` choice names: one the owner belongs to (a superuser: any),
    read for "team" only (the other choices have none). A team one is not in is answered
    like one that does not exist."""
    if visibility not in Visibility.values:
        message = f"Choose one of {', '.join(Visibility.values)}, not {quote_short(visibility)}."
        raise InvalidInput(message, {"visibility": message})
    if visibility != Visibility.TEAM:
        return None
    if not team:
        message = "Name the team to share it with."
        raise InvalidInput(message, {"team": message})
    teams = Team.objects.all() if user.is_superuser else Team.objects.filter(members=user)
    found = teams.filter(name=str(team)[:200]).first()
    if found is None:
        message = f"You are in no team named {quote_short(team)}."
        raise InvalidInput(message, {"team": message})
    return found


def set_visibility(
    obj: RegisteredModel | Dataset,
    *,
    user: AbstractBaseUser,
    visibility: str,
    team: str | None = None,
    via: str,
) -> RegisteredModel | Dataset:
    """Who may read a model or a dataset (registry/access.py): its owner's choice, recorded
    in the audit log (who, through which door, from what to what). A model's is served
    everywhere within RESOLVE_TTL_S, like an alias move."""
    _check_via(via)
    ensure_owner(obj, user)
    chosen = _visibility_team(user, visibility, team)
    kind = type(obj)
    with transaction.atomic():
        # Locked, so two changes at once are audited in the order they were written.
        # (The team is read apart: PostgreSQL locks no nullable side of an outer join.)
        row = kind.objects.select_for_update().filter(pk=obj.pk).first()
        if row is None:
            raise NotFound(f"{obj} no longer exists.")
        old_team = Team.objects.filter(pk=row.team_id).values_list("name", flat=True).first()
        before = {"visibility": row.visibility, "team": old_team}
        after = {"visibility": visibility, "team": chosen.name if chosen else None}
        kind.objects.filter(pk=obj.pk).update(visibility=visibility, team=chosen)
        if before != after:
            AuditEntry.objects.create(
                actor=user,
                via=via,
                action="visibility.set",
                **({"model": row} if kind is RegisteredModel else {"dataset": row}),
                before=before,
                after=after,
            )
        if kind is RegisteredModel:
            served_names_changed()
    obj.visibility, obj.team = visibility, chosen
    return obj
