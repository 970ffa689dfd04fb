"""Django admin for every record. Bytes are shown as size and sha256, never inline.

The lists follow registry/access.py like the pages: a superuser sees every record, staff
only the models and datasets they may read (and what hangs off them); a record one may not
read is not found. A model's or dataset's visibility is shown here, set by its owner on its
page or through the API (recorded in the audit log); teams are managed here.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from registry import access, services, tokens
from registry.models import (
    AlertRule,
    Alias,
    ApiToken,
    AuditEntry,
    BatchJob,
    Dataset,
    Evaluation,
    Feedback,
    Leaderboard,
    ModelTag,
    ModelVersion,
    PredictionLog,
    RegisteredModel,
    Team,
    Trial,
    VersionTag,
    WebhookDelivery,
    WebhookEndpoint,
)

# Bases: rows scoped to their owner, read-only logs, deletes that take logs with them.


class OwnRowsAdmin(admin.ModelAdmin):
    """Staff who are not superusers list and open only their own rows: those whose
    `owner_path` (a lookup from the row to a user) is them. The admin reads a row for its
    change, delete and history pages through get_queryset, so another's is "not found"
    there too; actions get the same scoped rows."""

    owner_path = "model__owner"

    def get_queryset(self, request: HttpRequest) -> Any:
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{self.owner_path: request.user})

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # Django's history page looks the row up before it checks permissions, and sends a
        # user it hides the row from to the index: without the permission, a 403 first.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the product (an audit trail, a log): read, never added, changed
    or deleted here, not even by a superuser."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeletesLogsAdmin(admin.ModelAdmin):
    """A row whose delete takes read-only rows with it (a model's audit entries, a version's
    feedback, an endpoint's delivery log): they go with it, asking no delete permission of
    their own, which ReadOnlyAdmin refuses to everybody."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        logs = {
            str(model._meta.verbose_name)
            for model, model_admin in self.admin_site._registry.items()
            if isinstance(model_admin, ReadOnlyAdmin)
        }
        return deleted, counts, {p for p in perms_needed if str(p) not in logs}, protected


class VisibleModelsMixin:
    """Limits the list (and every change, delete and history page) to the records whose
    model (`visible_through`: the path to it, "" for a model itself) the user may read."""

    visible_through = ""

    def get_queryset(self, request: HttpRequest) -> Any:
        found = super().get_queryset(request)  # type: ignore[misc]
        return found.filter(access.visible_q(request.user, self.visible_through))


