"""Test settings: the project's settings on this machine's PostgreSQL and Redis.

Tests run against real servers, never mocks; point DATABASE_URL and REDIS_URL
elsewhere to use other ones.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sdr_desk")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DEBUG", "1")

from sdr_desk.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never in production
FORM_MIN_FILL_SECONDS = 3
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405  tasks run in the caller during tests
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
SCORING_RULES_TTL_SECONDS = 0  # every test sees the versions its own transaction made
ROUTING_RULES_TTL_SECONDS = 0
