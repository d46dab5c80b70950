"""Provider status reports authenticate with the integration's HMAC
signature (the same scheme the webhook provider signs with), not a token."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .models import Integration
from .providers import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature


def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


class IntegrationSignatureAuthentication(authentication.BaseAuthentication):
    """request.auth becomes the Integration of the URL when the body is signed
    with its secret: HMAC-SHA256 over `<X-Crm-Timestamp>.<raw body>`."""

    def authenticate_header(self, request):
        return f'HMAC-SHA256 header="{SIGNATURE_HEADER}"'

    def authenticate(self, request):
        kwargs = (request.parser_context or {}).get("kwargs", {})
        integration = Integration.objects.filter(pk=kwargs.get("pk")).first()
        if integration is None:
            raise exceptions.NotFound("No such integration.")
        meta = request._request.META
        timestamp, signature = (
            meta.get(_meta_key(TIMESTAMP_HEADER)),
            meta.get(_meta_key(SIGNATURE_HEADER)),
        )
        if not verify_signature(integration.secret, timestamp, signature, request._request.body):
            raise exceptions.AuthenticationFailed(
                f"Missing, stale or invalid {SIGNATURE_HEADER}/{TIMESTAMP_HEADER} signature.",
                code="signature_invalid",
            )
        return None, integration


class IsSignedByIntegration(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Integration)


class IntegrationSignatureScheme(OpenApiAuthenticationExtension):
    target_class = IntegrationSignatureAuthentication
    name = "IntegrationSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": (
                f"`sha256=<hex HMAC-SHA256(secret, <{TIMESTAMP_HEADER}> + '.' + raw body)>`, with "
                f"`{TIMESTAMP_HEADER}` the unix time in seconds (within 5 minutes). The secret is the integration's."
            ),
        }
