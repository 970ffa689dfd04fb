"""Small template helpers for the pages: the current navigation section, sign-up, "ago"."""

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def metric_label(key: str | None) -> str:
    """A metric's name as the version page shows it ("R²", not "r2")."""
    from registry.web.presenters import metric_label as label  # the pages' one table

    return label(key or "")


SECTIONS = {
    "dashboard": "dashboard",
    "leaderboard_list": "leaderboards",
    "leaderboard_detail": "leaderboards",
    "leaderboard_create": "leaderboards",
    "model_list": "models",
    "model_detail": "models",
    "model_delete": "models",
    "version_compare": "models",
    "alias_move": "models",
    "alias_rollback": "models",
    "version_detail": "models",
    "version_predict": "models",
    "version_batch_predict": "models",
    "version_batch_job": "models",
    "batch_job_list": "batch_jobs",
    "version_delete": "models",
    "dataset_list": "datasets",
    "dataset_upload": "datasets",
    "dataset_detail": "datasets",
    "dataset_delete": "datasets",
    "train": "train",
    "token_list": "tokens",
    "webhook_list": "webhooks",
    "webhook_detail": "webhooks",
    "alert_rules": "models",
}


@register.filter
def section(url_name: str | None) -> str:
    """The navigation section a page belongs to (by its URL name)."""
    return SECTIONS.get(url_name or "", "")


@register.simple_tag
def allow_signup() -> bool:
    return bool(getattr(settings, "MLSERVE_ALLOW_SIGNUP", False))


@register.filter
def ago(value: datetime | None) -> str:
    """'just now', or Django's timesince followed by 'ago'."""
    if value is None:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"


@register.simple_tag(takes_context=True)
def dataset_label(context: template.Context, version: Any) -> str:
    """The name of the dataset a version was trained on, for its owner; datasets are private,
    so anyone else reads "a private dataset" (ModelVersion.dataset_visible_to)."""
    user = context.get("user")
    return version.dataset_name if version.dataset_visible_to(user) else "a private dataset"


@register.simple_tag
def error_summary(form: Any) -> list[dict[str, str]]:
    """Every error of a bound form (and of its sub-forms, such as the train form's
    hyperparameters) for the summary at its top: the message, and the field it links to."""
    if form is None or not getattr(form, "is_bound", False):
        return []
    items = [{"message": str(e), "label": "", "anchor": ""} for e in form.non_field_errors()]
    for each in [form, *getattr(form, "param_forms", [])]:
        if each is not form:
            items.extend(
                {"message": str(e), "label": "", "anchor": ""} for e in each.non_field_errors()
            )
        for field in each:
            # A radio or checkbox group has no id of its own: its first box stands for it.
            anchor = "" if field.is_hidden else field.id_for_label or f"{field.auto_id}_0"
            items.extend(
                {"message": str(e), "label": str(field.label), "anchor": anchor}
                for e in field.errors
            )
    return items


@register.filter
def thousands(value: int | None) -> str:
    """A whole number with thousands separators: 1,000,000."""
    return "" if value is None else f"{int(value):,}"
