import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from crm import services, tokens
from crm.actors import Actor
from crm.models import Membership
from crm.selectors import token_with_context


class Command(BaseCommand):
    help = "Create or reuse a workspace and its admin user, and issue a new API token."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace name (reused when its slug exists).")
        parser.add_argument("--email", required=True, help="Admin user's email (reused when it exists).")
        parser.add_argument("--password", help="Set this password (for the Django admin).")
        parser.add_argument("--token-name", default="bootstrap")
        parser.add_argument("--json", action="store_true", help="Print one JSON object and nothing else.")
        parser.add_argument(
            "--token-file",
            help="Reuse the token kept in this file while it still works for this admin and workspace; "
            "otherwise issue one and keep it there (mode 600). The quickstart's demo token.",
        )

    def handle(self, *args, **options):
        actor = Actor.system("bootstrap")
        with transaction.atomic():
            workspace, _ = services.workspace_get_or_create(actor=actor, name=options["workspace"])
            user = services.user_get_or_create(email=options["email"], password=options["password"])
            if options["password"]:
                # The admin user may use the Django admin too.
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            services.membership_set(workspace=workspace, actor=actor, user=user, role=Membership.Role.ADMIN)
            plaintext = self._kept_token(options["token_file"], workspace, user)
            if plaintext is None:
                _, plaintext = services.token_create(
                    workspace=workspace, actor=actor, user=user, name=options["token_name"]
                )
                if options["token_file"]:
                    self._keep_token(options["token_file"], plaintext)
        result = {"workspace_id": workspace.id, "user_id": user.id, "token": plaintext}
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Workspace: {workspace.name} (id {workspace.id}, slug {workspace.slug})")
        self.stdout.write(f"Admin user: {user.email} (id {user.id})")
        self.stdout.write(f"API token (shown once): {plaintext}")

    def _kept_token(self, path, workspace, user) -> str | None:
        if not path or not Path(path).is_file():
            return None
        plaintext = Path(path).read_text().strip()
        parsed = tokens.parse(plaintext)
        token = token_with_context(parsed[0]) if parsed else None
        if (
            token is None
            or not tokens.matches(parsed[1], token.digest)
            or not token.is_active
            or (token.workspace_id, token.user_id) != (workspace.pk, user.pk)
        ):
            return None
        return plaintext

    def _keep_token(self, path, plaintext):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as kept:
            kept.write(plaintext + "\n")
