"""Settings for the inbound SDR desk, read from the environment.

With no environment at all this runs on SQLite, Django-Q2's ORM broker on the
same database and the in-process channel layer; bin/demo adds an embedded Redis
(sdr_desk/embedded_redis.py) so pushes cross its processes.
Production sets ``DEBUG=0`` and at least ``SECRET_KEY`` and ``ALLOWED_HOSTS``;
``manage.py check --deploy`` is then clean.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from sdr_desk.env import envbaseurl, envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)

SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode-" + "x" * 20

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if "*" in ALLOWED_HOSTS and not DEBUG:
    # AllowedHostsOriginValidator treats "*" as "any origin": that would let any
    # site open a signed-in websocket with the user's cookies.
    raise ImproperlyConfigured("ALLOWED_HOSTS='*' is refused in production: it disables websocket origin checks")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_q",
    "channels",
    "inbound",
    "scoring",
    "sdr_desk.routing",
    "sdr_desk.board",
    "sdr_desk.dispositions",
    "sdr_desk.qualification",
    "sdr_desk.webhooks",
    "sdr_desk.handoff",
    "sdr_desk.sequences",
    "sdr_desk.reports",
    "sdr_desk",  # last: its post_migrate (roles, schedules) sees every app's permissions and schedules
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sdr_desk.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sdr_desk.board.zones.ViewerZoneMiddleware",  # every page in its viewer's time zone (docs/board.md)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sdr_desk.handon.HandOnMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "sdr_desk.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "sdr_desk.asgi.application"

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
                "sdr_desk.board.zones.viewer_zone_context",
                "sdr_desk.homes.nav",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'desk.sqlite3'}")
# Under ASGI every request runs in its own thread, so a persistent connection
# (CONN_MAX_AGE > 0) is never reused and only piles up towards max_connections.
# On PostgreSQL the default is psycopg's connection pool (a POST's new connection
# was a third of its time: bench/README.md); DATABASE_POOL=0 closes the
# connection after each request instead.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=envint("CONN_MAX_AGE", 0, minimum=0),
        conn_health_checks=True,
    )
}
DATABASE_POOL = envbool("DATABASE_POOL", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # The embedded default runs the web server, the Q cluster and the simulator
    # as separate processes on one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock up front instead of failing on
    # upgrade, and the timeout waits out the other writers.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(f"DATABASE_URL must be sqlite:// or postgres://, not {DATABASE_URL.split(':')[0]}://")
elif DATABASE_POOL:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured("DATABASE_POOL=1 (the default on PostgreSQL) needs CONN_MAX_AGE=0: the pool "
                                   "keeps the connections; set DATABASE_POOL=0 to keep them with CONN_MAX_AGE")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": envint("DATABASE_POOL_MIN", 2, minimum=0),
        "max_size": envint("DATABASE_POOL_MAX", 20, minimum=1),
        # How long a request waits for a connection: psycopg's 30 s would hold every request
        # that long in an outage before its 503; a healthy pool answers in well under a second.
        "timeout": envint("DATABASE_POOL_TIMEOUT", 5, minimum=1),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: cache, channel layer ---------------------------------------------
# Pushes cross processes (ASGI workers, Django-Q workers, the simulator) only
# through Redis. bin/demo sets REDIS_URL to unix://.../var/redis.sock, the
# embedded redis-server it starts (sdr_desk/embedded_redis.py), so the demo
# runs this same channels_redis path as production.
REDIS_URL = envstr("REDIS_URL", "")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults to a 5 s socket timeout, which drops idle
                # websocket consumers (channels_redis #422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    # One process only: a push from another process (the Q cluster, a second
    # worker) never reaches this one's websockets. Fine for a lone runserver.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- task queue -----------------------------------------------------------------
# The ORM broker keeps queued work in the database, so a crash loses nothing
# that is queued; every task is idempotent because a task can still run twice.
Q_CLUSTER = {
    "name": "sdr_desk",
    "orm": "default",
    "workers": envint("Q_WORKERS", 2, minimum=1),
    "timeout": 300,
    "retry": 360,  # larger than timeout, or tasks are re-queued while running (django-q #183)
    "max_attempts": 3,
    "catch_up": False,  # no storm of replayed schedules after downtime
    "ack_failures": True,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Task queue",
}

# --- auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- i18n -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- static and uploads -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
# CSV imports are streamed to disk, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
IMPORT_MAX_FILE_BYTES = envint("IMPORT_MAX_FILE_BYTES", 200 * 1024 * 1024, minimum=1024)

# --- email ------------------------------------------------------------------------
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive; set one")
# The desk's own address as people and receivers reach it (https://desk.example.com): webhook payloads carry
# absolute lead links with it. Empty: paths only.
DESK_BASE_URL = envbaseurl("DESK_BASE_URL")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "SDR desk <desk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Sequences (docs/sequences.md): per-mailbox caps on automatic email, the links and Message-IDs they carry.
SEQUENCES_MAILBOX_HOURLY_CAP = envint("SEQUENCES_MAILBOX_HOURLY_CAP", 50, minimum=1)
SEQUENCES_MAILBOX_DAILY_CAP = envint("SEQUENCES_MAILBOX_DAILY_CAP", 400, minimum=1)
SEQUENCES_MAILBOX_WEEKLY_CAP = envint("SEQUENCES_MAILBOX_WEEKLY_CAP", 5000, minimum=1)
SEQUENCES_STOP_ON_COLLEAGUE_REPLY = envbool("SEQUENCES_STOP_ON_COLLEAGUE_REPLY", True)
SEQUENCES_MIN_SPACING_SECONDS = envint("SEQUENCES_MIN_SPACING_SECONDS", 30, minimum=0)
SEQUENCES_STALE_SEND_MINUTES = envint("SEQUENCES_STALE_SEND_MINUTES", 60, minimum=1)
SEQUENCES_BASE_URL = envstr("SEQUENCES_BASE_URL", DESK_BASE_URL or "http://localhost:8000")
SEQUENCES_MESSAGE_ID_DOMAIN = envstr("SEQUENCES_MESSAGE_ID_DOMAIN", "sdr-desk.local")
SEQUENCES_INBOUND_TOKEN = envstr("SEQUENCES_INBOUND_TOKEN", "")  # empty: the inbound email endpoint refuses all
SEQUENCES_AUTO_REPLY_PAUSE_DAYS = envint("SEQUENCES_AUTO_REPLY_PAUSE_DAYS", 3, minimum=1)
# django-anymail's normalised inbound (Postmark's inbound webhook at /anymail/postmark/inbound/): the webhook's
# basic-auth "user:password"; empty, that endpoint refuses everything (403).
ANYMAIL = {"WEBHOOK_SECRET": envstr("ANYMAIL_WEBHOOK_SECRET", "")}
SEQUENCES_AB_MIN_SAMPLE = envint("SEQUENCES_AB_MIN_SAMPLE", 30, minimum=1)  # sent per variant before a winner is named

# --- security -----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; harmless either way
CSRF_FAILURE_VIEW = "sdr_desk.views.csrf_failure"  # the refusal inside the site's layout, saying what to do
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_PROXY", True) else None
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "inbound.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["inbound.api_parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "sdr_desk.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inbound SDR desk API",
    "DESCRIPTION": "Send leads and behaviour in; read leads back. Authenticate with `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"FormTypeEnum": "inbound.models.FormType", "LeadStatusEnum": "inbound.models.LeadStatus",
                            "HandoffStatusEnum": "sdr_desk.handoff.models.HandoffStatus",
                            "MeetingStatusEnum": "sdr_desk.handoff.models.MeetingStatus"},
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- intake ---------------------------------------------------------------------------
# Hosted forms: anti-automation for an unauthenticated endpoint (OWASP ASVS V11.1).
FORM_MIN_FILL_SECONDS = envint("FORM_MIN_FILL_SECONDS", 3, minimum=0)
FORM_RATE_LIMIT = envint("FORM_RATE_LIMIT", 10, minimum=1)  # posts per IP per window
FORM_RATE_WINDOW_SECONDS = envint("FORM_RATE_WINDOW_SECONDS", 600, minimum=1)
# How many proxies sit in front of the app; the client address is read from
# X-Forwarded-For only that far back, so a client cannot spoof its own.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- reports ----------------------------------------------------------------------------
# A figure that took this long to compute is kept as a snapshot (sdr_desk/reports/snapshots.py), served while
# the facts have not moved and, while a task brings it up to date, for at most REPORT_SNAPSHOT_MAX_AGE_SECONDS.
REPORT_SNAPSHOT_SLOW_MS = envint("REPORT_SNAPSHOT_SLOW_MS", 100, minimum=0)
REPORT_SNAPSHOT_MAX_AGE_SECONDS = envint("REPORT_SNAPSHOT_MAX_AGE_SECONDS", 900, minimum=0)
# Snapshots viewed within this many days are kept up to date by the "Report snapshots" schedule; older are dropped.
REPORT_SNAPSHOT_KEEP_DAYS = envint("REPORT_SNAPSHOT_KEEP_DAYS", 7, minimum=1)

# --- scoring ----------------------------------------------------------------------------
# How long a process trusts its idea of the latest rule-set version before asking again.
SCORING_RULES_TTL_SECONDS = envint("SCORING_RULES_TTL_SECONDS", 2, minimum=0)
# A lead is hot by its team's criteria: the desk tells scoring which apply.
SCORING_CRITERIA_RESOLVER = "sdr_desk.routing.engine.criteria_for_leads"
# Likewise for routing rules.
ROUTING_RULES_TTL_SECONDS = envint("ROUTING_RULES_TTL_SECONDS", 2, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
