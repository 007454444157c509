"""Does a TXT RRset carry the challenge token?

Called by `lookup.classify`. A TXT record is a sequence of character-strings of at most
255 bytes each; a longer value is published split across several strings, and readers
join them without separators (RFC 7208 §3.3 describes the convention, RFC 1035 §3.3.14
the format). Each record is one candidate value; the token must equal a whole value.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence

# Surrounding blanks are a common artefact of copy-and-paste into DNS providers' forms;
# they can never be part of a token.
_BLANKS = b" \t\r\n"


def record_value(strings: Sequence[bytes]) -> bytes:
    """The value of one TXT record: its character-strings concatenated."""
    return b"".join(strings).strip(_BLANKS)


def challenge_matches(records: Iterable[Sequence[bytes]], token: str) -> bool:
    """True when any record's value equals `token`.

    Every record is compared, with `hmac.compare_digest`, whatever the earlier ones gave,
    so the time taken says nothing about which record or how much of it matched.
    """
    expected = token.encode("utf-8")
    matched = False
    for strings in records:
        matched |= hmac.compare_digest(record_value(strings), expected)
    return matched
