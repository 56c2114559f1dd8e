"""Settings shared by every environment, read from the environment (django-environ).

Each variable has a default that works on a developer's machine with PostgreSQL and Redis
running locally; production.py insists on the ones that must be set.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flywheel_crm"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "common",
    "accounts",
    "stages",
    "customers",
    "interactions",
    "messaging",
    "surveys",
    "automation",
    "webhooks",
    "segments",
    "consent",
    "leadforms",
    "campaigns",
    "analytics",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.middleware.UnstorableTextMiddleware",
    "dashboard.freshness.DashboardFreshnessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Inside MessageMiddleware, so that its warning is kept for the next page.
    "common.middleware.PublishDelayedMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a sign-in refused for a lockout into the 429 answer (accounts/lockout.py); outside
    # the idempotency middleware, so that it sees the response of the view that one calls.
    "axes.middleware.AxesMiddleware",
    # Last: it calls the API view itself, inside the transaction that stores its answer.
    "common.api.idempotency.IdempotencyKeyMiddleware",
]

# --- Security headers -------------------------------------------------------------------------
# Content-Security-Policy (django-csp) on every response: scripts, styles, fonts and requests
# from our own origin only, no inline script or style (an injected <script> or style="" does
# nothing), images also as data: URLs (Swagger UI's icons), no plugins, no <base>, forms post
# only to us, and no framing. The public lead form and the email previews widen it for
# themselves (common/page_policies.py, docs/deploy.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy (django-permissions-policy): a CRM needs none of the browser's powerful
# features, so an injected or framed page gets none of them either.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "bluetooth": [],
    "camera": [],
    "display-capture": [],
    "encrypted-media": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

ROOT_URLCONF = "flywheel_crm.urls"
WSGI_APPLICATION = "flywheel_crm.wsgi.application"
ASGI_APPLICATION = "flywheel_crm.asgi.application"

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
                "interactions.context_processors.overdue_task_count",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=DEFAULT_DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default=DEFAULT_REDIS_URL)
# While Redis is unreachable the cache answers as a cold one (misses, writes dropped, logged):
# pages render from the database instead of failing (common/cache.py). The timeouts bound what
# a page waits for a Redis that does not answer.
CACHES = {
    "default": {
        "BACKEND": "common.cache.OutageTolerantRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "flywheel",
        "OPTIONS": {
            "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
            "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
            "RETRY_AFTER": env.float("CACHE_RETRY_AFTER", default=5.0),
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Sign-in: lockouts and API tokens (docs/api.md, docs/deploy.md) -------------------------
# The lockout backend comes first: it refuses a sign-in while the account or the address is
# locked out, before any password is checked (django-axes, accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins (dashboard, admin and API alike) within the cool-off that lock out: one
# account from one address, one address whatever the accounts tried, one account from
# anywhere (0 turns a limit off). A success resets that account's count from that address.
FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = env.int(
    "FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", default=5
)
FLYWHEEL_LOGIN_FAILURES_PER_ADDRESS = env.int("FLYWHEEL_LOGIN_FAILURES_PER_ADDRESS", default=20)
FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT = env.int("FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT", default=50)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("FLYWHEEL_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = "accounts.lockout.lockout_parameters"
# axes compares every count with this one number; accounts/lockout.py scales each to it.
AXES_FAILURE_LIMIT = max(1, FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS)
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "common.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True
# Successful sign-ins are not logged by axes: only the failures that count towards a lockout.
AXES_DISABLE_ACCESS_LOG = True
# Requests a minute per address to POST /api/v1/auth/token/, whatever their outcome.
FLYWHEEL_API_TOKEN_RATE_PER_MINUTE = env.int("FLYWHEEL_API_TOKEN_RATE_PER_MINUTE", default=60)
# Personal API tokens are stored as SHA-512 digests and expire this many days after issue.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 - a model, not a secret
# knox's migrations would create its own token table even though the model above replaces it;
# nothing uses that table, and its key to auth_user would stop the test database's flushes.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("FLYWHEEL_API_TOKEN_TTL_DAYS", default=30)),
    "AUTH_HEADER_PREFIX": "Token",
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Django REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "common.api.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.api.negotiation.ContentNegotiation",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flywheel CRM API",
    "DESCRIPTION": (
        "REST API v1 of Flywheel CRM. Authenticate with `POST /api/v1/auth/token/` and send "
        "`Authorization: Token <token>`. Errors: 400 bodies are keyed by the offending field "
        "(`body` for a request that is not valid JSON); 401, 403 and 404 carry `detail`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Documents the Idempotency-Key header and its 409 on every write, in one place.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.api.schema.idempotency_key_postprocess",
        "common.api.schema.error_responses_postprocess",
    ],
    # Swagger UI is served from our own static files: the dashboard works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only once it has run, and handed to another worker if its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=5 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=4 * 60)
# A task a dead worker had taken is handed out again after this many seconds (Redis).
# The socket timeouts bound how long a publish waits for a Redis that does not answer.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60),
    "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=2.0),
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
}
# A publish that fails is retried twice within a second, then left to common/queue.py, which
# keeps the task for the unpublished sweep: a request never hangs on a Redis outage.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# kombu's Redis transport, mended so that a worker holding unacknowledged tasks survives a
# restart of Redis and hands them back at once (flywheel_crm/broker.py).
CELERY_BROKER_TRANSPORT = "flywheel_crm.broker:Transport"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Tests give each run its own queue so that parallel runs never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE = {
    # Tasks whose publish failed (Redis down) go out within half a minute of its return.
    "unpublished-sweep": {"task": "common.tasks.unpublished_sweep", "schedule": 30},
    "messages-sweep": {"task": "messaging.tasks.messages_sweep", "schedule": 5 * 60},
    "events-sweep": {"task": "common.tasks.events_sweep", "schedule": 60},
    "survey-batches-sweep": {"task": "surveys.tasks.survey_batches_sweep", "schedule": 5 * 60},
    "survey-invitations-expire": {
        "task": "surveys.tasks.survey_invitations_expire",
        "schedule": 60 * 60,
    },
    "events-prune": {"task": "common.tasks.events_prune_old", "schedule": 24 * 60 * 60},
    # The API's Idempotency-Key answers are kept 24 hours at least, then pruned.
    "idempotency-keys-prune": {
        "task": "common.tasks.idempotency_keys_prune",
        "schedule": 60 * 60,
    },
    # Automation: publish due steps and recover abandoned runs; find idle customers hourly.
    "automation-steps-sweep": {"task": "automation.tasks.steps_sweep", "schedule": 30},
    "automation-idle-sweep": {"task": "automation.tasks.idle_sweep", "schedule": 60 * 60},
    "webhook-deliveries-sweep": {"task": "webhooks.tasks.deliveries_sweep", "schedule": 5 * 60},
    # Campaigns: start scheduled ones when due; re-publish sends whose task was lost.
    "campaigns-start-scheduled": {
        "task": "campaigns.tasks.campaigns_start_scheduled",
        "schedule": 60,
    },
    "campaigns-resume-stalled": {
        "task": "campaigns.tasks.campaigns_resume_stalled_sweep",
        "schedule": 5 * 60,
    },
    # Analytics: fold the deltas the rollup triggers appended (readers add pending ones).
    "analytics-rollups-fold": {"task": "analytics.tasks.rollups_fold_sweep", "schedule": 60},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Flywheel ---------------------------------------------------------------------------------
# The stage a customer enters when none is given.
FLYWHEEL_DEFAULT_STAGE = env("FLYWHEEL_DEFAULT_STAGE", default="awareness")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Purchases move customers: the first one into this stage, and one by a Delight customer
# back into it as a new cycle of the wheel.
FLYWHEEL_PURCHASE_STAGE = env("FLYWHEEL_PURCHASE_STAGE", default="purchase")
FLYWHEEL_MOVE_ON_FIRST_PURCHASE = env.bool("FLYWHEEL_MOVE_ON_FIRST_PURCHASE", default=True)
FLYWHEEL_MOVE_ON_REPEAT_PURCHASE = env.bool("FLYWHEEL_MOVE_ON_REPEAT_PURCHASE", default=True)

# --- Messages -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Flywheel CRM <noreply@localhost>")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
SMS_BACKEND = env("SMS_BACKEND", default="messaging.sms.ConsoleSMSBackend")
# The domain of the Message-ID of every email we send (a retry keeps the same Message-ID).
FLYWHEEL_MESSAGE_ID_DOMAIN = env("FLYWHEEL_MESSAGE_ID_DOMAIN", default="flywheel-crm.local")
# Failed sends are retried this many times, after base, 2*base, 4*base… seconds (jittered).
FLYWHEEL_SEND_MAX_RETRIES = env.int("FLYWHEEL_SEND_MAX_RETRIES", default=6)
FLYWHEEL_RETRY_BACKOFF_SECONDS = env.float("FLYWHEEL_RETRY_BACKOFF_SECONDS", default=10)
# A promoter's answer moves a Delight customer to this stage ("" to switch it off).
FLYWHEEL_PROMOTER_STAGE = env("FLYWHEEL_PROMOTER_STAGE", default="advocacy")
# The public address of the app, for links in emails (survey links, unsubscribe links).
FLYWHEEL_BASE_URL = env("FLYWHEEL_BASE_URL", default="http://127.0.0.1:8000")

# --- Proxies --------------------------------------------------------------------------------
# Addresses or networks of the reverse proxies in front of the app (comma-separated, e.g.
# "127.0.0.1,10.0.0.0/8"). Only a request arriving from one of them has its X-Forwarded-For
# believed, for rate limits, lockouts and consent evidence (common/clientip.py). Parsed here so
# that a typo stops the app at start rather than on the first request.
FLYWHEEL_TRUSTED_PROXIES: list[str] = [
    str(ipaddress.ip_network(proxy.strip(), strict=False))
    for proxy in env.list("FLYWHEEL_TRUSTED_PROXIES", default=[])
    if proxy.strip()
]

# --- Webhooks -------------------------------------------------------------------------------
# Private, loopback, link-local and reserved targets are refused unless this is set (it is,
# by default, in local.py only: a developer's receiver on localhost). See webhooks/guard.py.
FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool(
    "FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False
)
# Seconds a receiver has to connect and to answer each read.
FLYWHEEL_WEBHOOK_TIMEOUT_SECONDS = env.float("FLYWHEEL_WEBHOOK_TIMEOUT_SECONDS", default=5)
# Failed deliveries are retried this many times (backoff: FLYWHEEL_RETRY_BACKOFF_SECONDS).
FLYWHEEL_WEBHOOK_MAX_RETRIES = env.int("FLYWHEEL_WEBHOOK_MAX_RETRIES", default=10)
# Signs the automation engine's one-off calls; unset, it is derived from SECRET_KEY.
FLYWHEEL_WEBHOOK_SECRET = env("FLYWHEEL_WEBHOOK_SECRET", default="")
# The wheel's numbers are shared by everyone opening the same view for this many seconds, and
# recomputed at once after a person's own change (dashboard/freshness.py); 0 turns this off.
FLYWHEEL_DASHBOARD_CACHE_SECONDS = env.int("FLYWHEEL_DASHBOARD_CACHE_SECONDS", default=60)
# A dashboard page reads its selectors side by side on this many threads per process, each
# with its own database connection (dashboard/concurrent.py); 1 reads them one by one.
FLYWHEEL_DASHBOARD_THREADS = env.int("FLYWHEEL_DASHBOARD_THREADS", default=3)
# The shared secret the email provider sends in X-Flywheel-Provider-Secret when it reports
# deliveries, bounces and complaints to /t/provider/; unset, that endpoint refuses everything.
FLYWHEEL_PROVIDER_WEBHOOK_SECRET = env("FLYWHEEL_PROVIDER_WEBHOOK_SECRET", default="")
