"""One settings module, driven by environment variables.

Defaults are the embedded quickstart: SQLite, Celery's filesystem broker and
files on local disk. Production sets DATABASE_URL, CELERY_BROKER_URL,
SECRET_KEY, DEBUG=false and ALLOWED_HOSTS (see README and docs/operations.md).

Importing this module reads and creates nothing but the env file: folders of
the embedded mode are made when they are used (config/celery.py, manage.py),
so a wheel installed into site-packages stays untouched.
"""
import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The quickstart writes its settings (secret key, VAR_DIR, database, debug) to
# this file so that manage.py, the worker, beat and the CLI all read the same
# ones. Variables set in the environment win; ENV_FILE= (empty) reads none.
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)

# Local state of the embedded mode. A checkout keeps it beside the code; an
# installed copy (a wheel in site-packages) in ./var of the working directory.
_CHECKOUT = (BASE_DIR / "manage.py").is_file()
VAR_DIR = Path(env.str("VAR_DIR", default=str((BASE_DIR if _CHECKOUT else Path.cwd()) / "var")))

DEBUG = env.bool("DEBUG", default=False)
# No default outside DEBUG: a production process without SECRET_KEY refuses to start.
SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Secrets at rest (crm.secrets): Fernet keys, comma-separated; the first
# encrypts, all decrypt. No default outside DEBUG: production refuses to
# start without one (DEBUG derives a development key from SECRET_KEY).
SECRETS_KEYS = env.list("SECRETS_KEYS", default=[])
if not SECRETS_KEYS:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECRETS_KEYS is not set: generate one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    import base64
    import hashlib

    SECRETS_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(f"secrets:{SECRET_KEY}".encode()).digest()).decode()]

# HTTPS behind a proxy or load balancer (docs/operations.md, "Production
# settings"). All off by default so plain-HTTP development works; the
# documented production environment turns them on and `check --deploy` is
# then clean (tests/crm/test_production_settings.py).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# The load balancer's probes and the metrics scraper talk plain HTTP inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
# "HTTP_X_FORWARDED_PROTO,https": trust this header from the proxy (and only
# when the proxy always sets or strips it).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# CORS for browser clients on other origins: off unless origins are listed.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/v1/crm/.*$"
CORS_ALLOW_HEADERS = [
    "accept", "authorization", "content-type", "if-match", "idempotency-key", "x-access-token", "x-request-id",
]
CORS_EXPOSE_HEADERS = [
    "etag", "idempotent-replayed", "location", "retry-after", "x-request-id", "ratelimit", "ratelimit-policy",
    "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
]
CORS_PREFLIGHT_MAX_AGE = 3600

# A CSP for the HTML pages (admin, Swagger UI, ReDoc): everything from this
# origin. Inline styles are allowed because Swagger UI and ReDoc set them;
# no inline script runs (the docs load theirs from /static/, see crm/docs.py).
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/v1/crm/", "/v1/schema/", "/v1/redoc/redoc.standalone.js", "/healthz", "/livez", "/metrics"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Admin login: after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one IP address, that pair is locked out for
# ADMIN_LOGIN_LOCKOUT_MINUTES (django-axes; counted in the database, so every
# process shares the count). A correct login resets the count.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind N proxies the client address is the N-th from the right of
# X-Forwarded-For (what a client writes there itself is further left and
# ignored); 0 reads REMOTE_ADDR (crm.middleware.client_ip).
ADMIN_LOGIN_PROXY_COUNT = env.int("ADMIN_LOGIN_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "crm.middleware.client_ip"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "corsheaders",
    "csp",
    "axes",
    "crm",
    "labels",
    "tags",
    "contacts",
    "messaging",
    "imports",
    "events",
    "exports",
    "privacy",
]

