"""The browser pages: thin function views over the registry's selectors (reads), services
(writes) and serving path.

Every page needs a login. Who may read a model (and predict with it) or a dataset is
registry/access.py's rule, applied by the selectors' lookups (404 for what one may not
read); only an object's owner (or a superuser, selectors.can_change) changes it:
`_get_*_for_owner` 404s or raises PermissionDenied. What a page lists comes from
registry/selectors.py, with a fixed number of queries whatever the number of rows and never
dataset or artifact bytes.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePath
from typing import Any, TypeVar

from csp.constants import NONE, UNSAFE_INLINE
from csp.decorators import csp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry import batchjobs, cards, evaluation, selectors, services, serving, tokens, transfer
from registry.algorithms import ALGORITHMS, CLASSIFIER, CLUSTERING, DECOMPOSITION
from registry.errors import NotFound, TooLarge
from registry.leaderboard import METRICS
from registry.models import ApiToken, Dataset, Leaderboard, ModelVersion, RegisteredModel, Team
from registry.monitoring import drift, live, predlog, rollout
from registry.services import RegistryError
from registry.training import plots
from registry.web import charts, presenters
from registry.web.forms import (
    ALIASES,
    BATCH_JOB_HINT,
    AlertRuleForm,
    AliasAtForm,
    AliasForm,
    BatchJobForm,
    BatchPredictForm,
    CompareForm,
    DatasetUploadForm,
    EvaluationForm,
    ImportForm,
    LeaderboardForm,
    ModelEditForm,
    ModelFilterForm,
    PredictForm,
    RegisterForm,
    RolloutForm,
    SignupForm,
    TokenForm,
    TrainForm,
    VersionEditForm,
    VisibilityForm,
    WebhookForm,
    apply_registry_error,
    tags_text,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
Status = ModelVersion.Status
PAGE_SIZE = 50
DASHBOARD_MODELS = 10  # the newest models on the dashboard; the models page lists them all
PLOT_NAME_RE = re.compile(r"^[a-z0-9_]{1,50}\Z")

# Lookups: the selectors', with the page's 404 and 403 -----------------------------------


def _or_404(read: Callable[..., T], *args: Any) -> T:
    try:
        return read(*args)
    except NotFound:
        raise Http404 from None  # the 404 page says what may have happened in its own words


def _get_model(request: HttpRequest, name: str) -> RegisteredModel:
    return _or_404(selectors.model, request.user, name)


def _get_model_for_owner(request: HttpRequest, name: str) -> RegisteredModel:
    model = _get_model(request, name)
    if not selectors.can_change(request.user, model):
        raise PermissionDenied(
            f"{model.name} belongs to {model.owner}: you can use it, not change it."
        )
    return model


def _get_version(request: HttpRequest, name: str, number: int) -> ModelVersion:
    return _or_404(selectors.version, request.user, name, number)


def _get_version_for_owner(request: HttpRequest, name: str, number: int) -> ModelVersion:
    version = _get_version(request, name, number)
    if not selectors.can_change(request.user, version.model):
        raise PermissionDenied(f"{version} belongs to another user: you can use it, not change it.")
    return version


def _get_dataset(request: HttpRequest, pk: int) -> Dataset:
    """A dataset you may not read does not exist, as far as you can tell."""
    return _or_404(selectors.dataset, request.user, pk)


def _get_dataset_for_owner(request: HttpRequest, pk: int) -> Dataset:
    dataset = _get_dataset(request, pk)
    if not selectors.can_change(request.user, dataset):
        raise PermissionDenied(
            f"{dataset.name} belongs to {dataset.owner}: you can read it, not change it."
        )
    return dataset


def _page(request: HttpRequest, items: QuerySet) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


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
    context = {
        # One more than shown, to say when there are more.
        "models": selectors.recent_models(request.user, limit=DASHBOARD_MODELS + 1),
        "dashboard_models": DASHBOARD_MODELS,
        "running": list(selectors.running_versions(request.user)[:20]),
        "datasets": selectors.recent_datasets(request.user),
    }
    return render(request, "registry/dashboard.html", context)


# Datasets -------------------------------------------------------------------------------


@login_required
@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = selectors.datasets_overview(request.user)
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
                options=form.read_options(),
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


@login_required
@require_GET
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _get_dataset(request, pk)
    header, rows = selectors.first_rows(dataset)
    columns = [{**column, "chart": charts.column_chart(column)} for column in dataset.schema]
    # Only the models trained on it that the viewer may read, and their own boards.
    versions = selectors.listed_with_model(
        selectors.visible_versions(request.user).filter(dataset=dataset)
    )
    can_change = selectors.can_change(request.user, dataset)
    context = {
        "dataset": dataset,
        "can_change": can_change,
        "visibility_form": _visibility_form(request, dataset) if can_change else None,
        "read_as": presenters.read_as(dataset.options),
        "columns": columns,
        "column_types": services.COLUMN_TYPES,
        "header": header,
        "rows": rows,
        "versions": versions[:50],
        "board_form": _board_form(dataset) if can_change else None,
        "board_dataset": dataset,
        "boards": selectors.leaderboards(request.user)
        .filter(dataset=dataset)
        .order_by("-created_at")[:20],
    }
    return render(request, "registry/dataset_detail.html", context)


@login_required
@require_GET
def dataset_csv(request: HttpRequest, pk: int) -> FileResponse:
    """The dataset as uploaded, as a download: its owner's (or a superuser's) only."""
    dataset, data = _or_404(selectors.dataset_csv, request.user, pk)
    return FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=dataset.csv_filename(),
        content_type=dataset.csv_content_type(),
    )


@login_required
@require_POST
def dataset_types(request: HttpRequest, pk: int) -> HttpResponse:
    """The dataset page's type choices: field `type-<column index>`, "" for the inferred type."""
    dataset = _get_dataset_for_owner(request, pk)
    names = [c["name"] for c in dataset.schema]
    types = {
        name: request.POST[f"type-{index}"] or None
        for index, name in enumerate(names)
        if f"type-{index}" in request.POST
    }
    try:
        services.dataset_set_types(dataset=dataset, user=request.user, types=types)
    except RegistryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Column types saved; the columns were read again.")
    return redirect(dataset)


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


