"""Reads for tags."""
from collections.abc import Iterable

from django.db.models import QuerySet

from crm.models import Workspace

from .models import Tag


def tag_list(*, workspace: Workspace) -> QuerySet:
    return Tag.objects.filter(workspace=workspace).order_by("order", "tag", "id")


def tags_by_lower_name(*, workspace: Workspace, types: Iterable[str]) -> dict[str, Tag]:
    """Every tag of `types` in the workspace keyed by its lower-cased value,
    for validating many rows at once (one query). When two types share a
    value, the type listed first in `types` wins."""
    types = list(types)
    rank = {t: i for i, t in enumerate(types)}
    tags = sorted(Tag.objects.filter(workspace=workspace, type__in=types), key=lambda t: rank[t.type])
    result: dict[str, Tag] = {}
    for tag in tags:
        result.setdefault(tag.tag.lower(), tag)
    return result
