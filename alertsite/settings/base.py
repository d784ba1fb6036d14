"""Settings for every environment, read from the environment through django-environ.

With no environment at all this is the *embedded default*: SQLite in the repo root,
Celery tasks run in-process, e-mail printed to the console, keys generated into a
git-ignored file. Setting DATABASE_URL / CELERY_BROKER_URL / EMAIL_URL turns the same
code into a production deployment.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from alertsite.env import env
from alertsite.local_secrets import local_secret
from alertsite.observability.logconfig import log_format_check, logging_config
from alertsite.startup import keys_refusal

BASE_DIR = Path(__file__).resolve().parent.parent.parent

if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# GENERAL ----------------------------------------------------------------------
EMBEDDED = not env.str("DATABASE_URL", default="")
DEBUG = env.bool("DEBUG", default=EMBEDDED)
LOCAL_SECRETS_FILE = Path(env.str("ALERTSITE_LOCAL_SECRETS_FILE", default=str(BASE_DIR / ".alertsite-secrets.json")))

# Without DEBUG the key must come from the environment; its strength is checked with the
# encryption keys below (DEPLOYMENT HARDENING).
SECRET_KEY = env.str("SECRET_KEY", default="") or (local_secret(LOCAL_SECRETS_FILE, "SECRET_KEY") if DEBUG else "")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False
ROOT_URLCONF = "alertsite.urls"
WSGI_APPLICATION = "alertsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The public base URL, used in links inside notifications.
ALERTSITE_BASE_URL = env.str("ALERTSITE_BASE_URL", default="http://127.0.0.1:8000")

# APPS -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "alertsite.accounts",
    "alertsite.runtime",
    "events",
    "rules",
    "alerts",
    "channels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "alertsite.middleware.ApiErrors",
    "alertsite.middleware.DatabaseOutage",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "alertsite.middleware.nul_guard",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
                "alertsite.console.console_context",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# DATABASES --------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the scheduler writes; a busy timeout waits
    # for the writer instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Parameters bound by the server, and a statement run 5 times on a connection prepared
        # (psycopg's prepare_threshold): PostgreSQL then skips parsing and planning the hot path's
        # fixed statements, and psycopg skips quoting every parameter into the text. Measured at
        # 50 alerting events/s: 37% less PostgreSQL CPU. Off for a pooler that cannot keep
        # prepared statements (PgBouncer before 1.21 in transaction mode).
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": 5,
        }

# A connection that ended a request cleanly this long ago skips the next request's health check
# (alertsite.dbfresh: one round trip less per request; 0 checks before every request).
ALERTSITE_DB_FRESH_SECONDS = env.float("ALERTSITE_DB_FRESH_SECONDS", default=1.0)

# CELERY -----------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# The shared cache holds cross-process flags (alertsite.wakeups): the broker's Redis in
# production, process memory on the embedded default (where tasks run inline anyway).
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "alertsite.rediscache.KeptRedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "alertsite",
        }
    }
# Embedded default: no broker, tasks run in the calling process and the periodic
# jobs run from alertsite.runtime.scheduler inside the web process (runserver, gunicorn,
# `manage.py serve`), one process a host at a time.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Celery's Django fix-up closes the database connection before and after every task unless
# this is set, so each task paid a new PostgreSQL session (issue 12: 1,876 sessions for 1,872
# tasks). With it the fix-up leaves connections alone, and alertsite.celery closes them the
# way Django does per request instead: when CONN_MAX_AGE has passed or the connection broke.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1_000_000)
# How long Redis waits for an un-acknowledged task before handing it to another
# worker. Tasks are short and idempotent; a dead worker's task comes back after this.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("ALERTSITE_BROKER_VISIBILITY_TIMEOUT", default=300),
}
# How often the Alert Metrics figures are recomputed; a page computes them itself when its
# snapshot is older than twice this (no job running).
ALERTSITE_METRICS_REFRESH_SECONDS = env.int("ALERTSITE_METRICS_REFRESH_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "event-retention-purge": {
        "task": "events.tasks.event_retention_purge_task",
        "schedule": timedelta(hours=24),
    },
    "evaluation-sweep": {
        "task": "rules.tasks.evaluation_sweep_task",
        "schedule": timedelta(seconds=env.int("ALERTSITE_EVALUATION_SWEEP_INTERVAL_SECONDS", default=60)),
    },
    "delivery-sweep": {
        "task": "channels.tasks.delivery_sweep_task",
        "schedule": timedelta(seconds=env.float("ALERTSITE_DELIVERY_SWEEP_INTERVAL_SECONDS", default=30.0)),
    },
    "alert-reminders": {
        "task": "alerts.tasks.reminders_task",
        "schedule": timedelta(seconds=env.float("ALERTSITE_REMINDER_INTERVAL_SECONDS", default=30.0)),
    },
    # Snoozes end on time whatever the job's pace (every read compares snoozed_until with now);
    # the job clears them, records the audit event and brings snoozed alerts back.
    "rule-snooze-expiry": {
        "task": "rules.tasks.rule_snoozes_expire_task",
        "schedule": timedelta(seconds=env.float("ALERTSITE_SNOOZE_SWEEP_INTERVAL_SECONDS", default=60.0)),
    },
    "alert-snooze-expiry": {
        "task": "alerts.tasks.alert_snoozes_expire_task",
        "schedule": timedelta(seconds=env.float("ALERTSITE_SNOOZE_SWEEP_INTERVAL_SECONDS", default=60.0)),
    },
    # Insights > Alert Metrics reads one snapshot a period (alerts.services.metrics_snapshots).
    "alert-metrics-refresh": {
        "task": "alerts.tasks.alert_metrics_refresh_task",
        "schedule": timedelta(seconds=ALERTSITE_METRICS_REFRESH_SECONDS),
    },
    # Detection stores: values unseen for history_days, partial sequences past their window.
    "detections-prune": {
        "task": "rules.tasks.detections_prune_task",
        "schedule": timedelta(seconds=env.float("ALERTSITE_DETECTION_PRUNE_INTERVAL_SECONDS", default=600.0)),
    },
    "sources-poll": {
        "task": "events.tasks.sources_poll_due_task",
        "schedule": timedelta(seconds=env.float("ALERTSITE_SOURCE_SCHEDULER_INTERVAL_SECONDS", default=10.0)),
    },
}

# EMAIL ------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="alertsite <alertsite@localhost>")

# DRF --------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate` header makes unauthenticated calls 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "alertsite.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["alertsite.accounts.permissions.ReadOnlyRoles"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "alertsite API",
    "DESCRIPTION": "Alerting over identity and directory audit events.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# OBSERVABILITY: logs, request ids, /metrics (api.md §13) -------------------------
# LOG_FORMAT=text (the default) writes the plain lines of old; json one JSON object a line with
# the request id (alertsite.observability). Anything else stops start-up naming the setting.
LOG_FORMAT = log_format_check(env.str("LOG_FORMAT", default="text"))
LOGGING = logging_config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
if CELERY_TASK_ALWAYS_EAGER:
    # Embedded default: periodic jobs run in the web process every few seconds; a "Task ...
    # succeeded" line for each of them would bury everything else. Failures still log.
    LOGGING["loggers"] = {"celery.app.trace": {"level": "WARNING"}}
# An access-log line a request (method, path, route, status, duration, user, request id).
ALERTSITE_ACCESS_LOG = env.bool("ALERTSITE_ACCESS_LOG", default=LOG_FORMAT == "json")
# Request count and duration by method, route name and status for /metrics (several web
# processes: set PROMETHEUS_MULTIPROC_DIR, see README "Monitoring").
ALERTSITE_HTTP_METRICS = env.bool("ALERTSITE_HTTP_METRICS", default=True)
# GET /metrics needs `Authorization: Bearer <this>`; unset, /metrics is open with DEBUG on, off (403) without.
ALERTSITE_METRICS_TOKEN = env.str("ALERTSITE_METRICS_TOKEN", default="")
# Outermost: the request id is set before, and the duration covers, every other middleware.
MIDDLEWARE = ["alertsite.observability.middleware.RequestObserver", *MIDDLEWARE]

# SECURITY (when DEBUG is off) ------------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True

# ALERTSITE --------------------------------------------------------------------
ALERTSITE_ENCRYPTION_KEY = env.str("ALERTSITE_ENCRYPTION_KEY", default="") or (
    local_secret(LOCAL_SECRETS_FILE, "ENCRYPTION_KEY") if DEBUG else ""
)
ALERTSITE_EVENT_RETENTION_DAYS = env.int("ALERTSITE_EVENT_RETENTION_DAYS", default=90)
ALERTSITE_RETENTION_BATCH_SIZE = env.int("ALERTSITE_RETENTION_BATCH_SIZE", default=5000)
# Share of the time the purge works; it rests after each batch for the rest (0.33: it rests
# twice as long as the batch took), so a big purge leaves the CPU to ingest. 1.0: flat out.
ALERTSITE_RETENTION_DUTY_CYCLE = env.float("ALERTSITE_RETENTION_DUTY_CYCLE", default=0.33)
if not 0 < ALERTSITE_RETENTION_DUTY_CYCLE <= 1:
    raise ImproperlyConfigured("ALERTSITE_RETENTION_DUTY_CYCLE must be more than 0 and at most 1.")
ALERTSITE_INGEST_MAX_EVENTS = env.int("ALERTSITE_INGEST_MAX_EVENTS", default=1000)
ALERTSITE_INGEST_MAX_BODY_BYTES = env.int("ALERTSITE_INGEST_MAX_BODY_BYTES", default=10 * 1024 * 1024)
ALERTSITE_INGEST_MAX_EVENT_BYTES = env.int("ALERTSITE_INGEST_MAX_EVENT_BYTES", default=256 * 1024)
ALERTSITE_INGEST_MAX_DEPTH = env.int("ALERTSITE_INGEST_MAX_DEPTH", default=32)
# Events per evaluation task: one task per batch, never one per event.
ALERTSITE_EVALUATION_BATCH_SIZE = env.int("ALERTSITE_EVALUATION_BATCH_SIZE", default=500)
# A request with at most this many new events has them evaluated by its own web process right
# after its response (alertsite.afterresponse), not by a worker; 0 sends every request to the workers.
ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX = env.int("ALERTSITE_EVALUATION_AFTER_RESPONSE_MAX", default=10)
# Events still unevaluated this long after they were accepted are queued again.
ALERTSITE_EVALUATION_SWEEP_AFTER_SECONDS = env.int("ALERTSITE_EVALUATION_SWEEP_AFTER_SECONDS", default=60)
ALERTSITE_EVALUATION_SWEEP_INTERVAL_SECONDS = env.int("ALERTSITE_EVALUATION_SWEEP_INTERVAL_SECONDS", default=60)
# How far back "Existing Conditions" looks when a rule is saved or enabled with it on.
ALERTSITE_EXISTING_LOOKBACK_HOURS = env.int("ALERTSITE_EXISTING_LOOKBACK_HOURS", default=24)
# Sequence detections keep a step event this long past its window, for steps that arrive late.
ALERTSITE_DETECTION_LATE_MINUTES = env.int("ALERTSITE_DETECTION_LATE_MINUTES", default=60)
# Older encryption keys that still decrypt channel secrets during a key rotation.
ALERTSITE_ENCRYPTION_KEYS_OLD = env.list("ALERTSITE_ENCRYPTION_KEYS_OLD", default=[])
# Delivery: send timeout, retries with exponential backoff and jitter, the stuck-row sweep.
ALERTSITE_DELIVERY_TIMEOUT_SECONDS = env.float("ALERTSITE_DELIVERY_TIMEOUT_SECONDS", default=10.0)
ALERTSITE_DELIVERY_MAX_RETRIES = env.int("ALERTSITE_DELIVERY_MAX_RETRIES", default=3)
ALERTSITE_DELIVERY_BACKOFF_SECONDS = env.float("ALERTSITE_DELIVERY_BACKOFF_SECONDS", default=10.0)
ALERTSITE_DELIVERY_BACKOFF_MAX_SECONDS = env.float("ALERTSITE_DELIVERY_BACKOFF_MAX_SECONDS", default=900.0)
ALERTSITE_DELIVERY_SWEEP_INTERVAL_SECONDS = env.float("ALERTSITE_DELIVERY_SWEEP_INTERVAL_SECONDS", default=30.0)
# A channel that failed this many times in a row (transiently) is paused as a whole until its
# retry time, as one answering 429 is at once: no delivery of it is attempted meanwhile.
ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES = env.int("ALERTSITE_CHANNEL_PAUSE_AFTER_FAILURES", default=3)
# Webhook requests in flight at once per channel within one deliver task (threads over kept
# connections); 1 sends one after the other.
ALERTSITE_DELIVERY_CONCURRENCY = env.int("ALERTSITE_DELIVERY_CONCURRENCY", default=8)
# A worker that raised at most this many deliveries in one commit sends them itself instead of
# queueing them (one queue hop less; 0 turns it off). Web requests always queue.
ALERTSITE_DELIVERY_INLINE_MAX = env.int("ALERTSITE_DELIVERY_INLINE_MAX", default=10)
# Embedded default only (no broker): run the periodic jobs inside the web process, one
# process a host holding the lock file (default: one per database in the temp directory).
ALERTSITE_EMBEDDED_SCHEDULER = env.bool("ALERTSITE_EMBEDDED_SCHEDULER", default=True)
ALERTSITE_SCHEDULER_LOCK_FILE = env.str("ALERTSITE_SCHEDULER_LOCK_FILE", default="")
# Webhooks to loopback/private/link-local/metadata addresses are refused unless this is on.
ALERTSITE_WEBHOOK_ALLOW_PRIVATE = env.bool("ALERTSITE_WEBHOOK_ALLOW_PRIVATE", default=False)
# Sources (api.md §8): pollers of the vendor's Directory Insights API.
ALERTSITE_SOURCE_ALLOW_PRIVATE = env.bool("ALERTSITE_SOURCE_ALLOW_PRIVATE", default=False)
ALERTSITE_SOURCE_MAX_BACKFILL_DAYS = env.int("ALERTSITE_SOURCE_MAX_BACKFILL_DAYS", default=90)
ALERTSITE_SOURCE_TIMEOUT_SECONDS = env.int("ALERTSITE_SOURCE_TIMEOUT_SECONDS", default=30)
# How often the scheduler looks for sources that are due; each source has its own interval.
ALERTSITE_SOURCE_SCHEDULER_INTERVAL_SECONDS = env.float("ALERTSITE_SOURCE_SCHEDULER_INTERVAL_SECONDS", default=10.0)
# One poll task works at most this long, then hands the rest of a backlog to a fresh task.
ALERTSITE_SOURCE_TASK_MAX_SECONDS = env.float("ALERTSITE_SOURCE_TASK_MAX_SECONDS", default=60.0)
# A poll holds its source this long, renewed with every page; a dead worker's hold lapses.
ALERTSITE_SOURCE_LEASE_SECONDS = env.float("ALERTSITE_SOURCE_LEASE_SECONDS", default=120.0)
# Transient failures back off exponentially from this, up to the max (or the vendor's Retry-After).
ALERTSITE_SOURCE_BACKOFF_SECONDS = env.float("ALERTSITE_SOURCE_BACKOFF_SECONDS", default=15.0)
ALERTSITE_SOURCE_BACKOFF_MAX_SECONDS = env.float("ALERTSITE_SOURCE_BACKOFF_MAX_SECONDS", default=900.0)
# Transient failures in a row before a source counts as failing (401/403 fail it at once).
ALERTSITE_SOURCE_FAILING_AFTER = env.int("ALERTSITE_SOURCE_FAILING_AFTER", default=3)

# DEPLOYMENT HARDENING (issue 13) ----------------------------------------------------
# TLS is opted into by the environment, never assumed: X-Forwarded-Proto is trusted only
# when ALERTSITE_BEHIND_TLS_PROXY says a proxy in front sets it (otherwise any client could
# claim https), and HSTS / the https redirect are sent only when asked for.
ALERTSITE_BEHIND_TLS_PROXY = env.bool("ALERTSITE_BEHIND_TLS_PROXY", default=False)
if ALERTSITE_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health checks (Docker, load balancers) probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Silenced in `check --deploy`, each for a reason (README "Configuration"):
# - drf_spectacular.W001: two enums of the OpenAPI schema got generated names; nothing to do
#   with how the site is deployed.
# - security.W005, security.W021: whether HSTS also binds every subdomain, and whether the
#   domain goes on the browsers' preload list (hard to undo), are decisions about the whole
#   domain, not this site; SECURE_HSTS_INCLUDE_SUBDOMAINS / SECURE_HSTS_PRELOAD make them.
SILENCED_SYSTEM_CHECKS = ["drf_spectacular.W001", "security.W005", "security.W021"]
# A production start (DEBUG off) refuses weak or missing keys, naming the setting and how to
# make a good one (alertsite.startup); DEBUG generates them into LOCAL_SECRETS_FILE instead.
if not DEBUG and (refusal := keys_refusal(SECRET_KEY, ALERTSITE_ENCRYPTION_KEY, ALERTSITE_ENCRYPTION_KEYS_OLD)):
    raise refusal

# CONTENT SECURITY POLICY (issue 13) ---------------------------------------------
# django-csp sends the header; every page (console, admin, /api/docs/) runs with no inline
# script or style at all, so the policy needs neither 'unsafe-inline' nor nonces.
# ALERTSITE_CSP: enforce (default), report-only (the browser reports, blocks nothing) or off
# (no middleware at all, for comparing the overhead).
ALERTSITE_CSP = env.str("ALERTSITE_CSP", default="enforce").strip().lower()
ALERTSITE_CSP_MODES = ("enforce", "report-only", "off")
if ALERTSITE_CSP not in ALERTSITE_CSP_MODES:
    raise ImproperlyConfigured(f"ALERTSITE_CSP must be one of {', '.join(ALERTSITE_CSP_MODES)}, not {ALERTSITE_CSP!r}.")
ALERTSITE_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],  # the admin's and Swagger UI's icons are data: URLs
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if ALERTSITE_CSP != "off":
    # Right after WhiteNoise, which answers static files itself: they need no policy.
    _after = MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1
    MIDDLEWARE.insert(_after, "csp.middleware.CSPMiddleware")
if ALERTSITE_CSP == "enforce":
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": ALERTSITE_CSP_DIRECTIVES}
elif ALERTSITE_CSP == "report-only":
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": ALERTSITE_CSP_DIRECTIVES}

# LOGIN THROTTLING (issue 13) ------------------------------------------------------
# Login throttling (console, admin and API token): this many failed logins for a username or from
# an address within the window lock it for the cool-off after the last failure. 0 turns it off.
ALERTSITE_LOGIN_MAX_FAILURES = env.int("ALERTSITE_LOGIN_MAX_FAILURES", default=5)
ALERTSITE_LOGIN_FAILURE_WINDOW_SECONDS = env.int("ALERTSITE_LOGIN_FAILURE_WINDOW_SECONDS", default=900)
ALERTSITE_LOGIN_LOCKOUT_SECONDS = env.int("ALERTSITE_LOGIN_LOCKOUT_SECONDS", default=900)
