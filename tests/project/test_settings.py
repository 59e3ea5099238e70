"""Settings come from the environment and refuse nonsense; production passes check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from sdr_desk.env import envbool, envint, envlist

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "desk.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_wildcard_host():
    result = _manage("check", **{**PRODUCTION, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_an_unknown_database_scheme_is_refused():
    result = _manage("check", **{**PRODUCTION, "DATABASE_URL": "mysql://root@localhost/db"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_bad_values_are_refused_with_the_variables_name(monkeypatch):
    monkeypatch.setenv("X_BOOL", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        envbool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        envint("X_INT", 1)
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        envint("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert envlist("X_LIST", []) == ["a", "b", "c"]
    monkeypatch.setenv("X_BOOL", "Yes")
    assert envbool("X_BOOL", False) is True


def test_a_pool_with_kept_connections_is_refused_and_the_message_says_how_to_keep_them():
    for pool in ({"DATABASE_POOL": "1"}, {}):  # asked for, or the default on PostgreSQL
        result = _manage("check", **{**PRODUCTION, **pool, "CONN_MAX_AGE": "60"})
        assert result.returncode != 0
        assert "needs CONN_MAX_AGE=0" in result.stderr and "set DATABASE_POOL=0" in result.stderr


def test_postgresql_pools_connections_by_default_and_database_pool_0_turns_it_off():
    show = "from django.conf import settings; print('pool' in settings.DATABASES['default'].get('OPTIONS', {}))"
    assert _manage("shell", "-c", show, **PRODUCTION).stdout.strip().endswith("True")
    assert _manage("shell", "-c", show, **{**PRODUCTION, "DATABASE_POOL": "0"}).stdout.strip().endswith("False")
    assert _manage("shell", "-c", show, **{**PRODUCTION, "DATABASE_POOL": "0", "CONN_MAX_AGE": "60"}).returncode == 0


def test_production_with_a_pool_passes_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "DATABASE_POOL": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
