"""Every write of a contact, in one package; each module one concern:

- rules: the rule set (typed values in, cleaned values or violations out);
  pure, so the CSV import runs it per row too;
- access: the one access policy (who sees and edits which contact), read by
  the selectors, the renderer and every service;
- references: what a write names in the workspace (labels, stages, members,
  organizations, persons, tags, custom field definitions);
- lifecycle: create, update, upsert, archive, restore, erase, and the
  lookups messaging writes through;
- bulk: the bulk update and the import's set-based bulk upsert, matching
  keys (match_on) and updates by id;
- batch: POST /contacts/batch (create, upsert, update, archive) through bulk;
- merge: merging duplicates into a primary contact;
- custom_fields: custom field definitions.

Every write takes `*, workspace, actor` (crm.actors.Actor), with no default.
"""
from .access import ContactsNotEditable
from .batch import BATCH_MAX, BatchFailed, ItemResult, contacts_batch
from .bulk import (
    BULK_UPDATE_MAX,
    MATCH_KEYS,
    BulkResult,
    contact_bulk_update,
    contacts_bulk_upsert,
    contacts_bulk_upsert_matching,
)
from .custom_fields import custom_field_create, custom_field_delete, custom_field_update
from .lifecycle import (
    contact_archive,
    contact_create,
    contact_erase,
    contact_for_messaging,
    contact_for_phone,
    contact_for_sender,
    contact_restore,
    contact_update,
    contact_upsert,
    contact_validate,
)
from .merge import MERGE_MAX, MergeResult, contact_merge
from .rules import ContactValues, CustomFieldValue
from .saved_views import view_create, view_delete, view_get, view_update, views_visible

__all__ = [
    "BATCH_MAX", "BatchFailed", "ItemResult", "contacts_batch", "MERGE_MAX", "MergeResult", "contact_merge",
    "BULK_UPDATE_MAX", "BulkResult", "ContactValues", "ContactsNotEditable", "CustomFieldValue",
    "contact_archive", "contact_bulk_update", "contact_create", "contact_erase", "contact_for_messaging",
    "contact_for_phone", "contact_for_sender", "contact_restore", "contact_update", "contact_upsert", "contact_validate",
    "contacts_bulk_upsert", "contacts_bulk_upsert_matching", "MATCH_KEYS", "custom_field_create", "view_create",
    "view_delete", "view_get", "view_update", "views_visible", "custom_field_delete", "custom_field_update",
]
