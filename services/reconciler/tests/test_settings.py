"""ReconcilerSettings read LC_* variables and refuse bad values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lc_reconciler.settings import ReconcilerSettings


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_PLATFORM_DOMAIN", "apps.example.com")
    monkeypatch.setenv("LC_NAMESPACE_PREFIX", "lc-")
    monkeypatch.setenv("LC_STORAGE_CLASS", "fast")
    monkeypatch.setenv("LC_RESYNC_INTERVAL_S", "12.5")
    monkeypatch.setenv("LC_GPU_NODE_SELECTOR", '{"gpu": "true"}')
    platform = ReconcilerSettings().platform()
    assert platform.platform_domain == "apps.example.com"
    assert platform.namespace_prefix == "lc-"
    assert platform.storage_class == "fast"
    assert platform.gpu_node_selector == (("gpu", "true"),)
    assert ReconcilerSettings().resync_interval_s == 12.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("platform_domain", "Not A Domain"),
        ("namespace_prefix", "Bad_"),
        ("inference_service_template", "engine"),
        ("resync_interval_s", 0),
    ],
)
def test_bad_values_fail_fast(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        ReconcilerSettings(**{field: value})
