"""Which events a subscription receives, its secret's form, and the sealing that keeps the
secret bound to its subscription."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lc_contracts.sealing import SealingError, SecretKey, generate_key
from lc_contracts.webhooks import (
    WebhookCreate,
    WebhookReplay,
    matches,
    new_secret,
    open_secret,
    seal_secret,
    secret_bytes,
)


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["service.*"], "service.applied", True),
        (["service.*"], "service.status_changed", True),
        (["service.*"], "domain.verified", False),
        (["domain.verified"], "domain.verified", True),
        (["domain.verified"], "domain.verification_failed", False),
        (["*"], "gpu.health_changed", True),
        (["*"], "webhook.subscribed", False),  # never out: carries a sealed secret
        (["*"], "webhook.test", False),  # only to the subscription it names
        (["serv*"], "service.applied", False),
    ],
)
def test_matching(patterns: list[str], event_type: str, expected: bool) -> None:
    assert matches(patterns, event_type) is expected


def test_secrets_have_the_standard_form() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(secret_bytes(secret)) == 32
    assert new_secret() != secret
    assert len(secret_bytes(new_secret(64))) == 64
    with pytest.raises(ValueError, match="24 to 64"):
        new_secret(16)


def test_a_sealed_secret_opens_only_for_its_subscription() -> None:
    key = SecretKey.parse(generate_key())
    sealed = seal_secret(key, "sub-1", "whsec_abc")
    assert open_secret(key, "sub-1", sealed) == "whsec_abc"
    with pytest.raises(SealingError):
        open_secret(key, "sub-2", sealed)
    with pytest.raises(SealingError):
        key.open("webhook", "sub-1", sealed)  # not a project secret either


def test_requests_are_strict() -> None:
    ok = WebhookCreate.model_validate({"url": "https://x.test/", "eventTypes": ["b.c", "a.*"]})
    assert ok.event_types == ["a.*", "b.c"]
    with pytest.raises(ValidationError):
        WebhookCreate.model_validate({"url": "https://x.test/", "eventTypes": ["webhook.test"]})
    with pytest.raises(ValidationError, match="exactly one"):
        WebhookReplay.model_validate({})
    assert WebhookReplay.model_validate({"fromSequence": 5}).from_sequence == 5
