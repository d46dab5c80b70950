"""Contact lists: crm.pagination's page and cursor modes run on a light
query (ids and sort keys only, often an index-only scan: cheap even 100,000
rows deep), then the page's rows are read by id with the precompiled row
query (contacts.selectors.rows_by_ids)."""
from crm.pagination import PagePagination

from .selectors import rows_by_ids


class ContactPagination(PagePagination):
    # Counting 10,001 matches of a broad filter (two tags, search) costs
    # 50-150 ms on a million contacts; 1,001 costs a tenth. Beyond the cap
    # totalRecords is the planner's estimate, flagged as such.
    count_cap = 1_000

    def keys_queryset(self, queryset):
        # The cursor is built from the sort keys, so they must be in each key row.
        sort_fields = [key.lstrip("-") for key in queryset.query.order_by if isinstance(key, str)]
        names = dict.fromkeys(["id", *sort_fields, *queryset.query.annotation_select])
        names.pop("pk", None)
        return queryset.values_list(*names, named=True)

    def load_page(self, rows, view):
        return rows_by_ids(workspace_id=view.workspace.pk, ids=[row.id for row in rows])
