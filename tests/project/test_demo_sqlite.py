"""seed_demo on the embedded default (SQLite, as bin/demo runs it), in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_seeding_on_sqlite_stores_no_naive_datetime(tmp_path):
    """Every stored time is aware: with RuntimeWarning an error, a naive one would fail a demo submission."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sdr_desk.settings", "DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media")}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "-W", "error::RuntimeWarning", "manage.py"]
    migrated = subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    seeded = subprocess.run([*manage, "seed_demo", "--leads", "80", "--seed", "2026"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert "naive datetime" not in seeded.stderr
    assert "Demo leads: 80 made" in seeded.stdout
    # The reports on SQLite: percentiles computed in Python, the facts made by the same refresh.
    refreshed = subprocess.run([*manage, "reports_refresh", "--full"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
    assert refreshed.returncode == 0, refreshed.stderr[-2000:]
    assert " leads' facts written" in refreshed.stdout
    pages = ("from django.test import Client\n"
             "from django.contrib.auth import get_user_model\n"
             "client = Client()\n"
             "client.force_login(get_user_model().objects.get(username='manager'))\n"
             "for url in ('/reports/', '/reports/?by=hour', '/reports/funnel/', '/reports/handoff/', "
             "'/reports/coaching/', '/reports/leads/?flag=touched', '/reports/?format=csv&table=summary'):\n"
             "    response = client.get(url, HTTP_HOST='127.0.0.1')\n"
             "    assert response.status_code == 200, (url, response.status_code)\n"
             "    again = client.get(url, HTTP_HOST='127.0.0.1')\n"  # served from the snapshots it kept
             "    assert again.status_code == 200, (url, again.status_code)\n"
             "from sdr_desk.reports.models import ReportSnapshot\n"
             "from sdr_desk.reports.snapshots import snapshots_warm\n"
             "assert ReportSnapshot.objects.exists()\n"
             "ReportSnapshot.objects.update(version='older')\n"
             "assert snapshots_warm().refreshed == ReportSnapshot.objects.count()\n"
             "print('reports ok')\n"
             # The sequence sweep on SQLite (no row locks there): steps made due a day on, nothing raised.
             "from datetime import timedelta\n"
             "from django.utils import timezone\n"
             "from sdr_desk.sequences.services import steps_due_sweep\n"
             "print('sweep', steps_due_sweep(now=timezone.now() + timedelta(days=1)))\n")
    # Every figure counts as slow, so the snapshots are kept, served and computed again on SQLite too.
    shown = subprocess.run([*manage, "shell", "-c", pages], cwd=ROOT, env={**env, "REPORT_SNAPSHOT_SLOW_MS": "0"},
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "reports ok" in shown.stdout and "sweep {" in shown.stdout, shown.stderr[-3000:]