def _ready_versions(request: HttpRequest) -> Any:
    """The versions an alias may point at, of the models the user may read."""
    return ModelVersion.objects.filter(
        access.visible_q(request.user, "model__"), status=ModelVersion.Status.READY
    ).select_related("model")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams, whose members read the models and datasets shared with them."""

    list_display = ("name", "n_members", "created_at")
    search_fields = ("name", "members__username")
    filter_horizontal = ("members",)

    @admin.display(description="members")
    def n_members(self, obj: Team) -> int:
        return obj.members.count()


@admin.register(Dataset)
class DatasetAdmin(VisibleModelsMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "visibility",
        "team",
        "n_rows",
        "n_columns",
        "size",
        "created_at",
    )
    list_filter = ("visibility", "created_at")
    search_fields = ("name", "owner__username", "sha256")
    readonly_fields = (
        "owner",
        "visibility",
        "team",
        "sha256",
        "size",
        "n_rows",
        "n_columns",
        "columns",
        "created_at",
    )
    fields = ("name", *readonly_fields)
    list_select_related = ("owner", "team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads go through the strict parser: the upload page or the API

    @admin.display(description="size")
    def size(self, obj: Dataset) -> str:
        return f"{obj.size_bytes / 1024:.1f} KiB"

    @admin.display(description="columns")
    def columns(self, obj: Dataset) -> str:
        return ", ".join(f"{c['name']} ({c['type']}, {c['missing']} missing)" for c in obj.schema)


# Alias and version edits go through the services, as on the pages and the API: the same
# checks under the same locks, and what a name serves is forgotten once they commit. The
# admin checked the user's permissions already, so the owner rule is not applied again.


def _alias_save(request: HttpRequest, alias: Alias) -> None:
    """Add or move `alias` as the admin form left it; a renamed one (or one moved to another
    model) leaves its old name."""
    old = None
    if alias.pk:
        old = Alias.objects.filter(pk=alias.pk).values_list("model_id", "name").first()
    with transaction.atomic():
        if old is not None and old != (alias.model_id, alias.name):
            previous = RegisteredModel.objects.get(pk=old[0])
            services.alias_delete(
                model=previous, name=old[1], user=request.user, via="admin", check_owner=False
            )
        moved = services.alias_move(
            model=alias.model,
            name=alias.name,
            version_number=alias.version.version,
            user=request.user,
            via="admin",
            check_owner=False,
        )
    alias.pk, alias.updated_at, alias.updated_by = moved.pk, moved.updated_at, moved.updated_by


def _alias_delete(request: HttpRequest, alias: Alias) -> None:
    try:
        services.alias_delete(
            model=alias.model, name=alias.name, user=request.user, via="admin", check_owner=False
        )
    except services.NotFound:
        pass  # deleted meanwhile: what was asked is done


class VersionInline(admin.TabularInline):
    model = ModelVersion
    fields = ("version", "algorithm", "status", "progress", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AliasInline(admin.TabularInline):
    model = Alias
    fields = ("name", "version", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")
    extra = 0

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "version":
            kwargs["queryset"] = _ready_versions(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# Tags are written by services.model_edit / version_edit (the pages and the API), which
# record every change: the admin lists them, read only (ReadOnlyAdmin: deleting a model or
# a version takes its tags with it).


class _ReadOnlyTagInline(admin.TabularInline):
    fields = ("key", "value")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ModelTagInline(_ReadOnlyTagInline):
    model = ModelTag


class VersionTagInline(_ReadOnlyTagInline):
    model = VersionTag


@admin.register(ModelTag)
class ModelTagAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """Every model tag, read only (those of the user's own models unless superuser)."""

    owner_path = "model__owner"
    list_filter = ("key",)
    list_display = ("model", "key", "value")
    search_fields = ("model__name", "key", "value")
    list_select_related = ("model",)
    fields = ("model", "key", "value")
    readonly_fields = fields


@admin.register(VersionTag)
class VersionTagAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """Every version tag, read only, scoped like the model tags."""

    owner_path = "version__model__owner"
    list_filter = ("key",)
    list_display = ("version", "key", "value")
    search_fields = ("version__model__name", "key", "value")
    list_select_related = ("version__model",)
    fields = ("version", "key", "value")
    readonly_fields = fields


@admin.register(RegisteredModel)
class RegisteredModelAdmin(VisibleModelsMixin, DeletesLogsAdmin):
    list_display = ("name", "owner", "visibility", "team", "n_versions", "updated_at")
    search_fields = ("name", "description", "owner__username", "tags__key", "tags__value")
    list_filter = ("visibility", "created_at")
    readonly_fields = ("visibility", "team", "created_at", "updated_at")
    inlines = (ModelTagInline, AliasInline, VersionInline)
    list_select_related = ("owner", "team")

    @admin.display(description="versions")
    def n_versions(self, obj: RegisteredModel) -> int:
        return obj.versions.count()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Alias:
            formset.save()
            return
        instances = formset.save(commit=False)
        with transaction.atomic():
            for obj in formset.deleted_objects:
                _alias_delete(request, obj)
            for alias in instances:
                _alias_save(request, alias)

    def delete_model(self, request: HttpRequest, obj: RegisteredModel) -> None:
        services.model_delete(model=obj, user=request.user, check_owner=False)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for model in queryset:
            self.delete_model(request, model)


class PredictForm(forms.Form):
    rows = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="JSON: a list of rows, each a list in feature order or an object by name, "
        'e.g. [{"feature": 1.5}].',
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(VisibleModelsMixin, DeletesLogsAdmin):
    visible_through = "model__"
    list_display = (
        "model",
        "version",
        "algorithm",
        "status",
        "progress",
        "headline_metric",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "algorithm", "created_at")
    search_fields = ("model__name", "algorithm", "dataset_name", "artifact_sha256")
    actions = ("cancel_trainings",)
    list_select_related = ("model", "created_by")
    inlines = (VersionTagInline,)
    readonly_fields = (
        "model",
        "version",
        "description",
        "note",
        "algorithm",
        "params",
        "dataset",
        "dataset_name",
        "dataset_sha256",
        "target",
        "features",
        "classes",
        "test_size",
        "seed",
        "status",
        "progress",
        "metrics",
        "error",
        "artifact_info",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "training_seconds",
        "predict_link",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions are made by training (the train page or the API)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # training writes versions; a ready version never changes

    # Like deleting a version, which whoever may delete versions can do to anyone's.
    @admin.action(description="Cancel the selected trainings", permissions=["delete"])
    def cancel_trainings(self, request: HttpRequest, queryset: Any) -> None:
        cancelled = 0
        for version in queryset.select_related("model"):
            try:
                services.version_cancel(version=version, user=request.user, check_owner=False)
                cancelled += 1
            except services.RegistryError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        self.message_user(request, f"Cancelled {cancelled} training{pluralize(cancelled)}.")

    def delete_model(self, request: HttpRequest, obj: ModelVersion) -> None:
        services.version_delete(version=obj, user=request.user, check_owner=False)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for version in queryset.select_related("model"):
            self.delete_model(request, version)

    @admin.display(description="headline")
    def headline_metric(self, obj: ModelVersion) -> str:
        headline = obj.headline
        return f"{headline[0]} {headline[1]:.3f}" if headline else "-"

    @admin.display(description="artifact")
    def artifact_info(self, obj: ModelVersion) -> str:
        if not obj.artifact_sha256:
            return "-"
        return f"{obj.artifact_size / 1024:.1f} KiB, sha256 {obj.artifact_sha256}"

    @admin.display(description="predict")
    def predict_link(self, obj: ModelVersion) -> str:
        if not obj.is_ready:
            return "-"
        url = reverse("admin:registry_modelversion_predict", args=[obj.pk])
        return format_html('<a href="{}">Predict with this version</a>', url)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/predict/",
                self.admin_site.admin_view(self.predict_view),
                name="registry_modelversion_predict",
            ),
            *super().get_urls(),
        ]

    def predict_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        from registry import serving
        from registry.services import RegistryError

        version = get_object_or_404(self.get_queryset(request).select_related("model"), pk=pk)
        # admin_view only checks staff status: the model permissions apply here too.
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        result, error = None, None
        form = PredictForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                # The API's reader: no NaN or Infinity, no NUL, nesting bounded (orjson).
                rows = serving.load_json(form.cleaned_data["rows"].encode())
                if not isinstance(rows, list):
                    raise ValueError('Give a JSON list of rows, e.g. [[1.5, "red"]].')
                served = serving.resolve(version.model.name, version=version.version)
                predicted = serving.predict(served, rows, user=request.user, source="admin")
                result = json.dumps(json.loads(serving.result_json(predicted)), indent=2)
            except ValueError as exc:
                error = (
                    f"Not valid JSON: {str(exc)[:200]}"
                    if isinstance(exc, json.JSONDecodeError)  # orjson's error is one
                    else str(exc)
                )
            except RegistryError as exc:
                error = exc.message
        context = {
            **self.admin_site.each_context(request),
            "title": f"Predict with {version}",
            "version": version,
            "form": form,
            "result": result,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/registry/predict.html", context)


@admin.register(Alias)
class AliasAdmin(VisibleModelsMixin, admin.ModelAdmin):
    visible_through = "model__"
    list_display = ("model", "name", "version", "updated_by", "updated_at")
    list_filter = ("name",)
    search_fields = ("model__name", "name")
    list_select_related = ("model", "version", "updated_by")
    # A rollout is set through the API or the model page (services.alias_rollout, recorded):
    # shown here only.
    readonly_fields = (
        "updated_by",
        "updated_at",
        "canary_version",
        "canary_percent",
        "shadow_version",
    )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "version":
            kwargs["queryset"] = _ready_versions(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Alias, form: Any, change: bool) -> None:
        _alias_save(request, obj)

    def delete_model(self, request: HttpRequest, obj: Alias) -> None:
        _alias_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for alias in queryset.select_related("model"):
            _alias_delete(request, alias)


@admin.register(AuditEntry)
class AuditEntryAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """The audit log (a version's threshold changes, through services.set_threshold): read
    only, whoever asks, since an entry is never edited or deleted except with its model."""

    list_display = (
        "created_at",
        "action",
        "model",
        "version",
        "dataset",
        "actor",
        "via",
        "before",
        "after",
    )
    list_filter = ("action", "via", "created_at")
    search_fields = ("model__name", "dataset__name", "actor__username", "action")
    list_select_related = ("model", "version", "dataset", "actor")
    fields = (
        "created_at",
        "action",
        "model",
        "version",
        "dataset",
        "actor",
        "via",
        "before",
        "after",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        # A dataset's entries (its visibility changes) are its owner's too.
        entries = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return entries
        return entries.filter(Q(model__owner=request.user) | Q(dataset__owner=request.user))


@admin.register(Evaluation)
class EvaluationAdmin(OwnRowsAdmin):
    """Evaluations are made on the model page or through the API (the plan is checked and
    the task queued there): here they are read, and deleted."""

    list_display = ("pk", "model", "owner", "dataset_name", "versions", "status", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("model__name", "owner__username", "dataset_name")
    list_select_related = ("model", "owner")
    readonly_fields = (
        "model",
        "owner",
        "dataset",
        "dataset_name",
        "dataset_sha256",
        "target",
        "versions",
        "status",
        "progress",
        "error",
        "summary",
        "created_at",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> Any:
        # The results (row indices, up to MBs) are read only by the one evaluation shown.
        return super().get_queryset(request).defer("results")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="results")
    def summary(self, obj: Evaluation) -> str:
        lines = []
        for number, result in (obj.results or {}).items():
            metrics = ", ".join(
                f"{k} {v:.4f}" for k, v in result.get("metrics", {}).items() if isinstance(v, float)
            )
            lines.append(
                f"v{number}: {result['n_scored']} of {result['n_rows']} rows scored; {metrics}"
            )
        return "\n".join(lines) or "-"


# Feedback, webhooks and alert rules (registry/alerts/) -------------------------------------


@admin.register(Feedback)
class FeedbackAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """True answers given for logged predictions (the feedback API): read only, those of
    the user's own models."""

    owner_path = "version__model__owner"
    list_display = ("predicted_at", "version", "request_id", "row", "label", "predicted")
    # Choices from the rows the user may see only: no other user's model or version named.
    list_filter = (
        ("version__model", admin.RelatedOnlyFieldListFilter),
        ("version", admin.RelatedOnlyFieldListFilter),
        "predicted_at",
    )
    search_fields = ("request_id",)
    list_select_related = ("version__model", "created_by")
    fields = (
        "version",
        "request_id",
        "row",
        "label",
        "predicted",
        "predicted_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OwnRowsAdmin, DeletesLogsAdmin):
    """A user's endpoints. Made on the webhooks page or through the API, where the URL is
    checked and the secret shown once: here one is switched off or on, described, sent a
    test event or deleted. The secret is never shown (not even encrypted)."""

    owner_path = "owner"
    list_display = ("pk", "url", "owner", "model", "event_names", "active", "created_at")
    list_filter = ("active", ("model", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("url", "description")
    list_select_related = ("owner", "model")
    actions = ("send_test_event",)
    readonly_fields = (
        "owner",
        "model",
        "url",
        "event_names",
        "secret",
        "created_at",
        "delivery_log",
    )
    fields = (*readonly_fields[:4], "description", "active", *readonly_fields[4:])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the secret is shown once, by the page or the API that makes it

    @admin.display(description="events")
    def event_names(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events or []) or "every event"

    @admin.display(description="secret")
    def secret(self, obj: WebhookEndpoint) -> str:
        return "kept encrypted; shown once, when the endpoint was made"

    @admin.display(description="deliveries")
    def delivery_log(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:registry_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">The delivery log</a>', url, obj.pk)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        # Only what the form changed (active, description): a concurrent edit elsewhere of
        # another field is not overwritten.
        obj.save(update_fields=[f for f in form.changed_data if f in ("active", "description")])

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        services.webhook_delete(endpoint=obj, user=request.user, check_owner=False)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    # The same service as the page's button; the rows are the user's own (get_queryset).
    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: Any) -> None:
        sent = 0
        for endpoint in queryset.select_related("model"):
            services.webhook_send_test(endpoint=endpoint, user=request.user, check_owner=False)
            sent += 1
        self.message_user(request, f"Queued {sent} test event{pluralize(sent)}.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """The delivery log: each event sent to an endpoint, its attempts and the endpoint's
    answer. Read only (pruned by the worker, deleted with its endpoint)."""

    owner_path = "endpoint__owner"
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "error",
    )
    list_filter = (
        ("endpoint", admin.RelatedOnlyFieldListFilter),
        "event",
        "status",
        "created_at",
    )
    search_fields = ("message_id", "event")
    list_select_related = ("endpoint",)
    fields = (
        "endpoint",
        "event",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "requeued_at",
        "response_status",
        "response_excerpt",
        "error",
        "payload",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields


@admin.register(AlertRule)
class AlertRuleAdmin(OwnRowsAdmin):
    """Alert rules of the user's models. Made on the model's Alerts page or through the API
    (where the kind's parameters are checked): here one is switched off or on, or deleted."""

    list_display = ("pk", "model", "kind", "params", "active", "state", "last_evaluated_at")
    list_filter = (("model", admin.RelatedOnlyFieldListFilter), "kind", "state", "active")
    search_fields = ("model__name", "kind")
    list_select_related = ("model",)
    readonly_fields = (
        "model",
        "kind",
        "params",
        "state",
        "last_value",
        "last_evaluated_at",
        "last_fired_at",
        "created_at",
    )
    fields = (*readonly_fields[:3], "active", *readonly_fields[3:])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a kind's parameters are checked by the Alerts page and the API

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        # Only the switch: the worker writes the state fields of the same row meanwhile.
        obj.save(update_fields=[f for f in form.changed_data if f == "active"])

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        services.alert_rule_delete(rule=obj, user=request.user, check_owner=False)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for rule in queryset.select_related("model"):
            self.delete_model(request, rule)


@admin.register(ApiToken)
class ApiTokenAdmin(OwnRowsAdmin):
    """API tokens are made on the Tokens page or with `create_api_token`, where the token is
    shown once; here they are read, renamed and revoked. Neither the token nor its hash is
    ever shown: only the lookup prefix. Staff who are not superusers see their own tokens."""

    list_display = (
        "name",
        "user",
        "starts_with",
        "scope_list",
        "model_list",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_from",
        "state",
    )
    list_filter = ("created_at", "expires_at", "revoked_at", "last_used_at")
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    actions = ("revoke",)
    readonly_fields = (
        "user",
        "starts_with",
        "scope_list",
        "model_list",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_from",
        "revoked_at",
    )
    fields = ("name", *readonly_fields)
    owner_path = "user"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a token is shown once, where it is made: the Tokens page or the command

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, not deleted: its record (and last use) stays

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        revoked = 0
        for token in queryset:
            try:
                revoked += tokens.token_revoke(token=token, user=request.user)
            except services.RegistryError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        self.message_user(
            request, f"Revoked {revoked} token{pluralize(revoked)}: they no longer work."
        )

    @admin.display(description="starts with")
    def starts_with(self, obj: ApiToken) -> str:
        return f"mls_{obj.prefix}_…"

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="models")
    def model_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.model_names) or "all"

    @admin.display(description="state")
    def state(self, obj: ApiToken) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "expired" if obj.is_expired else "active"


def _visible_models(request: HttpRequest) -> Any:
    models = RegisteredModel.objects.order_by("name")
    return models if request.user.is_superuser else models.filter(owner=request.user)


class PredictionModelFilter(admin.SimpleListFilter):
    """By model, offering only the models the user may read the log of. The choices come
    from the models table: RelatedOnlyFieldListFilter would read them with a DISTINCT over
    the whole log, which is the biggest table there is."""

    title = "model"
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in _visible_models(request).values_list("name", flat=True)]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(version__model__name=self.value()) if self.value() else queryset


class PredictionVersionFilter(admin.SimpleListFilter):
    """By version of the model chosen in PredictionModelFilter (shown once one is)."""

    title = "version"
    parameter_name = "version"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        name = request.GET.get(PredictionModelFilter.parameter_name)
        if not name:
            return []
        numbers = ModelVersion.objects.filter(
            model__in=_visible_models(request).filter(name=name)
        ).values_list("version", flat=True)
        return [(str(n), f"v{n}") for n in sorted(numbers, reverse=True)]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return (
            queryset.filter(version__version=int(value)) if value and value.isdigit() else queryset
        )


@admin.register(PredictionLog)
class PredictionLogAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """The prediction log (registry/monitoring/predlog.py writes it): read only. Staff who
    are not superusers read the rows of their own models only."""

    list_display = (
        "created_at",
        "model_name",
        "version_number",
        "role",
        "source",
        "status",
        "n_rows",
        "latency_ms",
        "user_id",
    )
    list_filter = (
        PredictionModelFilter,
        PredictionVersionFilter,
        "created_at",
        "source",
        "status",
        "role",
    )
    list_select_related = ("version__model",)
    # Rows are written in time order and created_at has no index of its own: the primary key
    # orders them, and a big log is not counted twice per page.
    ordering = ("-id",)
    show_full_result_count = False
    fields = (
        "created_at",
        "version",
        "role",
        "source",
        "status",
        "latency_ms",
        "n_rows",
        "user_id",
        "request_id",
        "inputs",
        "outputs",
        "error",
    )
    readonly_fields = fields
    owner_path = "version__model__owner"  # rows are pruned by age: prune_prediction_log

    @admin.display(description="model", ordering="version__model__name")
    def model_name(self, obj: PredictionLog) -> str:
        return obj.version.model.name

    @admin.display(description="version", ordering="version__version")
    def version_number(self, obj: PredictionLog) -> str:
        return f"v{obj.version.version}"


class TrialInline(admin.TabularInline):
    model = Trial
    fields = ("number", "algorithm", "params", "status", "reason", "attempts", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Leaderboard)
class LeaderboardAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """Leaderboards with their trials: read only (the leaderboard pages and the API start
    and cancel them)."""

    owner_path = "owner"
    list_display = ("pk", "owner", "dataset_name", "target", "metric", "status", "created_at")
    list_filter = ("status", "task", "created_at")
    search_fields = ("dataset_name", "target", "owner__username")
    list_select_related = ("owner",)
    inlines = (TrialInline,)


@admin.register(BatchJob)
class BatchJobAdmin(OwnRowsAdmin, ReadOnlyAdmin):
    """Background batch jobs (registry/batchjobs/): read only, their input and result bytes
    never shown; the jobs page and the API start and cancel them. Staff who are not
    superusers read their own only."""

    owner_path = "owner"
    list_display = (
        "id",
        "owner",
        "model_name",
        "version_number",
        "status",
        "rows_done",
        "rows_total",
        "created_at",
    )
    list_filter = ("status", "output_format", "created_at")
    search_fields = ("model_name", "input_name", "owner__username")
    list_select_related = ("owner",)
    fields = (
        "owner",
        "model_name",
        "version_number",
        "alias",
        "input_name",
        "input_bytes",
        "output_format",
        "status",
        "rows_done",
        "rows_total",
        "chunks_done",
        "chunks_total",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields
