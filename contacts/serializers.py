"""Wire shapes of contacts.

Reading: `ContactRenderer` builds the response dicts directly from the model
rows and one batch of related data per page (contacts.selectors.page_relations):
no per-row queries and no per-field serializer objects, which measured ~2x
DRF's usual cost here. `ContactSerializer` describes the same shape for the
OpenAPI schema (a test keeps the two in step).

Writing: the serializers below only turn JSON into typed values (strings,
integer ids, lists, objects, booleans) and the wire's conventions into the
services' (an id of 0 means none, aliases, custom_field + c_field). Every
rule (lengths, trimming, enums in any case, phones, emails, references,
visibility) is in contacts.services, which the CSV import and the admin
call too. Read-only fields sent by a client (`id`, `tenant_id`,
`created_at`, `version`, `label`, `owner_details`, `view_only`...) are
ignored, so a body read from GET can be sent back as is.
"""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.aliases import SeedAliases, rename
from crm.errors import field_error
from crm.serializers import MAX_ID, IdsField, StrictBooleanField, StrictCharField, StrictInputSerializer, no_nul_in_json

from .models import Contact, ContactView, CustomFieldDefinition
from .services import access
from .services.rules import ENUMS, MAX_ITEMS, MAX_LENGTH, CustomFieldValue


# -- reading -----------------------------------------------------------------
class LabelBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    icon = serializers.CharField()


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    contact = serializers.CharField()
    role = serializers.CharField(help_text="Workspace role: admin or member.")
    status = serializers.CharField(help_text="active or inactive.")


class ContactBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    surname = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()


class CustomFieldValueSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Definition code, like D-0000013.")
    label = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    value = serializers.JSONField(required=False, allow_null=True, validators=[no_nul_in_json],
                                  help_text='"" or null clears the value.')
    module = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    shortName = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class ActorBriefSerializer(serializers.Serializer):
    """Who created or last changed a contact (seed 004's creator / editor), as they were then."""

    id = serializers.IntegerField(allow_null=True, help_text=(
        "The user's id (admin, member), the import job's (import), the integration's (integration); null (system)."))
    name = serializers.CharField()
    email = serializers.CharField(help_text="The user's (an import's: who started it); empty for the others.")
    type = serializers.ChoiceField(choices=["admin", "member", "import", "integration", "system"])


class ContactSerializer(serializers.Serializer):
    """A contact as every endpoint returns it (seed 003 ContactSaveDto plus the
    client-contact and client fields). `columns` narrows the keys of list items."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=Contact.Type.choices)
    name = serializers.CharField()
    surname = serializers.CharField()
    local_name = serializers.CharField()
    email = serializers.CharField()
    country_code = serializers.CharField()
    phone = serializers.CharField(help_text="E.164")
    secondary_phone = serializers.CharField(help_text="E.164")
    address = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    code = serializers.CharField()
    title = serializers.CharField()
    note = serializers.CharField()
    logo = serializers.CharField()
    label_id = serializers.IntegerField(allow_null=True)
    label = LabelBriefSerializer(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    stage_id = serializers.IntegerField(allow_null=True)
    external_client_id = serializers.CharField(allow_null=True)
    default_agent_id = serializers.IntegerField(allow_null=True)
    owner_id = serializers.IntegerField(allow_null=True)
    owner_details = UserBriefSerializer(allow_null=True)
    sub_owner_ids = serializers.ListField(child=serializers.IntegerField())
    sub_owner_details = UserBriefSerializer(many=True)
    visibility_type = serializers.ChoiceField(choices=Contact.Visibility.choices)
    visibility_ids = serializers.ListField(child=serializers.IntegerField())
    organization_id = serializers.IntegerField(allow_null=True)
    organization = ContactBriefSerializer(allow_null=True, help_text="Null when the caller may not see it.")
    persons = ContactBriefSerializer(
        many=True, help_text="An organization's active persons the caller may see, the first 100 by id "
                  "(GET /contacts?organization_id= lists all)."
    )
    custom_field = CustomFieldValueSerializer(many=True)
    c_field = serializers.DictField(child=serializers.JSONField(), help_text="{shortName: value} of every definition.")
    integration_meta = serializers.DictField()
    disabled = serializers.BooleanField()
    media = serializers.ListField(child=serializers.URLField(), help_text="http(s) URLs of media files (seed 004).")
    cover_photo = serializers.CharField(help_text="An http(s) URL, or empty (seed 004).")
    company_namespace = serializers.ListField(child=serializers.CharField(),
                                              help_text="Company namespaces the contact belongs to (seed 004).")
    tenant_id = serializers.IntegerField(help_text="The workspace id.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(allow_null=True)
    updated_by = serializers.IntegerField(allow_null=True)
    creator = ActorBriefSerializer(allow_null=True, help_text="Who created the contact (read-only).")
    editor = ActorBriefSerializer(allow_null=True, help_text="Who changed the contact last (read-only).")
    deleted_at = serializers.DateTimeField(allow_null=True, help_text="Set when archived.")
    archived_by = serializers.CharField(help_text="User id or SYSTEM; empty unless archived.")
    merged_into_id = serializers.IntegerField(
        allow_null=True, help_text="Set when this contact was merged into another (it is archived): where it went."
    )
    version = serializers.IntegerField(help_text="Increases by one on every write; the ETag.")
    view_only = serializers.BooleanField(help_text="True when the caller may read but not edit.")


CONTACT_KEYS = tuple(ContactSerializer._declared_fields)


class ContactListItemSerializer(ContactSerializer):
    """A contact of GET /contacts: every key of Contact, or only the keys `columns` names."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields

# Which batch loads (selectors.page_relations) each output key needs.
_NEEDS = {
    "tags": {"tags"},
    "sub_owner_ids": {"sub_owners"},
    "sub_owner_details": {"sub_owners", "users"},
    "persons": {"persons"},
    "organization": {"organizations"},
    "custom_field": {"custom_fields"},
    "c_field": {"custom_fields"},
}


def relations_needed(keys, *, actor) -> set[str]:
    need = set()
    for key in keys:
        need |= _NEEDS.get(key, set())
    if "view_only" in keys and actor.restricted:
        need.add("sub_owners")
    return need


class ContactRenderer:
    def __init__(self, *, relations, actor, keys=CONTACT_KEYS):
        self.relations = relations
        self.actor = actor
        self.keys = keys
        self.full = tuple(keys) == CONTACT_KEYS

    def render_many(self, contacts) -> list[dict]:
        return [self.render(c) for c in contacts]

    def render(self, c) -> dict:
        """`c` is a contacts.selectors.contact_rows() row."""
        rel = self.relations
        pk = c.id
        sub_owner_ids = rel.sub_owner_ids.get(pk, [])
        users = rel.users
        values = c.custom_fields or {}
        editable = access.can_edit(
            self.actor, visibility_type=c.visibility_type, owner_id=c.owner_id, sub_owner_ids=sub_owner_ids
        )
        row = {
            "id": pk,
            "type": c.type,
            "name": c.name,
            "surname": c.surname,
            "local_name": c.local_name,
            "email": c.email,
            "country_code": c.country_code,
            "phone": c.phone,
            "secondary_phone": c.secondary_phone,
            "address": c.address,
            "city": c.city,
            "country": c.country,
            "code": c.code,
            "title": c.title,
            "note": c.note,
            "logo": c.logo,
            "label_id": c.label_id,
            "label": {
                "id": c.label_id, "name": c.label__name, "color": c.label__color, "icon": c.label__icon,
            } if c.label_id else None,
            "tags": getattr(c, "tag_values", None) or rel.tags.get(pk, []),
            "stage_id": c.stage_id,
            "external_client_id": c.external_client_id,
            "default_agent_id": c.default_agent_id,
            "owner_id": c.owner_id,
            "owner_details": {
                "id": c.owner_id, "first_name": c.owner__first_name, "last_name": c.owner__last_name,
                "email": c.owner__email, "contact": "", "role": c.owner_role,
                "status": "active" if c.owner__is_active else "inactive",
            } if c.owner_role else None,
            "sub_owner_ids": sub_owner_ids,
            "sub_owner_details": [users[u] for u in sub_owner_ids if u in users],
            "visibility_type": c.visibility_type,
            "visibility_ids": c.visibility_ids or [],
            "organization_id": c.organization_id,
            "organization": {
                "id": c.organization_id, "name": c.organization__name, "surname": c.organization__surname,
                "email": c.organization__email, "phone": c.organization__phone,
            } if c.organization_id and c.organization_id not in rel.hidden_organizations else None,
            "persons": rel.persons.get(pk, []),
            "custom_field": [
                {"code": d["code"], "label": d["label"], "value": values[d["code"]], "module": d["module"],
                 "shortName": d["short_name"]}
                for d in rel.definitions if d["code"] in values
            ],
            "c_field": {d["short_name"]: values.get(d["code"], "") for d in rel.definitions},
            "integration_meta": c.integration_meta or {},
            "disabled": c.disabled,
            "media": c.media or [],
            "cover_photo": c.cover_photo,
            "company_namespace": c.company_namespace or [],
            "tenant_id": c.workspace_id,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "created_by": c.created_by_id,
            "updated_by": c.updated_by_id,
            "creator": c.creator,
            "editor": c.editor,
            "deleted_at": c.deleted_at,
            "archived_by": c.archived_by,
            "merged_into_id": c.merged_into_id,
            "version": c.version,
            "view_only": not editable,
        }
        if self.full:
            return row
        return {key: row[key] for key in self.keys}


