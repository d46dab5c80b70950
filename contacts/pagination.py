"""Contact lists: crm.pagination with deep offset pages read as a deferred
join. The page's ids come first from an index-only scan (cheap even 100,000
rows deep), then only those rows are read, instead of reading and dropping
every row before the offset."""
from crm.pagination import DEFAULT_LIMIT, MAX_LIMIT, PagePagination, parse_bounded_int

from .selectors import contact_rows

DEFERRED_JOIN_FROM = 1_000


class ContactPagination(PagePagination):
    """Takes the filtered model queryset and returns contact_rows() rows; the
    capped count runs on the bare queryset (an id-only, often index-only scan)."""

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        rows = contact_rows(queryset)
        if self.cursor_query_param in params:
            return super().paginate_queryset(rows, request, view)
        self.limit = parse_bounded_int(params, self.limit_query_params, DEFAULT_LIMIT, 1, MAX_LIMIT)
        self.cursor_mode = False
        self.page = parse_bounded_int(params, (self.page_query_param,), 1, 1, 10_000_000)
        self.total, self.total_is_estimate = self._count(queryset)
        offset = (self.page - 1) * self.limit
        if offset < DEFERRED_JOIN_FROM:
            page = list(rows[offset : offset + self.limit + 1])
        else:
            ids = list(queryset.values_list("pk", flat=True)[offset : offset + self.limit + 1])
            page = list(contact_rows(queryset.model.objects.filter(pk__in=ids))) if ids else []
            position = {pk: i for i, pk in enumerate(ids)}
            page.sort(key=lambda row: position[row.id])
        self.has_next = len(page) > self.limit
        return page[: self.limit]
