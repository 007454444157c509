"""The HTTP/1.1 client against real servers over sockets: kept-alive connections, the
address hook at every new connection and only then, a server closing its side between
requests, TLS verified against a test CA with the URL's name as SNI, redirects answered
not followed, bodies cut at what the caller keeps."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from lc_http1 import ConnectFailed, Http1Client
from lc_testing.tls import TestCA

HEADERS = [("content-type", "application/json")]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # close the connection after answering (without saying so)


@dataclass
class Server:
    """Answers each request with `reply(n)`; records requests and connections."""

    reply: Callable[[int], Reply] = lambda _: Reply()
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    server_names: list[str | None] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                reply = self.reply(len(self.requests))
                lines = [f"HTTP/1.1 {reply.status} X", f"content-length: {len(reply.body)}"]
                lines += [f"{k}: {v}" for k, v in reply.headers]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + reply.body)
                await writer.drain()
                if reply.close:
                    return
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(server: Server, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: server.server_names.append(name)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()


class Addresses:
    """The address hook: every name to 127.0.0.1, each call recorded."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, host: str) -> str:
        self.asked.append(host)
        return "127.0.0.1"


def _client(**kwargs: object) -> Http1Client:
    return Http1Client(connect_timeout_s=2.0, read_timeout_s=2.0, **kwargs)  # type: ignore[arg-type]


async def test_a_kept_connection_carries_the_next_request_without_asking_the_address() -> None:
    addresses = Addresses()
    async with serving(Server()) as server, _client(address=addresses) as client:
        for n in range(3):
            answer = await client.post(f"http://hooks.test:{server.port}/h?n={n}", HEADERS, b"{}")
            assert (answer.status, answer.body) == (200, b"ok")
            answer.release()
    assert server.connections == 1
    assert addresses.asked == ["hooks.test"]
    assert server.requests[2].startswith(b"POST /h?n=2 HTTP/1.1\r\nhost: hooks.test:")


async def test_a_connection_the_server_closed_is_reopened_and_the_address_asked_again() -> None:
    addresses = Addresses()
    # The server answers keep-alive, then closes its side once the answer is out.
    server = Server(lambda _: Reply(close=True))
    async with serving(server), _client(address=addresses) as client:
        url = f"http://hooks.test:{server.port}/h"
        for _ in range(3):
            answer = await client.post(url, HEADERS, b"{}")
            assert answer.status == 200
            answer.release()  # whether or not the close was seen yet
    assert server.connections == 3
    assert len(server.requests) == 3
    assert addresses.asked == ["hooks.test"] * 3


async def test_what_the_address_hook_raises_passes_through_and_nothing_is_sent() -> None:
    class Refused(Exception):
        pass

    async def refuse(host: str) -> str:
        raise Refused(host)

    async with serving(Server()) as server, _client(address=refuse) as client:
        with pytest.raises(Refused, match=r"hooks\.test"):
            await client.post(f"http://hooks.test:{server.port}/h", HEADERS, b"{}")
    assert server.connections == 0


async def test_https_is_verified_with_the_urls_name_as_sni() -> None:
    ca = TestCA()
    addresses = Addresses()
    tls = ca.server_context("hooks.tls.test")
    async with serving(Server(), tls) as server:
        url = f"https://hooks.tls.test:{server.port}/h"
        async with _client(address=addresses, ssl_context=ca.client_context()) as client:
            for _ in range(2):
                answer = await client.post(url, HEADERS, b"{}")
                assert (answer.status, answer.body) == (200, b"ok")
                answer.release()
        assert server.server_names == ["hooks.tls.test"]  # one handshake, kept alive
        assert server.connections == 1
        # The default context does not trust the test CA.
        async with _client(address=addresses) as client:
            with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await client.post(url, HEADERS, b"{}")
        # A certificate for another name is refused too.
        async with _client(address=addresses, ssl_context=ca.client_context()) as client:
            other = f"https://other.tls.test:{server.port}/h"
            with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await client.post(other, HEADERS, b"{}")
    assert len(server.requests) == 2


async def test_a_redirect_is_an_answer_not_followed() -> None:
    moved = Reply(302, b"", [("location", "http://169.254.169.254/latest")])
    async with serving(Server(lambda _: moved)) as server, _client() as client:
        answer = await client.post(f"http://127.0.0.1:{server.port}/h", HEADERS, b"{}")
        assert answer.status == 302
        assert answer.header(b"location") == b"http://169.254.169.254/latest"
        answer.release()
    assert len(server.requests) == 1


async def test_a_body_is_cut_at_what_is_kept_and_a_huge_one_not_read_further() -> None:
    sizes = {1: 10_000, 2: 10, 3: 4_000_000, 4: 10}
    server = Server(lambda n: Reply(body=b"x" * sizes[n]))
    async with serving(server), _client() as client:
        url = f"http://127.0.0.1:{server.port}/h"
        for n in (1, 2, 3, 4):
            answer = await client.post(url, HEADERS, b"{}", keep=100)
            assert answer.body == b"x" * min(100, sizes[n])
            answer.release()
    # 10 kB is read to its end (the connection carries the next request); 4 MB is not:
    # its connection is closed and the next request opens another.
    assert server.connections == 2


async def test_an_unknown_scheme_is_refused() -> None:
    async with _client() as client:
        with pytest.raises(ValueError, match="not an http or https URL"):
            await client.post("ftp://example.com/x", HEADERS, b"")
