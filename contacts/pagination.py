"""Contact lists: crm.pagination's page and cursor modes run on a light
query (ids and sort keys only, often an index-only scan: cheap even 100,000
rows deep), then the page's rows are read by id with the precompiled row
query (contacts.selectors.rows_by_ids)."""
from crm.pagination import DEFAULT_LIMIT, MAX_LIMIT, PagePagination, parse_bounded_int

from .selectors import rows_by_ids


class ContactPagination(PagePagination):
    """Takes the filtered, sorted model queryset; returns contact rows. The
    capped count runs on the bare queryset."""

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        light = queryset.values_list("id", *queryset.query.annotation_select, named=True)
        if self.cursor_query_param in params:
            keys = super().paginate_queryset(light, request, view)
        else:
            self.limit = parse_bounded_int(params, self.limit_query_params, DEFAULT_LIMIT, 1, MAX_LIMIT)
            self.cursor_mode = False
            self.page = parse_bounded_int(params, (self.page_query_param,), 1, 1, 10_000_000)
            self.total, self.total_is_estimate = self._count(queryset)
            offset = (self.page - 1) * self.limit
            keys = list(light[offset : offset + self.limit + 1])
            self.has_next = len(keys) > self.limit
            keys = keys[: self.limit]
        return rows_by_ids(workspace_id=view.workspace.pk, ids=[key.id for key in keys])
