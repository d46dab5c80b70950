"""One settings module, driven by environment variables.

Defaults are the embedded quickstart: SQLite, Celery's filesystem broker and
files on local disk. Production sets DATABASE_URL, CELERY_BROKER_URL,
SECRET_KEY, DEBUG=false and ALLOWED_HOSTS (see README).
"""
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

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
    "crm",
    "labels",
    "tags",
    "contacts",
    "messaging",
    "imports",
    "events",
]

MIDDLEWARE = [
    "crm.middleware.JsonErrorMiddleware",
    "crm.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# Uploaded files go through Django's storage API; production points
# FILE_STORAGE_BACKEND at object storage (e.g. storages.backends.s3.S3Storage).
STORAGES = {
    "default": {
        "BACKEND": env("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("FILE_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies above this are a 413 (CSV uploads have their own, larger cap).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=100 * 1024 * 1024)
# Imports: rows per committed chunk; the job lease a run renews each chunk (a
# crashed run's job is taken over once it lapses); worker processes that
# validate files over IMPORT_PARALLEL_MIN_BYTES (0 = one per core).
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=5000)
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=300)
IMPORT_VALIDATE_PROCESSES = env.int("IMPORT_VALIDATE_PROCESSES", default=0)
IMPORT_PARALLEL_MIN_BYTES = env.int("IMPORT_PARALLEL_MIN_BYTES", default=8 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.IsWorkspaceMember"],
    "DEFAULT_RENDERER_CLASSES": ["crm.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "crm.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "crm.openapi.CrmAutoSchema",
    "DEFAULT_METADATA_CLASS": "crm.metadata.CrmMetadata",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["crm.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("API_RATE_LIMIT", default="6000/min")},
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
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
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
if CELERY_BROKER_URL.startswith("filesystem"):
    # Embedded mode works from any entry point (manage.py, celery), not only the quickstart.
    for _folder in ("queue", "processed", "results", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
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
}
# -- end of issue 14's block ----------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO: a line per webhook delivery (crm.outbound)
    "loggers": {"django.request": {"level": "ERROR"}, "httpx": {"level": "WARNING"}},
}
