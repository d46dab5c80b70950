"""Production settings: `check --deploy` is clean with the environment
docs/operations.md documents; the admin login is brute-force limited; CORS is
off unless configured; the HTML pages have a CSP; static files and the favicon
are served by the app; importing the settings from an installed copy with no
VAR_DIR creates nothing."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def documented_production_env() -> dict:
    """The KEY=VALUE lines of the block marked `production-env` in docs/operations.md."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"<!-- production-env -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "docs/operations.md lost its production-env block"
    env = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip().strip("'")
    return env


def test_check_deploy_is_clean_with_the_documented_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DEBUG"))}
    documented = documented_production_env()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"} <= set(documented)
    # The placeholder secret is a real one's length; everything else as documented.
    env.update(documented, SECRET_KEY="x" * 30 + "R4nd0m-s3cr3t-v4lu3-0f-f1fty-ch4rs!", ENV_FILE="")
    env.pop("DATABASE_URL", None) if "DATABASE_URL" not in documented else None
    env.update(DATABASE_URL=os.environ["DATABASE_URL"], CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"])
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_the_production_environment_check_deploy_warns():
    """The test above is not vacuous: the development defaults do warn."""
    env = {**os.environ, "ENV_FILE": "", "SECRET_KEY": "x" * 30 + "R4nd0m-s3cr3t-v4lu3-0f-f1fty-ch4rs!"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0 and "security.W008" in result.stderr + result.stdout


def test_https_settings_do_their_job(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/v1/crm/me")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert client.get("/healthz").status_code != 301, "the load balancer's probe is not redirected"
    assert client.get("/livez").status_code == 200
    secure = client.get("/livez", HTTP_X_FORWARDED_PROTO="https")
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.fixture
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_admin_login_is_locked_after_repeated_failures(client, db, settings, fast_hasher):
    user = UserFactory(is_staff=True, is_superuser=True)
    user.set_password("the-right-password")
    user.save()
    login = "/admin/login/?next=/admin/"
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(login, {"username": user.username, "password": "wrong"})
        # the form again with an error, then the lockout from the last allowed failure on
        assert response.status_code == (429 if attempt == settings.AXES_FAILURE_LIMIT else 200)
    response = client.post(login, {"username": user.username, "password": "the-right-password"})
    assert response.status_code == 429, "the right password must not get through while locked"
    assert "_auth_user_id" not in client.session
    # Another address is not locked out for that user (the pair is).
    other = client.__class__(REMOTE_ADDR="10.9.8.7")
    response = other.post(login, {"username": user.username, "password": "the-right-password"})
    assert response.status_code == 302 and "_auth_user_id" in other.session


def test_behind_a_proxy_the_forwarded_address_counts(client, db, settings, fast_hasher):
    """With one proxy, the address it appended is the client's: a client
    rotating its own X-Forwarded-For entries is still one address."""
    settings.ADMIN_LOGIN_PROXY_COUNT = 1
    user = UserFactory(is_staff=True)
    user.set_password("pw-123456789")
    user.save()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": user.username, "password": "wrong"},
                    HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}, 203.0.113.7")
    response = client.post("/admin/login/", {"username": user.username, "password": "pw-123456789"},
                           HTTP_X_FORWARDED_FOR="10.0.0.99, 203.0.113.7")
    assert response.status_code == 429
    other = client.post("/admin/login/", {"username": user.username, "password": "pw-123456789"},
                        HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 302


def test_a_correct_login_resets_the_count(client, db, settings, fast_hasher):
    user = UserFactory(is_staff=True)
    user.set_password("pw-123456789")
    user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": user.username, "password": "wrong"})
    assert client.post("/admin/login/", {"username": user.username, "password": "pw-123456789"}).status_code == 302
    client.logout()
    client.post("/admin/login/", {"username": user.username, "password": "wrong"})
    assert client.post("/admin/login/", {"username": user.username, "password": "pw-123456789"}).status_code == 302


def test_cors_is_off_by_default_and_on_for_listed_origins(api_client, settings):
    response = api_client.get("/v1/crm/me", HTTP_ORIGIN="https://app.example.com")
    assert "Access-Control-Allow-Origin" not in response
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = api_client.options(
        "/v1/crm/me", HTTP_ORIGIN="https://app.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-access-token",
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-access-token" in preflight["Access-Control-Allow-Headers"]
    response = api_client.get("/v1/crm/me", HTTP_ORIGIN="https://app.example.com")
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "ratelimit" in response["Access-Control-Expose-Headers"]
    other = api_client.get("/v1/crm/me", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.parametrize("url", ["/admin/login/", "/v1/docs/", "/v1/redoc/"])
def test_html_pages_have_a_csp_without_inline_scripts(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script would be blocked by the CSP"
    assert "https://" not in html.replace('xmlns="http', ""), "the page names another host"


def test_redoc_bundle_takes_its_logo_from_this_site(client):
    response = client.get("/v1/redoc/redoc.standalone.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert b"cdn.redoc.ly" not in response.content and b'src:"/favicon.ico"' in response.content


def test_api_responses_have_no_csp(api_client):
    assert "Content-Security-Policy" not in api_client.get("/v1/crm/me")


def test_static_files_and_favicon_are_served_by_the_app(client, settings):
    assert not settings.DEBUG
    for url in ("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
                "/static/admin/css/base.css", "/static/crm/redoc-init.js"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content)
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(favicon.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_settings_of_an_installed_copy_create_nothing(tmp_path):
    """Installed from a wheel (the packages, no manage.py), with no VAR_DIR and
    the embedded defaults: importing the settings and setting Django up write
    nothing anywhere; once Celery loads its configuration (a task is sent),
    the embedded broker's folders go to ./var of the working directory,
    never next to the code."""
    site, workdir = tmp_path / "site-packages", tmp_path / "workdir"
    workdir.mkdir()
    for package in ("config", "crm", "contacts", "labels", "tags", "messaging", "imports"):
        shutil.copytree(ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))

    def files():
        return sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "__pycache__" not in p.parts)

    before = files()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "VAR_DIR", "ENV_FILE"))}
    env.update(PYTHONPATH=str(site), DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="x", PYTHONDONTWRITEBYTECODE="1")

    def run(script):
        result = subprocess.run([sys.executable, "-c", script], cwd=workdir, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr

    run("import django; django.setup(); import config.celery, config.urls")
    assert files() == before
    run("import django; django.setup(); from config.celery import app; app.conf.broker_url")
    made = set(files()) - set(before)
    assert made and all(path.parts[:2] == ("workdir", "var") for path in made), made


def test_the_documented_queues_are_read_from_the_environment():
    """docs/operations.md routes each kind of task to workers of its own by these variables."""
    names = ("IMPORT_QUEUE", "EXPORT_QUEUE", "WEBHOOK_QUEUE", "MESSAGING_DELIVERY_QUEUE")
    script = "from django.conf import settings; print(*(getattr(settings, n) for n in %r))" % (names,)
    env = {**os.environ, **{name: name.lower() for name in names}}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-4:] == [name.lower() for name in names]
