"""Reads for contact labels."""
from collections.abc import Iterable

from django.db.models import QuerySet
from django.db.models.functions import Lower

from crm.models import Workspace

from .models import ContactLabel


def label_list(*, workspace: Workspace) -> QuerySet:
    return ContactLabel.objects.filter(workspace=workspace).order_by("id")


def label_get_by_names(*, workspace: Workspace, names: Iterable[str]) -> dict[str, ContactLabel]:
    """The workspace's labels whose names match `names` case-insensitively,
    keyed by the lower-cased name (one query; none for an empty list)."""
    lowered = {name.strip().lower() for name in names if name and name.strip()}
    if not lowered:
        return {}
    labels = ContactLabel.objects.annotate(name_lower=Lower("name")).filter(
        workspace=workspace, name_lower__in=lowered
    )
    return {label.name_lower: label for label in labels}