MIDDLEWARE = [
    # Outermost: the request id, log context, metrics and rate-limit headers
    # cover every response, the JSON error pages included.
    "crm.middleware.RequestContextMiddleware",
    "crm.middleware.RequestLineLimitMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "crm.middleware.JsonErrorMiddleware",
    "crm.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Persistent connections: measured ~5x the throughput of CONN_MAX_AGE=0 here.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# PostgreSQL: the hot lookups by a unique key (a token's prefix, a contact's
# id) run as prepared statements and skip planning (crm.db.prepared_statement).
# Nothing else is prepared automatically: a generic plan of a filtered list
# ignores how common the filtered value is. Not compatible with a
# transaction-pooling PgBouncer older than 1.21: DB_PREPARED_STATEMENTS=false.
DB_PREPARED_STATEMENTS = IS_POSTGRES and env.bool("DB_PREPARED_STATEMENTS", default=True)
if IS_POSTGRES:
    if DB_PREPARED_STATEMENTS:
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=None)
    DATABASES["default"]["TEST"] = {
        "NAME": env("TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
# WhiteNoise serves the admin's, Swagger UI's and ReDoc's assets from the app
# itself, behind a plain load balancer. It finds them in the installed
# packages, so they are served even before `collectstatic`; collectstatic
# adds precompressed (gzip/brotli) copies that it prefers.
WHITENOISE_USE_FINDERS = True
# Files served at the root: /favicon.ico.
WHITENOISE_ROOT = BASE_DIR / "crm" / "root"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# Uploaded files go through Django's storage API; production points
# FILE_STORAGE_BACKEND at object storage (e.g. storages.backends.s3.S3Storage).
STORAGES = {
    "default": {
        "BACKEND": env("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("FILE_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies above this are a 413 (CSV uploads have their own, larger cap).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=10 * 1024 * 1024)
# Path plus query string: 1,000 ids of 19 digits as `id=...&id=...` take 23,000 characters
# (`contact_ids=` 20,000). Longer is a JSON 414 (crm.middleware); gunicorn's own limit
# (config/gunicorn.py) sits above this one so the JSON answer is the one clients see.
MAX_REQUEST_LINE_BYTES = env.int("MAX_REQUEST_LINE_BYTES", default=32 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=100 * 1024 * 1024)
# Imports: rows per committed chunk; the job lease a run renews each chunk (a
# crashed run's job is handed to a worker again by the beat sweep, every
# IMPORT_SWEEP_SECONDS, once it lapses: lease + one sweep, about a minute);
# worker processes that validate files over IMPORT_PARALLEL_MIN_BYTES (0 = one
# per core); the queue of import tasks (unset: Celery's default queue).
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=5000)
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=45)
IMPORT_SWEEP_SECONDS = env.float("IMPORT_SWEEP_SECONDS", default=15.0)
IMPORT_QUEUE = env("IMPORT_QUEUE", default=None)
# POST /imports/validate answers in the request for files up to this size (about
# 200,000 rows, 5-10 s); larger files: 413, validate them with a validate_only job.
IMPORT_VALIDATE_SYNC_MAX_BYTES = env.int("IMPORT_VALIDATE_SYNC_MAX_BYTES", default=10 * 1024 * 1024)
IMPORT_VALIDATE_PROCESSES = env.int("IMPORT_VALIDATE_PROCESSES", default=0)
IMPORT_PARALLEL_MIN_BYTES = env.int("IMPORT_PARALLEL_MIN_BYTES", default=8 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.IsWorkspaceMember"],
    "DEFAULT_RENDERER_CLASSES": ["crm.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "crm.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "crm.openapi.CrmAutoSchema",
    "DEFAULT_METADATA_CLASS": "crm.metadata.CrmMetadata",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["crm.throttling.TokenRateThrottle"],
    # Per token and per workspace (all its tokens together); see crm/throttling.py.
    "DEFAULT_THROTTLE_RATES": {
        "token": env("API_RATE_LIMIT", default="6000/min"),
        "workspace": env("API_WORKSPACE_RATE_LIMIT", default="20000/min"),
    },
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_FORMATTER_CLASS": "crm.errors.CrmExceptionFormatter",
    "EXCEPTION_HANDLER_CLASS": "crm.errors.CrmExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": (
        "Multi-tenant CRM: contacts, labels, typed tags, conversations and messages, "
        "CSV imports. Authenticate with the `x-access-token` header (a token from "
        "`manage.py bootstrap` or `POST /v1/crm/tokens`). Every error has one shape: "
        "`{type, code, message, errors: [{code, message, field}]}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/v1/crm",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "crm.openapi.strict_request_bodies"],
    # validatorUrl null: Swagger UI would otherwise send the schema to validator.swagger.io
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several components have a field named "type"; name each choice set.
    "ENUM_NAME_OVERRIDES": {
        "ErrorTypeEnum": ["validation_error", "client_error", "server_error"],
        "TagTypeEnum": "tags.models.Tag.Type",
        "ContactTypeEnum": "contacts.models.Contact.Type",
        "ConversationStatusEnum": "messaging.models.Conversation.Status",
        "MessageStatusEnum": "messaging.models.Message.Status",
        "MessageTypeEnum": "messaging.models.Message.Type",
        "CustomFieldTypeEnum": "contacts.models.CustomFieldDefinition.Type",
        "ReportedMessageStatusEnum": "messaging.serializers.REPORTED_STATUS_CHOICES",
        "JobStatusEnum": "exports.models.ExportJob.Status",
        # batch and import match_on, and the reasons of duplicates: the same three keys
        "ContactMatchKeyEnum": "contacts.services.bulk.MATCH_KEYS",
    },
}

# Celery. The embedded default is kombu's filesystem transport so the
# quickstart needs no Redis; production sets CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # kombu otherwise writes its broadcast exchange to ./control
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {
        # A task not acked within this window is redelivered to another worker.
        # It must exceed the hard time limit below, or a long import would be
        # handed out twice while the first worker still runs it.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    }
)
# Embedded mode works from any entry point (manage.py, celery), not only the
# quickstart: config/celery.py makes these folders when Celery first loads
# its configuration, not on import of the settings.
EMBEDDED_BROKER_FOLDERS = (
    [_BROKER_DIR / folder for folder in ("queue", "processed", "results", "control")]
    if CELERY_BROKER_URL.startswith("filesystem")
    else []
)
# Results are off unless asked for; the embedded quickstart keeps them as
# files so `ping.delay().get()` can prove its worker runs tasks.
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND",
    default=f"file://{_BROKER_DIR / 'results'}" if CELERY_BROKER_URL.startswith("filesystem") else None,
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Bounded retries: tasks that retry (delivery, imports) stop after this many.
CELERY_TASK_MAX_RETRIES = 5
# The worker logs through LOGGING below (request id, JSON), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery beat (periodic tasks) keeps its last-run times here.
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))

# Rate limits are counted in Redis whenever one is configured (CACHE_URL,
# else the broker), so every process and machine shares one count; the
# in-process cache is only for the single-process quickstart.
RATE_LIMIT_REDIS_URL = env(
    "RATE_LIMIT_REDIS_URL",
    default=next(
        (url for url in (env("CACHE_URL", default=""), CELERY_BROKER_URL) if url.startswith(("redis://", "rediss://"))),
        "",
    ),
)

# Start of the counters' keys: deployments (or test runs) sharing a Redis keep apart.
RATE_LIMIT_KEY_PREFIX = env("RATE_LIMIT_KEY_PREFIX", default="crm:ratelimit")

# Readiness (/healthz): also ask that a worker answers a ping (off for a
# deployment whose API must be ready with no worker running).
HEALTHZ_CHECK_WORKERS = env.bool("HEALTHZ_CHECK_WORKERS", default=True)

# Prometheus metrics (crm/metrics.py): GET /metrics with
# `Authorization: Bearer $METRICS_TOKEN`; or, with METRICS_PORT, a separate
# listener started by the gunicorn master (config/gunicorn.py) and by each
# Celery worker. Neither set: no metrics endpoint. Several processes need
# PROMETHEUS_MULTIPROC_DIR (docs/operations.md, "Metrics").
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_PORT = env.int("METRICS_PORT", default=0)

API_TOKEN_PREFIX = "crm_"
# last_used_at is written at most this often per token, not on every request.
API_TOKEN_TOUCH_INTERVAL = timedelta(seconds=env.int("API_TOKEN_TOUCH_SECONDS", default=60))
# Conditional writes: true makes If-Match required on PATCH, PUT and DELETE of versioned resources (428 without it).
REQUIRE_IF_MATCH = env.bool("REQUIRE_IF_MATCH", default=False)

# -- events, webhooks, outbound HTTP (issue 14) -----------------------------------
# Calls to customer URLs (crm.outbound) refuse private, loopback, link-local
# and reserved addresses unless this is true (development, the test suite).
OUTBOUND_ALLOW_PRIVATE_NETWORKS = env.bool("OUTBOUND_ALLOW_PRIVATE_NETWORKS", default=False)
# The events feed keeps this many days (events.tasks.purge_events, daily).
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
# false only to measure what events cost (tests/benchmarks/events_bench.py):
# no history, feed or webhooks then.
EVENTS_RECORD = env.bool("EVENTS_RECORD", default=True)
# Webhook delivery: a delivery is retried with exponential backoff and jitter
# for WEBHOOK_RETRY_WINDOW seconds; an endpoint failing for
# WEBHOOK_DISABLE_AFTER seconds is disabled. WEBHOOK_BATCH deliveries of an
# endpoint are claimed at a time (for WEBHOOK_CLAIM_SECONDS).
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_RETRY_WINDOW = env.int("WEBHOOK_RETRY_WINDOW", default=24 * 60 * 60)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=3 * 24 * 60 * 60)
WEBHOOK_BATCH = env.int("WEBHOOK_BATCH", default=100)
WEBHOOK_CLAIM_SECONDS = env.int("WEBHOOK_CLAIM_SECONDS", default=120)
WEBHOOK_SWEEP_SECONDS = env.float("WEBHOOK_SWEEP_SECONDS", default=5.0)
# Periodic tasks (celery -A config beat). Other apps add their entries here.
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "events-purge": {"task": "events.purge_events", "schedule": 60 * 60},
    "webhooks-sweep": {"task": "events.sweep_webhooks", "schedule": WEBHOOK_SWEEP_SECONDS},
    "imports-sweep": {"task": "imports.sweep_import_jobs", "schedule": IMPORT_SWEEP_SECONDS,
                      "options": {"queue": IMPORT_QUEUE} if IMPORT_QUEUE else {}},
}
# -- end of issue 14's block ----------------------------------------------------

