"""Secrets at rest: integration and webhook secrets are stored encrypted
with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`) under the keys of
SECRETS_KEYS (comma-separated; the first encrypts, every one decrypts:
MultiFernet). Rotation: put a new key first, keep the old ones after it,
run `manage.py rotate_secrets` (re-encrypts every stored secret with the
first key), then drop the old keys (docs/operations.md)."""
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("SECRETS_KEYS is empty: set at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured("SECRETS_KEYS holds a key that is not a Fernet key "
                                   "(32 url-safe base64-encoded bytes).") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SECRETS_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with SECRETS_KEYS "
                                   "(a key was dropped before rotate_secrets ran?).") from None


def rotate(token: str) -> str:
    """The same secret encrypted with the first key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python sees the plaintext. ""
    stays "" (no secret). Never filter on it: each encryption differs."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


def encrypted_fields():
    """(model, field) of every encrypted column, for rotate_secrets."""
    from django.apps import apps

    return [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)]
