from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import F, QuerySet

from .db import prepared_statement
from .models import ApiToken, Membership, Workspace

User = get_user_model()


def workspace_members(*, workspace: Workspace) -> QuerySet:
    """Users of the workspace, each annotated with `role`."""
    return (
        User.objects.filter(memberships__workspace=workspace)
        .annotate(role=F("memberships__role"))
        .order_by("id")
    )


def workspace_member(*, workspace: Workspace, user_id: int):
    """One member annotated with `role`, or None (also for another workspace's user)."""
    return workspace_members(workspace=workspace).filter(pk=user_id).first()


class _TokenLookup:
    """`token_with_context(prefix)`: the token, its workspace, its user and the
    user's role in that workspace in one hand-joined query, built from the
    models' columns once per process. Authentication runs on every request:
    compiling the equivalent ORM query and building instances through it cost
    more than the rest of a single-contact GET."""

    def __init__(self):
        self._sql_by_alias: dict[str, str] = {}
        self._converters_by_alias: dict[str, list] = {}

    def _models(self):
        return ((ApiToken, "t"), (Workspace, "w"), (User, "u"))

    def sql(self, connection) -> str:
        if connection.alias not in self._sql_by_alias:
            quote = connection.ops.quote_name
            columns = ", ".join(
                f"{alias}.{quote(f.column)}" for model, alias in self._models() for f in model._meta.concrete_fields
            )
            token, workspace, user, membership = (
                quote(m._meta.db_table) for m in (ApiToken, Workspace, User, Membership)
            )
            self._sql_by_alias[connection.alias] = (
                f"SELECT {columns}, m.{quote('role')} FROM {token} t "
                f"JOIN {workspace} w ON w.{quote('id')} = t.{quote('workspace_id')} "
                f"JOIN {user} u ON u.{quote('id')} = t.{quote('user_id')} "
                f"LEFT JOIN {membership} m ON m.{quote('workspace_id')} = t.{quote('workspace_id')} "
                f"AND m.{quote('user_id')} = t.{quote('user_id')} "
                f"WHERE t.{quote('prefix')} = %s"
            )
        return self._sql_by_alias[connection.alias]

    def _converters(self, connection) -> list:
        """Per column, the backend's and the field's db converters (what the
        ORM applies): datetimes from SQLite, for one."""
        if connection.alias not in self._converters_by_alias:
            converters = []
            for model, alias in self._models():
                for f in model._meta.concrete_fields:
                    col = f.get_col(alias)
                    converters.append(connection.ops.get_db_converters(col) + f.get_db_converters(connection))
            self._converters_by_alias[connection.alias] = converters
        return self._converters_by_alias[connection.alias]

    def __call__(self, prefix: str) -> ApiToken | None:
        connection = connections[router.db_for_read(ApiToken)]
        with connection.cursor() as cursor, prepared_statement(connection):
            cursor.execute(self.sql(connection), [prefix])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row[:-1])
        for i, converters in enumerate(self._converters(connection)):
            for converter in converters:
                values[i] = converter(values[i], None, connection)
        instances, start = [], 0
        for model, _alias in self._models():
            fields = model._meta.concrete_fields
            instances.append(model.from_db(connection.alias, [f.attname for f in fields], values[start:start + len(fields)]))
            start += len(fields)
        token, workspace, user = instances
        ApiToken.workspace.field.set_cached_value(token, workspace)
        ApiToken.user.field.set_cached_value(token, user)
        token.role = row[-1]
        return token


token_with_context = _TokenLookup()
