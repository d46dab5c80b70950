"""The one place tenancy is enforced for the HTTP API, and the conditional
writes (ETag / If-Match) of every versioned resource.

Every viewset of every app derives from WorkspaceViewSet. Its get_queryset
filters the model by the token's workspace and cannot be overridden (the
class refuses it); a subclass narrows further in `scope_queryset`, which
receives the already-scoped queryset. Objects of another workspace are thus
invisible: a 404 on detail routes and custom actions, absent from lists.

Versioned resources (a `version` column: contacts, labels, tags, custom
fields, integrations, conversations) answer every single-object response
with `ETag: "<id>-<version>"`; writes pass `self.expected_version()` (from
If-Match) to their service, which compares it under a row lock: 412 when
stale, and with REQUIRE_IF_MATCH a 428 for an unconditional PATCH/PUT/DELETE.

Both bases (WorkspaceViewSet, and CrmAPIView for the few routes that are
not a workspace resource) take an Idempotency-Key on every unsafe request
(crm.idempotency.IdempotentMixin), claimed after the preconditions.
"""
import re

from django.conf import settings
from rest_framework import mixins, viewsets
from rest_framework.views import APIView

from .actors import Actor
from .errors import PreconditionFailed, PreconditionRequired
from .idempotency import IdempotentMixin
from .services import is_versioned

ETAG = re.compile(r'^(?:W/)?"(\d+)-(\d+)"$')
CONDITIONAL_METHODS = ("PUT", "PATCH", "DELETE")


def etag(pk, version) -> str:
    return f'"{pk}-{version}"'


class CrmAPIView(IdempotentMixin, APIView):
    """Base of an API view that is not a workspace resource (members, a
    provider's signed callback, sendNotification): the Idempotency-Key."""


class WorkspaceViewSet(IdempotentMixin, viewsets.GenericViewSet):
    workspace_field = "workspace"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Resolved through the MRO, so a mixin listed before this class cannot bypass it either.
        if cls.get_queryset is not WorkspaceViewSet.get_queryset:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); override scope_queryset(queryset) "
                "instead so workspace scoping cannot be lost."
            )

    # -- tenancy ----------------------------------------------------------
    @property
    def workspace(self):
        return self.request.auth.workspace

    @property
    def membership_role(self) -> str:
        return self.request.auth.role

    @property
    def actor(self) -> Actor:
        """Who the request acts as: the token's member, with their role."""
        return Actor.from_token(self.request.auth)

    def get_queryset(self):
        queryset = self.queryset.all()
        if getattr(self, "swagger_fake_view", False) or self.request.auth is None:
            return queryset.none()
        queryset = queryset.filter(**{f"{self.workspace_field}_id": self.request.auth.workspace_id})
        return self.scope_queryset(queryset)

    def scope_queryset(self, queryset):
        """Hook: narrow the workspace-scoped queryset (visibility, select_related...)."""
        return queryset

    # -- conditional writes -------------------------------------------------
    def check_preconditions(self, request, *args, **kwargs):
        # The precondition is checked before the body: a 428/412 never waits for a valid payload,
        # and claims no Idempotency-Key.
        model = getattr(self.queryset, "model", None)
        if (request.method in CONDITIONAL_METHODS and (self.lookup_url_kwarg or self.lookup_field) in kwargs
                and model is not None and is_versioned(model)):
            self.expected_version()

    def expected_version(self) -> int | None:
        """The version If-Match names for this object: None without the header
        (or with `*`), 412 when it names no version of this object, 428 for an
        unconditional PATCH/PUT/DELETE when REQUIRE_IF_MATCH is on."""
        if not hasattr(self, "_expected_version"):
            self._expected_version = self._if_match_version()
        return self._expected_version

    def _if_match_version(self) -> int | None:
        header = self.request.headers.get("If-Match")
        if header is None:
            if settings.REQUIRE_IF_MATCH and self.request.method in CONDITIONAL_METHODS:
                raise PreconditionRequired()
            return None
        if header.strip() == "*":
            return None
        pk = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))
        for tag in header.split(","):
            match = ETAG.match(tag.strip())
            if match and match.group(1) == pk:
                return int(match.group(2))
        raise PreconditionFailed()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if 200 <= response.status_code < 300 and isinstance(data, dict) and "version" in data and "id" in data:
            response["ETag"] = etag(data["id"], data["version"])
        return response


class WorkspaceModelViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet,
):
    """CRUD over a workspace-scoped model. Resources override perform_create,
    perform_update and perform_destroy to call their services with
    `actor=self.actor` (and `expected_version=self.expected_version()`)."""
