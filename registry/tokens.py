"""API tokens: `mls_<prefix>_<secret>`. The database keeps the prefix and a sha256 of the
whole token; checks use hmac.compare_digest. Verified tokens are cached per process for
TOKEN_TTL_S, so a revoked token stops working on every server within about a second
without costing a database round trip per request; an expiry is checked on every request,
cached or not.

A token carries scopes (TOKEN_SCOPES: which operation needs which is registry/api/auth.py's
table), an optional list of the models it may touch, and an optional expiry, bounded by
MLSERVE_TOKEN_MAX_DAYS. Its last use (time and client address) is written at most once per
MLSERVE_TOKEN_LAST_USED_INTERVAL_S, whichever server it is used on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from registry import access, selectors
from registry.errors import Forbidden, InvalidInput
from registry.models import NAME_RE, TOKEN_SCOPES, ApiToken
from registry.ttl import MISSING, TTLCache

TOKEN_TTL_S = 1.0
MAX_TOKEN_MODELS = 50  # model names one token may list
_PREFIX = "mls_"


@dataclass(frozen=True)
class Bearer:
    token_id: int
    user: AbstractBaseUser
    scopes: frozenset[str]
    models: frozenset[str]  # empty: every model the user may use
    expires_at: datetime | None

    def allows_model(self, name: str) -> bool:
        return not self.models or name in self.models


_verified = TTLCache(TOKEN_TTL_S)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def max_lifetime() -> timedelta | None:
    days = settings.MLSERVE_TOKEN_MAX_DAYS
    return timedelta(days=days) if days else None


def clean_scopes(scopes: Iterable[str] | None) -> list[str]:
    """`scopes` in TOKEN_SCOPES order; None: every scope."""
    if scopes is None:
        return list(TOKEN_SCOPES)
    chosen = set(scopes)
    unknown = sorted(chosen - set(TOKEN_SCOPES))
    if unknown:
        raise InvalidInput(
            f"Unknown scope {unknown[0][:50]!r}: use {', '.join(TOKEN_SCOPES)}.",
            {"scopes": "Unknown scope."},
        )
    if not chosen:
        raise InvalidInput("Give a token at least one scope.", {"scopes": "Pick at least one."})
    return [s for s in TOKEN_SCOPES if s in chosen]


def clean_model_names(names: Iterable[str] | None, user: AbstractBaseUser) -> list[str]:
    """Distinct names of models `user` may read (registry/access.py), sorted; at most
    MAX_TOKEN_MODELS of them. One they may not read is refused as one that does not exist."""
    cleaned: list[str] = []
    for name in names or ():
        name = name.strip()
        if name and name not in cleaned:
            cleaned.append(name)
        if len(cleaned) > MAX_TOKEN_MODELS:
            raise InvalidInput(
                f"A token may name at most {MAX_TOKEN_MODELS} models.",
                {"models": f"At most {MAX_TOKEN_MODELS}."},
            )
    for name in cleaned:
        if not re.match(NAME_RE, name):
            raise InvalidInput(f"{name[:100]!r} is not a model name.", {"models": "Not a name."})
    visible = access.visible_models(user).filter(name__in=cleaned)
    known = set(visible.values_list("name", flat=True))
    missing = [n for n in cleaned if n not in known]
    if missing:
        raise InvalidInput(
            f"There is no model named {missing[0]!r}.", {"models": f"No model {missing[0]}."}
        )
    return sorted(cleaned)


def clean_expiry(expires_at: datetime | None, *, now: datetime) -> datetime | None:
    """A future moment within MLSERVE_TOKEN_MAX_DAYS of `now`; None becomes that bound."""
    longest = max_lifetime()
    if expires_at is None:
        return now + longest if longest else None
    if expires_at <= now:
        raise InvalidInput("A token's expiry must be in the future.", {"expires": "In the past."})
    if longest and expires_at > now + longest:
        raise InvalidInput(
            f"A token may live at most {longest.days} days (MLSERVE_TOKEN_MAX_DAYS).",
            {"expires": f"At most {longest.days} days."},
        )
    return expires_at


def token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    scopes: Iterable[str] | None = None,
    models: Iterable[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the record and the token text (shown once).

    `scopes` None: every scope; `models` empty: every model `user` may use; `expires_at`
    None: the longest life MLSERVE_TOKEN_MAX_DAYS allows."""
    name = (name or "").strip()[:100] or "API token"
    fields = {
        "scopes": clean_scopes(scopes),
        "model_names": clean_model_names(models, user),
        "expires_at": clean_expiry(expires_at, now=timezone.now()),
    }
    prefix = secrets.token_hex(4)
    token = f"{_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, token_hash=_hash(token), **fields
    )
    return record, token


def token_revoke(*, token: ApiToken, user: AbstractBaseUser) -> bool:
    """Revoke `token` (refused for another user's, unless `user` is a superuser); False if it
    was revoked already. Other servers refuse it within TOKEN_TTL_S."""
    if not selectors.can_change(user, token):
        raise Forbidden("This token belongs to another user.")
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget_tokens()  # this process at once
    return bool(revoked)


def _record_use(record: ApiToken, now: datetime, address: str | None) -> None:
    """At most one write per token per interval, whichever process sees it: the update only
    matches a row whose last use is older than the interval."""
    interval = timedelta(seconds=settings.MLSERVE_TOKEN_LAST_USED_INTERVAL_S)
    if record.last_used_at is not None and now - record.last_used_at < interval:
        return  # no write needed: the row says so already
    try:
        address = str(ip_address(address)) if address else None
    except ValueError:
        address = None  # the column holds addresses only
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - interval)
    ApiToken.objects.filter(stale, pk=record.pk).update(last_used_at=now, last_used_from=address)


def _lookup(token: str, address: str | None) -> Bearer | None:
    parts = token.split("_")
    if len(parts) < 3 or not token.startswith(_PREFIX):
        return None
    now = timezone.now()
    record = (
        ApiToken.objects.filter(prefix=parts[1], revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("user")
        .first()
    )
    if record is None or not record.user.is_active:
        return None
    if not hmac.compare_digest(record.token_hash, _hash(token)):
        return None
    _record_use(record, now, address)
    user = get_user_model()(
        pk=record.user.pk,
        username=record.user.get_username(),
        is_superuser=record.user.is_superuser,
        is_staff=record.user.is_staff,
        is_active=True,
    )
    return Bearer(
        token_id=record.pk,
        user=user,
        scopes=frozenset(record.scopes or ()),
        models=frozenset(record.model_names or ()),
        expires_at=record.expires_at,
    )


def authenticate(token: str, *, address: str | None = None) -> Bearer | None:
    """The bearer of a valid, unrevoked, unexpired token, or None. `address`: the client's,
    recorded as the token's last use (at most once per MLSERVE_TOKEN_LAST_USED_INTERVAL_S)."""
    if not token or len(token) > 200:
        return None
    bearer = _verified.get(token)
    if bearer is MISSING:
        bearer = _lookup(token, address)
        _verified.set(token, bearer)
    if bearer is not None and bearer.expires_at is not None:
        if bearer.expires_at <= timezone.now():
            return None
    return bearer


def forget_tokens() -> None:
    _verified.clear()
