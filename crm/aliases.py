"""The seeds' own names on write: the one alias mechanism of every write
serializer (DESIGN.md, "Input is strict": the seeds' field names are
aliases on write, with the seed's meaning).

A write serializer lists its aliases, `{wire name: field name}` (seed 000's
`externalClientId` for `external_client_id`, seed 004's `phone1` for
`phone`...), and mixes in `SeedAliases` before its serializer base. Before
any field is read, each alias given is renamed to its field, so everything
after (the unknown-key check, field validation, the services' typed keyword
arguments) sees one name only:

- a value given under both names must be the same value, else a 400
  `alias_conflict` on the alias (which one would win is a guess);
- `workspaceId` (every input of seeds 000-002; `workspace_id` likewise) is
  the token's workspace or a 404 `not_found`, before anything is written:
  a body aimed at another workspace is refused as if the object did not exist;
- `path_fields` are ids the URL decides (a message's conversation and its
  integration: seed 001's `convId`, `integrationId`): given in the body,
  they must agree with the URL, else a 400 `path_mismatch`; agreeing, they
  are dropped (the URL's value is the one used).

Aliases of read-only keys (seed 004's `_id`, `createdAt`, `__v`) rename to
the representation's own read-only keys, ignored like those.
"""
from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from .errors import NotFound

WORKSPACE_KEYS = ("workspaceId", "workspace_id")


def _same_id(given, expected) -> bool:
    """An id given in a body names `expected`: the integer or its decimal string."""
    if expected is None or isinstance(given, bool):
        return False
    if isinstance(given, int):
        return given == expected
    return isinstance(given, str) and given.strip() == str(expected)


def rename(data: Mapping, aliases: Mapping[str, str]) -> tuple[dict, dict[str, ErrorDetail]]:
    """`data` with each alias renamed to its field, and {alias: error} for
    the aliases given beside their field with a different value."""
    data = dict(data)
    errors = {}
    for alias, name in aliases.items():
        if alias not in data:
            continue
        value = data.pop(alias)
        if name in data and data[name] != value:
            errors[alias] = ErrorDetail(f"Given as both {alias} and {name}, with different values.",
                                        code="alias_conflict")
            continue
        data[name] = value
    return data, errors


class SeedAliases:
    """Mixin for a write serializer (listed before the Serializer base)."""

    aliases: Mapping[str, str] = {}
    path_fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The schema's description of the body names the aliases (drf-spectacular reads the docstring).
        if cls.aliases and cls.__doc__ and "Aliases:" not in cls.__doc__:
            listed = ", ".join(f"`{alias}` = `{name}`" for alias, name in cls.aliases.items())
            cls.__doc__ = f"{cls.__doc__.rstrip()}\n\nAliases: {listed}."

    @classmethod
    def input_keys(cls) -> set[str]:
        """Keys this serializer understands besides its fields: aliases, the
        workspace keys and the path fields."""
        return {*cls.aliases, *WORKSPACE_KEYS, *cls.path_fields}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            data = self.resolve_aliases(data)
        return super().to_internal_value(data)

    def resolve_aliases(self, data: Mapping) -> dict:
        data, conflicts = rename(data, self.aliases)
        errors = {alias: [error] for alias, error in conflicts.items()}
        for key in WORKSPACE_KEYS:
            if key in data and not _same_id(data.pop(key), self._token_workspace_id()):
                # before any other error: nothing of another workspace is looked at
                raise NotFound("No such workspace.")
        path = self.context.get("path", {})
        for name in self.path_fields:
            if name in data:
                value = data.pop(name)
                if not _same_id(value, path.get(name)):
                    errors[name] = [ErrorDetail(
                        f"Disagrees with the URL: {name} is {path.get(name)} here.", code="path_mismatch"
                    )]
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def _token_workspace_id(self):
        request = self.context.get("request")
        return getattr(getattr(request, "auth", None), "workspace_id", None)
