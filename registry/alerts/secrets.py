"""Webhook endpoint secrets: made here, shown once, kept encrypted.

Signing a delivery needs the secret itself (a hash would not do), so the database keeps it
encrypted with Fernet (AES with an HMAC, from `cryptography`) under a key derived from
MLSERVE_WEBHOOK_KEY, or from DJANGO_SECRET_KEY when that is not set. A copy of the database
alone then gives no one the secrets.
"""

from __future__ import annotations

import base64
import functools
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"  # the Standard Webhooks form: "whsec_" + base64 of the key bytes
KEY_BYTES = 32


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another key (the setting changed)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_bytes(secret: str) -> bytes:
    """The HMAC key a "whsec_..." secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


@functools.cache
def _fernet(master: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mlserve webhook secrets"
    ).derive(master.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _master() -> str:
    return settings.MLSERVE_WEBHOOK_KEY or settings.SECRET_KEY


def encrypt(secret: str) -> str:
    return _fernet(_master()).encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_master()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The endpoint's secret cannot be read with the current MLSERVE_WEBHOOK_KEY (or "
            "DJANGO_SECRET_KEY): it was changed. Delete the endpoint and create it again."
        ) from None
