"""Settings for the ALPR portal, read from the environment.

ALPR_ENV selects the mode: ``development`` (default: local defaults, DEBUG on),
``production`` (every secret must be given; HTTPS-only) or ``test``.
Every variable is documented in README.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab

from alpr_portal.env import (
    ConfigError,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_rate,
    env_str,
    env_url,
    master_key,
    old_master_keys,
    signing_key_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent

ALPR_ENV = env_str("ALPR_ENV", "development")
if ALPR_ENV not in {"development", "production", "test"}:
    raise ConfigError(f"ALPR_ENV must be development, production or test (got {ALPR_ENV!r}).")
PRODUCTION = ALPR_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION and ALPR_ENV != "test")
if PRODUCTION and DEBUG:
    raise ConfigError("DEBUG must be false when ALPR_ENV=production.")

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ConfigError("SECRET_KEY must be at least 50 random characters in production.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-" + "x" * 40)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", None if PRODUCTION else [".localhost", "localhost", "127.0.0.1"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS is required in production (e.g. .alpr.example.org).")

# The domain under which agencies get their host (<slug>.<AGENCY_BASE_DOMAIN>).
AGENCY_BASE_DOMAIN = env_str("ALPR_AGENCY_BASE_DOMAIN", "localhost")

# --- Applications --------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.keyring",
    "tenants.sharing",  # grants between agencies (public schema)
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tenants.people.apps.PortalAdminConfig",  # django.contrib.admin, OTP-verified site
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (CSP 'self')
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "tenants.people",
    # Grants live in each agency's schema; the (always empty) table in public only lets
    # Django's deletion and django-auditlog follow the user relations of platform users.
    "tenants.support",
    "audit",
    "alpr_portal",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "tenants.people.apps.PortalAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "tenants.keyring",
    "tenants.people",
    "tenants.support",
    "audit",
    "audit.incidents",
    "captures",
    "captures.hotlists",
    "captures.holds",
    "captures.releases",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Agency"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "alpr_portal.urls_public"
ROOT_URLCONF = "alpr_portal.urls_agency"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Set search_path once per schema change instead of before every query (a third fewer round trips).
TENANT_LIMIT_SET_CALLS = True
# Issue `SET search_path` once per schema switch, not before every query (django-tenants resets
# it on set_tenant/set_schema and after rollbacks): about a third fewer round trips per page.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    # A request id for the logs, the access log and the X-Request-ID answer (audit.context).
    "audit.context.RequestIdMiddleware",
    "alpr_portal.observability.MetricsMiddleware",
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # 400 for a NUL in the path, query string or headers, before anything reads them.
    "tenants.people.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Support sessions (platform staff under an agency's grant): active grant, scope, marking
    # (before the session policy, so that its sign-out of an idle support session is marked).
    "tenants.support.middleware.SupportSessionMiddleware",
    "tenants.people.middleware.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alpr_portal.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "alpr_portal.wsgi.application"

# --- Database and Redis --------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    None if PRODUCTION else "postgres://postgres@127.0.0.1:5432/alpr_portal",
    schemes=("postgres", "postgresql"),
)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
_db["ENGINE"] = "django_tenants.postgresql_backend"
_db.setdefault("TEST", {})
if os.environ.get("ALPR_TEST_DB_NAME"):
    _db["TEST"]["NAME"] = os.environ["ALPR_TEST_DB_NAME"]
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url(
    "REDIS_URL",
    None if PRODUCTION else "redis://127.0.0.1:6379/0",
    schemes=("redis", "rediss", "unix"),
)

# --- Auth, sessions, passwords ------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["tenants.people.backends.RoleBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute lifetime, also enforced server-side
SESSION_IDLE_SECONDS = env_int("ALPR_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
# A review session (the purpose stated on entering the review queue) lasts at most this long.
ALPR_REVIEW_SESSION_SECONDS = env_int("ALPR_REVIEW_SESSION_SECONDS", 4 * 60 * 60, minimum=60)
SESSION_ABSOLUTE_SECONDS = env_int("ALPR_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

OTP_LOGIN_URL = "otp-verify"  # the second step of sign-in (tenants/people/views.py)
OTP_TOTP_ISSUER = env_str("ALPR_OTP_ISSUER", "ALPR Portal")
# Repeated wrong codes lock the account after 5 (tenants.people); no extra per-device delay.
OTP_STATIC_THROTTLE_FACTOR = 0
OTP_TOTP_THROTTLE_FACTOR = 0
CSRF_FAILURE_VIEW = "tenants.people.views.csrf_failure"

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("ALPR_STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
# In development an edited file in static/ is served at once, also with DEBUG off (the demo).
WHITENOISE_AUTOREFRESH = ALPR_ENV == "development"
# The folder is made by collectstatic (production) and by alpr_portal.devenv (development and
# tests), never by importing these settings.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Images at rest -------------------------------------------------------
ALPR_STORAGE_DIR = Path(env_str("ALPR_STORAGE_DIR", str(BASE_DIR / "var" / "images")))
# Where the encrypted blobs go (captures/storage/backends.py): "local" (ALPR_STORAGE_DIR, the
# default) or "s3" (an S3-compatible bucket through django-storages).
ALPR_STORAGE = env_str("ALPR_STORAGE", "local")
if ALPR_STORAGE not in {"local", "s3"}:
    raise ConfigError(f"ALPR_STORAGE must be local or s3 (got {ALPR_STORAGE!r}).")
ALPR_S3_BUCKET = env_str("ALPR_S3_BUCKET", required=ALPR_STORAGE == "s3")
ALPR_S3_ENDPOINT_URL = env_str("ALPR_S3_ENDPOINT_URL", "")  # empty: AWS itself
ALPR_S3_ACCESS_KEY_ID = env_str("ALPR_S3_ACCESS_KEY_ID", "")  # empty: the AWS environment
ALPR_S3_SECRET_ACCESS_KEY = env_str("ALPR_S3_SECRET_ACCESS_KEY", "")
ALPR_S3_REGION = env_str("ALPR_S3_REGION", "us-east-1")
ALPR_S3_PREFIX = env_str("ALPR_S3_PREFIX", "")
# Evidence packages (captures/releases): ZIPs of decrypted images, kept for a few days.
ALPR_PACKAGE_DIR = Path(env_str("ALPR_PACKAGE_DIR", str(BASE_DIR / "var" / "packages")))
ALPR_PACKAGE_KEEP_DAYS = env_int("ALPR_PACKAGE_KEEP_DAYS", 7, minimum=1)
ALPR_PACKAGE_QUEUE = env_str("ALPR_PACKAGE_QUEUE", "")  # empty: the default queue
# The master key (tenants.keyring owns it and everything made from it). Without one in
# development, the keyring creates this file on first use, outside the tracked files.
ALPR_MASTER_KEY = master_key(required=PRODUCTION)
ALPR_DEV_MASTER_KEY_FILE = Path(
    env_str("ALPR_DEV_MASTER_KEY_FILE", str(BASE_DIR / "var" / "dev-master.key"))
)
# During a rotation only: previous keys that may still be read, never written with.
ALPR_OLD_MASTER_KEYS = old_master_keys()
ALPR_MAX_UPLOAD_BYTES = env_int("ALPR_MAX_UPLOAD_BYTES", 5 * 1024 * 1024, minimum=1024)
ALPR_MAX_IMAGE_PIXELS = env_int("ALPR_MAX_IMAGE_PIXELS", 24_000_000, minimum=10_000)
# A camera's batch of buffered captures (POST /api/v1/captures/batch/): up to 100 items of a
# plate image and a vehicle photo each, so 200 files and about 1,000 fields per request.
ALPR_MAX_BATCH_BYTES = env_int("ALPR_MAX_BATCH_BYTES", 64 * 1024 * 1024, minimum=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = 200
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1200

# --- Camera API limits (captures/ingest/limits.py), counted in Redis --------
# Requests of one camera, and refused key attempts from one address (then every request from
# it until the window ends): "<count>/<period>", period s, m, h or d (e.g. 500/5m), or "off".
ALPR_CAMERA_RATE = env_rate("ALPR_CAMERA_RATE", "120/m")
ALPR_CAMERA_FAILURE_RATE = env_rate("ALPR_CAMERA_FAILURE_RATE", "10/m")
# Redis unreachable: let uploads through (true, the default: a capture is worth more than the
# limit, and keys are too long to guess) or answer 503 (false).
ALPR_CAMERA_RATE_FAIL_OPEN = env_bool("ALPR_CAMERA_RATE_FAIL_OPEN", True)
# How long the hourly counts of refused camera keys are kept (the admin's failed sign-ins list).
ALPR_CAMERA_FAILURE_DAYS = env_int("ALPR_CAMERA_FAILURE_DAYS", 90, minimum=1)

# --- Plate reading --------------------------------------------------------
ALPR_OCR_MODEL = env_str("ALPR_OCR_MODEL", "plate")  # "plate" (fine-tuned) or "stock"
ALPR_OCR_THREADS = env_int("ALPR_OCR_THREADS", 2, minimum=1)
# "onnx" (ONNX Runtime, no torch in the worker: ~0.3 GB resident) or "torch" (easyocr's modules)
ALPR_OCR_RUNTIME = env_str("ALPR_OCR_RUNTIME", "onnx")
# The nice value a worker consuming ALPR_OCR_QUEUE takes at start, so a draining backlog gives
# the cores to the web processes first (alpr_portal/reading_priority.py); 0 leaves it alone.
ALPR_READING_NICE = env_int("ALPR_READING_NICE", 10, minimum=0, maximum=19)
# Reads whose calibrated confidence is below this are the doubtful ones: the review queue
# counts them and the alert page warns.  The default is the lowest threshold at which the reads
# above it are at least 98% right on the benchmark's real crops (98.1%, 58.1% of the reads
# clear it; docs/PERFORMANCE.md, docs/reading-confidence.svg).
ALPR_REVIEW_THRESHOLD = env_int("ALPR_REVIEW_THRESHOLD_PERCENT", 88, minimum=0, maximum=100) / 100
ALPR_EASYOCR_DIR = Path(env_str("ALPR_EASYOCR_DIR", str(BASE_DIR / "var" / "easyocr")))

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540, minimum=5)
CELERY_TASK_ALWAYS_EAGER = False
# How long a message taken by a worker that died stays invisible before Redis hands it out
# again (late acks). Tasks are idempotent, so a short value only costs duplicate skips.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Every task lives in an app's tasks.py (found by autodiscovery); the queues and the one beat
# schedule follow.
# Queue of the plate-reading tasks (run dedicated OCR workers with `-Q <name>`).
ALPR_OCR_QUEUE = env_str("ALPR_OCR_QUEUE", "celery")
# Captures still waiting to be read after this long are queued again (lost messages).
ALPR_OCR_REQUEUE_AFTER_SECONDS = env_int("ALPR_OCR_REQUEUE_AFTER_SECONDS", 900, minimum=10)
# The retention purge's tasks (captures.tasks.purge_agency).
ALPR_PURGE_QUEUE = env_str("ALPR_PURGE_QUEUE", "celery")
# Pruning deletes old access-log entries: give it a worker that connects as the tables' owner
# when the application's role may only INSERT and SELECT the log (README, "Database roles").
ALPR_AUDIT_PRUNE_QUEUE = env_str("ALPR_AUDIT_PRUNE_QUEUE", "celery")
# The other access-log jobs (verification, checkpoints, flags, reports): every task of
# audit/tasks.py that is sent without a queue of its own.
ALPR_AUDIT_QUEUE = env_str("ALPR_AUDIT_QUEUE", "celery")
CELERY_TASK_ROUTES = {"audit.tasks.*": {"queue": ALPR_AUDIT_QUEUE}}
# Every periodic job, in one place. Each dispatcher runs in public and fans out one task per
# agency (tenants.fanout).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Captures still pending after ALPR_OCR_REQUEUE_AFTER_SECONDS are queued again.
    "captures-requeue-pending": {
        "task": "captures.requeue_pending_captures",
        "schedule": 600.0,
    },
    # Each agency is purged at its own purge_hour, in its own time zone.
    "retention-purge-dispatch": {
        "task": "captures.purge.purge_dispatch",
        "schedule": crontab(minute=5),
    },
    "audit-verify-logs-nightly": {
        "task": "audit.tasks.verify_all_logs",
        "schedule": crontab(hour=2, minute=15),
    },
    "audit-prune-logs-nightly": {
        "task": "audit.tasks.prune_all_logs",
        "schedule": crontab(hour=2, minute=45),
    },
    "audit-checkpoint-hourly": {
        "task": "audit.tasks.checkpoint_all_logs",
        "schedule": crontab(minute=0),
    },
    "audit-scan-flags": {
        "task": "audit.tasks.scan_all_flags",
        "schedule": crontab(minute="*/15"),
    },
    # Beat's own heartbeat, and one into every queue for its worker (alpr_portal.health).
    "health-heartbeats": {"task": "alpr_portal.health_beat", "schedule": 15.0},
    # Incident notifications due or overdue: an e-mail to each agency's custodian.
    "audit-incident-reminders-daily": {
        "task": "audit.tasks.incident_reminders_all",
        "schedule": crontab(hour=7, minute=0),
    },
    "audit-weekly-reports": {
        "task": "audit.tasks.weekly_reports",
        "schedule": crontab(hour=3, minute=30, day_of_week="mon"),
    },
}

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ALPR Portal camera API",
    "DESCRIPTION": "Cameras push plate captures to their agency's host.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Results map ----------------------------------------------------------
# Street tiles for the search results map. Production defaults to OpenStreetMap's tile
# server (the browser fetches tiles from it: it sees the agency's host and the area shown);
# "" uses the vendored basemap of the demo area only (development, tests, offline installs).
ALPR_MAP_TILE_URL = env_str(
    "ALPR_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png" if PRODUCTION else ""
)
ALPR_MAP_TILE_ATTRIBUTION = env_str(
    "ALPR_MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors" if ALPR_MAP_TILE_URL else ""
)
# The vendored basemap (static file) and the area it covers: [[south, west], [north, east]].
ALPR_MAP_BASEMAP = "vendor/demo-basemap/demo-area.svg"
ALPR_MAP_BASEMAP_BOUNDS = [[45.490, -122.730], [45.605, -122.575]]


def _tile_source(url: str) -> list[str]:
    """The CSP source of the tile server ("{s}" subdomains as a wildcard), if any."""
    if not url:
        return []
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "SUBDOMAIN"))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"ALPR_MAP_TILE_URL must be an http(s) URL (got {url!r}).")
    host = parts.netloc.replace("SUBDOMAIN", "*")
    return [f"{parts.scheme}://{host}"]


# --- Security headers -----------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", *_tile_source(ALPR_MAP_TILE_URL)],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies: the browser takes them only with Secure, Path=/ and no Domain, so no
    # other host (another agency's, or a subdomain) can set or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = CSRF_COOKIE_DOMAIN = None
    if env_bool("ALPR_BEHIND_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "alpr-portal@localhost")

# ALPR_LOG_FORMAT=json: one JSON object per line (for a log collector); plain otherwise. Both
# carry the request id (audit.context), which is also in the request's access-log entries.
ALPR_LOG_FORMAT = env_str("ALPR_LOG_FORMAT", "plain")
if ALPR_LOG_FORMAT not in {"plain", "json"}:
    raise ConfigError(f"ALPR_LOG_FORMAT must be plain or json (got {ALPR_LOG_FORMAT!r}).")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "audit.context.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": ALPR_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Health and metrics (alpr_portal.health, alpr_portal.observability) ---------------------
# A heartbeat (beat's, or a queue's worker's) older than this is stale: /healthz answers 503.
ALPR_HEALTH_HEARTBEAT_SECONDS = env_int("ALPR_HEALTH_HEARTBEAT_SECONDS", 120, minimum=30)
# The nightly purge and log verification of an agency are stale after this many hours.
ALPR_HEALTH_DAILY_HOURS = env_int("ALPR_HEALTH_DAILY_HOURS", 26, minimum=2)
# More messages waiting in one queue than this fails the health check.
ALPR_HEALTH_MAX_QUEUE = env_int("ALPR_HEALTH_MAX_QUEUE", 5000, minimum=1)
# /metrics (platform host): these networks, or a request with "Authorization: Bearer <token>".
ALPR_METRICS_ALLOW = env_networks("ALPR_METRICS_ALLOW", ["127.0.0.1/32", "::1/128"])
ALPR_METRICS_TOKEN = env_str("ALPR_METRICS_TOKEN", "")
if PRODUCTION and ALPR_METRICS_TOKEN and len(ALPR_METRICS_TOKEN) < 24:
    raise ConfigError("ALPR_METRICS_TOKEN must be at least 24 characters.")
# Load balancers and Prometheus may ask gunicorn directly, without the proxy's HTTPS header.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# --- Access log (audit) ---------------------------------------------------
# Access-log retention, separate from capture retention: default two years, never under one.
ALPR_ACCESS_LOG_RETENTION_DAYS = env_int("ALPR_ACCESS_LOG_RETENTION_DAYS", 730, minimum=365)
# Change history (django-auditlog) of the configuration models, in each agency's schema.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "auth.User", "exclude_fields": ["password", "last_login"], "m2m_fields": ["groups"]},
    "auth.Group",
    "people.TrainingRecord",
    {"model": "captures.Camera", "exclude_fields": ["key_hash", "last_seen_at"]},
    "captures.Review",
    "tenants.Agency",
    "audit.LogPolicy",
)
# Signed checkpoints of each chain's head, kept outside the database (audit/checkpoint.py):
# one append-only file per schema in this folder, signed with an Ed25519 key from a file.
ALPR_AUDIT_CHECKPOINT_DIR = Path(
    env_str("ALPR_AUDIT_CHECKPOINT_DIR", str(BASE_DIR / "var" / "audit-checkpoints"))
)
_audit_signing_key = signing_key_file("ALPR_AUDIT_SIGNING_KEY_FILE", required=PRODUCTION)
ALPR_AUDIT_SIGNING_KEY_FILE = _audit_signing_key or BASE_DIR / "var" / "audit-signing-dev.pem"
# Development only: the default key above is created on first use (never here, at import).
ALPR_AUDIT_SIGNING_KEY_CREATE = _audit_signing_key is None and not PRODUCTION