# -- writing -----------------------------------------------------------------
@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "nullable": True,
                      "description": "A list of ids (a comma-separated string is accepted too)."})
class IdListField(serializers.Field):
    """A list of ids, or a comma-separated string of them (seed 003 types
    sub_owner_ids and visibility_ids as string)."""

    default_error_messages = {"invalid": "Expected a list of integer ids."}

    def to_internal_value(self, data):
        if data is None or data == "":
            return []
        if isinstance(data, str):
            data = [part.strip() for part in data.split(",") if part.strip()]
        if not isinstance(data, list):
            self.fail("invalid")
        result = []
        for item in data:
            if isinstance(item, bool) or (isinstance(item, float) and not item.is_integer()):
                self.fail("invalid")  # int(1.5) would pass 1
            try:
                number = int(item)
            except (TypeError, ValueError):
                self.fail("invalid")
            if not 1 <= number <= MAX_ID:
                self.fail("invalid")
            result.append(number)
        return result

    def to_representation(self, value):
        return value


class IdField(serializers.IntegerField):
    """An id; 0 and null both mean none (the Deskera zero value), given to
    the services as None."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        return super().run_validation(data) or None


def _text(name: str, **kwargs) -> StrictCharField:
    """A string as sent (the services trim and bound it: one rule set for the
    API, imports and the admin); the schema still says how long it may be."""
    field = StrictCharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False, **kwargs)
    field._spectacular_annotation = {"field": {
        "type": "string", "nullable": True, "maxLength": MAX_LENGTH[name],
        **({"description": kwargs["help_text"]} if "help_text" in kwargs else {}),
    }}
    return field


def _enum(name: str, **kwargs) -> StrictCharField:
    values = ENUMS[name].values
    # "" too: the rules decide (the default for visibility_type, invalid_choice for type)
    field = StrictCharField(required=False, allow_blank=True, allow_null=name == "visibility_type", **kwargs)
    field._spectacular_annotation = {"field": {
        "type": "string", "enum": values, "description": f"One of {', '.join(values)} (any case).",
    }}
    return field


def _strings(name: str, child_max: int | None = None, **kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(trim_whitespace=False, allow_blank=True, max_length=child_max),
        required=False, allow_null=True, max_length=MAX_ITEMS[name], **kwargs,
    )


class CustomFieldInputSerializer(serializers.Serializer):
    """A custom_field item: the definition by `code` or `shortName`, and its
    value. `label` and `module` are read-only (a GET's item can be sent back)."""

    code = StrictCharField(required=False, help_text="Definition code, like D-0000013.")
    shortName = StrictCharField(required=False, help_text="The definition's shortName (instead of code).")
    value = serializers.JSONField(required=False, allow_null=True, validators=[no_nul_in_json],
                                  help_text='"" or null clears the value.')
    label = serializers.CharField(required=False, allow_blank=True, allow_null=True, read_only=True)
    module = serializers.CharField(required=False, allow_blank=True, allow_null=True, read_only=True)

    def validate(self, attrs):
        if not attrs.get("code") and not attrs.get("shortName"):
            raise serializers.ValidationError({"code": ["Give code or shortName."]}, code="required")
        return attrs


# The seeds' names of contact fields (crm.aliases): seed 004 (client contacts),
# seed 000 (clients, camelCase), and the read-only keys of their representations.
CONTACT_ALIASES = {
    "phone1": "phone", "phone2": "secondary_phone", "extra_info": "note",
    "externalClientId": "external_client_id", "defaultAgentId": "default_agent_id", "stageId": "stage_id",
    "_id": "id", "createdAt": "created_at", "updatedAt": "updated_at", "deletedAt": "deleted_at",
    "archivedBy": "archived_by", "__v": "version",
}


class ContactWriteSerializer(SeedAliases, serializers.Serializer):
    """Body of POST /contacts, PATCH and PUT /contacts/{id} and PUT /contacts/upsert.

    All fields optional (PUT resets omitted ones, owner_id excepted). The
    seeds' names are accepted too (see the aliases below and docs/api.md);
    `workspaceId`, when given, must be the token's workspace (else 404).
    Read-only fields are ignored."""

    aliases = CONTACT_ALIASES

    type = _enum("type")
    name = _text("name")
    surname = _text("surname")
    local_name = _text("local_name")
    email = _text("email")
    country_code = _text("country_code", help_text='Calling code used to parse `phone`, e.g. "+91".')
    phone = _text("phone", help_text="Any format; stored in E.164 (parsed with country_code, else the workspace region).")
    secondary_phone = _text("secondary_phone")
    address = _text("address")
    city = _text("city")
    country = _text("country")
    code = _text("code")
    title = _text("title")
    note = _text("note")
    logo = _text("logo")
    label_id = IdField(help_text="Omitted, 0 or null on create: the workspace's default label.")
    tags = _strings("tags", help_text="Tag values (type client or common); unknown ones are created as client tags.")
    stage_id = IdField(help_text="A clientStage tag id.")
    stage = _text("stage", help_text="A clientStage tag by name (seed 000), created when absent; "
                                     "with stage_id, both must name the same tag.")
    external_client_id = _text("external_client_id", help_text="Unique in the workspace when set.")
    default_agent_id = IdField(help_text="A workspace member.")
    owner_id = IdField(help_text="A workspace member; on create defaults to the caller.")
    sub_owner_ids = IdListField(required=False, allow_null=True, help_text="Workspace members.")
    visibility_type = _enum("visibility_type")
    visibility_ids = IdListField(required=False, allow_null=True)
    organization_id = IdField(help_text="An organization contact of the workspace.")
    organization_name = _text("organization_name", help_text=(
        "Seed 003: links the contact to the organization of this name (case-insensitive, one you may see), "
        "created when absent; with organization_id, both must name the same organization."))
    person_ids = IdListField(required=False, allow_null=True, help_text="Organization only: existing persons to attach.")
    person_names = _strings("person_names", help_text="Organization only: persons to create by name.")
    custom_field = serializers.ListField(child=CustomFieldInputSerializer(), required=False, allow_null=True)
    c_field = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False, allow_null=True,
                                    validators=[no_nul_in_json],
                                    help_text="{shortName: value}, an alternative to custom_field.")
    integration_meta = serializers.DictField(required=False, allow_null=True, validators=[no_nul_in_json])
    disabled = StrictBooleanField(required=False)
    media = _strings("media", help_text="http(s) URLs of media files (seed 004); repeats are dropped.")
    cover_photo = _text("cover_photo", help_text="An http(s) URL (seed 004).")
    company_namespace = _strings("company_namespace", help_text="Company namespaces (seed 004); filterable.")

    def validated_values(self) -> dict:
        """The services' typed keyword arguments (contacts.services.ContactValues)."""
        values = dict(self.validated_data)
        items = values.pop("custom_field", None)
        c_field = values.pop("c_field", None)
        if items is not None or c_field is not None:
            values["custom_fields"] = [
                *(CustomFieldValue(i.get("code") or i["shortName"], i.get("value"), "custom_field") for i in items or ()),
                *(CustomFieldValue(key, value, "c_field") for key, value in (c_field or {}).items()),
            ]
        return values


