"""The product documentation's examples, verbatim: the request bodies its curl commands send.

Tests of every layer (contracts, lcd, the reconciler, the whole stack) use these, so the
docs' examples are checked in one form everywhere.
"""

from __future__ import annotations

from typing import Any, Final

PROJECT: Final[dict[str, Any]] = {"name": "Default", "slug": "default"}

LLAMA: Final[dict[str, Any]] = {
    "name": "llama-3-8b",
    "tier": "inference",
    "kind": {
        "model": {
            "modelName": "meta-llama/Llama-3.1-8B-Instruct",
            "dtype": "bfloat16",
            "endpoints": ["chat_completions", "completions"],
        }
    },
}

HELLO: Final[dict[str, Any]] = {
    "name": "hello",
    "tier": "cpu",
    "kind": {
        "container": {
            "image": "hashicorp/http-echo:latest",
            "command": ["/http-echo", "-text=hi", "-listen=:8080"],
            "ports": [{"port": 8080, "name": "http"}],
        }
    },
}

DOMAIN: Final[dict[str, Any]] = {
    "fqdn": "chat.acme.com",
    "projectSlug": "default",
    "serviceName": "llama-3-8b",
}
