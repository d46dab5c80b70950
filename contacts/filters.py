"""GET /contacts filters: the Deskera, client-contacts and client-operations
parameters, all combinable. A malformed value or an unknown sort field is a
400 naming the parameter. Every filter and sort is served by an index (see
Contact.Meta.indexes)."""
from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.dateparse import parse_date, parse_datetime

from crm.filters import DocumentedFilter
from crm.serializers import MAX_ID

from .models import Contact, ContactTag
from .selectors import contact_search
from .validators import normalize_phone_query


# -- value parsing -----------------------------------------------------------
class RepeatedWidget(forms.TextInput):
    """`?x=a&x=b` (and `x[]=`); with `split`, each value may also be a comma list."""

    def __init__(self, *args, split=False, **kwargs):
        self.split = split
        super().__init__(*args, **kwargs)

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None)
        values = (getlist(name) or getlist(f"{name}[]")) if getlist else ([data[name]] if name in data else [])
        if self.split:
            values = [part for value in values for part in value.split(",")]
        values = [v.strip() for v in values if v and v.strip()]
        return values or None


class IntListField(forms.Field):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", RepeatedWidget(split=True))
        super().__init__(*args, **kwargs)

    def clean(self, value):
        if not value:
            return None
        try:
            numbers = [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError("Expected integer ids (comma-separated or repeated).", code="invalid")
        if any(not 1 <= n <= MAX_ID for n in numbers) or len(numbers) > 1000:
            raise forms.ValidationError("Expected 1 to 1000 positive integer ids.", code="invalid")
        return list(dict.fromkeys(numbers))


class StringListField(forms.Field):
    def __init__(self, *args, split=False, **kwargs):
        kwargs.setdefault("widget", RepeatedWidget(split=split))
        super().__init__(*args, **kwargs)

    def clean(self, value):
        if not value:
            return None
        if len(value) > 100:
            raise forms.ValidationError("At most 100 values.", code="invalid")
        # as forms.CharField does: PostgreSQL text cannot hold NUL (a 500 in the query otherwise)
        for item in value:
            ProhibitNullCharactersValidator()(item)
        return list(dict.fromkeys(value))


class InstantField(forms.Field):
    """An ISO 8601 date/datetime (UTC when naive) or epoch milliseconds."""

    def clean(self, value):
        value = (value or "").strip()
        if not value:
            return None
        if value.lstrip("-").isdigit():
            try:
                return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise forms.ValidationError("Epoch milliseconds out of range.", code="invalid")
        try:
            parsed = parse_datetime(value.replace(" ", "+"))
            if parsed is None:
                day = parse_date(value)
                parsed = datetime(day.year, day.month, day.day) if day else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError("Expected an ISO 8601 date-time or epoch milliseconds.", code="invalid")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class StrictBooleanField(forms.Field):
    def clean(self, value):
        value = (value or "").strip().lower()
        if not value:
            return None
        if value in ("true", "1", "yes"):
            return True
        if value in ("false", "0", "no"):
            return False
        raise forms.ValidationError("Expected true or false.", code="invalid")


class BooleanFilter(DocumentedFilter):
    schema = {"type": "boolean"}
    field_class = StrictBooleanField


class IntFilter(DocumentedFilter):
    schema = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IntListFilter(DocumentedFilter):
    schema = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "maxItems": 1000}
    field_class = IntListField


class StringListFilter(DocumentedFilter):
    schema = {"type": "array", "items": {"type": "string"}}
    field_class = StringListField


class InstantFilter(DocumentedFilter):
    schema = {"type": "string", "description": "ISO 8601 date-time or date (UTC when naive), or epoch milliseconds."}
    field_class = InstantField


# -- sorting -----------------------------------------------------------------
# wire name -> (ORM ordering key, annotation or None). Annotation names have
# no leading underscore: they become fields of the named-tuple rows.
SORTS = {
    "id": ("id", None),
    "name": ("sort_name", Lower("name")),
    "surname": ("sort_surname", Lower("surname")),
    "code": ("sort_code", Lower("code")),
    "city": ("sort_city", Lower("city")),
    "country": ("sort_country", Lower("country")),
    "email": ("email", None),
    "created_at": ("created_at", None),
    "updated_at": ("updated_at", None),
}
SORT_ALIASES = {"createdAt": "created_at", "updatedAt": "updated_at", "_id": "id"}
SORT_PARAMS = ("sort", "order_by", "orderBy")


