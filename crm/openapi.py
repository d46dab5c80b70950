"""OpenAPI: the x-access-token security scheme and the error responses."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm.authentication.ApiTokenAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "x-access-token",
            "description": "An API token (`crm_...`). `Authorization: Bearer <token>` is accepted too.",
        }


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="Field (dotted path) of a validation error.")


class ErrorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    code = serializers.CharField(help_text="Machine code of the first error.")
    message = serializers.CharField(help_text="Human message of the first error.")
    errors = ErrorItemSerializer(many=True)


class CrmAutoSchema(AutoSchema):
    """Adds the error format to every operation's documented responses."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response":
            return responses
        codes = ["400", "429"]
        if self.view.get_authenticators():
            codes += ["401", "403"]
        if self.method in ("PUT", "PATCH", "DELETE") or "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return responses
