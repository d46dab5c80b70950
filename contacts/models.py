from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Left, Lower

from crm.models import VersionedModel, WorkspaceScopedModel


class Contact(VersionedModel, WorkspaceScopedModel):
    """A person or an organization: the union of the Deskera contact, the
    client-contact and the client documents (see DESIGN.md, Contacts)."""

    class Type(models.TextChoices):
        PERSON = "person", "Person"
        ORGANIZATION = "organization", "Organization"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        TEAM = "team", "Team"
        PUBLIC = "public", "Public"

    # The base's single-column FK indexes are dropped here: every write of a
    # contact maintains every index (bulk updates, imports), and workspace is
    # the leading column of the composite indexes below. Deleting a user then
    # scans contacts to null created_by/updated_by/default_agent: rare.
    workspace = models.ForeignKey("crm.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    type = models.CharField(max_length=12, choices=Type.choices, default=Type.PERSON)
    name = models.CharField(max_length=255, blank=True, default="")
    surname = models.CharField(max_length=255, blank=True, default="")
    local_name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    country_code = models.CharField(max_length=10, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    secondary_phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    address = models.TextField(blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    code = models.CharField(max_length=100, blank=True, default="")
    title = models.CharField(max_length=255, blank=True, default="")
    note = models.TextField(blank=True, default="")
    logo = models.CharField(max_length=500, blank=True, default="")
    # FK indexes replaced by (fk, id) composites below: they serve the FK
    # lookups and the filter-then-order-by-id lists alike.
    label = models.ForeignKey(
        "labels.ContactLabel", null=True, blank=True, on_delete=models.PROTECT, related_name="contacts", db_index=False
    )
    tags = models.ManyToManyField("tags.Tag", through="ContactTag", related_name="contacts", blank=True)
    stage = models.ForeignKey(
        "tags.Tag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    external_client_id = models.CharField(max_length=255, null=True, blank=True)
    default_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    sub_owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    visibility_type = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    visibility_ids = models.JSONField(default=list, blank=True)
    organization = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="persons", db_index=False
    )
    custom_fields = models.JSONField(default=dict, blank=True, help_text="{custom field code: value}")
    integration_meta = models.JSONField(default=dict, blank=True)
    disabled = models.BooleanField(default=False)
    # seed 004 (client contacts)
    media = models.JSONField(default=list, blank=True, help_text="http(s) URLs of media files")
    cover_photo = models.CharField(max_length=2000, blank=True, default="", help_text="http(s) URL")
    company_namespace = models.JSONField(default=list, blank=True, help_text="Company namespaces (strings)")
    # Who created and who last changed it, as they were then (crm.actors.Actor.stamp):
    # {id, name, email, type}; type admin, member, import, integration or system.
    creator = models.JSONField(null=True, blank=True, editable=False)
    editor = models.JSONField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.CharField(max_length=20, blank=True, default="", help_text="user id or SYSTEM")
    # Set (with deleted_at) when merged into another contact (contacts.services.merge).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A plain unique constraint admits many NULLs, and unlike a partial
            # index it can be the target of INSERT ... ON CONFLICT.
            models.UniqueConstraint(fields=["workspace", "external_client_id"], name="uniq_contact_external_id"),
        ]
        # Every list filter and sort has an index ending in id, so a filtered
        # page is an ordered index range, not a sort of all matches. Text
        # filters compare lower(field) (case-insensitive exact match) and the
        # name sorts order by it too. `search` reads contacts_contactsearch,
        # which triggers of migration 0008 keep (trigram-indexed on
        # PostgreSQL), so bulk updates don't pay for that index. A migration
        # that rebuilds this table on SQLite drops those triggers: re-create them.
        indexes = [
            # Active contacts only: default lists and their capped counts run
            # as index-only scans (deleted_at needs no heap visit).
            models.Index(
                fields=["workspace", "id"], name="contact_active_idx", condition=models.Q(deleted_at__isnull=True)
            ),
            models.Index(fields=["workspace", "email", "id"], name="contact_email_idx"),
            models.Index(fields=["workspace", "phone"], name="contact_phone_idx"),
            models.Index("workspace", Lower("name"), "id", name="contact_name_idx"),
            models.Index("workspace", Lower("surname"), "id", name="contact_surname_idx"),
            models.Index("workspace", Lower("code"), "id", name="contact_code_idx"),
            models.Index("workspace", Lower("city"), "id", name="contact_city_idx"),
            models.Index("workspace", Lower("country"), "id", name="contact_country_idx"),
            models.Index(fields=["workspace", "created_at", "id"], name="contact_created_idx"),
            models.Index(fields=["workspace", "updated_at", "id"], name="contact_updated_idx"),
            models.Index(fields=["label", "id"], name="contact_label_idx"),
            models.Index(fields=["stage", "id"], name="contact_stage_idx"),
            models.Index(fields=["owner", "id"], name="contact_owner_idx"),
            models.Index(fields=["organization", "id"], name="contact_organization_idx"),
            models.Index(
                fields=["workspace", "id"], name="contact_archived_idx", condition=models.Q(deleted_at__isnull=False)
            ),
            # Only merged contacts: deleting or erasing a contact finds what was merged
            # into it (ON DELETE SET NULL) without scanning the table.
            models.Index(
                fields=["merged_into"], name="contact_merged_into_idx", condition=models.Q(merged_into__isnull=False)
            ),
            # Duplicates by external id compare it case-insensitively (an exact one is unique).
            models.Index(
                "workspace", Lower("external_client_id"), name="contact_external_lower_idx",
                condition=models.Q(external_client_id__isnull=False),
            ),
        ]

    def __str__(self):
        return " ".join(p for p in (self.name, self.surname) if p) or f"Contact {self.pk}"


class ContactTag(models.Model):
    # No single-column indexes: uniq_contact_tag (contact, tag) and
    # contact_tag_by_tag_idx (tag, contact) already serve both directions, and
    # every index more is paid by each bulk tag change and each import.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey("tags.Tag", on_delete=models.CASCADE, db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="uniq_contact_tag")]
        indexes = [models.Index(fields=["tag", "contact"], name="contact_tag_by_tag_idx")]


class CustomFieldDefinition(VersionedModel, WorkspaceScopedModel):
    """A workspace's custom contact field; values live in Contact.custom_fields by code."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        DROPDOWN = "dropdown", "Dropdown"
        CHECKBOX = "checkbox", "Checkbox"

    code = models.CharField(max_length=20, help_text="Generated, like D-0000013")
    label = models.CharField(max_length=100)
    short_name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    options = models.JSONField(default=list, blank=True, help_text="Allowed values of a dropdown")
    module = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "code"], name="uniq_custom_field_code"),
            models.UniqueConstraint(fields=["workspace", "short_name"], name="uniq_custom_field_short_name"),
        ]

    def __str__(self):
        return f"{self.label} ({self.code})"


class ContactFieldValue(models.Model):
    """One custom field value of a contact, copied out of Contact.custom_fields
    by the database triggers of migration 0010 (their only writers), so that
    search can filter and sort by a custom field through an index instead of
    reading every contact's JSON. `text` is the value as text (numbers as
    written, checkboxes `true`/`false`, dates YYYY-MM-DD); `number` is set
    when the value is a number. Indexed by (workspace, code, value, contact):
    a filter is an index range, a sort an index walk joined to the contacts."""

    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, related_name="field_values", db_constraint=False, db_index=False
    )
    workspace_id = models.BigIntegerField()
    code = models.CharField(max_length=100)
    text = models.TextField()
    number = models.FloatField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "code"], name="uniq_contact_field_value")]
        indexes = [
            models.Index(F("workspace_id"), F("code"), F("number"), F("contact"), name="contact_field_number_idx"),
            models.Index(
                F("workspace_id"), F("code"), Left(Lower("text"), 200), F("contact"), name="contact_field_text_idx"
            ),
        ]

    def __str__(self):
        return f"{self.contact_id} {self.code}={self.text}"


class ContactView(VersionedModel, WorkspaceScopedModel):
    """A saved search of contacts (POST /contacts/search's filter_groups and
    query, with its sort and columns), private to its owner unless shared.
    `search`, `sort` and `columns` hold the validated wire form
    (contacts.search.SearchSpec.raw)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    search = models.JSONField(default=dict, blank=True, help_text="{filter_groups, query}")
    sort = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list, blank=True)
    shared = models.BooleanField(default=False, help_text="Visible to every member of the workspace.")

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["workspace", "owner", "id"], name="contact_view_owner_idx"),
            models.Index(fields=["workspace", "id"], name="contact_view_shared_idx", condition=models.Q(shared=True)),
        ]

    def __str__(self):
        return self.name


class SuppressedIdentifier(models.Model):
    """An identifier of a person erased on request (privacy erase with
    suppress): a write that would create a contact carrying it is refused
    (contacts.services.suppression). Only a SHA-256 digest of the workspace
    and the normalized value is kept, never the value."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        EXTERNAL_CLIENT_ID = "external_client_id", "External client id"

    workspace = models.ForeignKey("crm.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    digest = models.CharField(max_length=64)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "digest"], name="uniq_suppressed_digest")]

    def __str__(self):
        return f"{self.kind} {self.digest[:12]}…"
