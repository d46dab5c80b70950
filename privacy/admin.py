from django.contrib import admin

from crm.admin import ReadOnlyModelAdmin

from .models import ErasureReceipt


# Receipts are written by the erase service only; kept as they are.
@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "workspace", "identifier", "contacts", "conversations", "messages", "import_rows",
                    "suppress", "suppressed", "created_by", "created_at"]
    search_fields = ["workspace__name"]
    list_filter = ["identifier", "suppress", "workspace", "created_at"]
    list_select_related = ["workspace", "created_by"]

    def has_delete_permission(self, request, obj=None):
        return False
