"""Who makes a change. Every write service takes `actor=` (required, no
default), so each caller decides who it acts as and nothing writes as
"nobody":

- a member of the workspace (an API token's user, with their role);
- staff in the Django admin (site staff, not necessarily a member);
- an import job, acting for the member who started it (or the system for
  the CLI), whose visibility it has;
- an integration (a provider's callback or inbound traffic);
- the system (periodic tasks, the CLI, migrations).

`role` is what access checks read: a workspace admin, staff, integrations
and the system see every contact of the workspace; a member sees what the
contacts' visibility allows (contacts.services.access). An actor is built
from trusted server-side facts (the token, the job row), never from input.
"""
from dataclasses import dataclass
from typing import Any

from .models import Membership

MEMBER, STAFF, IMPORT, INTEGRATION, SYSTEM = "member", "staff", "import", "integration", "system"
KINDS = (MEMBER, STAFF, IMPORT, INTEGRATION, SYSTEM)


@dataclass(frozen=True)
class Actor:
    kind: str
    id: int | None
    name: str
    # The user stamped as created_by / updated_by (None for integrations and the system).
    user: Any = None
    # The workspace role access is checked with; None only for kinds that see everything.
    role: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown actor kind {self.kind!r}")
        if self.kind in (MEMBER, IMPORT) and self.user is not None and self.role not in Membership.Role.values:
            # Fail closed: a member without a known role would otherwise pass as "no check".
            raise ValueError(f"A {self.kind} actor acting for a member needs a workspace role, not {self.role!r}")

    # -- constructors -------------------------------------------------------
    @classmethod
    def member(cls, user, role: str) -> "Actor":
        if role not in Membership.Role.values:
            raise ValueError(f"Not a workspace role: {role!r}")
        return cls(MEMBER, user.pk, _user_name(user), user=user, role=role)

    @classmethod
    def from_token(cls, token) -> "Actor":
        """The member an authenticated API token (request.auth) acts for."""
        return cls.member(token.user, token.role)

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(STAFF, user.pk, _user_name(user), user=user)

    @classmethod
    def import_job(cls, job, on_behalf_of: "Actor") -> "Actor":
        """The job acts with the rights of who started it."""
        return cls(IMPORT, job.pk, f"Import job {job.pk}", user=on_behalf_of.user, role=on_behalf_of.role)

    @classmethod
    def integration(cls, integration) -> "Actor":
        return cls(INTEGRATION, integration.pk, integration.name)

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(SYSTEM, None, name)

    # -- what services read ---------------------------------------------------
    @property
    def restricted(self) -> bool:
        """True when contact visibility limits this actor (a plain member,
        or a job started by one)."""
        return self.role == Membership.Role.MEMBER

    @property
    def is_workspace_admin(self) -> bool:
        """May do what only workspace admins may (erase contacts, manage
        integrations...): admins, staff and the system."""
        return self.role == Membership.Role.ADMIN or self.kind in (STAFF, SYSTEM)

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def archived_by(self) -> str:
        """What Contact.archived_by records: the user id, or SYSTEM."""
        return str(self.user_id) if self.user_id is not None else "SYSTEM"

    @property
    def stamp(self) -> dict:
        """Who this is, as a contact's `creator` / `editor` keeps it (seed
        004): `type` admin (a workspace admin or staff), member, import,
        integration or system; `id` the user's (admin, member), the import
        job's, the integration's, or null (system); `email` the user's (an
        import's: who started it)."""
        if self.kind == MEMBER:
            kind = "admin" if self.role == Membership.Role.ADMIN else "member"
        else:
            kind = "admin" if self.kind == STAFF else self.kind
        return {"id": self.id, "name": self.name, "email": getattr(self.user, "email", "") or "", "type": kind}

    def as_dict(self) -> dict:
        return {"type": self.kind, "id": self.id, "name": self.name}


def _user_name(user) -> str:
    full = f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".strip()
    return full or getattr(user, "email", "") or str(user.pk)
