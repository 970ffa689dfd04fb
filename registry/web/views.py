"""The browser pages: thin function views over the registry's services and serving path.

Every page needs a login. Anyone signed in may read and predict with any model; only an
object's owner (or a superuser) changes it: `_get_*_for_owner` 404s or raises
PermissionDenied. Listing pages run a fixed number of queries whatever the number of rows
(subqueries and one batched lookup, never a query per row) and never load dataset or
artifact bytes; a detail page reads the few bytes it shows (the first rows of a CSV, one
plot) with a database-side substring or JSON key.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from csp.constants import NONE, UNSAFE_INLINE
from csp.decorators import csp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import DatabaseError
from django.db.models import (
    BinaryField,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry import cards, services, serving, tokens, transfer
from registry.algorithms import (
    ALGORITHMS,
    CLASSIFIER,
    CLUSTERING,
    DECOMPOSITION,
    HEADLINE_METRIC,
)
from registry.models import Alias, ApiToken, Dataset, ModelVersion, RegisteredModel
from registry.monitoring import drift, predlog
from registry.services import RegistryError
from registry.tasks import reap_stale_versions
from registry.training import plots
from registry.web import charts
from registry.web.forms import (
    ALIASES,
    AliasForm,
    BatchPredictForm,
    CompareForm,
    DatasetUploadForm,
    ImportForm,
    PredictForm,
    SignupForm,
    TokenForm,
    TrainForm,
    apply_registry_error,
)

logger = logging.getLogger(__name__)
Status = ModelVersion.Status
PAGE_SIZE = 50
HEAD_BYTES = 64 * 1024  # read at most this much of a dataset to show its first rows
HEAD_ROWS = 10
PLOT_NAME_RE = re.compile(r"^[a-z0-9_]{1,50}\Z")
PLOT_TITLES = {
    "confusion_matrix": "Confusion matrix",
    "predicted_vs_actual": "Predicted vs actual",
    "residuals": "Residuals",
    "clusters": "Clusters",
    "explained_variance": "Explained variance",
    "projection": "Projection",
    "feature_importances": "Feature importances",
    "loss_curve": "Loss curve",
}
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "f1_macro": "F1 score (macro)",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "log_loss": "Log loss",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "Mean absolute error",
    "explained_variance": "Explained variance",
    "silhouette": "Silhouette",
    "inertia": "Inertia",
    "bic": "BIC",
    "aic": "AIC",
    "avg_log_likelihood": "Mean log-likelihood",
    "n_components": "Components",
    "reconstruction_mse": "Reconstruction MSE",
    "n_train": "Training rows",
    "n_test": "Test rows",
    "rows_dropped_missing_target": "Rows without a target (dropped)",
    "stratified": "Stratified split",
}
# What a listing needs of a version: no bytes, no plots, no metrics JSON, no loss curve.
LIST_VERSION_FIELDS = (
    "id",
    "model_id",
    "version",
    "algorithm",
    "status",
    "progress",
    "created_by_id",
    "created_at",
    "finished_at",
    "dataset_name",
    "dataset",  # with the annotated dataset_owner_id: whether a viewer may see its name
)


# Permissions ----------------------------------------------------------------------------


def _can_change(user: Any, owner_id: int) -> bool:
    return owner_id == user.pk or user.is_superuser


def _get_model(name: str) -> RegisteredModel:
    return get_object_or_404(RegisteredModel.objects.select_related("owner"), name=name)


def _get_model_for_owner(request: HttpRequest, name: str) -> RegisteredModel:
    model = _get_model(name)
    if not _can_change(request.user, model.owner_id):
        raise PermissionDenied(
            f"{model.name} belongs to {model.owner}: you can use it, not change it."
        )
    return model


def _get_version(name: str, number: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.select_related("model", "model__owner", "created_by"),
        model__name=name,
        version=number,
    )


def _get_version_for_owner(request: HttpRequest, name: str, number: int) -> ModelVersion:
    version = _get_version(name, number)
    if not _can_change(request.user, version.model.owner_id):
        raise PermissionDenied(f"{version} belongs to another user: you can use it, not change it.")
    return version


def _get_dataset_for_owner(request: HttpRequest, pk: int) -> Dataset:
    """Datasets are private: another user's dataset does not exist, as far as you can tell."""
    datasets = Dataset.objects.all()
    if not request.user.is_superuser:
        datasets = datasets.filter(owner=request.user)
    return get_object_or_404(datasets, pk=pk)


# Reads: fixed query counts, no bytes -------------------------------------------------


