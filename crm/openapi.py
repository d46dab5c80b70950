"""OpenAPI: the x-access-token security scheme and the error responses."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from crm.operation_docs import OPERATIONS
from crm.serializers import Serializer

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description='The ETag of the version you read (`"<id>-<version>"`); 412 when the object changed since. '
                "Required (428 without it) when the server runs with REQUIRE_IF_MATCH=true.",
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Makes a retry safe (IETF draft Idempotency-Key): 1 to 255 visible ASCII characters, e.g. a UUID, "
                "scoped to the workspace and kept 24 hours. The first completed answer (2xx or 4xx) is stored; the "
                "same request again with the key gets it back with `Idempotent-Replayed: true` and nothing runs. "
                "409 `idempotency_key_in_use` while the first request runs; 422 `idempotency_key_reused` when the "
                "key was used for another method, path, body or caller; 400 `idempotency_key_invalid`.",
)
IDEMPOTENT_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm.authentication.ApiTokenAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "x-access-token",
            "description": "An API token (`crm_...`). `Authorization: Bearer <token>` and `Authorization: <token>` "
                           "are accepted too.",
        }


class ErrorItemSerializer(Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="Field (dotted path) of a validation error.")


class ErrorSerializer(Serializer):
    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    code = serializers.CharField(help_text="Machine code of the first error.")
    message = serializers.CharField(help_text="Human message of the first error.")
    errors = ErrorItemSerializer(many=True)


class CrmAutoSchema(AutoSchema):
    """Adds the error format to every operation's documented responses: 400 and
    429 everywhere, 401/403 behind a token, 404 on object routes and writes,
    413/415 with a body, 412 where an If-Match header is taken. Other statuses
    an operation answers (409, a 404 for an unknown name in the body) are
    declared by its view with an OpenApiResponse(ErrorSerializer, ...)."""

    def get_summary(self):
        docs = OPERATIONS.get(self.get_operation_id())
        return docs[0] if docs else super().get_summary()

    def get_description(self):
        """An operation's own words for integrators (crm.operation_docs), not the
        view's docstring, which is written for maintainers."""
        docs = OPERATIONS.get(self.get_operation_id())
        return docs[1] if docs else super().get_description()

    def get_override_parameters(self):
        """Writes of a versioned resource take If-Match (crm.viewsets); every
        unsafe request takes an Idempotency-Key (crm.idempotency)."""
        parameters = super().get_override_parameters()
        if self._idempotent() and not any(getattr(p, "name", None) == "Idempotency-Key" for p in parameters):
            parameters = [*parameters, IDEMPOTENCY_KEY]
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        versioned = model is not None and any(f.name == "version" for f in model._meta.concrete_fields)
        if versioned and self.method in ("PUT", "PATCH", "DELETE") and "{" in self.path and not any(
            getattr(p, "name", None) == "If-Match" for p in parameters
        ):
            parameters = [*parameters, IF_MATCH]
        return parameters

    def _idempotent(self) -> bool:
        from .idempotency import IdempotentMixin

        return self.method in IDEMPOTENT_METHODS and isinstance(self.view, IdempotentMixin)

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
        if any(getattr(p, "name", None) == "If-Match" for p in self.get_override_parameters()) and "412" not in responses:
            responses["412"] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description="`precondition_failed`: If-Match names another version."),
                "412",
            )
            responses["428"] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description="`precondition_required`: REQUIRE_IF_MATCH is on and "
                                                             "the request has no If-Match."),
                "428",
            )
        if self._idempotent():
            for code, text in (("409", "`idempotency_key_in_use`: a request with this Idempotency-Key is still running."),
                               ("422", "`idempotency_key_reused`: the Idempotency-Key was used for another request.")):
                if code in responses:  # the operation's own meaning of the status, then the key's
                    responses[code]["description"] = f"{responses[code]['description']} Or {text}"
                else:
                    responses[code] = self._get_response_for_code(OpenApiResponse(ErrorSerializer, description=text),
                                                                  code)
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return responses


def strict_request_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: every request body component is
    `additionalProperties: false`, as crm.serializers.StrictInputMixin makes
    the API answer (a 400 `unknown_field`), so schema-driven clients and
    fuzzers know an unknown key is invalid."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return result
