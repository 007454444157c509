"""Fixtures of the chart's tests: the simulator's (`cluster`, `cluster_config`), for the
tests that apply the rendered chart to it and start the programs against it."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("lc_testing.cluster")