class JSONNumber(Func):
    """The value under `key` of a JSON object column, as a double when it is a JSON number a
    double can hold, NULL otherwise (a string, a boolean, a list, a 400-digit integer): one
    bad row (an old import, a hand edit) never makes a listing's query fail. The CASEs are
    nested because only CASE fixes the order in which SQL evaluates a condition."""

    output_field = FloatField()

    def __init__(self, field: str, key: str) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", key):
            raise ValueError(f"not a metric name: {key!r}")
        self.key = key
        super().__init__(F(field))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        sql = (
            f"CASE WHEN json_type({column}, %s) IN ('integer', 'real') THEN "
            f"CASE WHEN abs(json_extract({column}, %s)) <= 1e300 "
            f"THEN json_extract({column}, %s) END END"
        )
        return sql, [*params, path, *params, path, *params, path]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' THEN "
            f"CASE WHEN abs(({column} ->> %s)::numeric) <= 1e300 "
            f"THEN ({column} ->> %s)::double precision END END"
        )
        return sql, [*params, self.key, *params, self.key, *params, self.key]


def _headline_annotations(prefix: str = "") -> dict[str, Case]:
    """The headline metric's name and value of each version, computed by the database from
    the algorithms table, so listings never load the metrics JSON (a confusion matrix can be
    large)."""
    names, values = [], []
    for kind, metric in HEADLINE_METRIC.items():
        ids = [a.id for a in ALGORITHMS.values() if a.kind == kind]
        match = Q(**{f"{prefix}algorithm__in": ids})
        names.append(When(match, then=Value(metric)))
        values.append(When(match, then=JSONNumber(f"{prefix}metrics", metric)))
    return {
        "headline_metric": Case(*names, default=Value(""), output_field=CharField()),
        "headline_value": Case(*values, default=Value(None), output_field=FloatField()),
    }


def _listed(versions: QuerySet) -> QuerySet:
    return versions.only(*LIST_VERSION_FIELDS).annotate(
        **_headline_annotations(), dataset_owner_id=F("dataset__owner_id")
    )