class ContactUpsertSerializer(ContactWriteSerializer):
    external_client_id = StrictCharField(max_length=MAX_LENGTH["external_client_id"],
                                         help_text="Required: the key of the upsert.")


UNCHANGED = object()


class BulkIdField(IdField):
    """A bulk update's id field: 0 (like absent) leaves the field as it is,
    null clears it (the default label for label_id)."""

    def run_validation(self, data=serializers.empty):
        number = serializers.IntegerField.run_validation(self, data)
        return UNCHANGED if number == 0 else number


class ContactBulkUpdateSerializer(serializers.Serializer):
    """Seed 003 BulkUpdateContact plus stage and tag changes. An id field
    omitted or 0 leaves it unchanged; owner_id/stage_id null clear it."""

    ids = IdsField(min_length=1, max_length=10_000)
    label_id = BulkIdField()
    owner_id = BulkIdField()
    visibility_type = _enum("visibility_type")
    visibility_ids = IdListField(required=False, allow_null=True)
    stage_id = BulkIdField()
    tags_add = _strings("tags")
    tags_remove = _strings("tags")

    def validated_changes(self) -> tuple[list[int], dict]:
        """(ids, contacts.services.bulk.BulkChanges): an id field of 0 is left
        out (unchanged), null kept (clear); a null list or type is no change."""
        changes = dict(self.validated_data)
        ids = changes.pop("ids")
        for name in list(changes):
            value = changes[name]
            if value is UNCHANGED or (value is None and name not in ("label_id", "owner_id", "stage_id")):
                del changes[name]
        return ids, changes


class ContactBulkUpdateResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class ContactMultipleSerializer(serializers.Serializer):
    contact_ids = IdsField(max_length=1000, allow_empty=True)


# -- batches -----------------------------------------------------------------
class ContactBatchItemSerializer(serializers.Serializer):
    """One item of POST /contacts/batch (documentation: items are read by
    ContactBatchSerializer.validated_items, a DRF serializer per item costs
    ~0.7 ms, more than the batch's whole write). The values are checked by
    the contact rule set, as a single write's are."""

    id = serializers.IntegerField(required=False, help_text="update and archive: the contact (archive: only key).")
    type = _enum("type")
    name = _text("name")
    surname = _text("surname")
    local_name = _text("local_name")
    email = _text("email")
    country_code = _text("country_code")
    phone = _text("phone", help_text="Any format; stored in E.164.")
    secondary_phone = _text("secondary_phone")
    address = _text("address")
    city = _text("city")
    country = _text("country")
    code = _text("code")
    title = _text("title")
    note = _text("note")
    external_client_id = _text("external_client_id")
    visibility_type = _enum("visibility_type")
    label_id = IdField()
    stage_id = IdField()
    owner_id = IdField()
    tags = _strings("tags", help_text="Replaces the contact's tags (unknown ones are created as client tags).")


# Keys of a contact as read that a batch item may carry back and that are ignored.
_BATCH_READ_ONLY = frozenset({
    "label", "owner_details", "sub_owner_details", "organization", "persons", "tenant_id", "created_at",
    "updated_at", "created_by", "updated_by", "deleted_at", "archived_by", "merged_into_id", "version", "view_only",
})
_BATCH_ID_FIELDS = ("label_id", "stage_id", "owner_id")


@extend_schema_field(ContactBatchItemSerializer(many=True))
class BatchItemsField(serializers.ListField):
    child = serializers.DictField()


class ContactBatchSerializer(StrictInputSerializer):
    """Body of POST /contacts/batch."""

    action = serializers.ChoiceField(choices=["create", "upsert", "update", "archive"])
    items = BatchItemsField(min_length=1, max_length=1000, help_text="Up to 1,000 contacts.")
    all_or_nothing = StrictBooleanField(required=False, default=False,
                                        help_text="true: one failing item fails the batch (422), nothing written.")
    match_on = serializers.ListField(
        child=serializers.ChoiceField(choices=["external_client_id", "email", "phone"]), required=False,
        allow_empty=False, max_length=3,
        help_text="upsert: the keys an item matches an existing contact by, in order (default external_client_id). "
                  "email case-insensitive, phone in E.164; matching two contacts is an `ambiguous_match` error.",
    )


    def validated_items(self) -> list[dict]:
        """Each item with the wire's conventions turned into the services'
        (aliases, an id of 0 is none, read-only keys dropped); types and
        values are the rule set's to check."""
        keep_id = self.validated_data["action"] in ("update", "archive")
        out = []
        for n, item in enumerate(self.validated_data["items"]):
            item, conflicts = rename(item, CONTACT_ALIASES)
            if conflicts:
                alias, error = next(iter(conflicts.items()))
                raise field_error(f"items.{n}.{alias}", str(error), code=error.code)
            values = {}
            for key, value in item.items():
                if key in _BATCH_READ_ONLY or (key == "id" and not keep_id):
                    continue
                if key in _BATCH_ID_FIELDS and value == 0 and type(value) is int:
                    value = None
                values[key] = value
            out.append(values)
        return out


class BatchErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class ContactBatchResultItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `items`.")
    status = serializers.ChoiceField(choices=["created", "updated", "archived", "error", "not_written"])
    id = serializers.IntegerField(allow_null=True)
    errors = BatchErrorSerializer(many=True)


class ContactBatchResultSerializer(serializers.Serializer):
    results = ContactBatchResultItemSerializer(many=True, help_text="One per item, in input order.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()


# -- custom field definitions ----------------------------------------------
class CustomFieldDefinitionSerializer(serializers.ModelSerializer):
    label = StrictCharField(max_length=100)
    shortName = StrictCharField(source="short_name", max_length=100, required=False, allow_blank=True)
    # An enum in the schema (CustomFieldTypeEnum in ENUM_NAME_OVERRIDES).
    type = serializers.ChoiceField(
        choices=CustomFieldDefinition.Type.choices, required=False, help_text="Default text.",
        error_messages={"invalid_choice": f'"{{input}}" is not a valid choice ({", ".join(CustomFieldDefinition.Type.values)}).'},
    )
    options = serializers.ListField(child=StrictCharField(max_length=200), required=False, max_length=500)
    module = StrictCharField(max_length=50, required=False, allow_blank=True, allow_null=True)

    class Meta:
        model = CustomFieldDefinition
        fields = ["id", "code", "label", "shortName", "type", "options", "module", "version", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "code", "version", "created_at", "updated_at"]



# -- duplicates ----------------------------------------------------------------
class DuplicateContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    surname = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    external_client_id = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ContactDuplicateSerializer(DuplicateContactSerializer):
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=["external_client_id", "email", "phone"]),
        help_text="What it shares with the contact: a normalized email, an E.164 phone, an external id (any case).",
    )


class ContactDuplicateListSerializer(serializers.Serializer):
    data = ContactDuplicateSerializer(many=True)


class DuplicateGroupSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["external_client_id", "email", "phone"])
    value = serializers.CharField(help_text="The shared key, normalized (external ids lower-cased).")
    size = serializers.IntegerField(help_text="Active contacts you may see that share it.")
    contacts = DuplicateContactSerializer(many=True, help_text="By id, at most 50.")


class DuplicateGroupPageInfoSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    nextCursor = serializers.CharField(allow_null=True)
    hasNextPage = serializers.BooleanField()


class DuplicateGroupPageSerializer(serializers.Serializer):
    data = DuplicateGroupSerializer(many=True)
    paginationInfo = DuplicateGroupPageInfoSerializer()


# -- merge -----------------------------------------------------------------------
class ContactMergeSerializer(StrictInputSerializer):
    """Body of POST /contacts/{id}/merge."""

    ids = IdsField(min_length=1, max_length=9, help_text="The contacts merged into this one (up to 9).")
    dry_run = StrictBooleanField(required=False, default=False,
                                 help_text="true: answer the result and what would move, writing nothing.")
    prefer = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, default=dict,
        help_text="{field: contact id}: whose value the merged contact keeps for that field (default: the "
                  "primary's, an empty one filled from the others, most recently updated first).",
    )



class ContactMergeMovedSerializer(serializers.Serializer):
    conversations = serializers.ListField(child=serializers.IntegerField())
    messages = serializers.IntegerField()
    persons = serializers.ListField(child=serializers.IntegerField())
    tags = serializers.ListField(child=serializers.CharField())
    sub_owner_ids = serializers.ListField(child=serializers.IntegerField())


