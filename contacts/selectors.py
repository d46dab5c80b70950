"""Reads for contacts: visibility, lookups by id, and the batch loading of
everything a page of contacts shows (a constant number of queries per page).

Visibility (DESIGN, Contacts): workspace admins see and edit everything.
Members see `public` and `team` contacts and the `private` ones they own or
sub-own; they edit `public` contacts and those they own or sub-own (`team`
contacts of others are `view_only`).
"""
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from crm.models import Membership, Workspace

from .models import Contact, ContactTag, CustomFieldDefinition

# Must stay identical to the index of migration 0003 (contact_search_trgm_idx).
SEARCH_EXPRESSION = (
    'lower("contacts_contact"."name") || \' \' || lower("contacts_contact"."surname") || \' \' || '
    '"contacts_contact"."email" || \' \' || "contacts_contact"."phone" || \' \' || lower("contacts_contact"."code")'
)


def is_admin(role) -> bool:
    return role == Membership.Role.ADMIN


def _sub_owned(user) -> Exists:
    return Exists(Contact.sub_owners.through.objects.filter(contact_id=OuterRef("pk"), user_id=user.pk))


def visible_q(*, user, role) -> Q:
    if is_admin(role):
        return Q()
    return ~Q(visibility_type=Contact.Visibility.PRIVATE) | Q(owner_id=user.pk) | Q(_sub_owned(user))


def editable_q(*, user, role) -> Q:
    if is_admin(role):
        return Q()
    return Q(visibility_type=Contact.Visibility.PUBLIC) | Q(owner_id=user.pk) | Q(_sub_owned(user))


def contact_visible(queryset: QuerySet, *, user, role) -> QuerySet:
    return queryset if is_admin(role) else queryset.filter(visible_q(user=user, role=role))


def contacts_queryset(*, workspace: Workspace, user, role) -> QuerySet:
    return contact_visible(Contact.objects.filter(workspace=workspace), user=user, role=role)


def contact_access(*, workspace: Workspace, user, role, ids: Sequence[int]) -> dict[int, bool]:
    """{id: editable} for the ids the caller can see, in one query."""
    queryset = contacts_queryset(workspace=workspace, user=user, role=role).filter(pk__in=list(ids))
    if is_admin(role):
        return {pk: True for pk in queryset.values_list("pk", flat=True)}
    rows = queryset.annotate(_editable=editable_annotation(user=user, role=role)).values_list("pk", "_editable")
    return dict(rows)


def editable_annotation(*, user, role):
    from django.db.models import BooleanField, ExpressionWrapper

    return ExpressionWrapper(editable_q(user=user, role=role), output_field=BooleanField())


# The columns a response row is built from (contacts.serializers.ContactRenderer).
ROW_FIELDS = (
    "id", "workspace_id", "type", "name", "surname", "local_name", "email", "country_code", "phone",
    "secondary_phone", "address", "city", "country", "code", "title", "note", "logo", "label_id", "stage_id",
    "external_client_id", "default_agent_id", "owner_id", "visibility_type", "visibility_ids", "organization_id",
    "custom_fields", "integration_meta", "disabled", "created_at", "updated_at", "created_by_id", "updated_by_id",
    "deleted_at", "archived_by", "version",
    # one LEFT JOIN each, read into the same row (no model instances)
    "label__name", "label__color", "label__icon",
    "organization__name", "organization__surname", "organization__email", "organization__phone",
    "owner__first_name", "owner__last_name", "owner__email", "owner__is_active",
)
TAG_ORDER = ("tag__order", "tag__tag", "tag_id")


def _row_annotations() -> dict:
    """Per-row values read by the row query itself. On PostgreSQL the tags
    and sub-owner ids come as arrays of correlated subqueries, so a page
    costs one query instead of three; elsewhere page_relations loads them."""
    annotations = {
        "owner_role": Subquery(
            Membership.objects.filter(workspace_id=OuterRef("workspace_id"), user_id=OuterRef("owner_id")).values(
                "role"
            )[:1]
        ),
    }
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery

        annotations["tag_values"] = ArraySubquery(
            ContactTag.objects.filter(contact_id=OuterRef("pk")).order_by(*TAG_ORDER).values("tag__tag")
        )
        annotations["sub_owner_list"] = ArraySubquery(
            Contact.sub_owners.through.objects.filter(contact_id=OuterRef("pk")).order_by("id").values("user_id")
        )
    return annotations


