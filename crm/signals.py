"""Signals the core sends so apps can react without the core importing them."""
from django.dispatch import Signal

# Sent by crm.services.workspace_create after a workspace row exists, inside
# the same transaction: kwargs workspace. Apps seed their defaults (labels).
workspace_created = Signal()
