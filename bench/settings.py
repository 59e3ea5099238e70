"""Settings for the benchmarks: the project's own, plus the baseline endpoints in ``bench.urls``.

The benches run with DEBUG off (DEBUG keeps every query in memory, which is
not what production does) and set SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and,
for ``--db-pool``, DATABASE_POOL in the environment themselves, so importing
this never needs a real secret.
"""

from sdr_desk.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The bench talks plain HTTP on the loopback: no redirect to https, no HSTS.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0

# Pages rendered in-process (the review page) name static files; no collectstatic manifest here.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
