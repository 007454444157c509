"""The Dockerfiles, checked without a Docker engine: each image holds the console scripts
the chart runs from it, runs as a non-root user, exposes the port the chart targets, and
copies only files that exist. (checkov's Dockerfile rules run in test_chart_cluster.py.)
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from .chart_render import CHART, DOCS_INSTALL_FLAGS, render_flags

ROOT = CHART.parents[2]
DOCKER = ROOT / "deploy" / "docker"
# Chart image value -> the Dockerfile that builds it.
IMAGES = {
    "lcd": "lcd.Dockerfile",
    "lcProxy": "lc-proxy.Dockerfile",
    "frontend": "frontend.Dockerfile",
}


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (DOCKER / dockerfile).read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def console_scripts() -> dict[str, str]:
    """console script -> the workspace package that declares it."""
    scripts: dict[str, str] = {}
    for pyproject in [
        *ROOT.glob("services/*/pyproject.toml"),
        *ROOT.glob("deploy/*/pyproject.toml"),
    ]:
        project = tomllib.loads(pyproject.read_text())["project"]
        for script in project.get("scripts", {}):
            scripts[script] = project["name"]
    return scripts


@pytest.mark.parametrize("dockerfile", sorted(IMAGES.values()))
def test_the_image_runs_as_a_non_root_user(dockerfile: str) -> None:
    users = [arg for op, arg in final_stage(dockerfile) if op == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("0", "root")


@pytest.mark.parametrize("dockerfile", sorted(IMAGES.values()))
def test_every_copied_source_exists(dockerfile: str) -> None:
    for op, arg in instructions(dockerfile):
        if op == "COPY" and not arg.startswith("--from"):
            *sources, _ = arg.split()
            for source in sources:
                assert (ROOT / source).exists(), f"{dockerfile}: COPY {source}"


@pytest.mark.parametrize("image", ["lcd", "lcProxy"])
def test_the_python_images_hold_the_console_scripts_the_chart_runs(image: str) -> None:
    dockerfile = IMAGES[image]
    steps = instructions(dockerfile)
    (sync,) = [arg for op, arg in steps if op == "RUN" and "uv sync" in arg]
    packages = set(re.findall(r"--package (\S+)", sync))
    assert "--frozen" in sync
    assert "--no-dev" in sync
    rendered = render_flags(DOCS_INSTALL_FLAGS)
    repository = f"licence.greenthread.ai/greenthread/liquidcompute/{dockerfile.split('.')[0]}:"
    commands = {
        container["command"][0]
        for workload in [*rendered.of_kind("Deployment")]
        for container in workload["spec"]["template"]["spec"]["containers"]
        if container["image"].startswith(repository)
    }
    (entrypoint,) = [json.loads(arg) for op, arg in final_stage(dockerfile) if op == "ENTRYPOINT"]
    scripts = console_scripts()
    assert entrypoint[0] in commands
    for command in commands:
        assert scripts[command] in packages, f"{dockerfile} lacks {command} ({scripts[command]})"


def test_the_images_expose_the_ports_the_chart_targets() -> None:
    rendered = render_flags(DOCS_INSTALL_FLAGS)
    for image, workload in (("lcd", "lcd"), ("lcProxy", "lc-proxy"), ("frontend", "frontend")):
        (port,) = rendered.container(f"liquidcompute-{workload}")["ports"]
        exposed = [arg for op, arg in final_stage(IMAGES[image]) if op == "EXPOSE"]
        assert exposed == [str(port["containerPort"])]


def test_the_console_server_listens_where_the_chart_probes() -> None:
    config = (DOCKER / "frontend.nginx.conf").read_text()
    container = render_flags(DOCS_INSTALL_FLAGS).container("liquidcompute-frontend")
    assert f"listen {container['ports'][0]['containerPort']};" in config
    assert f"location = {container['readinessProbe']['httpGet']['path']}" in config
    assert "try_files $uri /index.html;" in config  # client-side routes
