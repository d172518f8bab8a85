"""Settings as an operator writes them: environment variables, lists comma separated."""

from __future__ import annotations

import pytest

from vidgate.errors import ConfigurationError
from vidgate.settings import DEFAULTS, Settings, load_settings


def test_comma_separated_lists_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDGATE_MEDIA_ALLOWED_HOSTS", "Media.Example.com., cdn.example.org")
    monkeypatch.setenv("VIDGATE_WEBHOOK_ALLOWED_PORTS", "443, 8443")
    settings = Settings()
    assert settings.media_allowed_hosts == ["media.example.com", "cdn.example.org"]
    assert settings.webhook_allowed_ports == [443, 8443]


def test_a_bad_setting_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDGATE_DATABASE_CONNECTIONS", "1")
    with pytest.raises(ConfigurationError, match="VIDGATE_DATABASE_CONNECTIONS"):
        load_settings()


def test_defaults_are_the_declared_ones_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIDGATE_LEASE_SECONDS", "5")
    monkeypatch.setenv("VIDGATE_WORKER_CONCURRENCY", "3")
    assert load_settings().lease_seconds == 5.0 and load_settings().worker_concurrency == 3
    for name in ("lease_seconds", "worker_concurrency"):
        assert getattr(DEFAULTS, name) == Settings.model_fields[name].default != 0
