"""FleetSettings from LC_* variables, and the lc-fleet console script's refusal of bad config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION
from lc_fleet.settings import FleetSettings


def test_defaults_point_at_the_engine_names_in_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LC_"):
            monkeypatch.delenv(name)
    settings = FleetSettings()
    assert (settings.engine_group, settings.engine_version) == (ENGINE_GROUP, ENGINE_VERSION)
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.kubeconfig is None


def test_read_from_lc_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LC_NATS_URL", "nats://127.0.0.1:4999")
    monkeypatch.setenv("LC_KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("LC_ENGINE_GROUP", "engine.example.com")
    monkeypatch.setenv("LC_ENGINE_VERSION", "v2")
    monkeypatch.setenv("LC_FLEET_WATCH_TIMEOUT_S", "42")
    monkeypatch.setenv("LC_FLEET_PUBLISH_CONCURRENCY", "8")
    settings = FleetSettings()
    assert settings.nats_url == "nats://127.0.0.1:4999"
    assert settings.kubeconfig == tmp_path / "kubeconfig"
    assert (settings.engine_group, settings.engine_version) == ("engine.example.com", "v2")
    assert (settings.watch_timeout_s, settings.publish_concurrency) == (42, 8)
    assert FleetSettings(watch_timeout_s=5).watch_timeout_s == 5


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="LC_FLEET_BACKOFF_MAX_S"):
        FleetSettings(backoff_initial_s=2, backoff_max_s=1)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        FleetSettings(publish_concurrency=0)


def test_console_script_fails_fast_with_one_line_on_bad_config() -> None:
    script = shutil.which("lc-fleet", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {**os.environ, "LC_FLEET_WATCH_TIMEOUT_S": "soon"}
    result = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "invalid configuration" in lines[0]
    assert "watch_timeout_s" in lines[0] or "LC_FLEET_WATCH_TIMEOUT_S" in lines[0]
