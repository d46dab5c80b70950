"""List pagination: page numbers by default, a keyset cursor for deep scans.

Page mode: ``?page=1&limit=25`` (``per_page`` is an alias of ``limit``)::

    {"data": [...], "paginationInfo": {"page", "limit", "totalRecords",
     "totalRecordsIsEstimate", "totalPages", "hasNextPage"}}

``totalRecords`` is exact up to COUNT_CAP rows; beyond it the planner's
estimate is returned and flagged, because an exact COUNT(*) over a million
rows costs about a second here.

Cursor mode: ``?cursor=`` (empty to start) then ``?cursor=<nextCursor>``::

    {"data": [...], "paginationInfo": {"limit", "nextCursor", "hasNextPage"}}

    {"data": [...], "paginationInfo": {"limit", "nextCursor", "hasNextPage",
     "count", "countIsEstimate"}}

Keyset pages cost the same at any depth (`count` is capped like
totalRecords). The ordering comes from the view's queryset and always ends
with the primary key so every position is unique.

Cursors are signed (HMAC of SECRET_KEY, salted with the list's model,
ordering and the caller's workspace): a cursor the server did not issue for
this list, or one edited by hand, is a 400 `invalid_cursor` before any
query. The position inside is base64 JSON, for debugging, not for editing.
"""
import base64
import binascii
import hmac
import json
import math
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.crypto import salted_hmac
from django.db import connection
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

COUNT_CAP = 10_000
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_PAGE = 10_000_000
CURSOR_SEP = "."  # outside base64url's alphabet
SIGNATURE_BYTES = 16


# What a cursor looks like (base64url payload "." base64url signature), for schema-driven clients.
CURSOR_SCHEMA = {"type": "string", "pattern": r"^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22})?$", "maxLength": 4096}


def _invalid(field, message):
    return serializers.ValidationError({field: [message]})


def parse_bounded_int(params, names, default, low, high):
    """The first present name in `names` parsed as an int in [low, high]. Every
    present name is checked (an invalid alias next to a valid one is a 400 too,
    never silently ignored)."""
    values = []
    for name in names:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise _invalid(name, f"Must be an integer between {low} and {high}.")
        if not low <= value <= high:
            raise _invalid(name, f"Must be between {low} and {high}.")
        values.append(value)
    return values[0] if values else default


