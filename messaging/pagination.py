from crm.pagination import DEFAULT_LIMIT, MAX_LIMIT, PagePagination


class CursorOnlyPagination(PagePagination):
    """Keyset pages only (a conversation is read newest first, page after
    page): no ?cursor= means the first page; then pass nextCursor."""

    def paginate_queryset(self, queryset, request, view=None):
        from crm.pagination import parse_bounded_int

        params = request.query_params
        self.limit = parse_bounded_int(params, self.limit_query_params, DEFAULT_LIMIT, 1, MAX_LIMIT)
        return self._paginate_cursor(queryset, params.get(self.cursor_query_param) or "", request, count=False)

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["paginationInfo"] = {
            "type": "object",
            "properties": {
                "limit": {"type": "integer", "example": DEFAULT_LIMIT},
                "nextCursor": {"type": "string", "nullable": True},
                "hasNextPage": {"type": "boolean"},
            },
        }
        return response

    def get_schema_operation_parameters(self, view):
        return [p for p in super().get_schema_operation_parameters(view) if p["name"] != "page"]