# -- idempotency keys (issue 15) -------------------------------------------------
# An Idempotency-Key (crm.idempotency) is remembered this long after its first
# use; a request holding one for longer than IDEMPOTENCY_LOCK_SECONDS without
# answering is presumed dead and its key may be taken over. Expired keys are
# deleted by crm.purge_idempotency_keys (hourly, Celery beat).
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 60 * 60)
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=5 * 60)
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "idempotency-keys-purge": {"task": "crm.purge_idempotency_keys", "schedule": 60 * 60},
}
# -- end of issue 15's idempotency block -------------------------------------------

# Every line has its time (UTC), level, logger and, inside a request or a
# task it enqueued, the request id; LOG_FORMAT=json writes one JSON object a
# line. Tokens and emails are masked (crm/logs.py).
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"crm": {"()": "crm.logs.formatter", "json": LOG_FORMAT == "json"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "crm"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # the access line is crm.request's; Django's runserver would log each request again
        "django.server": {"level": "WARNING"},
        # httpx logs every request at INFO: a line per webhook delivery (crm.outbound)
        "httpx": {"level": "WARNING"},
    },
}

# -- issue 16 (exports) ---------------------------------------------------------
# Export files live in the default storage under exports/<workspace id>/ and,
# with their jobs, are deleted EXPORT_RETENTION_HOURS after the export (beat).
EXPORT_RETENTION_HOURS = env.int("EXPORT_RETENTION_HOURS", default=72)
EXPORT_PAGE_ROWS = env.int("EXPORT_PAGE_ROWS", default=10_000)
EXPORT_LEASE_SECONDS = env.int("EXPORT_LEASE_SECONDS", default=300)
EXPORT_QUEUE = env("EXPORT_QUEUE", default="") or None  # exports on workers of their own (-Q <name>)
# Webhook and message deliveries on workers of their own (-Q <name>); unset: Celery's default queue.
WEBHOOK_QUEUE = env("WEBHOOK_QUEUE", default="") or None
MESSAGING_DELIVERY_QUEUE = env("MESSAGING_DELIVERY_QUEUE", default="") or None
CELERY_BEAT_SCHEDULE["exports-purge"] = {"task": "exports.purge", "schedule": 60 * 60}
