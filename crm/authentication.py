from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from . import tokens
from .models import ApiToken
from .selectors import token_with_context

HEADER = "HTTP_X_ACCESS_TOKEN"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Reads `x-access-token: <token>`, `Authorization: Bearer <token>` or
    `Authorization: <token>` (the raw token, as seed 000 sends its API key).

    Absent header: None (DRF then answers 401 via authenticate_header).
    Present but malformed, unknown, expired, revoked, or the user is no
    longer a member: 401. On success request.auth is the ApiToken with
    `workspace`, `user` and `role` loaded in the same query.
    """

    keyword = "Bearer"

    def authenticate_header(self, request):
        return 'Bearer realm="api", x-access-token'

    def authenticate(self, request):
        raw = self._raw_token(request)
        if raw is None:
            return None
        parsed = tokens.parse(raw)
        if parsed is None:
            raise exceptions.AuthenticationFailed("Malformed API token.", code="token_malformed")
        prefix, secret = parsed
        token = token_with_context(prefix)
        if token is None or not tokens.matches(secret, token.digest):
            raise exceptions.AuthenticationFailed("Invalid API token.", code="token_invalid")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API token has been revoked.", code="token_revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API token has expired.", code="token_expired")
        if token.role is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is not a member of its workspace.", code="token_invalid")
        if token.last_used_at is None or now - token.last_used_at > settings.API_TOKEN_TOUCH_INTERVAL:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def _raw_token(self, request) -> str | None:
        value = request.META.get(HEADER)
        if value is not None:
            return value.strip()
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, credentials = header.strip().partition(" ")
        if not credentials.strip():
            # Seed 000's `authorization: API-KEY`: the raw token, no scheme
            return scheme
        if scheme.lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(
                "Use `Authorization: Bearer <token>`, `Authorization: <token>` or the `x-access-token` header.",
                code="token_malformed",
            )
        return credentials.strip()
