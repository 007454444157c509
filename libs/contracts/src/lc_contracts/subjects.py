"""Subject builders for LC_EVENTS and LC_STATUS. Every subject the platform uses is built here."""

from __future__ import annotations

from typing import Final

EVENTS_PREFIX: Final = "lc.events"
STATUS_PREFIX: Final = "lc.status"


def token(value: str) -> str:
    """One subject token from a name that may hold '.', which NATS treats as a separator.

    Names we put in subjects are DNS labels, DNS names, UUIDs or node names; none holds
    '_' except where we put it, so replacing '.' by '_' keeps them distinct.
    """
    cleaned = value.replace(".", "_")
    if not cleaned or any(c in cleaned for c in " \t\r\n*>"):
        raise ValueError(f"cannot use {value!r} in a subject")
    return cleaned


def project_subject(slug: str) -> str:
    return f"{EVENTS_PREFIX}.project.{token(slug)}"


def service_subject(slug: str, name: str) -> str:
    return f"{EVENTS_PREFIX}.service.{token(slug)}.{token(name)}"


def project_services_filter(slug: str) -> str:
    return f"{EVENTS_PREFIX}.service.{token(slug)}.*"


def secret_subject(slug: str, name: str) -> str:
    return f"{EVENTS_PREFIX}.secret.{token(slug)}.{token(name)}"


def project_secrets_filter(slug: str) -> str:
    return f"{EVENTS_PREFIX}.secret.{token(slug)}.*"


def domain_subject(domain_id: str) -> str:
    return f"{EVENTS_PREFIX}.domain.{token(domain_id)}"


def fqdn_claim_subject(fqdn: str) -> str:
    """The reservation subject that makes an FQDN claimable by one domain at a time."""
    return f"{EVENTS_PREFIX}.fqdn.{token(fqdn)}"


def orphan_subject(slug: str, name: str) -> str:
    """Requests about, and reports of, objects labelled for a service with no history."""
    return f"{EVENTS_PREFIX}.orphan.{token(slug)}.{token(name)}"


def gpu_subject(node: str, uuid: str) -> str:
    return f"{EVENTS_PREFIX}.gpu.{token(node)}.{token(uuid)}"


def batch_subject(batch_id: str) -> str:
    """A Batch API batch's lifecycle events (written by lc-proxy)."""
    return f"{EVENTS_PREFIX}.batch.{token(batch_id)}"


def service_status_subject(slug: str, name: str) -> str:
    return f"{STATUS_PREFIX}.service.{token(slug)}.{token(name)}"


def project_status_subject(slug: str) -> str:
    return f"{STATUS_PREFIX}.project.{token(slug)}"


def usage_status_subject(replica: str) -> str:
    return f"{STATUS_PREFIX}.usage.{token(replica)}"


ALL_EVENTS: Final = f"{EVENTS_PREFIX}.>"
ALL_STATUS: Final = f"{STATUS_PREFIX}.>"
SERVICE_STATUS: Final = f"{STATUS_PREFIX}.service.>"
USAGE_STATUS: Final = f"{STATUS_PREFIX}.usage.>"
PROJECT_STATUS: Final = f"{STATUS_PREFIX}.project.>"
ORPHAN_STATUS: Final = f"{STATUS_PREFIX}.reconciler.orphans"
FOREIGN_NAMESPACES_STATUS: Final = f"{STATUS_PREFIX}.reconciler.foreign-namespaces"


def webhook_subject(subscription_id: str) -> str:
    """A webhook subscription's aggregate: its settings, secret rotations, pauses, replays."""
    return f"{EVENTS_PREFIX}.webhook.{token(subscription_id)}"


WEBHOOK_EVENTS: Final = f"{EVENTS_PREFIX}.webhook.>"
