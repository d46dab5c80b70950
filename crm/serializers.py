"""The project's serializer bases and shared fields.

Every serializer of every app derives from `Serializer` or `ModelSerializer`
below (tests/crm/test_strict_input.py fails on one that does not), so every
write, nested objects and list items included, refuses keys it does not
know: a 400 `unknown_field` per key, named by its path (`custom_field.0.foo`),
before anything is written. Keys of the resource's own representation that
the write does not take (`id`, `created_at`, `version`, `tenant_id`, `label`
objects...) are accepted and ignored, so a body read with GET can be sent
back with PUT: a serializer's own read-only fields, and the fields of
`representation`, the serializer the resource answers with when that is
another class (ContactWriteSerializer answers with ContactSerializer).
"""
from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty

from .models import ApiToken, Membership, Workspace

User = get_user_model()

MAX_ID = 2**63 - 1  # ids are bigint: a larger number is an error, not a miss


class StrictCharField(serializers.CharField):
    """A string, never a number or boolean coerced to one (DRF's CharField
    takes 0 as "0"): the wire format's wrong types are a 400 everywhere."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false, never 1, "yes" or "on" coerced to one (DRF's
    BooleanField takes those): the same policy as StrictCharField."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class IdsField(serializers.ListField):
    """A JSON list of ids (1..MAX_ID). A list of plain integers, the usual
    body of a bulk call, is checked in one pass (DRF's per-item IntegerField
    takes ~4 µs an id: 40 ms for 10,000); any other list goes item by item,
    so an error still names its item (`ids.3`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        super().__init__(**kwargs)

    def run_child_validation(self, data):
        if all(type(item) is int and 1 <= item <= MAX_ID for item in data):
            return list(data)
        return super().run_child_validation(data)


UNKNOWN_FIELD = "unknown_field"


def unknown_field_error(message: str = "Unknown field.") -> list:
    return [ErrorDetail(message, code=UNKNOWN_FIELD)]


class StrictInputMixin:
    """Refuses input keys the serializer does not know (see the module
    docstring). `representation`: the serializer class whose keys a
    GET answers with, when it is not this one; its keys are ignored."""

    representation: type | None = None
    _known_keys_cache: dict = {}

    def known_keys(self) -> frozenset:
        """The keys this write takes or ignores: its fields (read-only ones
        included) and the representation's."""
        keys = frozenset(self.fields)
        if self.representation is not None:
            cls = self.representation
            if cls not in StrictInputMixin._known_keys_cache:
                StrictInputMixin._known_keys_cache[cls] = frozenset(cls().fields)
            keys |= StrictInputMixin._known_keys_cache[cls]
        return keys

    def unknown_keys(self, data) -> dict:
        if not isinstance(data, Mapping):
            return {}
        known = self.known_keys()
        return {str(key): unknown_field_error() for key in data if key not in known}

    def to_internal_value(self, data):
        unknown = self.unknown_keys(data)
        if not unknown:
            return super().to_internal_value(data)
        try:
            super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                # the unknown keys first: the error's top-level code is unknown_field
                raise serializers.ValidationError({**unknown, **exc.detail}) from None
        raise serializers.ValidationError(unknown)


def refuse_body(data) -> None:
    """For a write that takes no body (DELETE, restore, rotate-secret...):
    every key sent is unknown; a body that is no object is a 400 too (an
    absent or empty body parses to {})."""
    if isinstance(data, Mapping):
        if data:
            raise serializers.ValidationError({str(key): unknown_field_error() for key in data})
    else:  # JSON null, a list, a number...: no request without a body parses to one
        raise serializers.ValidationError("This operation takes no body.", code=UNKNOWN_FIELD)


class Serializer(StrictInputMixin, serializers.Serializer):
    """The base of every plain serializer (unknown input keys are a 400)."""


class ModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    """The base of every model serializer (unknown input keys are a 400)."""


def has_nul(value) -> bool:
    """A NUL (\\u0000) in any key or string of a JSON value: PostgreSQL's text
    and jsonb cannot hold one (writing it was a 500)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _request_workspace_id(field):
    request = field.context.get("request")
    auth = getattr(request, "auth", None)
    return getattr(auth, "workspace_id", None)


class WorkspaceRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key that must name an object of the caller's workspace; any
    other id (unknown or another workspace's) is the same "does not exist"
    error, so foreign ids leak nothing. Users must be members. The id is read
    like every other id (an integer 1..MAX_ID, a numeric string accepted):
    PrimaryKeyRelatedField alone took "" as null and 1.5 as the id 1."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        # RelatedField reads "" as null (an HTML form's empty select); in JSON it is a wrong type
        if data == "":
            self.fail("incorrect_type", data_type="str")
        return super().run_validation(data)

    def get_queryset(self):
        queryset = super().get_queryset()
        workspace_id = _request_workspace_id(self)
        if queryset is None:
            return queryset
        if workspace_id is None:
            return queryset.none()
        if queryset.model is User:
            return queryset.filter(memberships__workspace_id=workspace_id)
        return queryset.filter(workspace_id=workspace_id)


class MemberField(WorkspaceRelatedField):
    """A user id that must be a member of the caller's workspace."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.all())
        super().__init__(**kwargs)


class WorkspaceModelSerializer(ModelSerializer):
    """ModelSerializer whose generated relation fields are workspace-scoped."""

    serializer_related_field = WorkspaceRelatedField
    # generated text and boolean fields take their JSON type only
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }


class UserSerializer(ModelSerializer):
    role = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "first_name", "last_name", "email", "role"]


class MemberCreateSerializer(Serializer):
    email = serializers.EmailField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="",
                                 help_text="Used only when the user is new.")
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="",
                                help_text="Used only when the user is new.")


class MemberUpdateSerializer(Serializer):
    representation = UserSerializer
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class WorkspaceSerializer(ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "default_phone_region", "created_at"]


class MeSerializer(Serializer):
    user = UserSerializer()
    workspace = WorkspaceSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class ApiTokenSerializer(ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    token_prefix = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "user_id", "token_prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = fields

    def get_token_prefix(self, token) -> str:
        return f"crm_{token.prefix}_"


class ApiTokenCreateSerializer(Serializer):
    name = StrictCharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    user_id = MemberField(
        required=False, help_text="The member the token is for (default: the caller). Admins issue tokens for members."
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret. Shown in this response only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ApiTokenSerializer.Meta.fields + ["token"]
        read_only_fields = fields


# The name some apps import: the one strict base above, not a second mechanism.
StrictInputSerializer = Serializer
