"""Core-NATS control subjects between lcd processes and the `lc` CLI (not events)."""

from __future__ import annotations

from typing import Final

# Published by `replay`: projector holders release their lock (and queue for it again).
PAUSE_PROJECTOR: Final = "lc.control.projector.pause"
