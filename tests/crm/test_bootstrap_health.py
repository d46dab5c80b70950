import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

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
def test_bootstrap_token_file_reuses_a_working_token(tmp_path, client):
    """The quickstart's demo token: issued once into --token-file, reused on the
    next runs while it works, replaced once it is revoked."""
    kept = tmp_path / "demo-token"
    args = ["bootstrap", "--workspace", "Demo", "--email", "a@example.com", "--token-file", str(kept), "--json"]
    first = io.StringIO()
    call_command(*args, stdout=first)
    token = json.loads(first.getvalue())["token"]
    assert kept.read_text().strip() == token and oct(kept.stat().st_mode & 0o777) == "0o600"
    second = io.StringIO()
    call_command(*args, stdout=second)
    assert json.loads(second.getvalue())["token"] == token
    assert ApiToken.objects.count() == 1

    ApiToken.objects.update(revoked_at=timezone.now())
    third = io.StringIO()
    call_command(*args, stdout=third)
    replaced = json.loads(third.getvalue())["token"]
    assert replaced != token and kept.read_text().strip() == replaced
    assert client.get("/v1/crm/me", HTTP_X_ACCESS_TOKEN=replaced).status_code == 200


@pytest.mark.worker
@pytest.mark.django_db
def test_readiness_with_a_worker(client, celery_worker_process):
    """Readiness: database, broker, storage and a real worker answering a ping."""
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "storage": "ok", "worker": "ok"}


@pytest.mark.django_db
def test_readiness_without_a_worker(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"] == "down" and response.json()["database"] == "ok"
    settings.HEALTHZ_CHECK_WORKERS = False
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["worker"] == "unchecked"


@pytest.mark.django_db
def test_readiness_broker_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down" and response.json()["database"] == "ok"


@pytest.mark.django_db
def test_readiness_storage_down(client, settings, tmp_path):
    settings.HEALTHZ_CHECK_WORKERS = False
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker / "media")}},
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["storage"] == "down" and response.json()["database"] == "ok"


def test_liveness_is_cheap(client, settings):
    """No database access (this test has none: a query would raise) and no broker."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
