"""What an evaluation will score, checked before anything is queued: which versions (by
default production and the newest ready one), which target column, and that the work is
bounded (at most MAX_VERSIONS versions, rows x versions at most MLSERVE_MAX_EVALUATION_ROWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from registry.algorithms import CLASSIFIER, REGRESSOR
from registry.errors import InvalidInput, TooLarge
from registry.models import PRODUCTION, Alias, Dataset, ModelVersion, RegisteredModel

MAX_VERSIONS = 5
MAX_VERSION_NUMBER = 2**31 - 1  # a PositiveIntegerField's largest
# Only supervised versions have a right answer to be measured against.
EVALUATED_KINDS = (CLASSIFIER, REGRESSOR)


@dataclass(frozen=True)
class Plan:
    versions: list[int]  # in the order they are shown; deltas are against the first
    target: str


def default_versions(model: RegisteredModel) -> list[int]:
    """Production (what calls without a version get) and the newest ready version, once
    each when they are the same, production first."""
    ready = ModelVersion.objects.filter(model=model, status=ModelVersion.Status.READY)
    production = (
        Alias.objects.filter(model=model, name=PRODUCTION, version__in=ready)
        .values_list("version__version", flat=True)
        .first()
    )
    newest = ready.order_by("-version").values_list("version", flat=True).first()
    return list(dict.fromkeys(v for v in (production, newest) if v is not None))


def _chosen(versions: Any) -> list[int]:
    if not isinstance(versions, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_VERSION_NUMBER
        for v in versions
    ):
        raise InvalidInput(
            "Versions are a list of version numbers (1, 2, 3...).",
            {"versions": "A list of version numbers."},
        )
    chosen = list(dict.fromkeys(versions))
    if len(chosen) > MAX_VERSIONS:
        message = f"Choose at most {MAX_VERSIONS} versions to compare (you chose {len(chosen)})."
        raise InvalidInput(message, {"versions": message})
    return chosen


def _check_versions(model: RegisteredModel, numbers: list[int]) -> list[ModelVersion]:
    found = {
        v.version: v
        for v in ModelVersion.objects.filter(model=model, version__in=numbers).only(
            "pk", "version", "status", "algorithm", "target"
        )
    }
    problems = []
    for number in numbers:
        version = found.get(number)
        if version is None:
            problems.append(f"{model.name} has no version {number}")
        elif version.status != ModelVersion.Status.READY:
            problems.append(f"version {number} is {version.status}, not ready")
        elif version.kind not in EVALUATED_KINDS:
            problems.append(
                f"version {number} is a {version.kind} model: only classifiers and "
                "regressors have right answers to compare with"
            )
    if problems:
        message = "Cannot evaluate: " + "; ".join(problems) + "."
        raise InvalidInput(message, {"versions": message})
    return [found[n] for n in numbers]


def _target(versions: list[ModelVersion], dataset: Dataset, target: Any) -> str:
    if target is None or target == "":
        targets = list(dict.fromkeys(v.target for v in versions))
        if len(targets) > 1:
            message = (
                f"The versions predict different targets ({', '.join(map(repr, targets))}): "
                "choose the column of the dataset that holds the right answers."
            )
            raise InvalidInput(message, {"target": message})
        target = targets[0]
    if not isinstance(target, str) or dataset.column(target) is None:
        message = (
            f"{dataset.name} has no column {str(target)[:100]!r} to hold the right answers: "
            "upload rows labelled with the target, or choose the target column."
        )
        raise InvalidInput(message, {"target": message})
    regressors = [v.version for v in versions if v.kind == REGRESSOR]
    if regressors and dataset.column(target)["type"] != "number":
        message = (
            f"Version {regressors[0]} predicts a number, but the column {target!r} of "
            f"{dataset.name} is not numbers."
        )
        raise InvalidInput(message, {"target": message})
    return target


def plan(
    *, model: RegisteredModel, dataset: Dataset, versions: list[int] | None, target: str | None
) -> Plan:
    """The versions and target an evaluation of `model` on `dataset` will score, or
    InvalidInput / TooLarge saying what is wrong."""
    numbers = default_versions(model) if not versions else _chosen(versions)
    if not numbers:
        message = f"{model.name} has no ready version to evaluate yet."
        raise InvalidInput(message, {"versions": message})
    chosen = _check_versions(model, numbers)
    target = _target(chosen, dataset, target)
    limit = settings.MLSERVE_MAX_EVALUATION_ROWS
    if dataset.n_rows * len(numbers) > limit:
        raise TooLarge(
            f"Scoring {dataset.n_rows:,} rows with {len(numbers)} versions is "
            f"{dataset.n_rows * len(numbers):,} rows, over the limit of {limit:,} "
            "(MLSERVE_MAX_EVALUATION_ROWS): evaluate fewer versions or fewer rows."
        )
    return Plan(versions=numbers, target=target)
