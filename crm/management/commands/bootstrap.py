import json

from django.core.management.base import BaseCommand
from django.db import transaction

from crm import services
from crm.actors import Actor
from crm.models import Membership


class Command(BaseCommand):
    help = "Create or reuse a workspace and its admin user, and issue a new API token."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace name (reused when its slug exists).")
        parser.add_argument("--email", required=True, help="Admin user's email (reused when it exists).")
        parser.add_argument("--password", help="Set this password (for the Django admin).")
        parser.add_argument("--token-name", default="bootstrap")
        parser.add_argument("--json", action="store_true", help="Print one JSON object and nothing else.")

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
            _, plaintext = services.token_create(
                workspace=workspace, actor=actor, user=user, name=options["token_name"]
            )
        result = {"workspace_id": workspace.id, "user_id": user.id, "token": plaintext}
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Workspace: {workspace.name} (id {workspace.id}, slug {workspace.slug})")
        self.stdout.write(f"Admin user: {user.email} (id {user.id})")
        self.stdout.write(f"API token (shown once): {plaintext}")
