"""DESK_BASE_URL: read from the environment, refused when it is not an absolute http(s) base address."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from sdr_desk.env import envbaseurl

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "value"), [
    ("", ""), ("  ", ""), ("https://desk.example.com", "https://desk.example.com"),
    ("https://desk.example.com/", "https://desk.example.com"), ("http://10.0.0.5:8000/desk/", "http://10.0.0.5:8000/desk"),
])
def test_it_accepts_an_absolute_base_or_nothing(monkeypatch, raw, value):
    monkeypatch.setenv("X_BASE", raw)
    assert envbaseurl("X_BASE") == value


def test_it_defaults_to_empty(monkeypatch):
    monkeypatch.delenv("X_BASE", raising=False)
    assert envbaseurl("X_BASE") == ""


@pytest.mark.parametrize("raw", ["desk.example.com", "ftp://desk.example.com", "https://", "javascript:alert(1)",
                                 "https://desk.example.com/?a=1", "https://desk.example.com/#top"])
def test_it_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("X_BASE", raw)
    with pytest.raises(ImproperlyConfigured, match="X_BASE"):
        envbaseurl("X_BASE")


def _settings_read(**env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items()
            if key not in {"DESK_BASE_URL", "SEQUENCES_BASE_URL", "DJANGO_SETTINGS_MODULE"}}
    code = ("from django.conf import settings; print(repr(settings.DESK_BASE_URL)); "
            "print(repr(settings.SEQUENCES_BASE_URL))")
    return subprocess.run([sys.executable, "-c", f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                           f"'sdr_desk.settings'; django.setup(); {code}"],
                          cwd=ROOT, env={**base, "DEBUG": "1", **env}, capture_output=True, text=True, timeout=60)


def test_the_settings_read_it_and_sequences_links_follow_it():
    result = _settings_read(DESK_BASE_URL="https://desk.example.com/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["'https://desk.example.com'", "'https://desk.example.com'"]
    own = _settings_read(DESK_BASE_URL="https://desk.example.com", SEQUENCES_BASE_URL="https://links.example.com")
    assert own.stdout.split() == ["'https://desk.example.com'", "'https://links.example.com'"]
    unset = _settings_read()
    assert unset.stdout.split() == ["''", "'http://localhost:8000'"]


def test_a_bad_value_stops_the_process_at_start():
    result = _settings_read(DESK_BASE_URL="desk.example.com")
    assert result.returncode != 0 and "DESK_BASE_URL" in result.stderr
