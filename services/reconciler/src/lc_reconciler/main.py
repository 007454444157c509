"""`lc-reconciler`: run the reconciler in the foreground with settings from `LC_*`."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from pydantic import ValidationError

from lc_reconciler.runtime import run
from lc_reconciler.settings import ReconcilerSettings
from lc_runtime.logs import configure_logging


def main() -> None:
    configure_logging()
    try:
        settings = ReconcilerSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(p) for p in first["loc"]).upper()
        sys.exit(f"lc-reconciler: bad configuration LC_{field}: {first['msg']}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