def apply_sort(queryset, params):
    """`sort`/`order_by`/`orderBy` (comma list, `-` prefix = descending) and
    `order` (asc|desc, for fields without a prefix). Default: newest first."""
    from rest_framework.exceptions import ValidationError

    order = (params.get("order") or "").strip().lower()
    if order and order not in ("asc", "desc"):
        raise ValidationError({"order": ["Must be asc or desc."]})
    param = next((p for p in SORT_PARAMS if params.get(p)), None)
    if param is None:
        return queryset.order_by("-id" if order != "asc" else "id")
    keys, annotations = [], {}
    for raw in params.get(param).split(","):
        raw = raw.strip()
        descending = raw.startswith("-") or (not raw.startswith(("-", "+")) and order == "desc")
        name = raw.lstrip("-+")
        name = SORT_ALIASES.get(name, name)
        if name not in SORTS:
            raise ValidationError({param: [f"Unknown sort field {name!r}. Use one of: {', '.join(SORTS)}."]})
        key, expression = SORTS[name]
        if expression is not None:
            annotations[key] = expression
        keys.append(f"-{key}" if descending else key)
    if keys[-1].lstrip("-") != "id":
        keys.append("-id" if keys[-1].startswith("-") else "id")
    return queryset.annotate(**annotations).order_by(*keys)


