"""API tokens: `mls_<prefix>_<secret>`. The database keeps the prefix and a sha256 of the
whole token; checks use hmac.compare_digest. Verified tokens are cached per process for
TOKEN_TTL_S, so a revoked token stops working on every server within about a second
without costing a database round trip per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from registry.models import ApiToken
from registry.ttl import MISSING, TTLCache

TOKEN_TTL_S = 1.0
LAST_USED_RESOLUTION = timedelta(minutes=1)  # how stale "last used" may be, to spare writes
_PREFIX = "mls_"


@dataclass(frozen=True)
class Bearer:
    token_id: int
    user: AbstractBaseUser


_verified = TTLCache(TOKEN_TTL_S)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the record and the token text (shown once)."""
    name = (name or "").strip()[:100] or "API token"
    prefix = secrets.token_hex(4)
    token = f"{_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiToken.objects.create(user=user, name=name, prefix=prefix, token_hash=_hash(token))
    return record, token


def token_revoke(*, token: ApiToken, user: AbstractBaseUser) -> None:
    if token.user_id != user.pk and not user.is_superuser:
        from registry.services import Forbidden

        raise Forbidden("This token belongs to another user.")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _lookup(token: str) -> Bearer | None:
    parts = token.split("_")
    if len(parts) < 3 or not token.startswith(_PREFIX):
        return None
    record = (
        ApiToken.objects.filter(prefix=parts[1], revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if record is None or not record.user.is_active:
        return None
    if not hmac.compare_digest(record.token_hash, _hash(token)):
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    user = get_user_model()(
        pk=record.user.pk,
        username=record.user.get_username(),
        is_superuser=record.user.is_superuser,
        is_staff=record.user.is_staff,
        is_active=True,
    )
    return Bearer(token_id=record.pk, user=user)


def authenticate(token: str) -> Bearer | None:
    """The bearer of a valid, unrevoked token, or None."""
    if not token or len(token) > 200:
        return None
    hit = _verified.get(token)
    if hit is not MISSING:
        return hit
    bearer = _lookup(token)
    _verified.set(token, bearer)
    return bearer


def forget_tokens() -> None:
    _verified.clear()
