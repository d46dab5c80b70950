"""Reads for contact labels."""
from collections.abc import Iterable

from crm.models import Workspace

from .models import ContactLabel


def label_get_by_names(*, workspace: Workspace, names: Iterable[str]) -> dict[str, ContactLabel]:
    """The workspace's labels whose names match `names` case-insensitively,
    keyed by the lower-cased name (one query; none for an empty list).
    Labels are a small collection, so they are matched in Python: callers key
    by Python's lower(), which differs from PostgreSQL's for a few letters."""
    lowered = {name.strip().lower() for name in names if name and name.strip()}
    if not lowered:
        return {}
    labels = ContactLabel.objects.filter(workspace=workspace).order_by("id")
    found: dict[str, ContactLabel] = {}
    for label in labels:
        key = label.name.lower()
        if key in lowered:
            found.setdefault(key, label)
    return found
