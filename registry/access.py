"""Who may read what: the one home of the visibility rule (docs/access.md).

A model or a dataset is `private` (its owner only), `team` (its owner and the members of
its team) or `public` (everyone signed in). Superusers read everything; staff are ordinary
users here (the admin shows them only what they may read). Writes are another rule, the
owner's (selectors.can_change). Whatever a user may not read does not exist as far as they
can tell: lookups through these querysets answer 404, never 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from registry.models import Dataset, RegisteredModel, Team, Visibility


def _signed_in(user: Any) -> bool:
    return user is not None and user.is_authenticated


def visible_q(user: Any, prefix: str = "") -> Q:
    """The filter of the records (models or datasets; through `prefix`, e.g. "model__", of
    what points at them) `user` may read."""
    if not _signed_in(user):
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    teams = Team.members.through.objects.filter(user_id=user.pk).values("team_id")
    return (
        Q(**{f"{prefix}owner_id": user.pk})
        | Q(**{f"{prefix}visibility": Visibility.PUBLIC})
        | Q(**{f"{prefix}visibility": Visibility.TEAM, f"{prefix}team_id__in": teams})
    )


def visible_models(user: Any) -> QuerySet:
    """The models `user` may read (and predict with)."""
    return RegisteredModel.objects.filter(visible_q(user))


def visible_datasets(user: Any) -> QuerySet:
    """The datasets `user` may read (see and download; training needs one's own)."""
    return Dataset.objects.filter(visible_q(user))


def is_member(user: Any, team_id: int | None) -> bool:
    if team_id is None or not _signed_in(user):
        return False
    return Team.members.through.objects.filter(team_id=team_id, user_id=user.pk).exists()


def owns(user: Any, obj: Any) -> bool:
    """Whether `user` owns `obj` (anything with an owner_id). Some things only their owner
    may use, not even a superuser: a dataset to train on, a webhook endpoint outside the
    admin. The rule for changes is selectors.can_change (the owner or a superuser)."""
    return obj.owner_id == user.pk


def can_read(user: Any, obj: Any) -> bool:
    """Whether `user` may read `obj`: a model, a dataset, or anything with their owner_id,
    visibility and team_id (a served version). At most one query (a team's membership)."""
    if not _signed_in(user):
        return False
    if user.is_superuser or owns(user, obj) or obj.visibility == Visibility.PUBLIC:
        return True
    return obj.visibility == Visibility.TEAM and is_member(user, obj.team_id)
