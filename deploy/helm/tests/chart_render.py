"""Render the LiquidCompute chart as `helm upgrade --install` does, without a helm binary.

Who calls it: the chart's tests in this folder. Helm's own Go library (the
`helm-python-sdk` wheel) parses the `--set` flags, validates the values against
`values.schema.json`, renders the templates and lints the chart; this module only turns
the result into Kubernetes objects to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parents[1] / "liquidcompute"
RELEASE = "liquidcompute"
NAMESPACE = "liquidcompute-system"

# The product docs' `helm upgrade --install` flags, exactly as printed.
DOCS_SET_FLAGS: tuple[str, ...] = (
    "global.imagePullSecrets[0].name=greenthread-registry",
    "images.lcd.repository=licence.greenthread.ai/greenthread/liquidcompute/lcd",
    "images.lcProxy.repository=licence.greenthread.ai/greenthread/liquidcompute/lc-proxy",
    "images.frontend.repository=licence.greenthread.ai/greenthread/liquidcompute/frontend",
    "console.host=app.example.com",
    "global.platformDomain=example.com",
    "certManager.issuer=letsencrypt-production",
    "ingress.class=nginx",
    "ingress.platformService.namespace=ingress-nginx",
    "ingress.platformService.name=ingress-nginx-controller",
    "lcd.auth.enabled=true",
    "lcd.auth.username=admin",
    "lcd.auth.password=<generate-a-password>",
)
GENERATED_PASSWORD = "k3Rv9-wq2Lx8-Zt4Mp"
# What a reader does with the last flag: generate a password and put it there.
DOCS_INSTALL_FLAGS: tuple[str, ...] = (
    *DOCS_SET_FLAGS[:-1],
    f"lcd.auth.password={GENERATED_PASSWORD}",
)


def values_from_flags(flags: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The values several `--set` flags give. Helm parses each flag into the same map in
    order; one expression of the flags joined by commas is parsed the same way (a comma
    inside a value is escaped, `\\,`, in either form)."""
    return helm.parse_set_string(",".join(flags))


@dataclass(frozen=True)
class Rendered:
    """The objects one render produced, in template order, and its NOTES.txt."""

    objects: list[dict[str, Any]]
    notes: str

    @classmethod
    def from_manifests(cls, manifests: dict[str, str]) -> Rendered:
        """The objects of Helm's rendered templates (path -> YAML), in path order."""
        objects: list[dict[str, Any]] = []
        notes = ""
        for path in sorted(manifests):
            if path.endswith("NOTES.txt"):
                notes = manifests[path]
                continue
            objects.extend(doc for doc in yaml.safe_load_all(manifests[path]) if doc)
        return cls(objects, notes)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for obj in self.objects:
            if obj["kind"] == kind and obj["metadata"]["name"] == name:
                return obj
        raise KeyError(f"no {kind} {name} in {sorted(self.names())}")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def names(self) -> set[tuple[str, str]]:
        return {(obj["kind"], obj["metadata"]["name"]) for obj in self.objects}

    def container(self, workload: str, kind: str = "Deployment") -> dict[str, Any]:
        containers: list[dict[str, Any]] = self.get(kind, workload)["spec"]["template"]["spec"][
            "containers"
        ]
        assert len(containers) == 1
        return containers[0]

    def env(self, workload: str, pod: str | None = None) -> dict[str, str]:
        """The container's environment with every secretKeyRef read from the rendered Secret
        and the pod's own name (`metadata.name` of the downward API) as `pod`, by default
        `<workload>-0`."""
        env: dict[str, str] = {}
        for var in self.container(workload).get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            elif "fieldRef" in var["valueFrom"]:
                assert var["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name"}, var
                env[var["name"]] = pod or f"{workload}-0"
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                env[var["name"]] = self.get("Secret", ref["name"])["stringData"][ref["key"]]
        return env


def render(values: dict[str, Any]) -> Rendered:
    """Render as an install into NAMESPACE; raises helm.HelmError for refused values."""
    chart = helm.Chart.load(CHART)
    return Rendered.from_manifests(
        chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    )


def render_flags(flags: tuple[str, ...] | list[str]) -> Rendered:
    return render(values_from_flags(flags))


def refusal(flags: tuple[str, ...] | list[str]) -> str:
    """Helm's message refusing these values (AssertionError when they are accepted)."""
    try:
        render_flags(flags)
    except helm.HelmError as exc:
        return str(exc)
    raise AssertionError(f"values accepted: {flags}")


def lint(flags: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return helm.lint(CHART, values_from_flags(flags), namespace=NAMESPACE, strict=True)
