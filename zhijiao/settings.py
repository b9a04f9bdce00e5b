"""Zhijiao settings. One code path for the embedded default and for scale:
DATABASE_URL, REDIS_URL and MEDIA_ROOT are read from the environment; nothing else changes."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZHIJIAO_VAR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

VERSION = "0.1.0"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # Embedded default: a per-installation key kept under var/, never in the repository.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "apps.audit",
    "apps.orgs",
    "apps.people",
    "apps.documents",
    "apps.cases",
    "apps.notices",
    "apps.faces",
    "apps.supervision",
    "apps.monitoring",
    "apps.portal",
    "apps.oversight",
    "apps.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "zhijiao.middleware.NulCharacterGuard",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.orgs.middleware.IdleTimeoutMiddleware",
    # every page needs a signed-in user unless its view is marked @login_not_required (sign-in, health, the API,
    # which authenticates each request with its bearer token)
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "apps.orgs.middleware.PasswordChangeRequiredMiddleware",
    "apps.cases.daily.DailyJobsMiddleware",
]

ROOT_URLCONF = "zhijiao.urls"
WSGI_APPLICATION = "zhijiao.wsgi.application"
ASGI_APPLICATION = "zhijiao.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # a province's own document wording (documents/<code>.html) comes before the shipped templates
        "DIRS": [*([Path(os.environ["ZHIJIAO_DOCUMENT_TEMPLATES"])] if os.environ.get("ZHIJIAO_DOCUMENT_TEMPLATES")
                   else []), BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "apps.orgs.context.console",
            ],
        },
    }
]

# --- database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'zhijiao.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0 if "sqlite" in DATABASE_URL else 60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock at BEGIN,
        # so two writers queue (busy timeout) instead of failing half-way through a transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file in WAL mode, as an installation does (an in-memory database shares one cache whose table
    # locks fail at once instead of waiting, which concurrent-writer tests would trip on).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # Chinese text needs a UTF-8 database whatever locale the server was initialised with.
    DATABASES["default"]["TEST"] = {"CHARSET": "UTF8", "TEMPLATE": "template0"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts -------------------------------------------------------------
AUTH_USER_MODEL = "orgs.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "apps.orgs.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/"
LOGIN_REDIRECT_URL = "/people/"
# Lock-out after repeated failures, and idle session timeout (seconds).
ZHIJIAO_MAX_FAILED_LOGINS = int(os.environ.get("ZHIJIAO_MAX_FAILED_LOGINS", 5))
ZHIJIAO_LOCKOUT_MINUTES = int(os.environ.get("ZHIJIAO_LOCKOUT_MINUTES", 15))
# Idle timeout without a session write on every page: the session records when it was last seen, refreshed at
# most once a minute (apps.orgs.middleware.IdleTimeoutMiddleware), so a page view costs one write of its own, the
# read log. The database row expires a little after the idle limit as a backstop.
ZHIJIAO_IDLE_SECONDS = int(os.environ.get("ZHIJIAO_SESSION_SECONDS", 30 * 60))
ZHIJIAO_SESSION_REFRESH_SECONDS = 60
# The database row outlives the idle limit (the middleware enforces that), so an officer coming back after an hour is
# told the session timed out, and the time-out is audited, rather than meeting a silent sign-in page. No session
# lasts longer than this in any case (the browser's cookie also ends when it closes).
# the supervisee's phone stays signed in this long (the bound phone's key is the second factor; ADR 0010)
ZHIJIAO_PORTAL_SESSION_DAYS = int(os.environ.get("ZHIJIAO_PORTAL_SESSION_DAYS", 14))
SESSION_COOKIE_AGE = int(os.environ.get("ZHIJIAO_SESSION_MAX_SECONDS", 12 * 3600))
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = os.environ.get("ZHIJIAO_SECURE_COOKIES", "0") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
API_TOKEN_DAYS = int(os.environ.get("ZHIJIAO_API_TOKEN_DAYS", 30))

# --- language and time ----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
FORMAT_MODULE_PATH = ["zhijiao.formats"]

# --- files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
WHITENOISE_USE_FINDERS = True  # serve static files without collectstatic in the embedded default

# --- background work ------------------------------------------------------
# Which process runs what:
#   web (runserver / granian): pages, API; with no REDIS_URL it also seals the audit log in a thread and runs export
#     jobs in a thread (the embedded default).
#   celery worker (REDIS_URL set): export jobs, and the beat tasks below. Add workers to scale.
#   celery beat (exactly one): the CELERY_BEAT_SCHEDULE below.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Counts of big lists are cached a minute (apps.people.selectors): in-process by default, shared through Redis
# when there is one, so every web process sees the same figure.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
          if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # embedded default: run in-process
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Embedded default only: jobs an officer waits for run in a thread of the web process (zhijiao/background.py).
ZHIJIAO_EAGER_IN_THREAD = os.environ.get("ZHIJIAO_EAGER_IN_THREAD", "1") == "1"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("ZHIJIAO_CELERY_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_BEAT_SCHEDULE = {
    # link committed audit records into the chain (ADR 0004); a few seconds behind the writers
    "audit-seal": {"task": "audit.seal", "schedule": float(os.environ.get("ZHIJIAO_AUDIT_SEAL_SECONDS", 2))},
    # check the chain from the last verified checkpoint, every night at 02:30 Beijing time
    "audit-verify-nightly": {"task": "audit.verify_chain", "schedule": crontab(hour=2, minute=30)},
    # and the whole chain every Sunday (the nightly run does not re-read what it verified before)
    "audit-verify-weekly-full": {"task": "audit.verify_chain", "schedule": crontab(day_of_week=0, hour=3, minute=30),
                                 "kwargs": {"full": True}},
    # expired sessions out of the table
    "sessions-clear-daily": {"task": "orgs.clear_sessions", "schedule": crontab(hour=4, minute=0)},
    # staged import sheets older than a day, export files older than ZHIJIAO_EXPORT_KEEP_DAYS
    "files-sweep-daily": {"task": "people.sweep_files", "schedule": crontab(hour=3, minute=10)},
    # missed intakes, overdue deadlines, the release stage (apps.cases.daily)
    "cases-daily": {"task": "cases.daily", "schedule": crontab(hour=0, minute=10)},
    # spot checks past their answer window become 未答复 (apps.monitoring); without beat, the pages that show spot
    # checks run the same sweep first (apps.monitoring.services.sweep_if_embedded)
    "monitoring-sweep": {"task": "monitoring.sweep", "schedule": float(os.environ.get("ZHIJIAO_SWEEP_SECONDS", 60))},
    # location (ADR 0013): batches left unevaluated, silent wristbands, unacknowledged alerts to the county
    "location-sweep": {"task": "monitoring.location_sweep",
                       "schedule": float(os.environ.get("ZHIJIAO_SWEEP_SECONDS", 60))},
}
# Who runs the daily case job: "thread" (embedded default), "celery" (beat, set with REDIS_URL) or "off" (tests).
ZHIJIAO_DAILY_JOBS = os.environ.get("ZHIJIAO_DAILY_JOBS") or ("celery" if REDIS_URL else "thread")

# --- audit log (ADR 0004) -------------------------------------------------------------------
# Who seals: "thread" (a thread in each web process: the embedded default), "celery" (beat runs audit.seal: set
# automatically with REDIS_URL), or "off" (tests, and commands that call audit_seal themselves).
AUDIT_SEALER = os.environ.get("ZHIJIAO_AUDIT_SEALER") or ("celery" if REDIS_URL else "thread")
AUDIT_SEAL_SECONDS = float(os.environ.get("ZHIJIAO_AUDIT_SEAL_SECONDS", 2))
AUDIT_SEAL_BATCH = 5000
# A record still unsealed after this long is flagged by audit_verify (the sealer is down or stuck).
AUDIT_SEAL_WINDOW_SECONDS = int(os.environ.get("ZHIJIAO_AUDIT_SEAL_WINDOW_SECONDS", 300))
# Checkpoints are signed with this key. Keep it outside the database (and away from whoever administers the
# database): then a chain rewritten inside the database fails verification. Derived from SECRET_KEY by default.
_audit_key = os.environ.get("ZHIJIAO_AUDIT_KEY", "")
AUDIT_SEAL_KEY = (_audit_key.encode() if _audit_key else
                  hashlib.sha256(b"zhijiao-audit-seal\n" + SECRET_KEY.encode()).digest())

# --- Excel export -----------------------------------------------------------------------------
# Up to this many rows the file is built while the officer waits; more is a background job with progress.
ZHIJIAO_EXPORT_INLINE_MAX = int(os.environ.get("ZHIJIAO_EXPORT_INLINE_MAX", 2000))
ZHIJIAO_EXPORT_KEEP_DAYS = int(os.environ.get("ZHIJIAO_EXPORT_KEEP_DAYS", 7))

# --- shared data (real public data for the demo) --------------------------
# Real public data for the demo seed: a trimmed copy of ../shared/data kept in the repository (data/demo/README.md),
# so a fresh clone needs nothing beside it. Point ZHIJIAO_SHARED_DATA at the full shared/data to use that instead.
SHARED_DATA_DIR = Path(os.environ.get("ZHIJIAO_SHARED_DATA", BASE_DIR / "data" / "demo"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# The officer's map (定位监控): a tile server, if the installation has one, as JSON in the environment, e.g.
# {"url": "https://tiles.example.gov.cn/{z}/{x}/{y}.png", "attribution": "…", "max_zoom": 18, "crs": "gcj02"}.
# Without it the fences, tracks and alerts are drawn on a plain background (no request leaves the server).
ZHIJIAO_MAP_TILES = json.loads(os.environ["ZHIJIAO_MAP_TILES"]) if os.environ.get("ZHIJIAO_MAP_TILES") else None
