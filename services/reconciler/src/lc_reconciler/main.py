"""`lc-reconciler`: run the reconciler in the foreground with settings from `LC_*`."""

from __future__ import annotations

import asyncio
import contextlib

from lc_reconciler.runtime import run
from lc_reconciler.settings import ReconcilerSettings
from lc_runtime.logs import configure_logging
from lc_runtime.settings_loading import load_settings


def main() -> None:
    configure_logging()
    settings = load_settings(ReconcilerSettings, "lc-reconciler")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