# Visibility (models and datasets alike) -------------------------------------------------


def _visibility_form(request: HttpRequest, obj: RegisteredModel | Dataset) -> VisibilityForm:
    """The owner's form: the teams offered are theirs (a superuser's: every team)."""
    teams = Team.objects.all() if request.user.is_superuser else request.user.registry_teams
    initial = {"visibility": obj.visibility, "team": obj.team.name if obj.team else ""}
    return VisibilityForm(
        initial=initial, teams=list(teams.order_by("name").values_list("name", flat=True))
    )


def _set_visibility(request: HttpRequest, obj: RegisteredModel | Dataset) -> HttpResponse:
    try:
        services.set_visibility(
            obj,
            user=request.user,
            visibility=request.POST.get("visibility", ""),
            team=request.POST.get("team") or None,
            via="page",
        )
    except RegistryError as exc:
        messages.error(request, exc.message)
    else:
        shared = f" with the team {obj.team.name}" if obj.team else ""
        messages.success(request, f"{obj} is {obj.visibility} now{shared}.")
    return redirect(f"{obj.get_absolute_url()}#visibility")


@login_required
@require_POST
def model_visibility(request: HttpRequest, name: str) -> HttpResponse:
    return _set_visibility(request, _get_model_for_owner(request, name))


@login_required
@require_POST
def dataset_visibility(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_visibility(request, _get_dataset_for_owner(request, pk))


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
    if model is not None and not selectors.can_change(request.user, model):
        form.add_error("name", f"{name} is another user's model: choose another name for yours.")
        return None
    try:
        if model is not None:
            return services.version_create(
                model=model,
                user=request.user,
                allow_schema_change=form.allows_schema_change(),
                **form.training_request(),
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
            # No flash: the version page says queued, then follows the training; a flash
            # would stay above the finished model.
            return redirect(version)
    context = {
        "form": form,
        "dataset": dataset,
        "datasets": datasets.only("id", "name", "n_rows"),
        "my_models": RegisteredModel.objects.filter(owner=request.user).values_list(
            "name", flat=True
        ),
        "board_form": _board_form(dataset),
        "board_dataset": dataset,
    }
    return render(request, "registry/train.html", context)


# Models ---------------------------------------------------------------------------------


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    """Every model, or those matching the filters (the API's, selectors.model_search)."""
    form = ModelFilterForm(request.GET)
    found = RegisteredModel.objects.none()
    if form.is_valid():
        mine = request.user if form.cleaned_data["mine"] else None
        try:
            found = selectors.model_search(
                selectors.models_matching(request.user, owner=mine), **form.filters()
            )
        except RegistryError as exc:
            apply_registry_error(form, exc, {"order_by": "order_by"})
    page = _page(request, found.prefetch_related("tags"))
    page.object_list = selectors.attach_latest(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "form": form,
        "page_query": query.urlencode(),
        "filtered": any(request.GET.get(f) for f in form.fields),
    }
    return render(request, "registry/model_list.html", context)


def _tags_replaced(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str | None]:
    """The merge patch (services.model_edit) that turns tags `current` into `wanted`."""
    return {**dict.fromkeys(current), **wanted}


@login_required
@require_POST
def model_edit(request: HttpRequest, name: str) -> HttpResponse:
    """Save the description and tags of one of your models (the form lists them all)."""
    model = _get_model_for_owner(request, name)
    form = ModelEditForm(request.POST)
    if form.is_valid():
        current = dict(model.tags.values_list("key", "value"))
        try:
            services.model_edit(
                model=model,
                user=request.user,
                via="page",
                description=form.cleaned_data["description"],
                tags=_tags_replaced(current, form.cleaned_data["tags"]),
            )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            messages.success(request, f"The description and tags of {model.name} are saved.")
            return redirect(f"{model.get_absolute_url()}#about")
    return _render_model(request, model, edit_form=form, status=422)


@login_required
@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    return _render_model(request, _get_model(request, name))


def _edit_form(form_class: type, obj: Any, tags: list[Any]) -> Any:
    """An edit form holding what `obj` (a model or version, with its `tags`) says now."""
    initial = {
        field: getattr(obj, field)
        for field in ("description", "note")
        if field in form_class.base_fields
    }
    initial["tags"] = tags_text({t.key: t.value for t in tags})
    return form_class(initial=initial)


def _render_model(
    request: HttpRequest,
    model: RegisteredModel,
    status: int = 200,
    rollout_form: RolloutForm | None = None,
    edit_form: ModelEditForm | None = None,
) -> HttpResponse:
    """The model page; `rollout_form` or `edit_form`, a posted form with its errors, in
    its place."""
    versions = selectors.listed(model.versions.select_related("created_by"))
    page = _page(request, versions.order_by("-version"))
    # The aliases and their rollouts in one query (the rollouts section reads them too).
    rollout_state = selectors.rollout_state(model)
    aliases = {alias: state["champion"] for alias, state in rollout_state.items()}
    by_version: dict[int, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        by_version.setdefault(number, []).append(alias)
    for version in page:
        version.alias_names = by_version.get(version.version, [])
    # The choices offered by the alias and compare forms: the newest ready versions (an
    # older one is promoted from its own page, or compared through ?a=&b=).
    ready = [
        {"version": v.version, "label": presenters.version_label(v)}
        for v in selectors.ready_versions(model)
    ]
    can_change = selectors.can_change(request.user, model)
    context = {
        "model": model,
        "page": page,
        "ready": ready,
        "aliases": [(alias, aliases.get(alias)) for alias in ALIASES],
        "other_aliases": sorted((a, n) for a, n in aliases.items() if a not in ALIASES),
        "can_change": can_change,
        "visibility_form": _visibility_form(request, model) if can_change else None,
        "compare": (ready[1]["version"], ready[0]["version"]) if len(ready) > 1 else None,
        "running": any(not v.is_finished for v in page),
        # Evaluations are private (made of the caller's data): the caller's own only.
        "evaluations": selectors.evaluations(request.user).filter(model=model)[:10],
        "evaluation_form": _evaluation_form(request, model, ready)
        if can_change and ready
        else None,
        # The last 24 hours of each listed version, from the prediction log (aggregates).
        "traffic": _unless_log_unavailable(
            lambda: charts.traffic_rows(page, predlog.traffic([v.pk for v in page]))
        ),  # The live metric of each listed version given true answers (feedback).
        "live": _unless_log_unavailable(lambda: _live_rows(page)),
    }
    context.update(_alias_history_context(request, model))
    context["rollouts"] = _rollouts(model, rollout_state)
    if can_change and (len(ready) > 1 or rollout_form is not None):
        context["rollout_forms"] = _rollout_forms(rollout_state, ready, rollout_form)
    if rollout_form is not None and rollout_form not in (
        f["form"] for f in context["rollout_forms"]
    ):
        # Its alias was removed meanwhile: its errors said where the form would have been.
        for errors in rollout_form.errors.values():
            for error in errors:
                messages.error(request, f"Not changed: {error}")
    context["tags"] = list(model.tags.all())
    if can_change:
        context["edit_form"] = edit_form or _edit_form(ModelEditForm, model, context["tags"])
    return render(request, "registry/model_detail.html", context, status=status)


def _rollout_forms(
    states: dict[str, dict[str, Any]], ready: list[dict[str, Any]], posted: RolloutForm | None
) -> list[dict[str, Any]]:
    """The owner's rollout form of each alias (`posted` in place of its alias's), and the
    version the alias points at: the form's hidden alias_version says it, so that a move
    since the page was shown is refused rather than undone."""
    forms = []
    for alias, state in states.items():
        form = RolloutForm(alias=alias, state=state, versions=ready)
        if posted is not None and posted.prefix == form.prefix:
            form = posted
        forms.append({"alias": alias, "champion": state["champion"], "form": form})
    return forms


def _rollouts(model: RegisteredModel, states: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per alias with a canary or a shadow (`states`: selectors.rollout_state): its state,
    and the shadow's agreement with the answers it shadowed (from the prediction log; None
    when the log cannot be read)."""
    rows = []
    for alias, state in states.items():
        if state["canary"] is None and state["shadow"] is None:
            continue
        agreement = None
        if state["shadow"] is not None:
            pk = model.versions.filter(version=state["shadow"]).values_list("pk", flat=True)[0]
            agreement = _unless_log_unavailable(lambda pk=pk: rollout.shadow_agreement(pk))
        rows.append({"alias": alias, **state, "agreement": agreement})
    return rows


# The page's two one-step rollout actions: a confirmation page (GET), then the change (POST).
CANARY_ACTIONS = {"promote": services.alias_canary_promote, "end": services.alias_canary_end}


@login_required
@require_http_methods(["GET", "POST"])
def alias_canary(request: HttpRequest, name: str, alias: str, action: str) -> HttpResponse:
    """GET says what promoting (or ending) the alias's canary changes and asks to confirm;
    POST does it."""
    model = _get_model_for_owner(request, name)
    if action not in CANARY_ACTIONS:
        raise Http404("No such canary action.")
    error = None
    if request.method == "POST":
        try:
            CANARY_ACTIONS[action](model=model, name=alias, user=request.user, via="page")
        except RegistryError as exc:
            error = exc.message
        else:
            done = "is the version now" if action == "promote" else "has ended"
            messages.success(request, f"The {alias} alias's canary {done}.")
            return redirect(model)
    state = selectors.rollout_state(model).get(alias)
    if state is None:
        raise Http404(f"{model.name} has no alias {alias!r}.")
    if state["canary"] is None and error is None:
        error = f"{model.name}@{alias} has no canary."
    context = {"model": model, "alias": alias, "action": action, "state": state, "error": error}
    return render(request, "registry/alias_confirm_canary.html", context)


@login_required
@require_POST
def alias_rollout(request: HttpRequest, name: str, alias: str) -> HttpResponse:
    """The model page's rollout form of one alias: set its canary and shadow (an empty
    choice ends either), keeping the version the page showed it at. Errors are shown in the
    form, on the model page."""
    model = _get_model_for_owner(request, name)
    state = selectors.rollout_state(model).get(alias)
    if state is None:
        raise Http404(f"{model.name} has no alias {alias!r}.")
    ready = [
        {"version": v.version, "label": presenters.version_label(v)}
        for v in selectors.ready_versions(model)
    ]
    form = RolloutForm(request.POST, alias=alias, state=state, versions=ready)
    if not form.is_valid():
        return _render_model(request, model, status=400, rollout_form=form)
    number, canary = form.cleaned_data["alias_version"], form.canary()
    shadow = form.cleaned_data["shadow_version"]
    try:
        services.alias_rollout(
            model=model, name=alias, version_number=number, expected=number, canary=canary,
            shadow=shadow, user=request.user, via="page",
        )  # fmt: skip
    except RegistryError as exc:
        apply_registry_error(form, exc, ROLLOUT_ERROR_FIELDS)
        return _render_model(request, model, status=exc.status, rollout_form=form)
    messages.success(request, _rollout_done(alias, canary, shadow))
    return redirect(model)


# The services' error keys -> the rollout form's fields ("version": the hidden one's, shown
# at the form's top).
ROLLOUT_ERROR_FIELDS = {
    "canary.version": "canary_version",
    "canary.percent": "canary_percent",
    "shadow.version": "shadow_version",
}


def _rollout_done(alias: str, canary: tuple[int, float] | None, shadow: int | None) -> str:
    if canary is None and shadow is None:
        return f"{alias} now has no canary and no shadow."
    split = f"sends {canary[1]:g}% of its calls to v{canary[0]} (canary)" if canary else None
    shadowed = f"v{shadow} shadows it" if shadow is not None else "no shadow"
    return f"{alias} now {split or 'has no canary'}; {shadowed}."


def _live_rows(versions: Any) -> list[dict[str, Any]]:
    labelled = live.labelled_version_ids([v.pk for v in versions], days=live.PAGE_DAYS)
    return [
        {"version": v, **charts.live_view(live.live_metric(v, days=live.PAGE_DAYS))}
        for v in versions
        if v.pk in labelled
    ]


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
        messages.success(request, f"Deleted the model {model.name} and all its versions.")
        return redirect("model_list")
    n_versions = model.versions.count()
    return render(
        request, "registry/model_confirm_delete.html", {"model": model, "n_versions": n_versions}
    )


@login_required
@require_GET
def version_compare(request: HttpRequest, name: str) -> HttpResponse:
    model = _get_model(request, name)
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
        if pair[0].kind != pair[1].kind:
            # Metrics and plots of two tasks measure different things: no side by side.
            context.update(pair=pair, kinds_differ=True, params=presenters.param_rows(*pair))
            return render(request, "registry/version_compare.html", context)
        plots = [{p["name"]: p for p in presenters.plot_links(v)} for v in pair]
        names = list(dict.fromkeys([*plots[0], *plots[1]]))
        context.update(
            pair=pair,
            metrics=presenters.metric_rows(*(v.metrics for v in pair)),
            params=presenters.param_rows(*pair),
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
                services.alias_delete(model=model, name=alias, user=request.user, via="page")
            else:
                services.alias_move(
                    model=model, name=alias, version_number=number, user=request.user, via="page"
                )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            done = f"removed from {model.name}" if removing else f"now points at v{number}"
            messages.success(request, f"The {alias} alias {done}.")
            return redirect(model)
    target = model.versions.filter(version=number).only(*selectors.COMPARED_FIELDS).first()
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
        "current": selectors.alias_numbers(model).get(alias),
    }
    if target is not None and not removing and not form.errors:
        context["comparison"] = _promotion_context(model, target)
    return render(request, "registry/alias_confirm.html", context)


# Alias history and rollback -------------------------------------------------------------


def _alias_history_context(request: HttpRequest, model: RegisteredModel) -> dict[str, Any]:
    """The model page's timeline of alias changes and its "which version served <alias> at
    <time>" form, answered on the page when asked (?alias=&at=)."""
    asked = "at" in request.GET
    form = AliasAtForm(request.GET if asked else None, initial={"alias": "production"})
    answer = None
    if asked and form.is_valid():
        alias, at = form.cleaned_data["alias"], form.cleaned_data["at"]
        try:
            found = selectors.alias_at(model, alias, selectors.utc(at))
        except NotFound as exc:
            answer = {"alias": alias, "at": at, "error": exc.message}
        else:
            version = selectors.listed(model.versions.filter(version=found["version"])).first()
            answer = {"alias": alias, "at": at, "number": found["version"], "version": version}
            answer["since"] = found["since"]
    return {"alias_history": selectors.alias_history(model), "at_form": form, "at_answer": answer}


@login_required
@require_http_methods(["GET", "POST"])
def alias_rollback(request: HttpRequest, name: str, alias: str) -> HttpResponse:
    """GET says where the alias goes back to and asks to confirm; POST rolls it back."""
    model = _get_model_for_owner(request, name)
    error = None
    if request.method == "POST":
        try:
            moved, previous = services.alias_rollback(
                model=model, name=alias, user=request.user, via="page"
            )
        except RegistryError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                f"The {alias} alias is back on v{moved.version.version} (it pointed at "
                f"v{previous}).",
            )
            return redirect(model)
    context: dict[str, Any] = {"model": model, "alias": alias, "error": error}
    try:
        current, target = selectors.alias_rollback_target(model, alias)
    except RegistryError as exc:
        context["error"] = error or exc.message
    else:
        pair = selectors.listed(model.versions.filter(version__in=[current, target.version]))
        found = {v.version: v for v in pair}
        context.update(current=found.get(current), target=found.get(target.version))
    return render(request, "registry/alias_confirm_rollback.html", context)


def _promotion_context(model: RegisteredModel, candidate: ModelVersion) -> dict[str, Any] | None:
    """The candidate beside production, in words (None when there is nothing to compare)."""
    comparison = selectors.promotion_comparison(model, candidate)
    if comparison is None:
        return None
    current = comparison["current"]
    return {
        **comparison,
        "pair": [
            {
                "version": v,
                "algorithm": ALGORITHMS[v.algorithm].label
                if v.algorithm in ALGORITHMS
                else v.algorithm,
            }
            for v in (current, candidate)
        ],
        "metrics": presenters.metric_deltas(current.metrics, candidate.metrics),
        "schema_rows": presenters.input_schema_rows(comparison["schema"]),
    }


# Versions -------------------------------------------------------------------------------


def _prediction(version: ModelVersion, result: dict[str, Any]) -> dict[str, Any]:
    """One row's result in the words the version page shows."""
    value = result["predictions"][0]
    kind = version.kind
    shown: dict[str, Any] = {"kind": kind, "warnings": result["warnings"][0]}
    if kind == DECOMPOSITION:
        shown["label"] = ", ".join(f"{x:.4g}" for x in value)
        shown["components"] = [(i + 1, f"{x:.4g}") for i, x in enumerate(value)]
    elif kind == CLUSTERING:
        shown["label"] = f"cluster {value}"
    elif kind == CLASSIFIER:
        shown["label"] = str(value)
    else:
        shown["label"] = f"{value:.6g}"
    shown["threshold"] = result.get("threshold")  # the version's decision threshold, if set
    shown["prediction_id"] = result.get("prediction_ids", [None])[0]  # for feedback
    if result.get("probabilities") is not None:
        pairs = zip(result["classes"], result["probabilities"][0], strict=True)
        shown["probabilities"] = [
            {"label": str(c), "value": p, "percent": f"{100 * p:.1f}%"}
            for c, p in sorted(pairs, key=lambda pair: -pair[1])
        ]
    if result.get("explanations") is not None:
        shown["explanation"] = presenters.explanation_view(result["explanations"])
    return shown


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
    model_aliases = selectors.alias_numbers(model)
    context: dict[str, Any] = {
        "version": version,
        "model": model,
        "can_change": selectors.can_change(request.user, model),
        "can_export": transfer.may_export(version, request.user),
        "aliases": sorted(a for a, n in model_aliases.items() if n == version.version),
        "model_aliases": [(a, model_aliases.get(a)) for a in ALIASES],
        "hyperparameters": presenters.hyperparameter_rows(version),
        "features": presenters.feature_rows(version),
        "algorithm": ALGORITHMS.get(version.algorithm),
        "clock": presenters.training_clock(version),
        "leaderboard_visible": version.leaderboard_visible_to(request.user),
        "tags": list(version.tags.all()),
    }
    edit_form = extra.pop("edit_form", None)
    if context["can_change"]:
        context["edit_form"] = edit_form or _edit_form(VersionEditForm, version, context["tags"])
    if version.is_ready:
        metrics = cards.shown_metrics(version.kind, version.metrics, version.classes)
        context.update(
            metrics=presenters.metric_rows(metrics),
            confusion=presenters.confusion_rows(metrics.get("confusion_matrix")),
            per_class=presenters.per_class_rows(metrics.get("per_class")),
            cluster_sizes=metrics.get("cluster_sizes"),
            variance_ratios=[f"{r:.1%}" for r in metrics.get("explained_variance_ratio", [])],
            warnings=metrics.get("warnings", []),
            plots=presenters.plot_links(version),
            predict_form=extra.pop("predict_form", None) or PredictForm(version),
            batch_form=extra.pop("batch_form", None) or BatchPredictForm(),
            batch_job_form=extra.pop("batch_job_form", None) or BatchJobForm(),
            max_predict_rows=settings.MLSERVE_MAX_PREDICT_ROWS,
            max_upload_mb=settings.MLSERVE_MAX_UPLOAD_MB,
            api_example=presenters.api_example(request, version),
            api_pinned_url=request.build_absolute_uri(
                f"/api/v1/models/{model.name}/versions/{version.version}/predict"
            ),
            drift=_unless_log_unavailable(lambda: charts.drift_view(drift.report(version))),
            live=_unless_log_unavailable(
                lambda: charts.live_view(live.live_metric(version, days=live.PAGE_DAYS))
            ),
            threshold=presenters.threshold_view(
                version, metrics.get("threshold_counts"), selectors.threshold_history(version)
            ),
        )
    context.update(extra)
    return render(request, "registry/version_detail.html", context, status=status)


@login_required
@require_GET
def version_detail(request: HttpRequest, name: str, version: int) -> HttpResponse:
    return _render_version(request, _get_version(request, name, version))


@login_required
@require_POST
def version_edit(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """Save the description, note and tags of a version of one of your models."""
    found = _get_version_for_owner(request, name, version)
    form = VersionEditForm(request.POST)
    if form.is_valid():
        current = dict(found.tags.values_list("key", "value"))
        try:
            services.version_edit(
                version=found,
                user=request.user,
                via="page",
                description=form.cleaned_data["description"],
                note=form.cleaned_data["note"],
                tags=_tags_replaced(current, form.cleaned_data["tags"]),
            )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            messages.success(request, f"The description, note and tags of {found} are saved.")
            return redirect(f"{found.get_absolute_url()}#about")
    return _render_version(request, found, status=422, edit_form=form)


@login_required
@require_GET
def version_status(request: HttpRequest, name: str, version: int) -> JsonResponse:
    """What the progress bars poll: status, progress, and the headline once ready."""
    found = _or_404(selectors.version_progress, request.user, name, version)
    headline = found.headline if found.is_ready else None
    data = {
        **found.to_dict(detail=False),
        "finished": found.is_finished,
        "error": found.error or None,
        "headline": {"metric": headline[0], "value": headline[1]} if headline else None,
        "clock": presenters.training_clock(found) or None,
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
    svg, origin = selectors.plot_svg(request.user, name, version, plot)
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
    found = _get_version(request, name, version)
    if not found.is_ready:
        messages.error(request, f"{found} is {found.status}: it can predict once it is ready.")
        return redirect(found)
    form = PredictForm(found, request.POST)
    prediction = None
    if form.is_valid():
        try:
            served = serving.resolve(name, version=version, user=request.user)
            result = serving.predict(
                served,
                [form.row()],
                user=request.user,
                source="page",
                explain=form.wants_explanation(),
            )
            prediction = _prediction(found, result)
        except serving.PredictionError as exc:
            _problems_to_fields(form, exc)
        except RegistryError as exc:
            form.add_error(None, exc.message)
        except serving.ArtifactError as exc:
            form.add_error(None, f"This version cannot be used: {exc}")
    return _render_version(request, found, predict_form=form, prediction=prediction)


@login_required
@require_POST
def version_threshold(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """Save (or, with action=clear, clear) a binary classifier's decision threshold."""
    found = _get_version_for_owner(request, name, version)
    value: Any = None
    if request.POST.get("action") != "clear":
        value = text = request.POST.get("threshold", "")
        try:
            value = float(text)
        except ValueError:
            pass  # refused in words by the service, which quotes it
    try:
        services.set_threshold(found, value, actor=request.user, via="page")
    except RegistryError as exc:
        messages.error(request, exc.message)
    else:
        done = "cleared: the model's own rule decides" if value is None else f"set to {value:g}"
        messages.success(request, f"The decision threshold of {found} is {done}.")
    return redirect(f"{found.get_absolute_url()}#threshold")


def _download_name(filename: str, version: ModelVersion) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(filename or "rows").stem)[:80] or "rows"
    return f"{stem}-{version.model.name}-v{version.version}-predictions.csv"


@login_required
@require_POST
def version_batch_predict(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version(request, name, version)
    if not found.is_ready:
        messages.error(request, f"{found} is {found.status}: it can predict once it is ready.")
        return redirect(found)
    form = BatchPredictForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            served = serving.resolve(name, version=version, user=request.user)
            body = serving.predict_csv(
                served,
                upload.read(),
                user=request.user,
                with_reasons=form.cleaned_data["reasons"],
            )
        except RegistryError as exc:
            hint = BATCH_JOB_HINT if isinstance(exc, TooLarge) else ""
            form.add_error("file", exc.message + hint)
        except serving.ArtifactError as exc:
            form.add_error(None, f"This version cannot be used: {exc}")
        else:
            response = HttpResponse(body, content_type="text/csv; charset=utf-8")
            filename = _download_name(upload.name, found)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
    return _render_version(request, found, batch_form=form)


@login_required
@require_POST
def version_batch_job(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """The version page's "Score a large file in the background": a batch job, then the
    jobs page, which shows its progress."""
    found = _get_version(request, name, version)
    form = BatchJobForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.batch_job_create(
                user=request.user,
                name=name,
                version=version,
                upload=upload,
                filename=upload.name,
                output_format=form.cleaned_data["format"],
            )
        except RegistryError as exc:
            form.add_error("file", exc.message)
        except serving.ArtifactError as exc:
            form.add_error(None, f"This version cannot be used: {exc}")
        else:
            messages.success(
                request, f"Batch job {job.pk} queued: {job.rows_total:,} rows of {found}."
            )
            return redirect("batch_job_list")
    return _render_version(request, found, batch_job_form=form, status=400)


@login_required
@require_GET
def batch_job_list(request: HttpRequest) -> HttpResponse:
    """The user's batch jobs with their progress, cancel buttons and download links."""
    page = Paginator(selectors.batch_jobs(request.user), 50).get_page(request.GET.get("page"))
    jobs = list(page.object_list)
    context = {
        "page": page,
        "jobs": jobs,
        "any_active": any(j.is_active for j in jobs),
    }
    return render(request, "registry/batch_job_list.html", context)


@login_required
@require_GET
def batch_job_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the jobs page's progress bars poll (static/js/progress.js)."""
    found = _or_404(selectors.batch_job, request.user, pk)
    response = JsonResponse(
        {
            "status": found.status,
            "progress": found.progress,
            "rows_done": found.rows_done,
            "finished": not found.is_active,
            "error": found.error or None,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def batch_job_result(request: HttpRequest, pk: int) -> HttpResponse:
    found = _or_404(selectors.batch_job, request.user, pk)
    try:
        return batchjobs.result.response(found)
    except RegistryError as exc:
        messages.error(request, exc.message)
        return redirect("batch_job_list")


@login_required
@require_POST
def batch_job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found = _or_404(selectors.batch_job, request.user, pk)
    try:
        services.batch_job_cancel(job=found, user=request.user)
    except RegistryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Cancelled batch job {pk}: the rows not yet scored never are.")
    return redirect("batch_job_list")


def _confirmed(request: HttpRequest, act: Callable[[], Any], done: str) -> tuple[bool, str | None]:
    """A confirmation page's POST: run the service, or keep its error for the page."""
    if request.method != "POST":
        return False, None
    try:
        act()
    except RegistryError as exc:
        return False, exc.message
    messages.success(request, done)
    return True, None


@login_required
@require_http_methods(["GET", "POST"])
def version_delete(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version_for_owner(request, name, version)
    done, error = _confirmed(
        request,
        lambda: services.version_delete(version=found, user=request.user),
        f"Deleted {found}.",
    )
    if done:
        return redirect(found.model)
    aliases = sorted(found.aliases.values_list("name", flat=True))
    context = {"version": found, "model": found.model, "error": error, "aliases": aliases}
    return render(request, "registry/version_confirm_delete.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def version_cancel(request: HttpRequest, name: str, version: int) -> HttpResponse:
    found = _get_version_for_owner(request, name, version)
    done, error = _confirmed(
        request,
        lambda: services.version_cancel(version=found, user=request.user),
        f"Cancelled the training of {found}.",
    )
    if done:
        return redirect(found)
    context = {"version": found, "model": found.model, "error": error}
    return render(request, "registry/version_confirm_cancel.html", context)


# Moving versions between instances (registry/transfer.py) -------------------------------


@login_required
@require_GET
def version_export(request: HttpRequest, name: str, version: int) -> HttpResponse:
    """Download a ready version as one file: its model's owner or staff only (see
    transfer.may_export); anyone may predict with it."""
    found = _get_version(request, name, version)
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
    max_days = settings.MLSERVE_TOKEN_MAX_DAYS
    form = TokenForm(request.POST if request.method == "POST" else None, max_days=max_days)
    created = None
    if request.method == "POST" and form.is_valid():
        created = _token_create(request, form)
        if created is not None:
            form = TokenForm(max_days=max_days)
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.filter(user=request.user),
        "api_root": request.build_absolute_uri("/api/v1/"),
    }
    response = render(request, "registry/token_list.html", context)
    response["Cache-Control"] = "no-store"  # a new token must not linger in any cache
    return response


_TOKEN_FIELDS = {"scopes": "scopes", "models": "models", "expires": "expires_in_days"}


def _token_create(request: HttpRequest, form: TokenForm) -> dict[str, Any] | None:
    """The new token (record and text), or None with the service's refusal on the form."""
    days = form.cleaned_data["expires_in_days"]
    try:
        record, text = tokens.token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            models=form.cleaned_data["models"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
    except services.RegistryError as exc:
        field = next((_TOKEN_FIELDS[k] for k in exc.errors if k in _TOKEN_FIELDS), None)
        form.add_error(field, exc.message)
        return None
    return {"record": record, "token": text}


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if tokens.token_revoke(token=token, user=request.user):
        messages.success(request, f"Revoked the token {token.name}: it no longer works.")
    else:
        messages.info(request, f"The token {token.name} was already revoked.")
    return redirect("token_list")


# Leaderboards ---------------------------------------------------------------------------


def _get_board(request: HttpRequest, pk: int) -> Leaderboard:
    """Boards are private like datasets: another user's does not exist, as far as you can tell."""
    return _or_404(selectors.leaderboard, request.user, pk)


def _board_form(dataset: Dataset, data: Any = None) -> LeaderboardForm:
    return LeaderboardForm(data, dataset=dataset, prefix="board")


@login_required
@require_GET
def leaderboard_list(request: HttpRequest) -> HttpResponse:
    boards = selectors.leaderboards(request.user)
    return render(request, "registry/leaderboard_list.html", {"page": _page(request, boards)})


@login_required
@require_http_methods(["GET", "POST"])
def leaderboard_create(request: HttpRequest, pk: int) -> HttpResponse:
    """The dataset and train pages' small form posts here; with an error it is shown again
    on a page of its own."""
    dataset = _or_404(services.training_dataset, request.user, pk)
    form = _board_form(dataset, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            board = services.leaderboard_create(
                user=request.user, dataset=dataset, **form.board_request()
            )
        except RegistryError as exc:
            apply_registry_error(form, exc, {"search.n_iter": "n_iter"})
        else:
            return redirect(board)
    context = {"board_form": form, "board_dataset": dataset}
    return render(request, "registry/leaderboard_new.html", context)


def _sort_key(request: HttpRequest, board: Leaderboard) -> str:
    chosen = request.GET.get("sort", "")
    return chosen if chosen in METRICS.get(board.task, ()) else board.metric


def _render_board(
    request: HttpRequest, board: Leaderboard, status: int = 200, **extra: Any
) -> HttpResponse:
    sort = _sort_key(request, board)
    rows = presenters.board_rows(board, selectors.leaderboard_rows(board), sort)
    context = {
        "board": board,
        "rows": rows,
        "sort": sort,
        "metrics": [{"key": m, "label": presenters.metric_label(m)} for m in METRICS[board.task]]
        if board.task in METRICS
        else [],
        "chart": charts.leaderboard_chart(
            [(r["label"], r["mean"], r["std"]) for r in rows], presenters.metric_label(sort)
        ),
        "trials": presenters.trial_rows(board.trials.all(), board.metric),
        "best": next((r for r in rows if r["rank"] == 1), None),
        "versions": board.versions.select_related("model").order_by("-created_at")[:20],
        "dataset_gone": board.dataset_id is None,
        **extra,
    }
    return render(request, "registry/leaderboard_detail.html", context, status=status)


@login_required
@require_GET
def leaderboard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_board(request, _get_board(request, pk))


@login_required
@require_GET
def leaderboard_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the board page polls: status, trials done of total, and the best so far."""
    board = _get_board(request, pk)
    best = presenters.board_best(board, selectors.leaderboard_rows(board))
    response = JsonResponse(
        {
            "status": board.status,
            "finished": board.is_finished,
            "trials_done": board.trials_done,
            "trials_total": board.trials_total,
            "best": best,
            "error": board.error or None,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def leaderboard_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    board = _get_board(request, pk)
    try:
        services.leaderboard_cancel(board=board, user=request.user)
    except RegistryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Cancelled the leaderboard: trials not finished are stopped.")
    return redirect(board)


@login_required
@require_POST
def leaderboard_register(request: HttpRequest, pk: int) -> HttpResponse:
    """A row's Register button: its best configuration, trained on every row, as a version."""
    board = _get_board(request, pk)
    form = RegisterForm(request.POST)
    if form.is_valid():
        try:
            version = services.leaderboard_register(
                board=board,
                user=request.user,
                algorithm=form.cleaned_data["algorithm"],
                model_name=form.cleaned_data["model"],
            )
        except RegistryError as exc:
            apply_registry_error(form, exc, {"model_name": "model"})
        else:
            return redirect(version)
    return _render_board(request, board, status=400, register_form=form)


# Evaluations ----------------------------------------------------------------------------


def _evaluation_form(
    request: HttpRequest, model: RegisteredModel, ready: list[dict[str, Any]], *args: Any
) -> EvaluationForm:
    datasets = services.training_datasets(request.user).only(*selectors.DATASET_LIST_FIELDS)
    return EvaluationForm(*args, datasets=datasets, versions=ready, prefix="evaluate")


def _get_evaluation(request: HttpRequest, name: str, pk: int) -> Any:
    """Evaluations are private like datasets: another user's does not exist for you."""
    return _or_404(selectors.evaluation, request.user, name, pk)


@login_required
@require_POST
def evaluation_create(request: HttpRequest, name: str) -> HttpResponse:
    """The model page's "Evaluate on new data" form: an uploaded CSV (it becomes one of your
    datasets) or one of your datasets, and the versions to compare."""
    model = _get_model_for_owner(request, name)
    ready = [
        {"version": v.version, "label": presenters.version_label(v)}
        for v in selectors.ready_versions(model)
    ]
    form = _evaluation_form(request, model, ready, request.POST, request.FILES)
    if form.is_valid():
        chosen, upload = form.cleaned_data["versions"] or None, form.cleaned_data["file"]
        try:
            if upload is not None:
                created = services.evaluation_create_from_file(
                    user=request.user,
                    model=model,
                    data=upload.read(),
                    filename=upload.name,
                    versions=chosen,
                )
            else:
                dataset = _get_dataset_for_owner(request, form.cleaned_data["dataset"])
                created = services.evaluation_create(
                    user=request.user, model=model, dataset=dataset, versions=chosen
                )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            return redirect(created)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"Not evaluated: {error}")
    return redirect(f"{model.get_absolute_url()}#evaluate-title")


@login_required
@require_GET
def evaluation_detail(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    found = _get_evaluation(request, name, pk)
    context = {
        "evaluation": found,
        "rows": presenters.evaluation_rows(found),
        "versions": presenters.evaluation_versions(found),
    }
    return render(request, "registry/evaluation_detail.html", context)


@login_required
@require_GET
def evaluation_status(request: HttpRequest, name: str, pk: int) -> JsonResponse:
    """What the evaluation page's progress bar polls (static/js/progress.js)."""
    found = _get_evaluation(request, name, pk)
    response = JsonResponse(
        {
            "status": found.status,
            "progress": found.progress,
            "finished": found.is_finished,
            "error": found.error or None,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def evaluation_rows(request: HttpRequest, name: str, pk: int, version: int) -> HttpResponse:
    """The rows one version got wrong, as CSV with a `predicted` column."""
    filename, data = _or_404(evaluation.wrong_rows_csv, _get_evaluation(request, name, pk), version)
    return FileResponse(
        io.BytesIO(data), as_attachment=True, filename=filename, content_type="text/csv"
    )


# Alerts and webhooks (registry/alerts/) ---------------------------------------------------


def _webhook_form(request: HttpRequest, data: Any = None) -> WebhookForm:
    names = list(request.user.models.order_by("name").values_list("name", flat=True)[:500])
    return WebhookForm(data, model_names=names)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    """Create (the secret is shown once, in this response only) and list your endpoints."""
    form = _webhook_form(request, request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            model = _get_model(request, data["model"]) if data["model"] else None
            endpoint, secret = services.webhook_create(
                owner=request.user,
                url=data["url"],
                events=data["events"],
                model=model,
                description=data["description"],
            )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            created = {"endpoint": endpoint, "secret": secret}
            form = _webhook_form(request)
    context = {
        "form": form,
        "created": created,
        "endpoints": selectors.webhook_endpoints(request.user),
        "current": "webhooks",
    }
    response = render(request, "registry/webhook_list.html", context)
    response["Cache-Control"] = "no-store"  # a new secret must not linger in any cache
    return response


@login_required
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An endpoint's delivery log (newest first) and its test and delete buttons."""
    endpoint = _or_404(selectors.webhook_endpoint, request.user, pk)
    context = {"endpoint": endpoint, "deliveries": selectors.webhook_deliveries(endpoint)}
    return render(request, "registry/webhook_detail.html", context)


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _or_404(selectors.webhook_endpoint, request.user, pk)
    services.webhook_send_test(endpoint=endpoint, user=request.user)
    messages.success(request, "A test event is queued: its delivery shows below.")
    return redirect("webhook_detail", pk=endpoint.pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _or_404(selectors.webhook_endpoint, request.user, pk)
    services.webhook_delete(endpoint=endpoint, user=request.user)
    messages.success(request, f"Deleted the webhook to {endpoint.url}.")
    return redirect("webhook_list")


@login_required
@require_http_methods(["GET", "POST"])
def alert_rules(request: HttpRequest, name: str) -> HttpResponse:
    """Your model's alert rules: their state, a form for a new one."""
    model = _get_model_for_owner(request, name)
    form = AlertRuleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.alert_rule_create(
                model=model, user=request.user, kind=form.cleaned_data["kind"], params=form.params()
            )
        except RegistryError as exc:
            apply_registry_error(form, exc)
        else:
            messages.success(request, "Alert rule saved: the task worker checks it from now on.")
            return redirect("alert_rules", name=model.name)
    context = {"model": model, "form": form, "rules": selectors.alert_rules(model)}
    return render(request, "registry/alert_rules.html", context)


@login_required
@require_POST
def alert_rule_delete(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    model = _get_model_for_owner(request, name)
    rule = _or_404(selectors.alert_rule, model, pk)
    services.alert_rule_delete(rule=rule, user=request.user)
    messages.success(request, "Alert rule deleted.")
    return redirect("alert_rules", name=model.name)
