"""Runs the console's browser tests against a real `lc up`: starts a throwaway stack with
auth on, hands its addresses to `npm run e2e` in services/frontend, then stops it.

usage: python -m lc_local.e2e   (what `just test` runs)
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from lc_embedded import free_port
from lc_local.stack import Endpoints

FRONTEND = Path(__file__).resolve().parents[4] / "services" / "frontend"
START_DEADLINE_S = 60.0


def main() -> int:
    shutil.rmtree(FRONTEND / "test-artifacts", ignore_errors=True)  # no stale screenshots
    data_dir = Path(tempfile.mkdtemp(prefix="lc-e2e-"))
    port = free_port()
    password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "LC_DATA_DIR": str(data_dir),
        "LC_PORT": str(port),
        "LC_AUTH_USERNAME": "admin",
        "LC_AUTH_PASSWORD": password,
        "LC_FRONTEND_DIST": str(FRONTEND / "dist"),
    }
    stack = subprocess.Popen([sys.executable, "-m", "lc_local.cli", "up"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            if stack.poll() is not None:
                print("lc up exited before it was ready", file=sys.stderr)
                return 1
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                print("lc up did not become healthy in time", file=sys.stderr)
                return 1
            time.sleep(0.2)
        endpoints = Endpoints.load(data_dir)
        e2e_env = {
            **env,
            "LC_E2E_BASE_URL": base,
            "LC_E2E_SIM_ADMIN_URL": endpoints.sim_admin_url or "",
            "LC_E2E_USERNAME": "admin",
            "LC_E2E_PASSWORD": password,
        }
        return subprocess.run(
            ["npm", "run", "e2e"], cwd=FRONTEND, env=e2e_env, check=False
        ).returncode
    finally:
        stack.send_signal(signal.SIGTERM)
        try:
            stack.wait(30)
        except subprocess.TimeoutExpired:
            stack.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