class ContactMergeResultSerializer(serializers.Serializer):
    contact = ContactSerializer(help_text="The primary contact as merged (dry_run: as it would be).")
    merged_ids = serializers.ListField(child=serializers.IntegerField())
    changes = serializers.DictField(help_text="{field: {old, new}} of the primary.")
    moved = ContactMergeMovedSerializer(help_text="What moves to the primary (added tags and sub-owners).")
    dry_run = serializers.BooleanField()


# -- search (the schema of POST /contacts/search; contacts.search parses and checks the body) --
class SearchFilterSerializer(serializers.Serializer):
    field = serializers.CharField(help_text=(
        "A contact field (name, email, label, stage, owner, sub_owners, organization, tags, created_at, ...) "
        "or a custom field's shortName (also as `c_field.<shortName>`)."
    ))
    operator = serializers.ChoiceField(choices=[
        "eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "gt", "gte", "lt", "lte", "between",
        "is_empty", "is_not_empty", "has_any", "has_all", "has_none",
    ])
    value = serializers.JSONField(required=False, help_text=(
        "A value of the field's type; a list for in/not_in/has_*; [low, high] for between; none for is_empty/"
        "is_not_empty."
    ))


class SearchGroupSerializer(serializers.Serializer):
    filters = SearchFilterSerializer(many=True, help_text="AND'ed, at most 10.")


class ContactSearchSerializer(serializers.Serializer):
    filter_groups = SearchGroupSerializer(many=True, required=False, help_text="OR'ed, at most 5.")
    query = serializers.CharField(required=False, help_text="Free text, as the list's `search`.")
    sort = serializers.ListField(child=serializers.CharField(), required=False, help_text=(
        "Sort keys (`-` prefix: descending): id, name, surname, code, city, country, email, created_at, "
        "updated_at, or one custom field's shortName alone. Default -id."
    ))
    columns = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="Only these keys in each item.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="1..100, default 25.")
    cursor = serializers.CharField(required=False, allow_null=True,
                                   help_text="The previous page's nextCursor; absent or null for the first page.")
    view_id = serializers.IntegerField(required=False, help_text=(
        "Run this saved view; other keys given override the view's."
    ))


class SearchPaginationSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    nextCursor = serializers.CharField(allow_null=True)  # noqa: N815 (wire name)
    hasNextPage = serializers.BooleanField()  # noqa: N815
    totalRecords = serializers.IntegerField()  # noqa: N815
    totalRecordsIsEstimate = serializers.BooleanField()  # noqa: N815


class ContactSearchResultSerializer(serializers.Serializer):
    data = ContactListItemSerializer(many=True)
    paginationInfo = SearchPaginationSerializer()  # noqa: N815


# -- saved views -------------------------------------------------------------
class ContactViewSerializer(serializers.ModelSerializer):
    """A saved view. `search`, `sort` and `columns` are checked by the
    search's parser in the services (errors name `search.filter_groups.0...`);
    here only their JSON types."""

    READ_ONLY = ("id", "owner_id", "tenant_id", "created_at", "updated_at", "version")

    name = StrictCharField(max_length=100, help_text="1 to 100 characters.")
    search = serializers.JSONField(required=False, help_text=(
        "What POST /contacts/search takes: {\"filter_groups\": [...], \"query\": \"...\"}."
    ))
    sort = serializers.JSONField(required=False, help_text="Sort keys, as the search's `sort`.")
    columns = serializers.JSONField(required=False, help_text="Keys of each item, as the search's `columns`.")
    shared = StrictBooleanField(required=False, help_text="true: every member of the workspace may run it.")
    owner_id = serializers.IntegerField(read_only=True, help_text="The member whose view it is.")
    tenant_id = serializers.IntegerField(source="workspace_id", read_only=True)

    class Meta:
        model = ContactView
        fields = ["id", "name", "search", "sort", "columns", "shared", "owner_id", "tenant_id", "created_at",
                  "updated_at", "version"]
        read_only_fields = ["created_at", "updated_at", "version"]

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in sorted(unknown)}, code="unknown_field")
        for name in ("search", "sort", "columns"):
            if name in attrs:
                try:
                    no_nul_in_json(attrs[name])
                except serializers.ValidationError as exc:
                    raise serializers.ValidationError({name: exc.detail}) from None
        return attrs
