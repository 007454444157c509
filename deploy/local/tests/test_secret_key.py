"""`lc up` keeps the platform key of project secrets in its data directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lc_contracts.sealing import SecretKey, generate_key
from lc_local.settings import LocalSettings
from lc_local.stack import secret_key


@pytest.fixture(autouse=True)
def no_lc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("LC_")]:
        monkeypatch.delenv(name)


def test_a_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = LocalSettings(data_dir=tmp_path)
    first = secret_key(settings)
    SecretKey.parse(first)  # a valid key
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(settings) == first  # a restart keeps it


def test_lc_secret_key_wins_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv("LC_SECRET_KEY", key)
    settings = LocalSettings(data_dir=tmp_path)
    assert secret_key(settings) == key
    assert not (tmp_path / "secret.key").exists()
    assert key not in repr(settings)
