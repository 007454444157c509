"""Runs the test projection in its own process, so a test can kill it mid-batch.

usage: python run_projection.py NATS_URL DATABASE_URL
"""

from __future__ import annotations

import asyncio
import sys

import nats
from sqlalchemy.ext.asyncio import create_async_engine

from lc_eventstore import EventStore, ProjectionRunner

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from projects_projection import ProjectsProjection


async def main(nats_url: str, database_url: str) -> None:
    client = await nats.connect(nats_url)
    engine = create_async_engine(database_url)
    runner = ProjectionRunner(
        engine, EventStore(client.jetstream()), ProjectsProjection(0.05), batch_size=50
    )
    print("started", flush=True)
    await runner.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