def contact_rows(queryset: QuerySet) -> QuerySet:
    """Named tuples instead of model instances (about 3x cheaper per row);
    sort annotations come along so cursor pagination can read them."""
    sort_keys = list(queryset.query.annotation_select)
    annotations = _row_annotations()
    return queryset.annotate(**annotations).values_list(*ROW_FIELDS, *sort_keys, *annotations, named=True)


def contact_search(queryset: QuerySet, text: str) -> QuerySet:
    """Case-insensitive substring over name, surname, email, phone and code;
    served by the trigram index on PostgreSQL. A phone-looking text is
    matched by its digits (the stored phones are E.164)."""
    text = text.strip().lower()
    stripped = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "").replace(".", "")
    if stripped.lstrip("+").isdigit() and len(stripped.lstrip("+")) >= 3:
        text = stripped
    return queryset.alias(_search=RawSQL(SEARCH_EXPRESSION, ())).filter(_search__contains=text)


def contacts_by_ids(*, workspace: Workspace, user, role, ids: Sequence[int]) -> list:
    """The visible contacts of `ids` in the order asked (unknown ids are left out), one query."""
    rows = contact_rows(contacts_queryset(workspace=workspace, user=user, role=role).filter(pk__in=list(ids)))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def contact_row(queryset: QuerySet, pk: int):
    """One contact_rows() row, or None."""
    return contact_rows(queryset.filter(pk=pk)).first()


class PageRelations:
    """Everything rows of a page show beyond their own columns, loaded with
    one query per kind whatever the number of rows."""

    def __init__(self):
        self.tags: dict[int, list[str]] = defaultdict(list)
        self.sub_owner_ids: dict[int, list[int]] = defaultdict(list)
        self.users: dict[int, dict] = {}
        self.persons: dict[int, list[dict]] = defaultdict(list)
        self.definitions: list[dict] = []


PERSON_FIELDS = ("id", "name", "surname", "email", "phone")


def page_relations(*, workspace: Workspace, contacts: Sequence[Contact], need: Iterable[str]) -> PageRelations:
    """`need` names what to load: tags, sub_owners, users, persons,
    custom_fields. `contacts` are contact_rows() rows."""
    need = set(need)
    relations = PageRelations()
    if not contacts:
        return relations
    ids = [c.id for c in contacts]
    arrays = connection.vendor == "postgresql"  # tags and sub-owner ids came with the rows
    if "tags" in need and not arrays:
        rows = ContactTag.objects.filter(contact_id__in=ids).order_by(*TAG_ORDER).values_list("contact_id", "tag__tag")
        for contact_id, tag in rows:
            relations.tags[contact_id].append(tag)
    if "sub_owners" in need or "users" in need:
        if arrays:
            relations.sub_owner_ids.update({c.id: c.sub_owner_list for c in contacts if c.sub_owner_list})
        else:
            rows = Contact.sub_owners.through.objects.filter(contact_id__in=ids).order_by("id").values_list(
                "contact_id", "user_id"
            )
            for contact_id, user_id in rows:
                relations.sub_owner_ids[contact_id].append(user_id)
    if "users" in need:
        # Owners come with the rows; sub-owners' details need one query.
        user_ids = {u for ids_ in relations.sub_owner_ids.values() for u in ids_}
        if user_ids:
            rows = Membership.objects.filter(workspace=workspace, user_id__in=user_ids).values(
                "user_id", "role", "user__first_name", "user__last_name", "user__email", "user__is_active"
            )
            for row in rows:
                relations.users[row["user_id"]] = {
                    "id": row["user_id"],
                    "first_name": row["user__first_name"],
                    "last_name": row["user__last_name"],
                    "email": row["user__email"],
                    "contact": "",
                    "role": row["role"],
                    "status": "active" if row["user__is_active"] else "inactive",
                }
    if "persons" in need:
        organization_ids = [c.id for c in contacts if c.type == Contact.Type.ORGANIZATION]
        if organization_ids:
            rows = (
                Contact.objects.filter(organization_id__in=organization_ids, deleted_at__isnull=True)
                .order_by("id")
                .values("organization_id", *PERSON_FIELDS)
            )
            for row in rows:
                relations.persons[row.pop("organization_id")].append(row)
    if "custom_fields" in need:
        relations.definitions = list(
            CustomFieldDefinition.objects.filter(workspace=workspace).order_by("id").values(
                "code", "label", "short_name", "module"
            )
        )
    return relations