# -- the filterset -----------------------------------------------------------
def _lower_exact(field):
    def method(queryset, name, value):
        return queryset.alias(**{f"_{field}_lower": Lower(field)}).filter(**{f"_{field}_lower": value.strip().lower()})

    return method


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", help_text="Case-insensitive substring of name, surname, email, phone or code.")
    name = StringListFilter(method="filter_name", help_text="Exact name, case-insensitive; repeat for any of several.")
    surname = django_filters.CharFilter(method=_lower_exact("surname"), help_text="Exact surname, case-insensitive.")
    code = django_filters.CharFilter(method=_lower_exact("code"), help_text="Exact code, case-insensitive.")
    city = django_filters.CharFilter(method=_lower_exact("city"), help_text="Exact city, case-insensitive.")
    country = django_filters.CharFilter(method=_lower_exact("country"), help_text="Exact country, case-insensitive.")
    email = django_filters.CharFilter(method="filter_email", help_text="Exact email (case-insensitive).")
    phone = django_filters.CharFilter(method="filter_phone", help_text="Phone in any format; matched in E.164.")
    type = django_filters.ChoiceFilter(choices=Contact.Type.choices)
    contains_email = BooleanFilter(method="filter_contains_email", help_text="Has an email (true) or not (false).")
    contact_ids = IntListFilter(field_name="id", lookup_expr="in", help_text="Comma-separated ids.")
    id = IntListFilter(field_name="id", lookup_expr="in", help_text="Id, repeated or comma-separated for several.")
    external_client_id = django_filters.CharFilter(field_name="external_client_id")
    tags = StringListFilter(method="filter_tags", help_text="Tag values (or ids); contacts with any of them. Repeat for several.")
    stage_id = IntFilter(field_name="stage_id")
    company_namespace = StringListFilter(method="filter_company_namespace", help_text=(
        "Company namespace (exact); contacts in any of them. Repeat for several."))
    label_id = IntFilter(field_name="label_id")
    owner_id = IntFilter(field_name="owner_id")
    # the reverse of messaging's Conversation.contact: one join on a unique id, so no duplicates
    conversation_id = IntFilter(field_name="conversations__id", help_text="Contacts that have this conversation.")
    organization_id = IntFilter(field_name="organization_id", help_text="Persons of this organization.")
    is_deleted = BooleanFilter(method="filter_is_deleted", help_text="true: archived contacts only. Default: active only.")
    from__id = IntFilter(field_name="id", lookup_expr="gt", help_text="Ids greater than this.")
    to__id = IntFilter(field_name="id", lookup_expr="lt", help_text="Ids less than this.")
    updated_after = InstantFilter(field_name="updated_at", lookup_expr="gte", help_text="ISO 8601 or epoch ms; inclusive.")
    updated_before = InstantFilter(field_name="updated_at", lookup_expr="lte", help_text="ISO 8601 or epoch ms; inclusive.")
    from_updatedAt = InstantFilter(field_name="updated_at", lookup_expr="gte", help_text="Epoch ms (or ISO); alias of updated_after.")
    to_updatedAt = InstantFilter(field_name="updated_at", lookup_expr="lte", help_text="Epoch ms (or ISO); alias of updated_before.")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte", help_text="ISO 8601 or epoch ms; inclusive.")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lte", help_text="ISO 8601 or epoch ms; inclusive.")
    # The client-operations document's camelCase names (seed 000, ClientsInput).
    externalClientId = django_filters.CharFilter(field_name="external_client_id", help_text="Alias of external_client_id.")
    stageId = IntFilter(field_name="stage_id", help_text="Alias of stage_id.")
    conversationId = IntFilter(field_name="conversations__id", help_text="Alias of conversation_id.")
    isDeleted = BooleanFilter(method="filter_is_deleted", help_text="Alias of is_deleted.")

    class Meta:
        model = Contact
        fields = []

    @property
    def qs(self):
        queryset = super().qs
        # Archived contacts leave the default list (is_deleted absent).
        if self.form.cleaned_data.get("is_deleted") is None and self.form.cleaned_data.get("isDeleted") is None:
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset

    def _workspace(self):
        auth = getattr(self.request, "auth", None)
        return getattr(auth, "workspace", None)

    def filter_search(self, queryset, name, value):
        return contact_search(queryset, value) if value.strip() else queryset

    def filter_name(self, queryset, name, value):
        return queryset.alias(_name_lower=Lower("name")).filter(_name_lower__in=[v.lower() for v in value])

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=value.strip().lower())

    def filter_phone(self, queryset, name, value):
        workspace = self._workspace()
        region = workspace.default_phone_region if workspace else None
        return queryset.filter(phone=normalize_phone_query(value, region=region))

    def filter_contains_email(self, queryset, name, value):
        return queryset.exclude(email="") if value else queryset.filter(email="")

    def filter_tags(self, queryset, name, value):
        from tags.models import Tag

        names = [v.lower() for v in value]
        # ASCII digits only: "²".isdigit() is true, but int("²") raises
        ids = [int(v) for v in value if v.isascii() and v.isdigit() and int(v) <= MAX_ID]
        # Resolved first so the planner sees constant tag ids: the capped count
        # then walks the (tag, contact) index instead of hashing every link.
        tag_ids = list(
            Tag.objects.annotate(_tag_lower=Lower("tag"))
            .filter(
                Q(_tag_lower__in=names) | Q(pk__in=ids),
                workspace=self._workspace(),
                type__in=[Tag.Type.CLIENT, Tag.Type.COMMON],
            )
            .values_list("pk", flat=True)
        )
        if not tag_ids:
            return queryset.none()
        return queryset.filter(pk__in=ContactTag.objects.filter(tag_id__in=tag_ids).values("contact_id"))

    def filter_company_namespace(self, queryset, name, value):
        # PostgreSQL: jsonb containment, served by contact_namespace_idx (GIN, jsonb_path_ops).
        if connection.vendor == "postgresql":
            condition = Q()
            for namespace in value:
                condition |= Q(company_namespace__contains=[namespace])
            return queryset.filter(condition)
        # SQLite (the quickstart) has no JSON containment: the array's elements.
        placeholders = ", ".join(["%s"] * len(value))
        return queryset.filter(pk__in=RawSQL(
            f"SELECT c.id FROM {Contact._meta.db_table} c, json_each(c.company_namespace) e "
            f"WHERE e.value IN ({placeholders})", list(value)))

    def filter_is_deleted(self, queryset, name, value):
        return queryset.filter(deleted_at__isnull=not value)
