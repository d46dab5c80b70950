import io
import json

import pytest
from django.core.management import call_command

from crm.models import ApiToken, Membership, Workspace


@pytest.mark.django_db
def test_bootstrap_json_prints_one_object(client):
    out = io.StringIO()
    call_command("bootstrap", "--workspace", "Acme", "--email", "Boss@Acme.test", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result) == {"workspace_id", "user_id", "token"}
    assert Membership.objects.get(workspace_id=result["workspace_id"], user_id=result["user_id"]).role == "admin"
    me = client.get("/v1/crm/me", HTTP_X_ACCESS_TOKEN=result["token"])
    assert me.status_code == 200 and me.json()["user"]["email"] == "boss@acme.test"

    # Reuses workspace and user, issues a new token.
    out2 = io.StringIO()
    call_command("bootstrap", "--workspace", "Acme", "--email", "boss@acme.test", "--json", stdout=out2)
    again = json.loads(out2.getvalue())
    assert again["workspace_id"] == result["workspace_id"] and again["user_id"] == result["user_id"]
    assert again["token"] != result["token"]
    assert Workspace.objects.filter(slug="acme").count() == 1
    assert ApiToken.objects.filter(user_id=result["user_id"]).count() == 2


@pytest.mark.django_db
def test_health_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_broker_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down" and response.json()["database"] == "ok"
