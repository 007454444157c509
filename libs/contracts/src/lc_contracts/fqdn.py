"""Normalisation and validation of fully qualified domain names.

Users type `Chat.Acme.com.` or `bücher.example`; the platform stores one canonical
form: lowercase, no trailing dot, IDNA A-labels (`xn--bcher-kva.example`).
"""

from __future__ import annotations

import re
from typing import Annotated, Final

import idna
from pydantic import BeforeValidator, Field

MAX_FQDN: Final = 253
LDH_LABEL: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
CHALLENGE_PREFIX: Final = "_lc-challenge"

_LABEL = r"(?!..--)[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
FQDN_PATTERN: Final = rf"^(?=.{{1,{MAX_FQDN}}}\.?$)(?:{_LABEL}\.)+(?![0-9]+\.?$){_LABEL}\.?$"
"""The ASCII names `normalise_fqdn` accepts, as a JSON Schema pattern: two or more LDH labels
(no '--' in 3rd and 4th place, as IDNA says), any case, an optional final dot, and a last
label that is not a number. Internationalised names are accepted too, as U-labels."""


def normalise_fqdn(value: object) -> str:
    """The canonical form of a user-typed domain name, or ValueError saying why not."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    name = value.strip().rstrip(".")
    if not name:
        raise ValueError("must not be empty")
    if "*" in name:
        raise ValueError("wildcard domains are not supported")
    try:
        name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"is not a valid domain name ({exc})") from None
    name = name.lower()
    labels = name.split(".")
    if len(labels) < 2:
        raise ValueError("must have at least two labels, like 'app.example.com'")
    if len(name) > MAX_FQDN:
        raise ValueError(f"must be at most {MAX_FQDN} characters")
    for label in labels:
        if not LDH_LABEL.match(label):
            raise ValueError(f"label '{label}' must be 1-63 letters, digits or '-'")
    if labels[-1].isdigit():
        raise ValueError("must be a domain name, not an IP address")
    return name


def challenge_record_name(fqdn: str) -> str:
    """Where a user publishes the TXT challenge for `fqdn`."""
    return f"{CHALLENGE_PREFIX}.{fqdn}"


Fqdn = Annotated[
    str, BeforeValidator(normalise_fqdn), Field(json_schema_extra={"pattern": FQDN_PATTERN})
]
