"""Every process that provisions streams reads LC_STREAM_REPLICAS, and refuses a count
JetStream cannot keep."""

from __future__ import annotations

import pytest

from lc_api.settings import ApiSettings
from lc_domain_verifier.settings import VerifierSettings
from lc_fleet.settings import FleetSettings
from lc_local.settings import LocalSettings
from lc_proxy.settings import ProxySettings
from lc_reconciler.settings import ReconcilerSettings


def test_every_service_reads_lc_stream_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_STREAM_REPLICAS", "3")
    for settings in (
        ApiSettings,
        VerifierSettings,
        FleetSettings,
        ProxySettings,
        ReconcilerSettings,
        LocalSettings,
    ):
        assert settings().stream_replicas == 3, settings
    monkeypatch.setenv("LC_STREAM_REPLICAS", "6")
    with pytest.raises(ValueError, match="stream_replicas"):
        ReconcilerSettings()
