"""Signals the core sends so apps can react without the core importing them."""
from django.dispatch import Signal

# Sent by crm.services.workspace_create after a workspace row exists, inside
# the same transaction: kwargs workspace. Apps seed their defaults (labels).
workspace_created = Signal()

# Sent by crm.services for every member-management action (a member added,
# their role changed, removed; a token issued or revoked), inside the same
# transaction: kwargs workspace, actor, action ("member.added", ...), user_id,
# data. The events app records it as an event.
member_changed = Signal()
