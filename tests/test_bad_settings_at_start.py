"""Every component's console script refuses a bad `LC_*` value the same way: exit 2, one
line on stderr naming the variable, before it connects to anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = ["lcd", "lc-reconciler", "lc-domain-verifier", "lc-fleet", "lc-proxy", "lc-webhooks"]


@pytest.mark.parametrize("program", SCRIPTS)
def test_a_bad_variable_ends_the_program_with_one_line_naming_it(program: str) -> None:
    script = shutil.which(program, path=str(Path(sys.executable).parent))
    assert script is not None, f"{program} is not installed"
    env = {**os.environ, "LC_STREAM_REPLICAS": "two"}
    result = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{program}: invalid configuration: LC_STREAM_REPLICAS: ")
    assert "valid integer" in lines[0]
