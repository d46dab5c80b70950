"""API token format: ``crm_<prefix>_<secret>``.

The prefix is public and indexed (lookup); the secret is 256 bits of
randomness, so an unsalted SHA-256 digest is enough to store it safely.
The recognisable ``crm_`` start lets secret scanners spot leaked tokens.
"""
import hashlib
import hmac
import re
import secrets

from django.conf import settings

_TOKEN_RE = re.compile(r"^(?P<prefix>[a-z0-9]{8})_(?P<secret>[A-Za-z0-9_-]{43})$")


def generate() -> tuple[str, str, str]:
    """Returns (plaintext token, prefix, digest)."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return f"{settings.API_TOKEN_PREFIX}{prefix}_{secret}", prefix, digest_of(secret)


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """Returns (prefix, secret) or None when the token is malformed."""
    if not token.startswith(settings.API_TOKEN_PREFIX):
        return None
    match = _TOKEN_RE.match(token[len(settings.API_TOKEN_PREFIX):])
    return (match["prefix"], match["secret"]) if match else None


def matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(digest_of(secret), digest)
