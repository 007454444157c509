"""The delivery client's connections against a receiver on a loopback socket: https
verified with the receiver's name (SNI and Host), a connection the receiver closed between
deliveries reopened and its address checked again, a 3xx answered and not followed, the
answer's body cut to what the delivery log keeps."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from lc_clustersim.dns_zone import DnsZone
from lc_contracts.outbound import parse_networks
from lc_testing import wait_until
from lc_testing.tls import TestCA
from lc_webhooks.checked_client import (
    CONNECTION_FAILURES,
    CheckedClient,
    RefusedTarget,
    Resolver,
)
from lc_webhooks.outcomes import MAX_LOGGED_BODY


@dataclass
class Receiver:
    """Answers every request with `answer`, closing its side after each when `close`."""

    answer: bytes = b"HTTP/1.1 204 No Content\r\n\r\n"
    close: bool = False
    port: int = 0
    heads: list[bytes] = field(default_factory=list)
    connections: int = 0
    open_connections: int = 0
    server_names: list[str | None] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                self.heads.append(head)
                writer.write(self.answer)
                await writer.drain()
                if self.close:
                    return
        finally:
            writer.close()
            self.open_connections -= 1


@contextlib.asynccontextmanager
async def serving(receiver: Receiver, tls: ssl.SSLContext | None = None) -> AsyncIterator[None]:
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=tls)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield
    finally:
        server.close()


def client(zone: DnsZone, **kwargs: object) -> CheckedClient:
    return CheckedClient(
        Resolver([("127.0.0.1", zone.port)]),
        allowed=parse_networks("127.0.0.0/8"),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_an_https_receiver_is_verified_under_its_name(dns_zone: DnsZone) -> None:
    ca = TestCA()
    dns_zone.set_record("A", "hooks.tls.test", "127.0.0.1")
    receiver = Receiver()
    async with serving(receiver, ca.server_context("hooks.tls.test")):
        url = f"https://hooks.tls.test:{receiver.port}/hook"
        async with client(dns_zone, ssl_context=ca.client_context()) as c:
            for _ in range(2):
                assert (await c.post(url, content=b"{}")).status_code == 204
        assert receiver.server_names == ["hooks.tls.test"]  # one handshake, kept alive
        assert receiver.heads[0].startswith(
            b"POST /hook HTTP/1.1\r\nhost: hooks.tls.test:%d\r\n" % receiver.port
        )
        # The default context (the worker's) does not trust the test CA: a failed
        # connection, as the courier counts it, and nothing delivered.
        async with client(dns_zone) as c:
            with pytest.raises(CONNECTION_FAILURES, match="CERTIFICATE_VERIFY_FAILED"):
                await c.post(url, content=b"{}")
    assert len(receiver.heads) == 2


async def test_a_connection_the_receiver_closed_is_reopened_and_checked_again(
    dns_zone: DnsZone,
) -> None:
    dns_zone.set_record("A", "hooks.closing.test", "127.0.0.1")
    receiver = Receiver(close=True)  # answers keep-alive, then closes its side
    async with serving(receiver), client(dns_zone, allow_http=True) as c:
        url = f"http://hooks.closing.test:{receiver.port}/hook"
        assert (await c.post(url, content=b"{}")).status_code == 204
        await wait_until(lambda: receiver.open_connections == 0, what="the receiver closed")
        # Between deliveries the name turned to the metadata address: the next delivery
        # needs a new connection, whose address is checked again and refused.
        dns_zone.set_record("A", "hooks.closing.test", "169.254.169.254")
        with pytest.raises(RefusedTarget, match=r"169\.254\.169\.254"):
            await c.post(url, content=b"{}")
        dns_zone.set_record("A", "hooks.closing.test", "127.0.0.1")
        assert (await c.post(url, content=b"{}")).status_code == 204
    assert (receiver.connections, len(receiver.heads)) == (2, 2)


async def test_a_redirect_is_an_answer_and_a_long_body_is_cut(dns_zone: DnsZone) -> None:
    body = b"x" * 5000
    receiver = Receiver(
        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://169.254.169.254/\r\n"
        b"retry-after: 7\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )
    async with serving(receiver), client(dns_zone, allow_http=True) as c:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        answer = await c.post(url, content=b"{}", keep=MAX_LOGGED_BODY)
        assert answer.status_code == 307
        assert answer.headers["location"] == "http://169.254.169.254/"
        assert answer.headers["retry-after"] == "7"
        assert answer.body == body[:MAX_LOGGED_BODY]
    assert len(receiver.heads) == 1