class PagePagination(BasePagination):
    page_query_param = "page"
    limit_query_params = ("limit", "per_page")
    cursor_query_param = "cursor"
    count_cap = COUNT_CAP

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        self.limit = parse_bounded_int(params, self.limit_query_params, DEFAULT_LIMIT, 1, MAX_LIMIT)
        # checked in cursor mode too, where it is unused: a bad value is a 400 either way
        self.page = parse_bounded_int(params, (self.page_query_param,), 1, 1, MAX_PAGE)
        keys = self.keys_queryset(queryset)
        if self.cursor_query_param in params:
            rows = self._paginate_cursor(keys, params.get(self.cursor_query_param), request)
        else:
            self.cursor_mode = False
            self.total, self.total_is_estimate = self._count(queryset)
            offset = (self.page - 1) * self.limit
            rows = list(keys[offset : offset + self.limit + 1])
            self.has_next = len(rows) > self.limit
            rows = rows[: self.limit]
        return self.load_page(rows, view)

    # Hooks for large tables: page over a light queryset (ids and sort keys,
    # often an index-only scan), then load the page's full rows in one query.
    def keys_queryset(self, queryset):
        return queryset

    def load_page(self, rows, view):
        return rows

    def get_paginated_response(self, data):
        return Response({"data": data, "paginationInfo": self.get_pagination_info()})

    def get_pagination_info(self):
        if self.cursor_mode:
            info = {"limit": self.limit, "nextCursor": self.next_cursor, "hasNextPage": self.has_next}
            if self.total is not None:
                info.update(count=self.total, countIsEstimate=self.total_is_estimate)
            return info
        return {
            "page": self.page,
            "limit": self.limit,
            "totalRecords": self.total,
            "totalRecordsIsEstimate": self.total_is_estimate,
            "totalPages": math.ceil(self.total / self.limit) if self.total else 0,
            "hasNextPage": self.has_next,
        }

    # -- counting ---------------------------------------------------------
    def _count(self, queryset):
        capped = queryset.order_by()[: self.count_cap + 1].count()
        if capped <= self.count_cap:
            return capped, False
        return max(self._estimate(queryset), capped), True

    def _estimate(self, queryset) -> int:
        if connection.vendor != "postgresql":
            return queryset.count()
        plan = json.loads(queryset.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])

    # -- cursor mode ------------------------------------------------------
    def _ordering(self, queryset):
        ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
        ordering = [o for o in ordering if isinstance(o, str)]
        pk_names = {"pk", "id", queryset.model._meta.pk.name}
        if not ordering or ordering[-1].lstrip("-") not in pk_names:
            descending = bool(ordering) and ordering[-1].startswith("-")
            ordering.append("-pk" if descending else "pk")
        return ordering

    def _paginate_cursor(self, queryset, raw_cursor, request=None, count=True):
        self.cursor_mode = True
        ordering = self._ordering(queryset)
        self._cursor_salt = self._salt(queryset, ordering, request)
        if count:
            self.total, self.total_is_estimate = self._count(queryset)
        else:
            self.total = None
        queryset = queryset.order_by(*ordering)
        if raw_cursor:
            position = self._decode(raw_cursor, len(ordering))
            try:
                queryset = queryset.filter(self._after(ordering, position))
            except (ValueError, TypeError, DjangoValidationError):
                # a forged cursor: a value its field cannot take ("abc" for an id, a bad date)
                raise self._invalid_cursor() from None
        rows = list(queryset[: self.limit + 1])
        self.has_next = len(rows) > self.limit
        rows = rows[: self.limit]
        self.next_cursor = self._encode(ordering, rows[-1]) if self.has_next else None
        return rows

    @staticmethod
    def _after(ordering, position) -> Q:
        condition = Q()
        for i, field in enumerate(ordering):
            name = field.lstrip("-")
            op = "lt" if field.startswith("-") else "gt"
            step = Q(**{f"{name}{LOOKUP_SEP}{op}": position[i]})
            for prior, value in zip(ordering[:i], position[:i]):
                step &= Q(**{prior.lstrip("-"): value})
            condition |= step
        return condition

    @staticmethod
    def _salt(queryset, ordering, request) -> str:
        auth = getattr(request, "auth", None)
        return f"crm.pagination.cursor:{queryset.model._meta.label}:{','.join(ordering)}:" \
               f"{getattr(auth, 'workspace_id', '')}"

    def _signature(self, payload: str) -> str:
        digest = salted_hmac(self._cursor_salt, payload, algorithm="sha256").digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _encode(self, ordering, row):
        values = []
        for field in ordering:
            value = row
            for part in field.lstrip("-").split(LOOKUP_SEP):
                value = getattr(value, part)
            values.append(value.isoformat() if isinstance(value, datetime) else value)
        payload = base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")
        return f"{payload}{CURSOR_SEP}{self._signature(payload)}"

    def _decode(self, raw, size):
        payload, _, signature = raw.partition(CURSOR_SEP)
        if not hmac.compare_digest(signature.encode("utf-8", "surrogateescape"),
                                   self._signature(payload).encode()):
            raise self._invalid_cursor()
        try:
            padded = payload + "=" * (-len(payload) % 4)
            values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            values = None
        if (
            not isinstance(values, list) or len(values) != size
            # the values _encode writes: ids, numbers and strings (PostgreSQL text cannot hold NUL)
            or any(isinstance(v, bool) or not isinstance(v, (str, int, float)) for v in values)
            or any(isinstance(v, str) and "\x00" in v for v in values)
        ):
            raise self._invalid_cursor()
        return values

    def _invalid_cursor(self):
        return serializers.ValidationError({self.cursor_query_param: [serializers.ErrorDetail(
            "Invalid cursor: use the nextCursor of a previous page of this list.", code="invalid_cursor")]})

    # -- OpenAPI ----------------------------------------------------------
    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "paginationInfo"],
            "properties": {
                "data": schema,
                "paginationInfo": {
                    "type": "object",
                    "properties": {
                        "page": {"type": "integer", "example": 1},
                        "limit": {"type": "integer", "example": DEFAULT_LIMIT},
                        "totalRecords": {"type": "integer", "example": 123},
                        "totalRecordsIsEstimate": {"type": "boolean"},
                        "totalPages": {"type": "integer", "example": 5},
                        "hasNextPage": {"type": "boolean"},
                        "nextCursor": {"type": "string", "nullable": True, "description": "cursor mode only"},
                        "count": {"type": "integer", "description": "cursor mode only: the rows of the whole list, "
                                  "exact up to the count cap like totalRecords"},
                        "countIsEstimate": {"type": "boolean", "description": "cursor mode only"},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        def param(name, description, schema):
            return {"name": name, "required": False, "in": "query", "description": description, "schema": schema}

        return [
            param("page", f"Page number, 1..{MAX_PAGE:,}.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
            param("limit", f"Page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
                  {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            param("per_page", "Alias of `limit`.", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            param("cursor", "Keyset mode for deep scans: empty to start, then the previous page's `nextCursor` "
                            "(signed: any other value is a 400 `invalid_cursor`).", CURSOR_SCHEMA),
        ]