def _models_overview(models: QuerySet) -> QuerySet:
    """Models with their version count, newest version id and production version number."""
    versions = ModelVersion.objects.filter(model=OuterRef("pk"))
    return models.select_related("owner").annotate(
        latest_id=Subquery(versions.order_by("-version").values("pk")[:1]),
        n_versions=Coalesce(
            Subquery(
                versions.order_by().values("model").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        production=Subquery(
            Alias.objects.filter(model=OuterRef("pk"), name="production").values(
                "version__version"
            )[:1]
        ),
    )


def _attach_latest(models: list[RegisteredModel]) -> list[RegisteredModel]:
    """Each model's newest version as `model.latest`, in one query for the whole page."""
    ids = [m.latest_id for m in models if m.latest_id]
    found = {v.pk: v for v in _listed(ModelVersion.objects.filter(pk__in=ids))}
    for model in models:
        model.latest = found.get(model.latest_id)
        if model.latest is not None:
            model.latest.model = model  # its URL needs the name: no query per row
    return models


def _page(request: HttpRequest, items: QuerySet) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _running_versions(user: Any) -> QuerySet:
    return (
        _listed(
            ModelVersion.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).filter(
                Q(model__owner=user) | Q(created_by=user)
            )
        )
        .select_related("model")
        .only(*LIST_VERSION_FIELDS, "model__name")
        .order_by("-created_at")
    )


# Sign-up --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.MLSERVE_ALLOW_SIGNUP:
        raise Http404("Sign-up is turned off here: ask an administrator for an account.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}: your account is ready.")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


# Dashboard ------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    models = _models_overview(RegisteredModel.objects.filter(owner=request.user))
    context = {
        "models": _attach_latest(list(models.order_by("-updated_at", "name")[:20])),
        "running": list(_running_versions(request.user)[:20]),
        "datasets": Dataset.objects.filter(owner=request.user).only(
            "id", "name", "n_rows", "n_columns", "size_bytes", "created_at"
        )[:5],
    }
    return render(request, "registry/dashboard.html", context)


# Datasets -------------------------------------------------------------------------------


@login_required
@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = (
        Dataset.objects.filter(owner=request.user)
        .only("id", "name", "n_rows", "n_columns", "size_bytes", "created_at")
        .annotate(
            n_versions=Coalesce(
                Subquery(
                    ModelVersion.objects.filter(dataset=OuterRef("pk"))
                    .order_by()
                    .values("dataset")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                0,
            )
        )
    )
    return render(request, "registry/dataset_list.html", {"page": _page(request, datasets)})


@login_required
@require_http_methods(["GET", "POST"])
def dataset_upload(request: HttpRequest) -> HttpResponse:
    form = DatasetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            dataset = services.dataset_create(
                owner=request.user,
                data=upload.read(),
                name=form.cleaned_name(),
                filename=upload.name,
            )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            messages.success(
                request,
                f"Uploaded {dataset.name}: {dataset.n_rows} rows, {dataset.n_columns} columns.",
            )
            return redirect(dataset)
    return render(
        request,
        "registry/dataset_upload.html",
        {"form": form, "max_mb": settings.MLSERVE_MAX_UPLOAD_MB},
    )


def _first_rows(dataset: Dataset) -> tuple[list[str], list[list[str]]]:
    """The header and first rows, read from at most HEAD_BYTES of the stored CSV."""
    head = (
        Dataset.objects.filter(pk=dataset.pk)
        .annotate(head=Substr("csv", 1, HEAD_BYTES, output_field=BinaryField()))
        .values_list("head", flat=True)
        .first()
    )
    data = bytes(head or b"")
    text = data.decode("utf-8-sig", errors="ignore")
    if len(data) >= HEAD_BYTES and dataset.size_bytes > HEAD_BYTES:
        text = text[: text.rfind("\n") + 1]  # drop the line cut in the middle
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    return (rows[0] if rows else []), rows[1 : HEAD_ROWS + 1]


def _bars(counts: list[int], labels: list[str]) -> list[dict[str, Any]]:
    """Bar geometry (in a 100 x 40 viewBox) for an inline SVG chart: no style attributes."""
    top = max(counts) if counts else 0
    width = 100 / max(len(counts), 1)
    bars = []
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        height = 0 if top == 0 else max(38 * count / top, 0.5 if count else 0)
        bars.append(
            {
                "x": f"{i * width + 0.3:.2f}",
                "y": f"{40 - height:.2f}",
                "width": f"{max(width - 0.6, 0.2):.2f}",
                "height": f"{height:.2f}",
                "label": label,
                "count": count,
            }
        )
    return bars


def _column_chart(column: dict[str, Any]) -> dict[str, Any] | None:
    if column["type"] == "number" and column.get("histogram"):
        edges = column["histogram"]["edges"]
        labels = [f"{edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
        return {
            "kind": "histogram",
            "bars": _bars(column["histogram"]["counts"], labels),
            "low": f"{edges[0]:.4g}",
            "high": f"{edges[-1]:.4g}",
        }
    if column["type"] == "category" and column.get("top"):
        top = column["top"][:12]
        most = max(count for _, count in top)
        return {
            "kind": "categories",
            "rows": [
                {"label": label, "count": count, "share": round(100 * count / most)}
                for label, count in top
            ],
            "more": max(column.get("distinct", 0) - len(top), 0),
        }
    return None


@login_required
@require_GET
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _get_dataset_for_owner(request, pk)
    header, rows = _first_rows(dataset)
    columns = [{**column, "chart": _column_chart(column)} for column in dataset.schema]
    versions = _listed(ModelVersion.objects.filter(dataset=dataset)).select_related("model")
    context = {
        "dataset": dataset,
        "columns": columns,
        "header": header,
        "rows": rows,
        "versions": versions.only(*LIST_VERSION_FIELDS, "model__name").order_by("-created_at")[:50],
    }
    return render(request, "registry/dataset_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def dataset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _get_dataset_for_owner(request, pk)
    if request.method == "POST":
        services.dataset_delete(dataset=dataset, user=request.user)
        messages.success(request, f"Deleted the dataset {dataset.name}.")
        return redirect("dataset_list")
    n_versions = ModelVersion.objects.filter(dataset=dataset).count()
    return render(
        request,
        "registry/dataset_confirm_delete.html",
        {"dataset": dataset, "n_versions": n_versions},
    )


# Training -------------------------------------------------------------------------------


def _train_dataset(request: HttpRequest, datasets: QuerySet) -> Dataset | None:
    """The dataset to train on: the one asked for (yours only), else the one the model in
    ?model= was last trained on, else your newest."""
    chosen = request.POST.get("dataset") or request.GET.get("dataset")
    if chosen:
        if not str(chosen).isdigit():
            raise Http404("No such dataset.")
        return get_object_or_404(datasets, pk=int(chosen))
    last = (
        ModelVersion.objects.filter(model__name=request.GET.get("model", ""))
        .values_list("dataset_id", flat=True)
        .first()
    )
    return (last and datasets.filter(pk=last).first()) or datasets.first()


def _train_initial(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    """Prefill from ?model=NAME: its name, and the settings of its newest version."""
    name = request.GET.get("model", "")
    model = RegisteredModel.objects.filter(name=name, owner=request.user).first()
    if model is None:
        return {}
    initial: dict[str, Any] = {"name": model.name}
    newest = model.versions.only("algorithm", "target", "features", "params", "test_size").first()
    if newest is not None and newest.algorithm in ALGORITHMS:
        columns = {c["name"] for c in dataset.schema}
        features = [f["name"] for f in newest.features if f["name"] in columns]
        initial.update(algorithm=newest.algorithm, params=newest.params, test_size=newest.test_size)
        if newest.target in columns:
            initial["target"] = newest.target
        if features:
            initial["features"] = features
    return initial


def _start_training(request: HttpRequest, form: TrainForm) -> ModelVersion | None:
    name = form.cleaned_data["name"]
    model = RegisteredModel.objects.filter(name=name).first()
    if model is not None and not _can_change(request.user, model.owner_id):
        form.add_error("name", f"{name} is another user's model: choose another name for yours.")
        return None
    try:
        if model is not None:
            return services.version_create(
                model=model, user=request.user, **form.training_request()
            )
        return services.model_create_with_version(
            owner=request.user,
            name=name,
            description=form.cleaned_data["description"],
            **form.training_request(),
        )
    except RegistryError as exc:
        form.apply_registry_error(exc)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def train(request: HttpRequest) -> HttpResponse:
    datasets = services.training_datasets(request.user).only(
        "id", "name", "n_rows", "n_columns", "schema", "created_at"
    )
    dataset = _train_dataset(request, datasets)
    if dataset is None:
        return render(request, "registry/train.html", {"form": None, "datasets": []})
    form = TrainForm(
        request.POST if request.method == "POST" else None,
        dataset=dataset,
        initial=_train_initial(request, dataset),
    )
    if request.method == "POST" and form.is_valid():
        version = _start_training(request, form)
        if version is not None:
            messages.success(request, f"Training {version} is queued.")
            return redirect(version)
    context = {
        "form": form,
        "dataset": dataset,
        "datasets": datasets.only("id", "name", "n_rows"),
        "my_models": RegisteredModel.objects.filter(owner=request.user).values_list(
            "name", flat=True
        ),
    }
    return render(request, "registry/train.html", context)


# Models ---------------------------------------------------------------------------------


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    mine = request.GET.get("mine") == "1"
    models = RegisteredModel.objects.all()
    if query:
        models = models.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if mine:
        models = models.filter(owner=request.user)
    page = _page(request, _models_overview(models).order_by("name"))
    page.object_list = _attach_latest(list(page.object_list))
    return render(request, "registry/model_list.html", {"page": page, "query": query, "mine": mine})


def _version_label(version: ModelVersion) -> str:
    """'v3 · accuracy 0.842': formatted here, as template filters cost time in long lists."""
    if version.headline_value is None:
        return f"v{version.version}"
    return f"v{version.version} · {version.headline_metric} {version.headline_value:.3f}"


def _alias_numbers(model: RegisteredModel) -> dict[str, int]:
    return dict(model.aliases.values_list("name", "version__version"))


@login_required
@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    model = _get_model(name)
    page = _page(request, _listed(model.versions.select_related("created_by")).order_by("-version"))
    aliases = _alias_numbers(model)
    by_version: dict[int, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        by_version.setdefault(number, []).append(alias)
    for version in page:
        version.alias_names = by_version.get(version.version, [])
    # The choices offered by the alias and compare forms: the newest ready versions (an
    # older one is promoted from its own page, or compared through ?a=&b=).
    ready = [
        {"version": v.version, "label": _version_label(v)}
        for v in _listed(model.versions.filter(status=Status.READY)).order_by("-version")[:50]
    ]
    context = {
        "model": model,
        "page": page,
        "ready": ready,
        "aliases": [(alias, aliases.get(alias)) for alias in ALIASES],
        "other_aliases": sorted((a, n) for a, n in aliases.items() if a not in ALIASES),
        "can_change": _can_change(request.user, model.owner_id),
        "compare": (ready[1]["version"], ready[0]["version"]) if len(ready) > 1 else None,
        "running": any(not v.is_finished for v in page),
        # The last 24 hours of each listed version, from the prediction log (aggregates).
        "traffic": _unless_log_unavailable(
            lambda: charts.traffic_rows(page, predlog.traffic([v.pk for v in page]))
        ),
    }
    return render(request, "registry/model_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def model_delete(request: HttpRequest, name: str) -> HttpResponse:
    model = _get_model_for_owner(request, name)
    if request.method == "POST":
        try:
            services.model_delete(model=model, user=request.user)
        except RegistryError as exc:
            messages.error(request, exc.message)
            return redirect("model_list")
        serving.forget_resolutions()
        messages.success(request, f"Deleted the model {model.name} and all its versions.")
        return redirect("model_list")
    n_versions = model.versions.count()
    return render(
        request, "registry/model_confirm_delete.html", {"model": model, "n_versions": n_versions}
    )


def _metric_rows(*metric_dicts: dict[str, Any]) -> list[dict[str, Any]]:
    """Scalar metrics of one or more versions, side by side, in a readable order."""
    keys: list[str] = []
    for metrics in metric_dicts:
        for key, value in metrics.items():
            scalar = value is None or isinstance(value, (int, float, bool))
            if scalar and key not in keys:
                keys.append(key)
    order = list(METRIC_LABELS)
    keys.sort(key=lambda k: order.index(k) if k in order else len(order))
    return [
        {
            "key": key,
            "label": METRIC_LABELS.get(key, key.replace("_", " ")),
            "values": [_format_metric(m.get(key)) for m in metric_dicts],
        }
        for key in keys
    ]


def _format_metric(value: Any) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:,.1f}"
    return str(value)


def _plot_names(version: ModelVersion) -> list[dict[str, str]]:
    """The version's plots in a readable order (names only: each is its own request)."""
    plots = (
        ModelVersion.objects.filter(pk=version.pk)
        .order_by("pk")
        .values_list("plots", flat=True)
        .first()
    )
    order = list(PLOT_TITLES)
    names = sorted(plots or {}, key=lambda n: order.index(n) if n in order else len(order))
    return [
        {
            "name": n,
            "title": PLOT_TITLES.get(n, n.replace("_", " ").capitalize()),
            "url": reverse("version_plot", args=[version.model.name, version.version, n]),
        }
        for n in names
    ]


@login_required
@require_GET
def version_compare(request: HttpRequest, name: str) -> HttpResponse:
    model = _get_model(name)
    ready = list(
        model.versions.filter(status=Status.READY)
        .order_by("-version")
        .values_list("version", flat=True)
    )
    data = request.GET if "a" in request.GET else None
    initial = {"a": ready[1], "b": ready[0]} if len(ready) > 1 else {}
    form = CompareForm(data or initial, versions=ready)
    context: dict[str, Any] = {"model": model, "form": form, "enough": len(ready) > 1}
    if len(ready) > 1 and form.is_valid():
        numbers = [form.cleaned_data["a"], form.cleaned_data["b"]]
        found = {v.version: v for v in model.versions.filter(version__in=numbers)}
        pair = [found[n] for n in numbers]
        plots = [{p["name"]: p for p in _plot_names(v)} for v in pair]
        names = list(dict.fromkeys([*plots[0], *plots[1]]))
        context.update(
            pair=pair,
            metrics=_metric_rows(*(v.metrics for v in pair)),
            params=_param_rows(*pair),
            plots=[
                {
                    "title": (plots[0].get(n) or plots[1][n])["title"],
                    "cells": [
                        {"plot": p.get(n), "version": v.version}
                        for p, v in zip(plots, pair, strict=True)
                    ],
                }
                for n in names
            ],
        )
    return render(request, "registry/version_compare.html", context)


def _param_rows(*versions: ModelVersion) -> list[dict[str, Any]]:
    names: list[str] = []
    for version in versions:
        names.extend(n for n in version.params if n not in names)
    return [
        {
            "name": n,
            "values": [json.dumps(v.params[n]) if n in v.params else "\u2013" for v in versions],
        }
        for n in names
    ]


@login_required
@require_http_methods(["GET", "POST"])
def alias_move(request: HttpRequest, name: str) -> HttpResponse:
    """GET shows what will change and asks to confirm; POST moves (or removes) the alias."""
    model = _get_model_for_owner(request, name)
    form = AliasForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return render(
            request, "registry/alias_confirm.html", {"model": model, "form": form}, status=400
        )
    alias, number = form.cleaned_data["alias"], form.cleaned_data["version"]
    removing = form.cleaned_data["action"] == "remove"
    if request.method == "POST":
        try:
            if removing:
                services.alias_delete(model=model, name=alias, user=request.user)
            else:
                services.alias_move(
                    model=model, name=alias, version_number=number, user=request.user
                )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            serving.forget_resolutions()
            done = f"removed from {model.name}" if removing else f"now points at v{number}"
            messages.success(request, f"The {alias} alias {done}.")
            return redirect(model)
    target = model.versions.filter(version=number).only("id", "version", "status").first()
    if target is None:
        form.add_error("version", f"{model.name} has no version {number}.")
    elif target.status != Status.READY and not removing:
        form.add_error(
            "version", f"v{number} is {target.status}: only a ready version can take an alias."
        )
    context = {
        "model": model,
        "form": form,
        "alias": alias,
        "number": number,
        "removing": removing,
        "current": _alias_numbers(model).get(alias),
    }
    return render(request, "registry/alias_confirm.html", context)


# Versions -------------------------------------------------------------------------------


def _feature_rows(version: ModelVersion) -> list[dict[str, Any]]:
    rows = []
    for feature in version.features:
        if feature["type"] == "number":
            low, high, mean = (feature.get(k) for k in ("min", "max", "mean"))
            summary = (
                f"{low:.4g} to {high:.4g}, mean {mean:.4g}"
                if all(cards.is_number(v) for v in (low, high, mean))
                else ""
            )
        else:
            categories = [str(c) for c in feature.get("categories") or [] if isinstance(c, str)]
            summary = ", ".join(categories[:12]) + (" …" if len(categories) > 12 else "")
        rows.append({"name": feature["name"], "type": feature["type"], "summary": summary})
    return rows


def _hyperparameter_rows(version: ModelVersion) -> list[dict[str, Any]]:
    spec = ALGORITHMS.get(version.algorithm)
    rows = []
    for key, value in version.params.items():
        param = spec.param(key) if spec else None
        rows.append(
            {
                "name": key,
                "value": json.dumps(value),
                "default": param is not None and param.default == value,
                "help": param.help if param else "",
            }
        )
    return rows


def _api_example(request: HttpRequest, version: ModelVersion) -> str:
    row: dict[str, Any] = {}
    for feature in version.features:
        if feature["type"] == "number":
            mean = feature.get("mean")
            row[feature["name"]] = float(f"{mean:.4g}") if cards.is_number(mean) else 0
        else:
            row[feature["name"]] = (feature.get("categories") or [""])[0]
    url = request.build_absolute_uri(
        f"/api/v1/models/{version.model.name}/versions/{version.version}/predict"
    )
    body = json.dumps({"instances": [row]})
    return (
        f"curl -X POST {url} \\\n"
        '  -H "Authorization: Bearer $MLSERVE_TOKEN" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'"
    )


def _prediction(version: ModelVersion, result: dict[str, Any]) -> dict[str, Any]:
    """One row's result in the words the version page shows."""
    value = result["predictions"][0]
    kind = version.kind
    shown: dict[str, Any] = {"kind": kind}
    if kind == DECOMPOSITION:
        shown["label"] = ", ".join(f"{x:.4g}" for x in value)
        shown["components"] = [(i + 1, f"{x:.4g}") for i, x in enumerate(value)]
    elif kind == CLUSTERING:
        shown["label"] = f"cluster {value}"
    elif kind == CLASSIFIER:
        shown["label"] = str(value)
    else:
        shown["label"] = f"{value:.6g}"
    if result.get("probabilities") is not None:
        pairs = zip(result["classes"], result["probabilities"][0], strict=True)
        shown["probabilities"] = [
            {"label": str(c), "value": p, "percent": f"{100 * p:.1f}%"}
            for c, p in sorted(pairs, key=lambda pair: -pair[1])
        ]
    return shown


def _confusion_rows(confusion: dict[str, Any] | None) -> dict[str, Any] | None:
    if not confusion:
        return None
    labels = confusion["labels"]
    rows = [
        {"label": label, "cells": [{"count": c, "diagonal": i == j} for j, c in enumerate(row)]}
        for i, (label, row) in enumerate(zip(labels, confusion["matrix"], strict=True))
    ]
    return {"labels": labels, "rows": rows}


def _unless_log_unavailable(read: Callable[[], Any]) -> Any:
    """The operations sections read the prediction log: without it (a broken or missing
    table) the page, and a prediction made from it, still work; the section says so."""
    try:
        return read()
    except DatabaseError as exc:
        logger.warning("the prediction log cannot be read: %s", exc)
        return None


def _render_version(
    request: HttpRequest, version: ModelVersion, status: int = 200, **extra: Any
) -> HttpResponse:
    model = version.model
    model_aliases = _alias_numbers(model)
    context: dict[str, Any] = {
        "version": version,
        "model": model,
        "can_change": _can_change(request.user, model.owner_id),
        "can_export": transfer.may_export(version, request.user),
        "aliases": sorted(a for a, n in model_aliases.items() if n == version.version),
        "model_aliases": [(a, model_aliases.get(a)) for a in ALIASES],
        "hyperparameters": _hyperparameter_rows(version),
        "features": _feature_rows(version),
        "algorithm": ALGORITHMS.get(version.algorithm),
    }
    if version.is_ready:
        metrics = cards.shown_metrics(version.kind, version.metrics, version.classes)
        context.update(
            metrics=_metric_rows(metrics),
            confusion=_confusion_rows(metrics.get("confusion_matrix")),
            cluster_sizes=metrics.get("cluster_sizes"),
            variance_ratios=[f"{r:.1%}" for r in metrics.get("explained_variance_ratio", [])],
            warnings=metrics.get("warnings", []),
            plots=_plot_names(version),
            predict_form=extra.pop("predict_form", None) or PredictForm(version),
            batch_form=extra.pop("batch_form", None) or BatchPredictForm(),
            api_example=_api_example(request, version),
            drift=_unless_log_unavailable(lambda: charts.drift_view(drift.report(version))),
        )
    context.update(extra)
    return render(request, "registry/version_detail.html", context, status=status)


@login_required
@require_GET
def version_detail(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version(name, version)
    if found.status == Status.RUNNING and reap_stale_versions():
        found = _get_version(name, version)  # its worker died: it was requeued or failed
    return _render_version(request, found)


@login_required
@require_GET
def version_status(request: HttpRequest, name: str, version: int) -> JsonResponse:
    """What the progress bars poll: status, progress, and the headline once ready."""
    found = get_object_or_404(
        ModelVersion.objects.select_related("model").only(
            *LIST_VERSION_FIELDS, "model__name", "error", "metrics"
        ),
        model__name=name,
        version=version,
    )
    if found.status == Status.RUNNING and reap_stale_versions():
        found.refresh_from_db(fields=["status", "progress", "error", "finished_at"])
    headline = found.headline if found.is_ready else None
    data = {
        **found.to_dict(detail=False),
        "finished": found.is_finished,
        "error": found.error or None,
        "headline": {"metric": headline[0], "value": headline[1]} if headline else None,
    }
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


# An SVG opened on its own is a document: it may run no script and load nothing. This
# replaces the site-wide policy (matplotlib's SVGs carry a <style> element).
PLOT_CSP = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["data:"],
    "sandbox": True,
}


@login_required
@require_GET
@csp(PLOT_CSP)
def version_plot(request: HttpRequest, name: str, version: int, plot: str) -> HttpResponse:
    """One stored SVG plot, read by JSON key (never the version's other plots or bytes)."""
    if not PLOT_NAME_RE.match(plot):
        raise Http404("No such plot.")
    found = (
        ModelVersion.objects.filter(model__name=name, version=version)
        .annotate(svg=KT(f"plots__{plot}"))
        .values_list("svg", "origin")
        .first()
    )
    svg, origin = found or (None, None)
    if not svg:
        raise Http404(f"{name} v{version} has no {plot} plot.")
    if origin is not None:
        # Imported: foreign SVG, checked on import; a row stored before that check existed
        # is checked again here rather than trusted.
        try:
            plots.check_svg(svg)
        except ValueError as exc:
            logger.warning("plot %s of %s v%s not shown: %s", plot, name, version, exc)
            message = f"The {plot} plot of {name} v{version} is not a plain SVG image."
            raise Http404(message) from None
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="{name}-v{version}-{plot}.svg"'
    response["Cache-Control"] = "private, max-age=86400"  # a ready version never changes
    return response


def _problems_to_fields(form: PredictForm, exc: serving.PredictionError) -> None:
    index = {f["name"]: i for i, f in enumerate(form.features)}
    placed = False
    for problem in exc.problems:
        if problem.get("column") in index:
            form.add_error(f"f{index[problem['column']]}", problem["detail"].capitalize() + ".")
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
@require_POST
def version_predict(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version(name, version)
    if not found.is_ready:
        messages.error(request, f"{found} is {found.status}: it can predict once it is ready.")
        return redirect(found)
    form = PredictForm(found, request.POST)
    prediction = None
    if form.is_valid():
        try:
            served = serving.resolve(name, version=version)
            result = serving.predict(served, [form.row()], user=request.user, source="page")
            prediction = _prediction(found, result)
        except serving.PredictionError as exc:
            _problems_to_fields(form, exc)
        except RegistryError as exc:
            form.add_error(None, exc.message)
        except serving.ArtifactError as exc:
            form.add_error(None, f"This version cannot be used: {exc}")
    return _render_version(request, found, predict_form=form, prediction=prediction)


def _download_name(filename: str, version: ModelVersion) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(filename or "rows").stem)[:80] or "rows"
    return f"{stem}-{version.model.name}-v{version.version}-predictions.csv"


@login_required
@require_POST
def version_batch_predict(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version(name, version)
    if not found.is_ready:
        messages.error(request, f"{found} is {found.status}: it can predict once it is ready.")
        return redirect(found)
    form = BatchPredictForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            served = serving.resolve(name, version=version)
            body = serving.predict_csv(served, upload.read(), user=request.user)
        except RegistryError as exc:
            form.add_error("file", exc.message)
        except serving.ArtifactError as exc:
            form.add_error(None, f"This version cannot be used: {exc}")
        else:
            response = HttpResponse(body, content_type="text/csv; charset=utf-8")
            filename = _download_name(upload.name, found)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
    return _render_version(request, found, batch_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def version_delete(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version_for_owner(request, name, version)
    error = None
    if request.method == "POST":
        try:
            services.version_delete(version=found, user=request.user)
        except RegistryError as exc:
            error = exc.message
        else:
            serving.forget_resolutions()
            messages.success(request, f"Deleted {found}.")
            return redirect(found.model)
    return render(
        request,
        "registry/version_confirm_delete.html",
        {
            "version": found,
            "model": found.model,
            "error": error,
            "aliases": sorted(found.aliases.values_list("name", flat=True)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_cancel(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version_for_owner(request, name, version)
    error = None
    if request.method == "POST":
        try:
            services.version_cancel(version=found, user=request.user)
        except RegistryError as exc:
            error = exc.message
        else:
            messages.success(request, f"Cancelled the training of {found}.")
            return redirect(found)
    return render(
        request,
        "registry/version_confirm_cancel.html",
        {"version": found, "model": found.model, "error": error},
    )


# Moving versions between instances (registry/transfer.py) -------------------------------


@login_required
@require_GET
def version_export(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """Download a ready version as one file: its model's owner or staff only (see
    transfer.may_export); anyone may predict with it."""
    found = _get_version(name, version)
    if not transfer.may_export(found, request.user):
        raise PermissionDenied(f"{found} belongs to another user: only its owner may export it.")
    try:
        data = transfer.version_export(found, user=request.user)
    except RegistryError as exc:
        messages.error(request, exc.message)
        return redirect(found)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{transfer.export_filename(found)}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def version_import(request: HttpRequest) -> HttpResponse:
    """Upload an export file: it becomes the next version of one of your models (or a new one)."""
    initial = {"name": request.GET.get("model", "")[:100]}
    form = ImportForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            version = services.version_import(
                user=request.user,
                data=form.cleaned_data["file"].read(),
                name=form.cleaned_data["name"],
            )
        except RegistryError as exc:
            apply_registry_error(form, exc)
            status = exc.status
        else:
            serving.forget_resolutions()  # the model's newest ready version changed
            origin = version.origin
            messages.success(
                request,
                f"Imported {version}: {origin['model']} v{origin['version']} from "
                f"{origin['instance']} (signature: {origin['signature']}).",
            )
            return redirect(version)
    context = {"form": form, "max_mb": settings.MLSERVE_MAX_UPLOAD_MB}
    return render(request, "registry/version_import.html", context, status=status)


# API tokens -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """Create (the token is shown once, in this response only), list and revoke tokens."""
    form = TokenForm(request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        record, text = tokens.token_create(user=request.user, name=form.cleaned_data["name"])
        created = {"record": record, "token": text}
        form = TokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.filter(user=request.user),
        "api_root": request.build_absolute_uri("/api/v1/"),
    }
    response = render(request, "registry/token_list.html", context)
    response["Cache-Control"] = "no-store"  # a new token must not linger in any cache
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked_at is not None:
        messages.info(request, f"The token {token.name} was already revoked.")
    else:
        tokens.token_revoke(token=token, user=request.user)
        tokens.forget_tokens()
        messages.success(request, f"Revoked the token {token.name}: it no longer works.")
    return redirect("token_list")
