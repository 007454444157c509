"""`lc-reconciler`: run the reconciler in the foreground with settings from `LC_*`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from pydantic import ValidationError

from lc_reconciler.runtime import run
from lc_reconciler.settings import ReconcilerSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
