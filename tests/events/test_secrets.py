"""Integration and webhook secrets are encrypted at rest (crm.secrets)."""
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from events.webhooks import webhook_create
from messaging import services
from messaging.models import Integration
from tests.factories import SYSTEM

pytestmark = pytest.mark.django_db


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_secrets_are_unreadable_in_the_database(api_client):
    integration = services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name="W",
                                              provider="webhook", config={"url": "https://h.example.com"},
                                              secret="plain-secret-value")
    endpoint, secret = webhook_create(workspace=api_client.workspace, actor=SYSTEM, url="https://h.example.com/x")
    stored = raw("messaging_integration", "secret", integration.pk)
    assert "plain-secret-value" not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert secret not in raw("events_webhookendpoint", "secret", endpoint.pk)
    assert Integration.objects.get(pk=integration.pk).secret == "plain-secret-value"


def test_key_rotation_re_encrypts_under_the_new_key(api_client, settings):
    integration = services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name="W",
                                              provider="webhook", config={"url": "https://h.example.com"},
                                              secret="rotate-me")
    old_key = settings.SECRETS_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_KEYS = [new_key, old_key]
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))
    token = raw("messaging_integration", "secret", integration.pk)
    assert Fernet(new_key.encode()).decrypt(token.encode()) == b"rotate-me"
    settings.SECRETS_KEYS = [new_key]  # the old key can go now
    assert Integration.objects.get(pk=integration.pk).secret == "rotate-me"


def test_production_refuses_to_start_without_a_key():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SECRETS_KEYS"}
    env.update(DEBUG="false", SECRET_KEY="x")
    result = subprocess.run([sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE',"
                             " 'config.settings'); django.setup()"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SECRETS_KEYS is not set" in result.stderr
