"""Read LiquidCompute's event log (the LC_EVENTS JetStream stream) directly with FastStream
and the contracts package (`lc_contracts`), from the first event or where a durable
consumer left off.

    python examples/events_reader.py --nats nats://127.0.0.1:4222 --durable my-reader

Each event is printed as one JSON line: its stream sequence, type, subject and decoded
payload. With `--durable`, a restarted reader continues after the last event it
acknowledged (FastStream acknowledges each one once the handler returns); `--count N`
stops after N events.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from faststream.nats import JStream, NatsBroker
from faststream.nats.annotations import NatsMessage
from faststream.params import NoCast
from nats.js.api import DeliverPolicy

from lc_contracts.envelope import Envelope
from lc_contracts.events import decode
from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import ALL_EVENTS


async def read(nats_url: str, durable: str | None, count: int | None) -> None:
    broker = NatsBroker(nats_url)
    done = asyncio.Event()
    printed = 0

    @broker.subscriber(
        ALL_EVENTS,
        stream=JStream(EVENTS_STREAM.name, declare=False),
        durable=durable,
        deliver_policy=DeliverPolicy.ALL,
    )
    async def on_event(body: NoCast[bytes], message: NatsMessage) -> None:
        nonlocal printed
        if count is not None and printed >= count:
            await message.nack()  # not read: a restarted reader gets it first
            return
        envelope = Envelope.from_bytes(message.body)
        payload = decode(envelope)  # the current version of the event's payload
        seq = message.raw_message.metadata.sequence.stream
        line = {"seq": seq, "type": envelope.type, "subject": envelope.subject}
        print(json.dumps({**line, "data": payload.to_wire()}), flush=True)
        printed += 1
        if count is not None and printed >= count:
            done.set()

    async with broker:
        await broker.start()
        await done.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--durable", default=None, help="a durable consumer name to resume")
    parser.add_argument("--count", type=int, default=None, help="stop after this many events")
    args = parser.parse_args()
    asyncio.run(read(args.nats, args.durable, args.count))


if __name__ == "__main__":
    main()
