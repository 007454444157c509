from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .stack_process import Stack


def pytest_configure(config: pytest.Config) -> None:
    """The simulator's fixtures (`cluster`), for the tests that run the reconciler in-process."""
    config.pluginmanager.import_plugin("lc_testing.cluster")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lc-up-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack(data_dir: Path) -> Iterator[Stack]:
    """An `lc up` process (not started yet) whose data lives in `data_dir`."""
    process = Stack(data_dir)
    yield process
    process.ensure_stopped()
