"""lcd's OpenAPI document tells the whole truth: schemathesis, with every check, finds nothing.

A real `lcd` process on real NATS and PostgreSQL is driven by the schemathesis CLI through
its phases (coverage of every bound and enum, fuzzing with valid and invalid data, stateful
sequences that follow the links it infers between operations), with all its checks. Any
finding (a 500; a status, media type, header or body the document does not declare; a
valid request refused or an invalid one accepted; a created resource that cannot be read)
fails the test with the CLI's report, which says how to reproduce each one.

`schemathesis.toml` beside this file holds the few check settings lcd's semantics need,
each with its reason. The examples per operation are capped and the generation is
deterministic, so every run (and CI) sends the same requests in about a minute.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lc_contracts.sealing import generate_key

from .processes import LcdProcess

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 10
RUN_TIMEOUT_S = 540
# Server-Sent Events never end, and schemathesis reads a whole answer over HTTP before it
# checks it: the two streams are covered by their own tests (test_events_and_replay,
# test_fleet_api).
EXCLUDED_PATHS = r"/stream$"
# A write answers 202 when its projection takes longer than this; on a loaded machine
# the default 2 s is sometimes not enough, and a 202 is no promise the resource is
# readable yet, which the stateful checks would take for a bug.
# With a platform key, as `lc up` and the chart run it: without one the secrets routes
# answer 503 by design, which says nothing about their contract.
LCD_ENV = {"LC_READ_YOUR_WRITES_TIMEOUT_S": "30", "LC_SECRET_KEY": generate_key()}


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_schemathesis_finds_nothing(nats_url: str, database_url: str, tmp_path: Path) -> None:
    lcd = LcdProcess(nats_url, database_url, env=LCD_ENV, log=tmp_path / "lcd.log").start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(CONFIG),
                "run",
                f"{lcd.url}/api/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--generation-deterministic",
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--exclude-path-regex",
                EXCLUDED_PATHS,
                "--no-color",
            ],
            cwd=tmp_path,  # where the CLI keeps its cache
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    finally:
        lcd.stop()
    assert run.returncode == 0, run.stdout + run.stderr
