"""Project secrets against the simulator: the sealed value from the stream becomes a
Kubernetes Secret holding it, a rotation updates it, a deletion removes it, and the
Deployment of a container reads it through `valueFrom.secretKeyRef`."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from lc_contracts.events import SecretDeleted, SecretSet
from lc_contracts.sealing import SecretKey, generate_key
from lc_contracts.subjects import secret_subject
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, SECRET
from lc_reconciler.settings import ReconcilerSettings
from lc_testing import wait_until

from .conftest import Events, Reconcilers
from .helpers import project_created, service_applied, spec

KEY_TEXT = generate_key()
KEY = SecretKey.parse(KEY_TEXT)
APP = {
    "name": "app",
    "tier": "cpu",
    "kind": {
        "container": {
            "image": "busybox",
            "command": ["sleep", "infinity"],
            "env": [{"name": "HF_TOKEN", "secretRef": "hf-token"}],
        }
    },
}


def secret_set(slug: str, name: str, value: str, version: int) -> tuple[str, SecretSet]:
    sealed = KEY.seal(slug, name, value)
    return secret_subject(slug, name), SecretSet(
        project_slug=slug, name=name, version=version, sealed=sealed
    )


def annotation(deployment: dict[str, Any]) -> str | None:
    metadata = deployment["spec"]["template"].get("metadata") or {}
    value = (metadata.get("annotations") or {}).get("liquidcompute.io/secret-versions")
    return str(value) if value is not None else None


async def value_in_cluster(kube: KubeClient) -> str | None:
    live: dict[str, Any] | None = await kube.get(SECRET, "default", "lc-secret-hf-token")
    if live is None:
        return None
    return base64.b64decode(live["data"]["value"]).decode()


async def test_the_cluster_secret_holds_the_value_and_follows_it(
    events: Events, reconcilers: Reconcilers, kube: KubeClient, settings: ReconcilerSettings
) -> None:
    keyed = ReconcilerSettings(**{**settings.model_dump(), "secret_key": KEY_TEXT})
    running = await reconcilers.start(keyed)
    await events.append(*project_created("default"))
    await events.append(*secret_set("default", "hf-token", "hf_first", 1))
    await events.append(*service_applied("default", spec(APP)))

    async def holds(value: str) -> bool:
        return await value_in_cluster(kube) == value

    await wait_until(lambda: holds("hf_first"), timeout=10, what="Secret written")
    await wait_until(lambda: kube.get(DEPLOYMENT, "default", "app"), timeout=10, what="Deployment")
    deployment = await kube.get(DEPLOYMENT, "default", "app")
    assert deployment is not None
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {
            "name": "HF_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "lc-secret-hf-token", "key": "value"}},
        }
    ]
    assert annotation(deployment) == "hf-token=1"
    # Deleted by hand: the next resync writes it again.
    await kube.delete(SECRET, "default", "lc-secret-hf-token")
    running.runtime.reconciler.request_resync()
    await wait_until(lambda: holds("hf_first"), timeout=10, what="Secret restored by resync")
    await events.append(*secret_set("default", "hf-token", "hf_second", 2))
    await wait_until(lambda: holds("hf_second"), timeout=10, what="Secret rotated")

    async def rolled() -> bool:
        live = await kube.get(DEPLOYMENT, "default", "app")
        return live is not None and annotation(live) == "hf-token=2"

    # Containers read env only at start: the rotation rolls the Deployment's pods.
    await wait_until(rolled, timeout=10, what="pod template stamped with version 2")
    await events.append(
        secret_subject("default", "hf-token"),
        SecretDeleted(project_slug="default", name="hf-token"),
    )

    async def gone() -> bool:
        return await kube.get(SECRET, "default", "lc-secret-hf-token") is None

    await wait_until(gone, timeout=10, what="Secret deleted")


async def test_without_the_key_nothing_is_written_and_the_log_says_why(
    events: Events,
    reconcilers: Reconcilers,
    kube: KubeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*secret_set("default", "hf-token", "hf_first", 1))

    def logged() -> bool:
        return "LC_SECRET_KEY" in caplog.text

    await wait_until(logged, timeout=10, what="missing key logged")
    assert await value_in_cluster(kube) is None
    assert "hf_first" not in caplog.text
