"""A venv outside the workspace for a benchmark's reference (LiteLLM, FastStream), built
once with uv under the temp dir and reused by later runs; never part of the project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def throwaway_venv(root: Path, name: str, packages: list[str], exe: str) -> tuple[Path | None, str]:
    """`root/name` with `packages` installed, and the path of its `bin/<exe>`; or None and
    why not."""
    venv = root / name
    path = venv / "bin" / exe
    if path.exists():
        return path, ""
    uv = shutil.which("uv")
    if uv is None:
        return None, "uv not found to build its venv"
    try:
        subprocess.run(
            [uv, "venv", "-q", "--python", "3.11", str(venv)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *packages],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(venv, ignore_errors=True)
        stderr = getattr(exc, "stderr", b"") or b""
        return None, f"install failed: {stderr.decode(errors='replace').strip()[-300:]}"
    return (path, "") if path.exists() else (None, f"install left no {exe}")
